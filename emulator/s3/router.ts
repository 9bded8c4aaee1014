/**
 * S3 request routing: (method, host, path, query) → operation name + bucket + key. Path-style
 * (`/bucket/key`) always; virtual-host style for `<bucket>.localhost[:port]` and
 * `<bucket>.s3.<region>.…` hosts. Query parameters not listed here are subresources the emulator
 * does not implement: they answer NotImplemented instead of being ignored (a silently ignored
 * `?tagging` PUT would report success for something that never happened).
 */
import { S3Error } from './errors';
import { safeDecode } from './sigv4';

export type S3Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'GetBucketLocation'
  | 'GetBucketVersioning'
  | 'GetBucketEncryption'
  | 'PutBucketEncryption'
  | 'DeleteBucketEncryption'
  | 'GetBucketLifecycleConfiguration'
  | 'PutBucketLifecycleConfiguration'
  | 'DeleteBucketLifecycle'
  | 'GetBucketAcl'
  | 'GetBucketCors'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListObjectVersions'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'DeleteObject'
  | 'GetObjectAcl'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'GetObjectRetention'
  | 'PutObjectRetention'
  | 'GetObjectLegalHold'
  | 'PutObjectLegalHold'
  | 'GetObjectLockConfiguration'
  | 'PutObjectLockConfiguration'
  | 'PutBucketCors'
  | 'DeleteBucketCors'
  | 'PutBucketAcl'
  | 'PutObjectAcl';

export interface Route {
  operation: S3Operation;
  bucket: string | null;
  key: string | null;
  query: Map<string, string>;
}

/** Ordinary parameters (not subresources) that may appear on any request. */
const PLAIN_PARAMS = new Set([
  'versionId',
  'prefix',
  'delimiter',
  'marker',
  'max-keys',
  'list-type',
  'continuation-token',
  'start-after',
  'fetch-owner',
  'encoding-type',
  'key-marker',
  'version-id-marker',
  'upload-id-marker',
  'max-uploads',
  'max-parts',
  'part-number-marker',
  'partNumber',
  'uploadId',
  'x-id', // aws-sdk-js adds ?x-id=<Operation>
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
]);

/** Subresources we route; everything else non-plain is NotImplemented. */
const ROUTED = new Set([
  'location',
  'versioning',
  'encryption',
  'lifecycle',
  'versions',
  'uploads',
  'acl',
  'cors',
  'delete',
  'retention',
  'legal-hold',
  'object-lock',
]);

function notImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', `${what} is not supported by the B2 S3-compatible API (emulator).`);
}

/** Bucket from a virtual-host style Host header, or null for path style. */
export function bucketFromHost(host: string | undefined): string | null {
  if (!host) return null;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  const m = /^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.(localhost|s3\.[a-z0-9-]+\.[a-z0-9.-]+)$/.exec(name);
  if (!m) return null;
  // `s3.us-west-004.backblazeb2.com` itself is the service endpoint, not a bucket.
  if (m[1] === 's3' || /^\d+\.\d+\.\d+$/.test(m[1])) return null;
  return m[1];
}

export function route(
  method: string,
  host: string | undefined,
  rawPath: string,
  query: Map<string, string>,
): Route {
  let bucket = bucketFromHost(host);
  let key: string | null;
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  if (bucket === null) {
    const slash = path.indexOf('/');
    bucket = path === '' ? null : safeDecode(slash < 0 ? path : path.slice(0, slash));
    key = slash < 0 || slash === path.length - 1 ? null : safeDecode(path.slice(slash + 1));
  } else {
    key = path === '' ? null : safeDecode(path);
  }
  for (const name of query.keys()) {
    if (PLAIN_PARAMS.has(name) || ROUTED.has(name) || name.startsWith('X-Amz-') || name.startsWith('x-amz-'))
      continue;
    throw notImplemented(`The "${name}" subresource/parameter`);
  }
  const has = (n: string): boolean => query.has(n);
  const m = method.toUpperCase();
  const r = (operation: S3Operation): Route => ({ operation, bucket, key, query });

  if (bucket === null) {
    if (m === 'GET') return r('ListBuckets');
    throw new S3Error('MethodNotAllowed', `${m} on the service endpoint is not allowed.`);
  }

  if (key === null) {
    switch (m) {
      case 'GET':
        if (has('location')) return r('GetBucketLocation');
        if (has('versioning')) return r('GetBucketVersioning');
        if (has('encryption')) return r('GetBucketEncryption');
        if (has('lifecycle')) return r('GetBucketLifecycleConfiguration');
        if (has('acl')) return r('GetBucketAcl');
        if (has('cors')) return r('GetBucketCors');
        if (has('object-lock')) return r('GetObjectLockConfiguration');
        if (has('versions')) return r('ListObjectVersions');
        if (has('uploads')) return r('ListMultipartUploads');
        if (query.get('list-type') === '2') return r('ListObjectsV2');
        return r('ListObjects');
      case 'HEAD':
        return r('HeadBucket');
      case 'PUT':
        if (has('encryption')) return r('PutBucketEncryption');
        if (has('lifecycle')) return r('PutBucketLifecycleConfiguration');
        if (has('object-lock')) return r('PutObjectLockConfiguration');
        if (has('versioning')) throw notImplemented('PutBucketVersioning (B2 versioning is always enabled)');
        if (has('acl')) return r('PutBucketAcl');
        if (has('cors')) return r('PutBucketCors');
        return r('CreateBucket');
      case 'DELETE':
        if (has('encryption')) return r('DeleteBucketEncryption');
        if (has('lifecycle')) return r('DeleteBucketLifecycle');
        if (has('cors')) return r('DeleteBucketCors');
        return r('DeleteBucket');
      case 'POST':
        if (has('delete')) return r('DeleteObjects');
        break;
    }
    throw new S3Error('MethodNotAllowed', `${m} is not allowed on a bucket here.`);
  }

  switch (m) {
    case 'GET':
      if (has('uploadId')) return r('ListParts');
      if (has('acl')) return r('GetObjectAcl');
      if (has('retention')) return r('GetObjectRetention');
      if (has('legal-hold')) return r('GetObjectLegalHold');
      return r('GetObject');
    case 'HEAD':
      return r('HeadObject');
    case 'PUT':
      if (has('acl')) return r('PutObjectAcl');
      if (has('retention')) return r('PutObjectRetention');
      if (has('legal-hold')) return r('PutObjectLegalHold');
      if (has('uploadId') || has('partNumber')) return r('UploadPart');
      return r('PutObject');
    case 'POST':
      if (has('uploads')) return r('CreateMultipartUpload');
      if (has('uploadId')) return r('CompleteMultipartUpload');
      break;
    case 'DELETE':
      if (has('uploadId')) return r('AbortMultipartUpload');
      return r('DeleteObject');
  }
  throw new S3Error('MethodNotAllowed', `${m} is not allowed on an object here.`);
}

/** Refines PutObject/UploadPart into their copy forms when `x-amz-copy-source` is present. */
export function refineForCopy(r: Route, hasCopySource: boolean): Route {
  if (!hasCopySource) return r;
  if (r.operation === 'PutObject') return { ...r, operation: 'CopyObject' };
  if (r.operation === 'UploadPart') return { ...r, operation: 'UploadPartCopy' };
  return r;
}
