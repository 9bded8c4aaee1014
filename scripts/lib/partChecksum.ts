/**
 * Per-request integrity headers for uploads (issue 11 §13, docs/b2-api.md §11).
 *
 * Every part and single PUT carries a checksum the server verifies before it stores the bytes. The
 * preferred one is `x-amz-checksum-crc32`, computed by @node-rs/crc32 (SIMD, ~0.09 s of CPU per GiB
 * here; Node's zlib.crc32 ~0.3 s, MD5 ~1.4 s; zlib is the fallback where the native build is missing,
 * same values): B2 accepts the flexible-checksum headers since mid-2025 and the emulator
 * verifies them. Endpoints that still refuse them (B2 until 2025 answered 400 InvalidArgument
 * "Unsupported header 'x-amz-checksum-crc32' received for this API call."; the emulator does so
 * under `B2_LOCAL_S3_CHECKSUMS=reject`) get `Content-MD5` instead: the first refusal switches that
 * client to MD5 for the rest of the process, and the refused request is re-sent with Content-MD5 at
 * once (a refusal is not a retry).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { crc32 as zlibCrc32 } from 'zlib';

type Crc32Fn = (data: Buffer, initial?: number) => number;

/**
 * @node-rs/crc32 when its prebuilt binary for this platform is installed (an optional dependency),
 * else Node's zlib.crc32. Both compute CRC-32/ISO-HDLC, the checksum of `x-amz-checksum-crc32`.
 */
export function loadCrc32(load: () => { crc32: Crc32Fn } = () => require('@node-rs/crc32')): {
  crc32: Crc32Fn;
  native: boolean;
} {
  try {
    const native = load().crc32;
    if (native(Buffer.from('123456789')) >>> 0 === 0xcbf43926) return { crc32: native, native: true };
  } catch {
    // no prebuilt binary for this platform: zlib below
  }
  return { crc32: zlibCrc32, native: false };
}

const { crc32 } = loadCrc32();

export type PartIntegrity = 'crc32' | 'md5';

/** What `update` needs: crypto's Hash and Crc32 both fit. */
export interface Updatable {
  update(data: Buffer): unknown;
}

/** Incremental CRC32 (IEEE, as `x-amz-checksum-crc32`): base64 of the big-endian 32-bit value. */
export class Crc32 implements Updatable {
  private value = 0;
  update(data: Buffer): this {
    this.value = crc32(data, this.value);
    return this;
  }
  digest(): string {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.value >>> 0);
    return out.toString('base64');
  }
}

const refused = new WeakSet<S3Client>();

/**
 * The integrity header to use on `s3`: `BACKUP_S3_CHECKSUM=md5` forces Content-MD5 (an escape hatch
 * for an endpoint that misbehaves on checksum headers without refusing them cleanly); otherwise
 * CRC32 until this client has seen a refusal.
 */
export function integrityFor(s3: S3Client, env: NodeJS.ProcessEnv = process.env): PartIntegrity {
  if (env.BACKUP_S3_CHECKSUM === 'md5') return 'md5';
  return refused.has(s3) ? 'md5' : 'crc32';
}

export function markChecksumRefused(s3: S3Client): void {
  refused.add(s3);
}

interface ErrorLike {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** True for an endpoint's refusal of the flexible-checksum headers (not for a checksum mismatch). */
export function isChecksumHeaderRefusal(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as ErrorLike;
  const status = e.$metadata?.httpStatusCode;
  if (status !== 400 && status !== 501) return false;
  const code = e.Code ?? e.name ?? '';
  if (code === 'BadDigest') return false;
  return /x-amz-checksum|x-amz-sdk-checksum|unsupported header/i.test(e.message ?? '');
}
