/**
 * S3 error table (docs/b2-api.md §11 "Errors"): one place maps an S3 error code to its HTTP status and
 * default message, as minio's `cmd/api-errors.go` does. Handlers throw `S3Error`; the outer layer
 * (`index.ts`) renders it as `<Error><Code/><Message/>…</Error>` with `x-amz-request-id`.
 *
 * B2 confirms `InvalidArgument` (400) and `SlowDown` (503); the other codes are the AWS ones that
 * B2 is documented or assumed to use (unconfirmed individually) — the clients we test against key
 * their behaviour on these exact codes (e.g. boto3 retries `SlowDown`, the aws CLI treats
 * `NoSuchKey` on HEAD as 404).
 */

export interface S3ErrorSpec {
  status: number;
  message: string;
}

export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed' },
  AuthorizationQueryParametersError: { status: 400, message: 'Error parsing the X-Amz-Credential parameter' },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what was received.' },
  BucketAlreadyExists: {
    status: 409,
    message:
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system.',
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: 'Your previous request to create the named bucket succeeded and you already own it.',
  },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.' },
  EntityTooSmall: {
    status: 400,
    message: 'Your proposed upload is smaller than the minimum allowed object size.',
  },
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header',
  },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: {
    status: 403,
    message: 'The AWS Access Key Id you provided does not exist in our records.',
  },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message: 'The list of parts was not in ascending order. Parts must be ordered by part number.',
  },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidStorageClass: { status: 400, message: 'The storage class you specified is not valid' },
  TooManyBuckets: { status: 400, message: 'You have attempted to create more buckets than allowed' },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MalformedXML: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema.',
  },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  MetadataTooLarge: {
    status: 400,
    message: 'Your metadata headers exceed the maximum allowed metadata size.',
  },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MissingSecurityHeader: { status: 400, message: 'Your request is missing a required header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchLifecycleConfiguration: { status: 404, message: 'The lifecycle configuration does not exist' },
  NoSuchObjectLockConfiguration: {
    status: 404,
    message: 'The specified object does not have a ObjectLock configuration',
  },
  ObjectLockConfigurationNotFoundError: {
    status: 404,
    message: 'Object Lock configuration does not exist for this bucket',
  },
  NoSuchUpload: {
    status: 404,
    message:
      'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  NoSuchVersion: { status: 404, message: 'The specified version does not exist.' },
  OperationAborted: {
    status: 409,
    message: 'A conflicting conditional operation is currently in progress against this resource. Try again.',
  },
  NotImplemented: {
    status: 501,
    message: 'A header or query you provided implies functionality that is not implemented.',
  },
  NotModified: { status: 304, message: 'Not Modified' },
  PreconditionFailed: {
    status: 412,
    message: 'At least one of the preconditions you specified did not hold.',
  },
  RequestTimeout: {
    status: 400,
    message:
      'Your socket connection to the server was not read from or written to within the timeout period.',
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the server's time is too large.",
  },
  ServerSideEncryptionConfigurationNotFoundError: {
    status: 404,
    message: 'The server side encryption configuration was not found',
  },
  ServiceUnavailable: { status: 503, message: 'Please reduce your request rate.' },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
} as const satisfies Record<string, S3ErrorSpec>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** An S3 error with its wire code; `fields` become extra child elements of `<Error>`. */
export class S3Error extends Error {
  override readonly name = 'S3Error';
  readonly status: number;
  /** Response headers to add (e.g. Retry-After on SlowDown). */
  readonly headers: Record<string, string>;

  constructor(
    readonly code: S3ErrorCode,
    message?: string,
    readonly fields: Record<string, string> = {},
    headers: Record<string, string> = {},
  ) {
    super(message ?? S3_ERRORS[code].message);
    this.status = S3_ERRORS[code].status;
    this.headers = headers;
  }
}

export function isS3Error(e: unknown): e is S3Error {
  return e instanceof S3Error;
}

/**
 * B2 engine error code → S3 code. The engine speaks B2 (docs/b2-api.md §6); S3 clients key on the AWS
 * codes, so a B2 refusal must surface as the S3 code a client expects for the same situation.
 */
const FROM_B2: Record<string, S3ErrorCode> = {
  unauthorized: 'AccessDenied',
  access_denied: 'AccessDenied',
  unsupported: 'AccessDenied',
  bad_auth_token: 'AccessDenied',
  expired_auth_token: 'ExpiredToken',
  storage_cap_exceeded: 'AccessDenied',
  transaction_cap_exceeded: 'AccessDenied',
  download_cap_exceeded: 'AccessDenied',
  duplicate_bucket_name: 'BucketAlreadyExists',
  too_many_buckets: 'TooManyBuckets',
  cannot_delete_non_empty_bucket: 'BucketNotEmpty',
  bad_bucket_id: 'NoSuchBucket',
  invalid_bucket_id: 'NoSuchBucket',
  not_found: 'NoSuchKey',
  file_not_present: 'NoSuchKey',
  no_such_file: 'NoSuchKey',
  invalid_file_id: 'NoSuchVersion',
  range_not_satisfiable: 'InvalidRange',
  too_many_requests: 'SlowDown',
  service_unavailable: 'ServiceUnavailable',
  internal_error: 'InternalError',
  conflict: 'OperationAborted',
  missing_part: 'InvalidPart',
  part_sha1_mismatch: 'InvalidPart',
  source_too_large: 'EntityTooLarge',
  invalid_bucket_name: 'InvalidBucketName',
  method_not_allowed: 'MethodNotAllowed',
  bad_digest: 'BadDigest',
  bucket_missing_file_lock: 'InvalidRequest',
  file_lock_conflict: 'InvalidRequest',
};

/** Maps an engine error (`{status, code, message}`) to an S3Error keeping B2's message. */
export function fromB2Error(e: {
  status: number;
  code: string;
  message: string;
  retryAfter?: number;
}): S3Error {
  const code: S3ErrorCode =
    FROM_B2[e.code] ??
    (e.status === 401 || e.status === 403
      ? 'AccessDenied'
      : e.status === 404
        ? 'NoSuchKey'
        : e.status >= 500
          ? 'InternalError'
          : 'InvalidArgument');
  const headers: Record<string, string> =
    e.retryAfter !== undefined ? { 'Retry-After': String(e.retryAfter) } : {};
  return new S3Error(code, e.message || undefined, {}, headers);
}
