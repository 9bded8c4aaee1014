/**
 * Streaming a request body into a pending blob while hashing it (SHA-1, MD5), and checking the
 * client's claimed digests before anything is committed. Used by simple uploads and part uploads.
 */
import { createHash } from 'crypto';
import type { PendingBlob, Store } from '../../store/types';
import { md5Stream } from '../hasher';
import { B2Error, errors } from '../errors';
import type { Sha1Mode } from './types';

export interface Ingested {
  blob: PendingBlob;
  sha1: string;
  md5: string;
  /** `hex_digits_at_end`: the 40 characters withheld from the data. */
  trailer: string | null;
}

/**
 * Stream a body into a pending blob while hashing it. `hex_digits_at_end` withholds the
 * trailing 40 hex characters from the data; the caller verifies and commits.
 */
export async function ingest(
  store: Store,
  body: AsyncIterable<Buffer>,
  declaredLength: number | undefined,
  sha1Mode: Sha1Mode,
  maxLength: number,
): Promise<Ingested> {
  const sha = createHash('sha1');
  const md5 = md5Stream();
  const atEnd = sha1Mode === 'hex_digits_at_end';
  let received = 0;
  let tail = Buffer.alloc(0);
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const raw of body) {
      const c = raw as Buffer;
      received += c.length;
      if (declaredLength !== undefined && received > declaredLength)
        throw errors.badRequest(`body is longer than Content-Length ${declaredLength}`);
      if (received > maxLength + (atEnd ? 40 : 0))
        throw errors.badRequest(`body is larger than the ${maxLength}-byte limit`);
      let out: Buffer;
      if (!atEnd) out = c;
      else if (c.length >= 40) {
        out = tail.length
          ? Buffer.concat([tail, c.subarray(0, c.length - 40)])
          : c.subarray(0, c.length - 40);
        tail = Buffer.from(c.subarray(c.length - 40));
      } else {
        const all = Buffer.concat([tail, c]);
        out = all.subarray(0, Math.max(0, all.length - 40));
        tail = Buffer.from(all.subarray(Math.max(0, all.length - 40)));
      }
      if (out.length) {
        sha.update(out);
        const wait = md5.update(out);
        if (wait) await wait;
        yield out;
      }
    }
  }
  let blob: PendingBlob;
  try {
    blob = await store.writeBlob(hashed());
  } catch (e) {
    md5.abort();
    throw e;
  }
  if (declaredLength !== undefined && received !== declaredLength) {
    md5.abort();
    await blob.abort();
    throw errors.badRequest(`Content-Length is ${declaredLength} but ${received} bytes were received`);
  }
  return {
    blob,
    sha1: sha.digest('hex'),
    md5: await md5.digest(),
    trailer: atEnd ? tail.toString('latin1') : null,
  };
}

/** Verify the SHA-1 of ingested data against the client's claim; returns the stored value. */
export async function verifySha1(got: Ingested, mode: Sha1Mode, md5?: string): Promise<string> {
  if (md5 !== undefined && md5.toLowerCase() !== got.md5) {
    await got.blob.abort();
    throw new B2Error(400, 'bad_digest', `Content-MD5 did not match data received (computed ${got.md5})`);
  }
  let expected: string | null;
  if (mode === undefined) expected = null;
  else if (mode === 'do_not_verify') expected = null;
  else if (mode === 'hex_digits_at_end') expected = (got.trailer ?? '').toLowerCase();
  else expected = mode.toLowerCase();
  if (expected !== null && expected !== got.sha1) {
    await got.blob.abort();
    throw errors.badRequest(`Sha1 did not match data received (expected ${expected}, computed ${got.sha1})`);
  }
  return mode === 'do_not_verify' ? `unverified:${got.sha1}` : got.sha1;
}

export function checkSha1Header(mode: Sha1Mode, field: string): void {
  if (mode === undefined || mode === 'hex_digits_at_end' || mode === 'do_not_verify') return;
  if (!/^[0-9a-fA-F]{40}$/.test(mode))
    throw errors.badRequest(`${field} must be 40 hex digits, "hex_digits_at_end" or "do_not_verify"`);
}
