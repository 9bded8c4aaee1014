/**
 * Object operations with B2 semantics (docs/b2-api.md §11): versioning is always on, a version id is
 * a B2 fileId, DeleteObject without a version id writes a hide marker that S3 clients see as a
 * delete marker, `x-amz-meta-*` is B2 fileInfo.
 */
import type { DownloadCredential, DownloadPlan } from '../../core/engine';
import { requireCap, requireNameScope } from '../../core/engine';
import { B2Error } from '../../core/errors';
import { isHeaderValue } from '../../core/validate';
import type { FileRecord } from '../../core/types';
import { readSmallBody } from '../body';
import {
  authOf,
  b2,
  b2Async,
  bucketNamed,
  contentTypeFrom,
  etagOf,
  fileInfoFrom,
  keyOf,
  lockFrom,
  objectHeaders,
  quote,
  refuseUnsupportedWriteHeaders,
  requireCapability,
  S3Call,
  S3Reply,
  sseFrom,
} from '../call';
import { fromB2Error, S3Error } from '../errors';
import { safeDecode } from '../sigv4';
import { isoTime, parseDeleteObjects, renderXml, XmlNode } from '../xml';
import { aclXml, cannedAcl } from './buckets';

// ---------------------------------------------------------------------------------------------
// Reads

/** RFC 9110 §13.2.2 order: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since. */
export function checkConditions(
  headers: S3Call['headers'],
  etag: string,
  lastModifiedMs: number,
  prefix = '',
): void {
  const h = (n: string): string | undefined => {
    const v = headers[`${prefix}${n}`];
    return typeof v === 'string' ? v : undefined;
  };
  const matchAny = (list: string): boolean =>
    list.split(',').some((t) => {
      const x = t.trim();
      return x === '*' || x.replace(/^W\//, '').replace(/"/g, '') === etag;
    });
  const seconds = Math.floor(lastModifiedMs / 1000) * 1000;
  const ifMatch = h('if-match');
  if (ifMatch !== undefined && !matchAny(ifMatch))
    throw new S3Error('PreconditionFailed', undefined, { Condition: `${prefix}If-Match` });
  const ius = h('if-unmodified-since');
  if (
    ifMatch === undefined &&
    ius !== undefined &&
    !Number.isNaN(Date.parse(ius)) &&
    seconds > Date.parse(ius)
  ) {
    throw new S3Error('PreconditionFailed', undefined, { Condition: `${prefix}If-Unmodified-Since` });
  }
  const inm = h('if-none-match');
  if (inm !== undefined && matchAny(inm)) {
    if (prefix) throw new S3Error('PreconditionFailed', undefined, { Condition: `${prefix}If-None-Match` });
    throw new S3Error('NotModified');
  }
  const ims = h('if-modified-since');
  if (
    inm === undefined &&
    ims !== undefined &&
    !Number.isNaN(Date.parse(ims)) &&
    seconds <= Date.parse(ims)
  ) {
    if (prefix)
      throw new S3Error('PreconditionFailed', undefined, { Condition: `${prefix}If-Modified-Since` });
    throw new S3Error('NotModified');
  }
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

function openObject(c: S3Call): DownloadPlan {
  const bucket = bucketNamed(c);
  const key = keyOf(c);
  if (c.query.has('partNumber'))
    throw new S3Error('NotImplemented', 'GetObject/HeadObject by partNumber is not supported.');
  const cred: DownloadCredential = c.auth ? { kind: 'account', auth: c.auth } : { kind: 'none' };
  const range = typeof c.headers.range === 'string' ? c.headers.range : undefined;
  const sseC = sseFrom(c.headers);
  const versionId = c.query.get('versionId');
  // Nothing about a version — not even that it is a delete marker — before the caller may read it.
  if (!c.auth && bucket.bucketType !== 'allPublic')
    throw new S3Error('AccessDenied', 'Anonymous requests may only read objects of public buckets.');
  if (c.auth && versionId !== undefined) {
    const auth = c.auth;
    b2(() => {
      requireCap(auth, 'readFiles');
      requireNameScope(auth, key);
    });
  }
  try {
    if (versionId !== undefined && versionId !== 'null') {
      const f = c.engine.store.getFile(versionId);
      if (!f || f.bucketId !== bucket.bucketId || f.fileName !== key) {
        throw new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId });
      }
      if (f.action === 'hide') {
        throw new S3Error(
          'MethodNotAllowed',
          'The specified method is not allowed against a delete marker.',
          {},
          {
            'x-amz-delete-marker': 'true',
            'x-amz-version-id': f.fileId,
          },
        );
      }
      return c.engine.openById(cred, versionId, { range, sseC });
    }
    return c.engine.openByName(cred, bucket.bucketName, key, { range, sseC });
  } catch (e) {
    if (e instanceof B2Error && e.status === 404) {
      const newest = c.engine.newestVersion(bucket.bucketId, key);
      const extra: Record<string, string> =
        newest?.action === 'hide' ? { 'x-amz-delete-marker': 'true', 'x-amz-version-id': newest.fileId } : {};
      throw new S3Error('NoSuchKey', undefined, { Key: key }, extra);
    }
    if (e instanceof B2Error && e.code === 'range_not_satisfiable') {
      throw new S3Error('InvalidRange', undefined, { RangeRequested: range ?? '' }, {});
    }
    if (e instanceof B2Error) throw fromB2Error(e);
    throw e;
  }
}

function readHeaders(c: S3Call, plan: DownloadPlan): { status: number; headers: Record<string, string> } {
  const f = plan.file;
  const etag = etagOf(f);
  checkConditions(c.headers, etag, f.uploadTimestamp);
  const headers = objectHeaders(f);
  headers['content-length'] = String(plan.length);
  const checksum = f.extra?.s3Checksum as { algorithm: string; value: string } | undefined;
  if (checksum && !plan.range && c.headers['x-amz-checksum-mode'] === 'ENABLED') {
    headers[`x-amz-checksum-${checksum.algorithm}`] = checksum.value;
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  for (const [q, h] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = c.query.get(q);
    if (v !== undefined) {
      if (!c.auth)
        throw new S3Error('InvalidRequest', 'Response header overrides need an authenticated request.');
      if (!isHeaderValue(v))
        throw new S3Error(
          'InvalidArgument',
          `${q} cannot be an HTTP header value: only printable ASCII, no CR, LF or other control characters.`,
          { ArgumentName: q },
        );
      headers[h] = v;
    }
  }
  if (plan.range) {
    headers['content-range'] = `bytes ${plan.range.start}-${plan.range.end}/${f.contentLength}`;
    return { status: 206, headers };
  }
  return { status: 200, headers };
}

export async function getObject(c: S3Call): Promise<S3Reply> {
  const plan = openObject(c);
  const { status, headers } = readHeaders(c, plan);
  return { status, headers, stream: plan.length > 0 ? plan.open() : undefined, length: plan.length };
}

export async function headObject(c: S3Call): Promise<S3Reply> {
  const plan = openObject(c);
  const { status, headers } = readHeaders(c, plan);
  return { status, headers, length: plan.length };
}

export async function getObjectAcl(c: S3Call): Promise<S3Reply> {
  const plan = openObject(c);
  return { xml: aclXml(c, plan.bucket.bucketType === 'allPublic') };
}

// ---------------------------------------------------------------------------------------------
// Writes

function writeReplyHeaders(
  f: FileRecord,
  checksum: { algorithm: string; value: string } | null,
): Record<string, string> {
  const h: Record<string, string> = { etag: quote(etagOf(f)), 'x-amz-version-id': f.fileId };
  const sse = f.serverSideEncryption;
  if (sse?.mode === 'SSE-B2') h['x-amz-server-side-encryption'] = 'AES256';
  if (sse?.mode === 'SSE-C') {
    h['x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
    if (sse.customerKeyMd5) h['x-amz-server-side-encryption-customer-key-md5'] = sse.customerKeyMd5;
  }
  if (checksum) h[`x-amz-checksum-${checksum.algorithm}`] = checksum.value;
  return h;
}

export async function putObject(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const bucket = bucketNamed(c);
  const key = keyOf(c);
  refuseUnsupportedWriteHeaders(c.headers);
  if (c.body.length === null) throw new S3Error('MissingContentLength');
  const lock = lockFrom(c.headers);
  const f = await b2Async(() =>
    c.engine.uploadFile(auth, {
      bucketId: bucket.bucketId,
      fileName: key,
      contentType: contentTypeFrom(c.headers),
      contentLength: c.body.length!,
      sha1: undefined,
      // The engine checks Content-MD5 while it hashes (bad_digest → BadDigest): one MD5 pass.
      md5: c.body.delegateMd5() ?? undefined,
      body: c.body.source,
      fileInfo: fileInfoFrom(c.headers),
      sse: sseFrom(c.headers),
      fileRetention: lock.fileRetention,
      legalHold: lock.legalHold,
      // Gains the object's checksum as the body ends, before the engine stores the record.
      extra: c.body.extra,
    }),
  );
  return { headers: writeReplyHeaders(f, c.body.checksum()) };
}

/** `x-amz-copy-source: /bucket/key[?versionId=…]` (URL-encoded) → the source version. */
export function copySource(c: S3Call): FileRecord {
  const raw = String(c.headers['x-amz-copy-source'] ?? '');
  const q = raw.indexOf('?');
  const pathPart = safeDecode(q < 0 ? raw : raw.slice(0, q)).replace(/^\//, '');
  const versionId = q < 0 ? null : new URLSearchParams(raw.slice(q + 1)).get('versionId');
  const slash = pathPart.indexOf('/');
  if (slash <= 0 || slash === pathPart.length - 1) {
    throw new S3Error(
      'InvalidArgument',
      'x-amz-copy-source must look like "/bucket/key" (URL-encoded), optionally with ?versionId=.',
    );
  }
  const bucket = bucketNamed(c, pathPart.slice(0, slash));
  const key = pathPart.slice(slash + 1);
  // read scope first: nothing about a source outside the key's scope (existence, ETag through
  // x-amz-copy-source-if-*) may leak before the key is known to be allowed to read it
  const auth = authOf(c);
  requireCapability(auth, 'readFiles');
  b2(() => requireNameScope(auth, key));
  if (versionId) {
    const f = c.engine.store.getFile(versionId);
    if (!f || f.bucketId !== bucket.bucketId || f.fileName !== key)
      throw new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId });
    if (f.action !== 'upload') throw new S3Error('InvalidRequest', 'The source version is a delete marker.');
    return f;
  }
  const newest = c.engine.newestVersion(bucket.bucketId, key);
  if (!newest || newest.action !== 'upload') throw new S3Error('NoSuchKey', undefined, { Key: key });
  return newest;
}

export async function copyObject(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const bucket = bucketNamed(c);
  const key = keyOf(c);
  refuseUnsupportedWriteHeaders(c.headers);
  // write scope of the destination, then read scope of the source, before the source is looked at
  requireCapability(auth, 'writeFiles');
  b2(() => requireNameScope(auth, key));
  const src = copySource(c);
  checkConditions(c.headers, etagOf(src), src.uploadTimestamp, 'x-amz-copy-source-');
  const directive = String(c.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error(
      'InvalidArgument',
      `x-amz-metadata-directive must be COPY or REPLACE, got "${directive}".`,
    );
  }
  const lock = lockFrom(c.headers);
  const f = await b2Async(() =>
    c.engine.copyFile(auth, {
      sourceFileId: src.fileId,
      fileName: key,
      destinationBucketId: bucket.bucketId,
      metadataDirective: directive,
      contentType: directive === 'REPLACE' ? contentTypeFrom(c.headers) : undefined,
      fileInfo: directive === 'REPLACE' ? fileInfoFrom(c.headers) : undefined,
      sourceSse: sseFrom(c.headers, 'copy-source-'),
      destinationSse: sseFrom(c.headers),
      fileRetention: lock.fileRetention,
      legalHold: lock.legalHold,
      // A copy has the source's bytes, so the source's ETag and checksum still describe it.
      extra: src.extra,
    }),
  );
  const headers = writeReplyHeaders(f, null);
  delete headers.etag;
  headers['x-amz-copy-source-version-id'] = src.fileId;
  return {
    headers,
    xml: renderXml('CopyObjectResult', { ETag: quote(etagOf(f)), LastModified: isoTime(f.uploadTimestamp) }),
  };
}

// ---------------------------------------------------------------------------------------------
// Deletes

interface DeleteOutcome {
  versionId: string | null;
  deleteMarker: boolean;
}

/**
 * One object delete with B2 semantics. Without a version id: hide (writeFiles) — deleting a
 * missing or already hidden name still succeeds, as on S3. With one: permanent delete
 * (deleteFiles; Object Lock applies).
 */
async function deleteOne(
  c: S3Call,
  bucketId: string,
  key: string,
  versionId: string | null,
): Promise<DeleteOutcome> {
  const auth = authOf(c);
  if (versionId === null || versionId === 'null') {
    try {
      const marker = c.engine.hideFile(auth, bucketId, key);
      return { versionId: marker.fileId, deleteMarker: true };
    } catch (e) {
      if (e instanceof B2Error && (e.code === 'no_such_file' || e.code === 'already_hidden')) {
        const newest = c.engine.newestVersion(bucketId, key);
        return {
          versionId: newest?.action === 'hide' ? newest.fileId : null,
          deleteMarker: newest?.action === 'hide',
        };
      }
      if (e instanceof B2Error) throw fromB2Error(e);
      throw e;
    }
  }
  // scope before the lookup: a missing version answers success, so checking after would tell an
  // out-of-scope key which versions exist
  b2(() => {
    requireCap(auth, 'deleteFiles');
    requireNameScope(auth, key);
  });
  const existing = c.engine.store.getFile(versionId);
  if (!existing || existing.bucketId !== bucketId || existing.fileName !== key) {
    // S3 answers success for a version that is not there; a malformed id is a client error.
    if (!/^4_z[0-9a-f]+_f/.test(versionId))
      throw new S3Error('InvalidArgument', `Invalid version id specified: ${versionId}`);
    return { versionId, deleteMarker: false };
  }
  await b2Async(() =>
    c.engine.deleteFileVersion(auth, {
      fileId: versionId,
      fileName: key,
      bypassGovernance: String(c.headers['x-amz-bypass-governance-retention'] ?? '').toLowerCase() === 'true',
    }),
  );
  return { versionId, deleteMarker: existing.action === 'hide' };
}

export async function deleteObject(c: S3Call): Promise<S3Reply> {
  const bucket = bucketNamed(c);
  const out = await deleteOne(c, bucket.bucketId, keyOf(c), c.query.get('versionId') ?? null);
  const headers: Record<string, string> = {};
  if (out.versionId) headers['x-amz-version-id'] = out.versionId;
  if (out.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  return { status: 204, headers };
}

export async function deleteObjects(c: S3Call): Promise<S3Reply> {
  authOf(c);
  const bucket = bucketNamed(c);
  const request = parseDeleteObjects(await readSmallBody(c.body));
  const deleted: XmlNode[] = [];
  const errorsOut: XmlNode[] = [];
  for (const o of request.objects) {
    try {
      const r = await deleteOne(c, bucket.bucketId, o.key, o.versionId);
      if (request.quiet) continue;
      deleted.push({
        Key: o.key,
        VersionId: o.versionId ?? undefined,
        DeleteMarker: r.deleteMarker ? true : undefined,
        DeleteMarkerVersionId: r.deleteMarker && r.versionId ? r.versionId : undefined,
      });
    } catch (e) {
      if (!(e instanceof S3Error)) throw e;
      errorsOut.push({ Key: o.key, VersionId: o.versionId ?? undefined, Code: e.code, Message: e.message });
    }
  }
  return { xml: renderXml('DeleteResult', { Deleted: deleted, Error: errorsOut }) };
}

/** PutObjectAcl: B2 object ACLs are the bucket's; a canned ACL must match it (docs/b2-api.md §11). */
export async function putObjectAcl(c: S3Call): Promise<S3Reply> {
  authOf(c);
  const plan = openObject(c);
  const wanted = cannedAcl(c);
  if (wanted !== plan.bucket.bucketType) {
    throw new S3Error(
      'InvalidArgument',
      `Object ACLs follow the bucket on B2: this bucket is ${plan.bucket.bucketType}, so x-amz-acl must be ${plan.bucket.bucketType === 'allPublic' ? 'public-read' : 'private'}.`,
    );
  }
  return {};
}
