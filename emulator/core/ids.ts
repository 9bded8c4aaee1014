/** Identifier and secret formats modelled on real B2 values (opaque to clients). */
import { randomBytes } from 'crypto';

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** 12 hex digits, like a real B2 account id. */
export const newAccountId = (): string => randomHex(6);

/** 24 hex digits, like a real bucket id. */
export const newBucketId = (): string => randomHex(12);

/** `K004…`, 31 characters, like a real application key secret. */
export function newApplicationKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(27);
  let s = 'K004';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

/** `004<accountId><10 digits>`, like a real non-master application key id. */
export const newKeyId = (accountId: string, counter: number): string =>
  `004${accountId}${String(counter).padStart(10, '0')}`;

function stamp(ms: number): { d: string; m: string } {
  const iso = new Date(ms).toISOString(); // 2021-12-30T17:15:12.000Z
  return { d: iso.slice(0, 10).replace(/-/g, ''), m: iso.slice(11, 19).replace(/:/g, '') };
}

/** `4_z<bucketId>_f<hex>_d<date>_m<time>_c004_v0001000_t<seq>`, like a real file id (≤ 200 chars). */
export function newFileId(bucketId: string, nowMs: number, seq: number): string {
  const { d, m } = stamp(nowMs);
  return `4_z${bucketId}_f${randomHex(9)}_d${d}_m${m}_c004_v0001000_t${String(seq % 10000).padStart(4, '0')}`;
}

/** A file id is well formed if it could have come from `newFileId` (or real B2). */
export const FILE_ID_RE = /^4_z[0-9a-f]{24}_f[0-9a-f]+_d\d{8}_m\d{6}_c\d{3}_v\d{7}_t\d{4}$/;

export const newToken = (prefix: string, accountId: string): string =>
  `${prefix}_${accountId}_${randomHex(20)}`;
