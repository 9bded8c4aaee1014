/**
 * What every S3 operation handler receives (`S3Call`) and returns (`S3Reply`), plus the helpers
 * they share: bucket lookup with B2's scope rules, the S3 view of a B2 file version (ETag,
 * metadata headers), and request header parsing (metadata, SSE, Object Lock).
 */
import { createHash } from 'crypto';
import type { IncomingMessage } from 'http';
import type { Readable } from 'stream';
import type { ProtocolContext } from '../core/context';
import type { Engine, SseInput } from '../core/engine';
import { requireBucketScope } from '../core/engine';
import { B2Error } from '../core/errors';
import type { AuthContext, BucketRecord, FileRecord, FileRetention } from '../core/types';
import { headerSafe, RESERVED_INFO_HEADERS } from '../core/validate';
import { VerifiedBody } from './body';
import { fromB2Error, S3Error } from './errors';
import type { Route } from './router';

export interface S3Call {
  ctx: ProtocolContext;
  engine: Engine;
  /** null = anonymous request (only reads of public buckets get that far). */
  auth: AuthContext | null;
  route: Route;
  req: IncomingMessage;
  headers: IncomingMessage['headers'];
  query: Map<string, string>;
  body: VerifiedBody;
  requestId: string;
}

export interface S3Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Rendered XML document. */
  xml?: string;
  /** Raw body (GetObject). */
  stream?: Readable;
  /** Content-Length of `stream`. */
  length?: number;
}

/** The caller's AuthContext; anonymous callers only reach handlers that allow them. */
export function authOf(c: S3Call): AuthContext {
  if (!c.auth) throw new S3Error('AccessDenied', 'Anonymous requests are not allowed for this operation.');
  return c.auth;
}

/** Runs an engine call, translating B2 errors into S3 ones. */
export function b2<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof B2Error) throw fromB2Error(e);
    throw e;
  }
}

export async function b2Async<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof B2Error) throw fromB2Error(e);
    throw e;
  }
}

export function requireCapability(auth: AuthContext, ...anyOf: string[]): void {
  if (auth.system) return;
  if (!anyOf.some((c) => auth.capabilities.has(c))) {
    throw new S3Error(
      'AccessDenied',
      `The application key lacks the "${anyOf.join('" or "')}" capability for this call.`,
    );
  }
}

/**
 * The named bucket of this account, checked against the key's bucket scope. A bucket outside the
 * scope is AccessDenied (B2 answers 401 unauthorized natively); a missing one NoSuchBucket.
 */
export function bucketNamed(c: S3Call, name: string | null = c.route.bucket): BucketRecord {
  if (!name) throw new S3Error('InvalidBucketName', 'A bucket name is required.');
  const b = c.engine.getBucketByName(name);
  if (!b) throw new S3Error('NoSuchBucket', undefined, { BucketName: name });
  if (c.auth) b2(() => requireBucketScope(c.auth!, b.bucketId));
  return b;
}

export function keyOf(c: S3Call): string {
  if (c.route.key === null) throw new S3Error('InvalidRequest', 'An object key is required.');
  return c.route.key;
}

// ---------------------------------------------------------------------------------------------
// The S3 view of a B2 file version

/**
 * ETag (unquoted) of a version: MD5 hex for single uploads and copies of them, the S3 multipart
 * form `md5(md5s)-N` recorded at CompleteMultipartUpload, and for large files written natively
 * (no MD5s known) a stable `md5(fileId)-N` — it has a dash so no client mistakes it for an MD5.
 */
export function etagOf(f: FileRecord): string {
  const recorded = f.extra?.s3ETag;
  if (typeof recorded === 'string') return recorded;
  if (f.contentMd5) return f.contentMd5;
  const parts = Math.max(1, f.chunks.length);
  return `${createHash('md5').update(f.fileId).digest('hex')}-${parts}`;
}

export const quote = (etag: string): string => `"${etag}"`;

/** `Last-Modified` header form of a version's upload time. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

const HEADER_OF_INFO: Record<string, string> = RESERVED_INFO_HEADERS;

/** Response headers describing a version (GET/HEAD): metadata, SSE, version id. */
export function objectHeaders(f: FileRecord): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': headerSafe(f.contentType),
    etag: quote(etagOf(f)),
    'last-modified': httpDate(f.uploadTimestamp),
    'x-amz-version-id': f.fileId,
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(f.fileInfo)) {
    if (k in HEADER_OF_INFO) h[HEADER_OF_INFO[k].toLowerCase()] = headerSafe(v);
    else h[`x-amz-meta-${k}`] = encodeHeaderValue(v);
  }
  const sse = f.serverSideEncryption;
  if (sse?.mode === 'SSE-B2') h['x-amz-server-side-encryption'] = 'AES256';
  if (sse?.mode === 'SSE-C') {
    h['x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
    if (sse.customerKeyMd5) h['x-amz-server-side-encryption-customer-key-md5'] = sse.customerKeyMd5;
  }
  if (f.replicationStatus) h['x-amz-replication-status'] = f.replicationStatus.toUpperCase();
  if (f.fileRetention?.mode) {
    h['x-amz-object-lock-mode'] = f.fileRetention.mode.toUpperCase();
    if (f.fileRetention.retainUntilTimestamp)
      h['x-amz-object-lock-retain-until-date'] = new Date(f.fileRetention.retainUntilTimestamp).toISOString();
  }
  if (f.legalHold) h['x-amz-object-lock-legal-hold'] = f.legalHold.toUpperCase();
  return h;
}

/** Header values must be printable ASCII; other metadata values are sent percent-encoded. */
function encodeHeaderValue(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v);
}

// ---------------------------------------------------------------------------------------------
// Request headers → B2 inputs

const INFO_OF_HEADER: Record<string, string> = Object.fromEntries(
  Object.entries(RESERVED_INFO_HEADERS).map(([info, header]) => [header.toLowerCase(), info]),
);

/** `x-amz-meta-*` → fileInfo (lower-case keys), plus Content-Disposition & co. → `b2-*` infos. */
export function fileInfoFrom(headers: IncomingMessage['headers']): Record<string, string> {
  const info: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') continue;
    if (name.startsWith('x-amz-meta-')) info[name.slice('x-amz-meta-'.length)] = value;
    else if (name in INFO_OF_HEADER) info[INFO_OF_HEADER[name]] = value;
  }
  return info;
}

/** Content type of a new object: S3 stores `binary/octet-stream` when none is given. */
export function contentTypeFrom(headers: IncomingMessage['headers']): string {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct !== '' ? ct : 'binary/octet-stream';
}

/** SSE request headers → the engine's SseInput (`prefix` '' or 'copy-source-'). */
export function sseFrom(headers: IncomingMessage['headers'], prefix = ''): SseInput | null {
  const p = `x-amz-${prefix}server-side-encryption`;
  const alg = headers[p];
  const cAlg = headers[`${p}-customer-algorithm`];
  if (cAlg !== undefined) {
    if (cAlg !== 'AES256') throw new S3Error('InvalidArgument', `${p}-customer-algorithm must be AES256.`);
    const key = headers[`${p}-customer-key`];
    const md5 = headers[`${p}-customer-key-md5`];
    if (typeof key !== 'string' || typeof md5 !== 'string') {
      throw new S3Error('InvalidArgument', `SSE-C needs ${p}-customer-key and ${p}-customer-key-MD5.`);
    }
    return { mode: 'SSE-C', customerKey: key, customerKeyMd5: md5 };
  }
  if (prefix === '' && alg !== undefined) {
    if (alg !== 'AES256')
      throw new S3Error(
        'InvalidArgument',
        `x-amz-server-side-encryption must be AES256 on B2, got "${String(alg)}".`,
      );
    return { mode: 'SSE-B2' };
  }
  return null;
}

/** Object Lock headers → B2 file retention / legal hold. */
export function lockFrom(headers: IncomingMessage['headers']): {
  fileRetention: FileRetention | null;
  legalHold: 'on' | 'off' | null;
} {
  const mode = headers['x-amz-object-lock-mode'];
  const until = headers['x-amz-object-lock-retain-until-date'];
  const hold = headers['x-amz-object-lock-legal-hold'];
  let fileRetention: FileRetention | null = null;
  if (mode !== undefined || until !== undefined) {
    const m = String(mode ?? '').toLowerCase();
    if (m !== 'governance' && m !== 'compliance')
      throw new S3Error('InvalidArgument', 'x-amz-object-lock-mode must be GOVERNANCE or COMPLIANCE.');
    const t = Date.parse(String(until ?? ''));
    if (Number.isNaN(t))
      throw new S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date must be an ISO 8601 date.');
    fileRetention = { mode: m, retainUntilTimestamp: t };
  }
  let legalHold: 'on' | 'off' | null = null;
  if (hold !== undefined) {
    const h = String(hold).toLowerCase();
    if (h !== 'on' && h !== 'off')
      throw new S3Error('InvalidArgument', 'x-amz-object-lock-legal-hold must be ON or OFF.');
    legalHold = h;
  }
  return { fileRetention, legalHold };
}

/** Headers B2 refuses on writes (docs/b2-api.md §11: tagging; storage classes other than STANDARD). */
export function refuseUnsupportedWriteHeaders(headers: IncomingMessage['headers']): void {
  if (headers['x-amz-tagging'] !== undefined) {
    throw new S3Error('InvalidArgument', "Unsupported header 'x-amz-tagging' received for this API call.");
  }
  const sc = headers['x-amz-storage-class'];
  if (sc !== undefined && sc !== 'STANDARD')
    throw new S3Error('InvalidStorageClass', `Storage class ${String(sc)} is not supported on B2.`);
  if (headers['x-amz-server-side-encryption-aws-kms-key-id'] !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      'SSE-KMS is not supported on B2; use x-amz-server-side-encryption: AES256.',
    );
  }
}

export function ownerOf(c: S3Call): { ID: string; DisplayName: string } {
  return { ID: c.engine.accountId, DisplayName: '' };
}
