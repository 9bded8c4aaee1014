/**
 * The S3 flexible checksums (`x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256}`), computed
 * incrementally so a body is hashed while it streams into the store. Values on the wire are the
 * base64 of the big-endian digest.
 */
import { createHash, Hash } from 'crypto';
import * as zlib from 'zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Checksummer {
  update(data: Buffer): void;
  /** Base64 of the big-endian digest, as in `x-amz-checksum-*`. */
  digest(): string;
}

function makeCrc32cTable(): Uint32Array {
  // Castagnoli polynomial, reflected.
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}
let crc32cTable: Uint32Array | null = null;

function u32be(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString('base64');
}

class Crc32 implements Checksummer {
  private crc = 0;
  update(data: Buffer): void {
    // zlib.crc32 is native (Node ≥ 20.15) and continues from a previous value.
    this.crc = zlib.crc32(data, this.crc);
  }
  digest(): string {
    return u32be(this.crc);
  }
}

class Crc32c implements Checksummer {
  private crc = 0xffffffff;
  update(data: Buffer): void {
    const t = (crc32cTable ??= makeCrc32cTable());
    let c = this.crc;
    for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
    this.crc = c >>> 0;
  }
  digest(): string {
    return u32be(~this.crc);
  }
}

/** CRC-64/NVME: reflected poly 0x9a6c9329ac4bc9b5 (= bit-reversed 0xad93d23594c93659), init/xorout all ones. */
const CRC64_POLY_REFLECTED = 0x9a6c9329ac4bc9b5n;
let crc64Table: BigUint64Array | null = null;
function makeCrc64Table(): BigUint64Array {
  const t = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64_POLY_REFLECTED : c >> 1n;
    t[i] = c;
  }
  return t;
}
const MASK64 = 0xffffffffffffffffn;
class Crc64Nvme implements Checksummer {
  // BigInt arithmetic is slow, but no default client configuration sends CRC64NVME without CRT.
  private crc = MASK64;
  update(data: Buffer): void {
    const t = (crc64Table ??= makeCrc64Table());
    let c = this.crc;
    for (let i = 0; i < data.length; i++) c = t[Number((c ^ BigInt(data[i])) & 0xffn)] ^ (c >> 8n);
    this.crc = c;
  }
  digest(): string {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(this.crc ^ MASK64);
    return b.toString('base64');
  }
}

class NodeHash implements Checksummer {
  private readonly h: Hash;
  constructor(alg: 'sha1' | 'sha256') {
    this.h = createHash(alg);
  }
  update(data: Buffer): void {
    this.h.update(data);
  }
  digest(): string {
    return this.h.digest('base64');
  }
}

export function createChecksummer(alg: ChecksumAlgorithm): Checksummer {
  switch (alg) {
    case 'crc32':
      return new Crc32();
    case 'crc32c':
      return new Crc32c();
    case 'crc64nvme':
      return new Crc64Nvme();
    case 'sha1':
      return new NodeHash('sha1');
    case 'sha256':
      return new NodeHash('sha256');
  }
}

export function isChecksumAlgorithm(s: string): s is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(s);
}

/** One-shot helper for tests and small bodies. */
export function checksumOf(alg: ChecksumAlgorithm, data: Buffer): string {
  const c = createChecksummer(alg);
  c.update(data);
  return c.digest();
}
