/**
 * Uploads (b2_upload_file, b2_upload_part: raw bodies with B2 headers, docs/b2-api.md §2.2) and
 * downloads (by name and by id, with Range and the x-bz-* headers, §2.3).
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { DownloadOverrides, DownloadPlan, Engine, SseInput } from '../core/engine';
import { errors } from '../core/errors';
import type { RequestTarget } from '../core/target';
import type { AuthContext, FileRetention } from '../core/types';
import { headerSafe, isHeaderValue, RESERVED_INFO_HEADERS } from '../core/validate';
import { b2Decode, b2Encode, sendJson } from './http';
import { renderFile, renderPart } from './render';

const FORBIDDEN_UPLOAD_HEADERS = [
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-location',
  'content-range',
  'expires',
];

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function contentLength(req: IncomingMessage): number {
  const cl = header(req, 'content-length');
  if (cl === undefined)
    throw errors.badRequest('Content-Length header is required (chunked uploads are not supported)');
  if (!/^\d+$/.test(cl)) throw errors.badRequest(`Content-Length header is invalid: ${cl}`);
  return Number(cl);
}

/** SSE headers of an upload / part / download request. */
export function sseFromHeaders(req: IncomingMessage): SseInput | null {
  const b2 = header(req, 'x-bz-server-side-encryption');
  const alg = header(req, 'x-bz-server-side-encryption-customer-algorithm');
  const key = header(req, 'x-bz-server-side-encryption-customer-key');
  const md5 = header(req, 'x-bz-server-side-encryption-customer-key-md5');
  if (b2 !== undefined && (alg || key || md5))
    throw errors.badRequest('X-Bz-Server-Side-Encryption and the SSE-C headers are mutually exclusive');
  if (b2 !== undefined) {
    if (b2 !== 'AES256') throw errors.badRequest('X-Bz-Server-Side-Encryption must be AES256');
    return { mode: 'SSE-B2' };
  }
  if (alg || key || md5) {
    if (alg !== 'AES256')
      throw errors.badRequest('X-Bz-Server-Side-Encryption-Customer-Algorithm must be AES256');
    if (!key || !md5)
      throw errors.badRequest('SSE-C needs X-Bz-Server-Side-Encryption-Customer-Key and -Customer-Key-Md5');
    return { mode: 'SSE-C', customerKey: key, customerKeyMd5: md5 };
  }
  return null;
}

function lockFromHeaders(
  req: IncomingMessage,
  now: number,
): { fileRetention: FileRetention | null; legalHold: 'on' | 'off' | null } {
  const hold = header(req, 'x-bz-file-legal-hold');
  if (hold !== undefined && hold !== 'on' && hold !== 'off')
    throw errors.badRequest('X-Bz-File-Legal-Hold must be on or off');
  const mode = header(req, 'x-bz-file-retention-mode');
  const until = header(req, 'x-bz-file-retention-retain-until-timestamp');
  let fileRetention: FileRetention | null = null;
  if (mode !== undefined || until !== undefined) {
    if (mode !== 'governance' && mode !== 'compliance')
      throw errors.badRequest(
        'X-Bz-File-Retention-Mode must be governance or compliance (with -Retain-Until-Timestamp)',
      );
    if (!until || !/^\d+$/.test(until))
      throw errors.badRequest('X-Bz-File-Retention-Retain-Until-Timestamp must be milliseconds (with -Mode)');
    if (Number(until) <= now)
      throw errors.badRequest('X-Bz-File-Retention-Retain-Until-Timestamp must be in the future');
    fileRetention = { mode, retainUntilTimestamp: Number(until) };
  }
  return { fileRetention, legalHold: (hold as 'on' | 'off' | undefined) ?? null };
}

function infoFromHeaders(req: IncomingMessage): Record<string, string> {
  const info: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-bz-info-')) continue;
    const key = name.slice('x-bz-info-'.length);
    info[key] = b2Decode(Array.isArray(value) ? value.join(',') : (value ?? ''), `X-Bz-Info-${key}`);
  }
  return info;
}

function withVersion(auth: AuthContext, version: number): AuthContext {
  return { ...auth, apiVersion: version };
}

export async function handleUploadFile(
  engine: Engine,
  req: IncomingMessage,
  res: ServerResponse,
  version: number,
): Promise<void> {
  const claim = engine.claimUploadToken(header(req, 'authorization'), 'file');
  try {
    for (const h of FORBIDDEN_UPLOAD_HEADERS)
      if (req.headers[h] !== undefined)
        throw errors.badRequest(`header ${h} is not allowed on uploads; use X-Bz-Info-b2-${h}`);
    const rawName = header(req, 'x-bz-file-name');
    if (!rawName) throw errors.badRequest('X-Bz-File-Name header is required');
    const sha1 = header(req, 'x-bz-content-sha1');
    if (!sha1)
      throw errors.badRequest(
        'X-Bz-Content-Sha1 header is required (40 hex, hex_digits_at_end or do_not_verify)',
      );
    const ts = header(req, 'x-bz-custom-upload-timestamp');
    if (ts !== undefined && !/^\d+$/.test(ts))
      throw errors.badRequest('X-Bz-Custom-Upload-Timestamp must be milliseconds');
    const lock = lockFromHeaders(req, engine.clock.now());
    const file = await engine.uploadFile(withVersion(claim.auth, version), {
      bucketId: claim.bucketId,
      fileName: b2Decode(rawName, 'X-Bz-File-Name'),
      contentType: header(req, 'content-type') ?? 'b2/x-auto',
      contentLength: contentLength(req),
      sha1,
      body: req,
      fileInfo: infoFromHeaders(req),
      sse: sseFromHeaders(req),
      fileRetention: lock.fileRetention,
      legalHold: lock.legalHold,
      uploadTimestamp: ts === undefined ? undefined : Number(ts),
    });
    sendJson(res, 200, renderFile(file, claim.auth, version));
  } finally {
    claim.release();
  }
}

export async function handleUploadPart(
  engine: Engine,
  req: IncomingMessage,
  res: ServerResponse,
  version: number,
): Promise<void> {
  const claim = engine.claimUploadToken(header(req, 'authorization'), 'part');
  try {
    const pn = header(req, 'x-bz-part-number');
    if (!pn || !/^\d+$/.test(pn)) throw errors.badRequest('X-Bz-Part-Number header is required (1-10000)');
    const sha1 = header(req, 'x-bz-content-sha1');
    if (!sha1)
      throw errors.badRequest(
        'X-Bz-Content-Sha1 header is required (40 hex, hex_digits_at_end or do_not_verify)',
      );
    const part = await engine.uploadPart(withVersion(claim.auth, version), {
      fileId: claim.fileId!,
      partNumber: Number(pn),
      contentLength: contentLength(req),
      sha1,
      body: req,
      sse: sseFromHeaders(req),
    });
    sendJson(res, 200, renderPart(part));
  } finally {
    claim.release();
  }
}

const OVERRIDE_HEADERS: [keyof DownloadOverrides, string][] = [
  ['b2ContentDisposition', 'content-disposition'],
  ['b2ContentLanguage', 'content-language'],
  ['b2Expires', 'expires'],
  ['b2CacheControl', 'cache-control'],
  ['b2ContentEncoding', 'content-encoding'],
  ['b2ContentType', 'content-type'],
];

/** `b2Content*` query overrides; each must be sendable as a header value (else 400 naming it). */
export function overridesFromQuery(url: RequestTarget): DownloadOverrides {
  const params = url.searchParams;
  const o: DownloadOverrides = {};
  for (const [k] of OVERRIDE_HEADERS) {
    const v = params.get(k);
    if (v === null) continue;
    if (!isHeaderValue(v))
      throw errors.badRequest(
        `${k} cannot be an HTTP header value: only printable ASCII, no CR, LF or other control characters`,
      );
    o[k] = v;
  }
  return o;
}

/** Write a download: status, B2's headers, then the (ranged) body unless HEAD. */
export function sendDownload(
  res: ServerResponse,
  plan: DownloadPlan,
  head: boolean,
  overrides: DownloadOverrides,
  reader: AuthContext | null,
): void {
  const f = plan.file;
  const h: Record<string, string> = {
    date: new Date().toUTCString(),
    'content-type': headerSafe(f.contentType),
    'content-length': String(plan.length),
    'accept-ranges': 'bytes',
    'x-bz-file-id': f.fileId,
    'x-bz-file-name': b2Encode(f.fileName),
    'x-bz-content-sha1': f.contentSha1,
    'x-bz-upload-timestamp': String(f.uploadTimestamp),
  };
  for (const [k, v] of Object.entries(f.fileInfo)) {
    const real = RESERVED_INFO_HEADERS[k];
    // values stored before they were validated on write are percent-encoded, never a failed response
    if (real) h[real.toLowerCase()] = headerSafe(v);
    else h[`x-bz-info-${k}`] = b2Encode(v);
  }
  const bucketCache = plan.bucket.bucketInfo['Cache-Control'];
  if (!h['cache-control'] && bucketCache) h['cache-control'] = headerSafe(bucketCache);
  for (const [k, name] of OVERRIDE_HEADERS) if (overrides[k] !== undefined) h[name] = overrides[k]!;
  const sse = f.serverSideEncryption;
  if (sse?.mode === 'SSE-B2') h['x-bz-server-side-encryption'] = 'AES256';
  if (sse?.mode === 'SSE-C') {
    h['x-bz-server-side-encryption-customer-algorithm'] = 'AES256';
    h['x-bz-server-side-encryption-customer-key-md5'] = sse.customerKeyMd5 ?? '';
  }
  if (plan.bucket.fileLockEnabled) {
    const canRet = !reader || reader.system === true || reader.capabilities.has('readFileRetentions');
    const canHold = !reader || reader.system === true || reader.capabilities.has('readFileLegalHolds');
    const withheld: string[] = [];
    if (canRet) {
      if (f.fileRetention?.mode) {
        h['x-bz-file-retention-mode'] = f.fileRetention.mode;
        h['x-bz-file-retention-retain-until-timestamp'] = String(f.fileRetention.retainUntilTimestamp);
      }
    } else withheld.push('X-Bz-File-Retention-Mode', 'X-Bz-File-Retention-Retain-Until-Timestamp');
    if (canHold) {
      if (f.legalHold) h['x-bz-file-legal-hold'] = f.legalHold;
    } else withheld.push('X-Bz-File-Legal-Hold');
    if (withheld.length) h['x-bz-client-unauthorized-to-read'] = withheld.join(',');
  }
  if (f.replicationStatus) h['x-bz-replication-status'] = f.replicationStatus.toUpperCase();
  let status = 200;
  if (plan.range) {
    status = 206;
    h['content-range'] = `bytes ${plan.range.start}-${plan.range.end}/${f.contentLength}`;
  }
  res.writeHead(status, h);
  if (head || plan.length === 0) {
    res.end();
    return;
  }
  const body = plan.open();
  body.on('error', () => res.destroy());
  res.on('close', () => body.destroy());
  body.pipe(res);
}

export function downloadToken(req: IncomingMessage, url: RequestTarget): string | undefined {
  return header(req, 'authorization') ?? url.searchParams.get('Authorization') ?? undefined;
}
