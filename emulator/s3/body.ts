/**
 * The payload of an S3 request as a verified byte stream. Whatever the client sent — a plain
 * body, an `aws-chunked` body with chunk signatures, or an unsigned chunked body with a checksum
 * trailer — the handler sees only payload bytes. Every integrity claim is checked as the last
 * byte passes: `x-amz-content-sha256`, `Content-MD5`, `x-amz-checksum-*` (header or trailer).
 * A failed check throws from the iterator, so the engine aborts the pending blob and nothing is
 * acknowledged (the store never commits a body whose check failed).
 */
import { createHash, Hash } from 'crypto';
import type { IncomingMessage } from 'http';
import type { Readable } from 'stream';
import { AwsChunkedDecoder } from './chunked';
import { ChecksumAlgorithm, Checksummer, createChecksummer, isChecksumAlgorithm } from './checksums';
import { S3Error } from './errors';
import { ChunkSigner, VerifiedAuth } from './sigv4';

/** `accept` (default, B2 since mid-2025) verifies flexible checksums; `reject` answers 400 like 2024–25 B2. */
export type ChecksumPolicy = 'accept' | 'reject';

export function checksumPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): ChecksumPolicy {
  return env.B2_LOCAL_S3_CHECKSUMS === 'reject' ? 'reject' : 'accept';
}

const CHECKSUM_HEADER_RE = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/;

/**
 * Refuse the flexible-checksum headers the way B2 did until mid-2025 (docs/b2-api.md §11):
 * 400 InvalidArgument "Unsupported header '<name>' received for this API call."
 */
export function rejectChecksumHeaders(headers: IncomingMessage['headers']): void {
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm') {
      throw new S3Error('InvalidArgument', `Unsupported header '${name}' received for this API call.`);
    }
  }
  const trailer = headers['x-amz-trailer'];
  if (typeof trailer === 'string' && trailer.includes('x-amz-checksum-')) {
    throw new S3Error(
      'InvalidArgument',
      `Unsupported header '${trailer.trim()}' received for this API call.`,
    );
  }
}

export interface VerifiedBody {
  /** Payload bytes; throws S3Error at the end if a check fails. */
  source: AsyncIterable<Buffer>;
  /** Declared payload length (decoded length for aws-chunked), null if unknown. */
  length: number | null;
  /** After the source is fully consumed: the checksum the client asked for, as `{algorithm, value}`. */
  checksum(): { algorithm: ChecksumAlgorithm; value: string } | null;
  /**
   * Filled in when the last byte has passed, before the engine stores the record: pass it as the
   * upload's `extra` and the version carries `s3Checksum` — the client's checksum if it sent one,
   * else a CRC32 computed here — for GetObject under `x-amz-checksum-mode: ENABLED`.
   */
  extra: Record<string, unknown>;
  /**
   * Hands the check of the request's Content-MD5 to the caller: returns it (hex, or null) and stops
   * hashing MD5 here. Call before reading; a consumer passes it to the engine as the expected `md5`
   * (the engine hashes every byte anyway and refuses a mismatch with `bad_digest` before storing).
   */
  delegateMd5(): string | null;
}

function declaredLength(headers: IncomingMessage['headers'], chunked: boolean): number | null {
  const raw = chunked ? headers['x-amz-decoded-content-length'] : headers['content-length'];
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new S3Error(
      'InvalidArgument',
      `${chunked ? 'x-amz-decoded-content-length' : 'Content-Length'} must be a non-negative integer.`,
    );
  }
  return n;
}

function contentMd5(headers: IncomingMessage['headers']): string | null {
  const v = headers['content-md5'];
  if (v === undefined) return null;
  const raw = Buffer.from(String(v), 'base64');
  if (raw.length !== 16 || raw.toString('base64') !== String(v).trim()) throw new S3Error('InvalidDigest');
  return raw.toString('hex');
}

/** Which flexible checksum the request claims, and whether its value is in a header or the trailer. */
function requestedChecksum(
  headers: IncomingMessage['headers'],
): { algorithm: ChecksumAlgorithm; value: string | null } | null {
  for (const [name, value] of Object.entries(headers)) {
    const m = CHECKSUM_HEADER_RE.exec(name);
    if (m && typeof value === 'string') return { algorithm: m[1] as ChecksumAlgorithm, value };
  }
  const trailer = headers['x-amz-trailer'];
  if (typeof trailer === 'string') {
    const m = /x-amz-checksum-([a-z0-9]+)/.exec(trailer.toLowerCase());
    if (m) {
      if (!isChecksumAlgorithm(m[1]))
        throw new S3Error('InvalidRequest', `Unknown checksum trailer x-amz-checksum-${m[1]}.`);
      return { algorithm: m[1], value: null };
    }
  }
  return null;
}

/**
 * Wraps the request into a verified payload stream. `auth` is null for anonymous requests (no
 * payload claims beyond Content-MD5).
 */
export function verifiedBody(
  req: IncomingMessage,
  auth: VerifiedAuth | null,
  opts: { defaultChecksum?: boolean } = {},
): VerifiedBody {
  const headers = req.headers;
  const mode = auth?.payloadMode ?? 'unsigned';
  const chunked = mode.startsWith('streaming-');
  const length = declaredLength(headers, chunked);
  const md5Expected = contentMd5(headers);
  const wanted = requestedChecksum(headers);

  let decoder: AwsChunkedDecoder | null = null;
  /**
   * The payload stream, made when a handler first reads it. The decoder's errors reach that reader
   * through the iterator; the no-op listener keeps an error that arrives when nobody reads any more
   * (a handler that refused the request first) from becoming an unhandled 'error' that ends the
   * process.
   */
  function payload(): Readable | IncomingMessage {
    if (!chunked) return req;
    const signed = mode === 'streaming-signed' || mode === 'streaming-signed-trailer';
    decoder = new AwsChunkedDecoder({
      signer:
        signed && auth
          ? new ChunkSigner(auth.signingKey, auth.amzDate, auth.scope, auth.signature)
          : undefined,
      signedTrailer: mode === 'streaming-signed-trailer',
    });
    decoder.on('error', () => undefined);
    const d = decoder;
    req.on('error', (e) => d.destroy(e));
    return req.pipe(d);
  }

  const sha256: Hash | null = mode === 'signed' && auth?.payloadSha256 ? createHash('sha256') : null;
  let md5: Hash | null = md5Expected ? createHash('md5') : null;
  let started = false;
  const summer: Checksummer | null = wanted ? createChecksummer(wanted.algorithm) : null;
  // CRC32 is native (zlib) and cheap; it gives every single-part object a full-object checksum.
  const fallback: Checksummer | null = wanted || !opts.defaultChecksum ? null : createChecksummer('crc32');
  let computed: { algorithm: ChecksumAlgorithm; value: string } | null = null;
  const extra: Record<string, unknown> = {};

  async function* source(): AsyncGenerator<Buffer> {
    started = true;
    let received = 0;
    for await (const chunk of payload() as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (length !== null && received > length) {
        throw new S3Error('InvalidRequest', `The body is longer than the declared length ${length}.`);
      }
      sha256?.update(chunk);
      md5?.update(chunk);
      summer?.update(chunk);
      fallback?.update(chunk);
      yield chunk;
    }
    if (length !== null && received !== length)
      throw new S3Error('IncompleteBody', undefined, {
        ExpectedLength: String(length),
        ReceivedLength: String(received),
      });
    if (sha256 && sha256.digest('hex') !== auth!.payloadSha256)
      throw new S3Error('XAmzContentSHA256Mismatch');
    if (md5 && md5.digest('hex') !== md5Expected) throw new S3Error('BadDigest');
    if (wanted && summer) {
      const value = summer.digest();
      const claimed = wanted.value ?? decoder?.trailers.get(`x-amz-checksum-${wanted.algorithm}`) ?? null;
      if (claimed === null) {
        throw new S3Error(
          'InvalidRequest',
          `The x-amz-checksum-${wanted.algorithm} trailer announced in x-amz-trailer was not sent.`,
        );
      }
      if (claimed !== value) {
        throw new S3Error(
          'BadDigest',
          `The ${wanted.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
      computed = { algorithm: wanted.algorithm, value };
    }
    const stored = computed ?? (fallback ? { algorithm: 'crc32', value: fallback.digest() } : null);
    if (stored) extra.s3Checksum = stored;
  }

  return {
    source: source(),
    length,
    checksum: () => computed,
    extra,
    delegateMd5() {
      if (started) throw new Error('delegateMd5() must be called before the body is read');
      md5 = null;
      return md5Expected;
    },
  };
}

/** Reads a small request body (XML documents) through the same checks. */
export async function readSmallBody(body: VerifiedBody, limit = 1 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body.source) {
    n += c.length;
    if (n > limit) throw new S3Error('MaxMessageLengthExceeded', `The request body exceeds ${limit} bytes.`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}
