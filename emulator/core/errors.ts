/**
 * The one error type every engine method throws (docs/b2-api.md §6). Protocol layers render it:
 * native → JSON `{"status","code","message"}`, S3 → XML (the S3 layer maps `code` to an S3 code).
 */
export class B2Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds for a `Retry-After` header (429/503 only). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'B2Error';
  }

  toJSON(): { status: number; code: string; message: string } {
    return { status: this.status, code: this.code, message: this.message };
  }
}

/** Shorthands for the codes the engine uses most; each names the field or object at fault. */
export const errors = {
  badRequest: (message: string) => new B2Error(400, 'bad_request', message),
  badJson: (message: string) => new B2Error(400, 'bad_json', message),
  badBucketId: (bucketId: string) => new B2Error(400, 'bad_bucket_id', `Bucket ${bucketId} does not exist`),
  invalidBucketId: (bucketId: string) =>
    new B2Error(400, 'invalid_bucket_id', `Invalid bucketId: ${bucketId}`),
  invalidFileId: (fileId: string) => new B2Error(400, 'invalid_file_id', `Invalid fileId: ${fileId}`),
  badFileId: (fileId: string) => new B2Error(400, 'bad_request', `Invalid fileId: ${fileId}`),
  outOfRange: (message: string) => new B2Error(400, 'out_of_range', message),
  unauthorized: (message = 'unauthorized') => new B2Error(401, 'unauthorized', message),
  unsupported: (message: string) => new B2Error(401, 'unsupported', message),
  badAuthToken: (message = 'Invalid authorization token') => new B2Error(401, 'bad_auth_token', message),
  expiredAuthToken: (message = 'Authorization token has expired') =>
    new B2Error(401, 'expired_auth_token', message),
  missingAuthToken: () => new B2Error(401, 'missing_auth_token', 'Authorization header is missing'),
  accessDenied: (message: string) => new B2Error(403, 'access_denied', message),
  notFound: (message: string) => new B2Error(404, 'not_found', message),
  methodNotAllowed: (method: string) =>
    new B2Error(405, 'method_not_allowed', `Method ${method} is not allowed for this call`),
  conflict: (message = 'simultaneous updates to bucket') => new B2Error(409, 'conflict', message),
  rangeNotSatisfiable: (message: string) => new B2Error(416, 'range_not_satisfiable', message),
  tooManyRequests: (retryAfter: number) =>
    new B2Error(
      429,
      'too_many_requests',
      'Too many requests: the emulator rate limit was exceeded',
      retryAfter,
    ),
  internal: (message: string) => new B2Error(500, 'internal_error', message),
};

export function isB2Error(e: unknown): e is B2Error {
  return e instanceof B2Error;
}
