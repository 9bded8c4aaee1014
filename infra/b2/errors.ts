/**
 * Typed B2 errors, all built by one `fromWire` (b2sdk `interpret_b2_error`, docs/conventions.md §3).
 *
 * Callers branch with `instanceof` on a class or grouping (`NotFound`, `Unauthorized`, …), never
 * on message text. Every class has a literal `name` (so logs and Pulumi diagnostics say what
 * happened) and a `retryable` getter the one `RetryPolicy` consults.
 *
 * Messages never carry secrets: tokens and keys the request used are scrubbed from B2's message
 * (B2 echoes upload tokens in `auth_token_limit` messages), and no header is ever included.
 */
import { UNKNOWN_ERROR_CODE } from './wire/errors';

/** What was being attempted; used to name things in messages. */
export interface RequestContext {
  /** The B2 operation, e.g. `b2_update_bucket`, `b2_download_file_by_name`. */
  operation: string;
  bucketId?: string;
  bucketName?: string;
  fileName?: string;
  fileId?: string;
  applicationKeyId?: string;
  /** Values that must never appear in an error message (tokens, keys). */
  secrets?: readonly string[];
}

export interface ResponseContext {
  /** Raw `Retry-After` header value. */
  retryAfter?: string | null;
}

export class B2Error extends Error {
  override readonly name: string = 'B2Error';
  /** HTTP status; 0 when no response arrived (connection failure, timeout). */
  readonly status: number;
  /** B2's error code, or `unknown` when the body carried none. */
  readonly code: string;
  readonly operation: string;

  constructor(status: number, code: string, message: string, operation: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.operation = operation;
  }

  /** Whether sending the same request again may succeed (RetryPolicy only retries these). */
  get retryable(): boolean {
    return false;
  }

  /** Plain data for logs / Pulumi diagnostics (no stack, no secret). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      status: this.status,
      code: this.code,
      operation: this.operation,
      message: this.message,
    };
  }
}

// --- 400 ------------------------------------------------------------------------------------

export class BadRequest extends B2Error {
  override readonly name: string = 'BadRequest';
}
export class DuplicateBucketName extends BadRequest {
  override readonly name = 'DuplicateBucketName';
}
export class TooManyBuckets extends BadRequest {
  override readonly name = 'TooManyBuckets';
}
export class BucketNotEmpty extends BadRequest {
  override readonly name = 'BucketNotEmpty';
}
export class AlreadyHidden extends BadRequest {
  override readonly name = 'AlreadyHidden';
}
export class MissingPart extends BadRequest {
  override readonly name = 'MissingPart';
}
export class PartSha1Mismatch extends BadRequest {
  override readonly name = 'PartSha1Mismatch';
}
export class SourceTooLarge extends BadRequest {
  override readonly name = 'SourceTooLarge';
}
export class FileLockConflict extends BadRequest {
  override readonly name = 'FileLockConflict';
}
export class BucketMissingFileLock extends BadRequest {
  override readonly name = 'BucketMissingFileLock';
}
export class OutOfRange extends BadRequest {
  override readonly name = 'OutOfRange';
}
/**
 * A second concurrent upload on one upload token. Only uploads retry it (with a fresh upload
 * URL); as a plain request it is a client bug, so it is not generally retryable.
 */
export class AuthTokenLimit extends BadRequest {
  override readonly name = 'AuthTokenLimit';
}

// --- "does not exist", whatever the status ----------------------------------------------------

/** The named bucket, file or key does not exist (404 `not_found`, or B2's 400 variants). */
export class NotFound extends B2Error {
  override readonly name: string = 'NotFound';
}
export class BucketNotFound extends NotFound {
  override readonly name = 'BucketNotFound';
}
export class FileNotFound extends NotFound {
  override readonly name = 'FileNotFound';
}

// --- 401 ------------------------------------------------------------------------------------

export class Unauthorized extends B2Error {
  override readonly name: string = 'Unauthorized';
}
/** The key lacks a capability, or the bucket / name prefix is outside its scope. */
export class NotAllowedByKey extends Unauthorized {
  override readonly name = 'NotAllowedByKey';
}
/** `b2_authorize_account` refused the key id / key pair. */
export class InvalidCredentials extends Unauthorized {
  override readonly name = 'InvalidCredentials';
}
/** The account token (or an upload token) expired: the session re-authorizes once. */
export class ExpiredAuthToken extends Unauthorized {
  override readonly name = 'ExpiredAuthToken';
}
/** The token is not valid (any more): the session re-authorizes once. */
export class BadAuthToken extends Unauthorized {
  override readonly name = 'BadAuthToken';
}
export class MissingAuthToken extends Unauthorized {
  override readonly name = 'MissingAuthToken';
}
/** The key cannot be used with this API version (multi-bucket keys outside v4). */
export class UnsupportedByApiVersion extends Unauthorized {
  override readonly name = 'UnsupportedByApiVersion';
}

// --- 403 ------------------------------------------------------------------------------------

export class AccessDenied extends B2Error {
  override readonly name: string = 'AccessDenied';
}
/** An account storage / transaction / download cap was reached. */
export class CapExceeded extends AccessDenied {
  override readonly name = 'CapExceeded';
}

// --- other 4xx -----------------------------------------------------------------------------

export class MethodNotAllowed extends B2Error {
  override readonly name = 'MethodNotAllowed';
}
/** 409: `ifRevisionIs` did not match (someone else updated the bucket). */
export class Conflict extends B2Error {
  override readonly name = 'Conflict';
}
export class RangeNotSatisfiable extends B2Error {
  override readonly name = 'RangeNotSatisfiable';
}

// --- retryable -----------------------------------------------------------------------------

/** 408: the server timed out reading the request. */
export class RequestTimeout extends B2Error {
  override readonly name = 'RequestTimeout';
  override get retryable(): boolean {
    return true;
  }
}

/** 429: rate limited. `retryAfterSeconds` is B2's `Retry-After`, when it sent one. */
export class TooManyRequests extends B2Error {
  override readonly name = 'TooManyRequests';
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, code: string, message: string, operation: string, retryAfterSeconds?: number) {
    super(status, code, message, operation);
    this.retryAfterSeconds = retryAfterSeconds;
  }
  override get retryable(): boolean {
    return true;
  }
}

/** 5xx. Retryable except 501 (the server will never implement the call). */
export class ServiceError extends B2Error {
  override readonly name: string = 'ServiceError';
  /** B2 may send `Retry-After` with 503. */
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, code: string, message: string, operation: string, retryAfterSeconds?: number) {
    super(status, code, message, operation);
    this.retryAfterSeconds = retryAfterSeconds;
  }
  override get retryable(): boolean {
    return this.status !== 501;
  }
}
export class InternalError extends ServiceError {
  override readonly name = 'InternalError';
}
export class ServiceUnavailable extends ServiceError {
  override readonly name = 'ServiceUnavailable';
}

/**
 * No HTTP response: connection refused/reset, broken pipe, DNS failure, or our own per-attempt
 * timeout. `status` is 0; `code` is `connection_reset`, `connection_refused`, `timeout` or
 * `connection_error`.
 */
export class ConnectionError extends B2Error {
  override readonly name = 'ConnectionError';
  override get retryable(): boolean {
    return true;
  }
}

/** Anything else: an unexpected status or an unparsable success body. */
export class UnexpectedResponse extends B2Error {
  override readonly name = 'UnexpectedResponse';
}

// --- construction ----------------------------------------------------------------------------

type Ctor = new (status: number, code: string, message: string, operation: string) => B2Error;

/** (status, code) → class, checked first. Status `*` matches any status for that code. */
const BY_CODE: ReadonlyArray<readonly [number | '*', string, Ctor]> = [
  [400, 'duplicate_bucket_name', DuplicateBucketName],
  [400, 'too_many_buckets', TooManyBuckets],
  [400, 'cannot_delete_non_empty_bucket', BucketNotEmpty],
  [400, 'already_hidden', AlreadyHidden],
  [400, 'missing_part', MissingPart],
  [400, 'part_sha1_mismatch', PartSha1Mismatch],
  [400, 'source_too_large', SourceTooLarge],
  [400, 'file_lock_conflict', FileLockConflict],
  [400, 'bucket_missing_file_lock', BucketMissingFileLock],
  [400, 'out_of_range', OutOfRange],
  [400, 'auth_token_limit', AuthTokenLimit],
  [400, 'bad_bucket_id', BucketNotFound],
  [400, 'invalid_bucket_id', BucketNotFound],
  [400, 'no_such_file', FileNotFound],
  [400, 'file_not_present', FileNotFound],
  [404, 'not_found', FileNotFound],
  ['*', 'expired_auth_token', ExpiredAuthToken],
  ['*', 'bad_auth_token', BadAuthToken],
  [401, 'missing_auth_token', MissingAuthToken],
  [401, 'unsupported', UnsupportedByApiVersion],
  [401, 'unauthorized', NotAllowedByKey],
  [403, 'storage_cap_exceeded', CapExceeded],
  [403, 'transaction_cap_exceeded', CapExceeded],
  [403, 'download_cap_exceeded', CapExceeded],
  [403, 'cap_exceeded', CapExceeded],
  [500, 'internal_error', InternalError],
  [503, 'service_unavailable', ServiceUnavailable],
];

/** Falls back by status when the code is unknown or missing (blank / HTML bodies). */
function byStatus(status: number): Ctor {
  if (status === 400) return BadRequest;
  if (status === 401) return Unauthorized;
  if (status === 403) return AccessDenied;
  if (status === 404) return NotFound;
  if (status === 405) return MethodNotAllowed;
  if (status === 408) return RequestTimeout;
  if (status === 409) return Conflict;
  if (status === 416) return RangeNotSatisfiable;
  if (status === 500) return InternalError;
  if (status === 503) return ServiceUnavailable;
  if (status >= 500 && status <= 599) return ServiceError;
  return UnexpectedResponse;
}

/** Parses `Retry-After` as seconds (B2 sends integers); HTTP-dates are ignored. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** Replaces every secret the request carried; B2 messages sometimes echo tokens. */
export function scrub(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const s of secrets ?? []) {
    if (s.length >= 4) out = out.split(s).join('**redacted**');
  }
  return out;
}

function describeTarget(req: RequestContext): string {
  const parts: string[] = [];
  if (req.bucketName !== undefined) parts.push(`bucket "${req.bucketName}"`);
  else if (req.bucketId !== undefined) parts.push(`bucket id ${req.bucketId}`);
  if (req.fileName !== undefined) parts.push(`file "${req.fileName}"`);
  if (req.fileId !== undefined) parts.push(`file id ${req.fileId}`);
  if (req.applicationKeyId !== undefined) parts.push(`key id ${req.applicationKeyId}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/**
 * Builds the typed error for one failed B2 response.
 *
 * @param status HTTP status
 * @param code B2 code from the body, or undefined/`unknown` for a blank/HTML body
 * @param message B2 message (may be empty)
 * @param request what we were doing; names in it are added to the message, secrets scrubbed
 * @param response `Retry-After` for 429/503
 */
export function fromWire(
  status: number,
  code: string | undefined,
  message: string | undefined,
  request: RequestContext,
  response: ResponseContext = {},
): B2Error {
  const c = code && code.length > 0 ? code : UNKNOWN_ERROR_CODE;
  const b2Message = scrub(message && message.length > 0 ? message : `HTTP ${status}`, request.secrets);
  const text = `${request.operation} failed: ${status} ${c}: ${b2Message}${describeTarget(request)}`;
  const retryAfter = parseRetryAfter(response.retryAfter);

  // authorize: any 401 means the key id / key pair was refused (B2 has answered both
  // `unauthorized` and `bad_auth_token` here), except a key usable only with another version.
  if (request.operation === 'b2_authorize_account' && status === 401 && c !== 'unsupported') {
    return new InvalidCredentials(status, c, text, request.operation);
  }
  if (status === 429) return new TooManyRequests(status, c, text, request.operation, retryAfter);

  const entry = BY_CODE.find(([s, k]) => k === c && (s === '*' || s === status));
  const Cls = entry ? entry[2] : byStatus(status);
  if (Cls === ServiceError || Cls === ServiceUnavailable || Cls === InternalError) {
    return new (Cls as typeof ServiceError)(status, c, text, request.operation, retryAfter);
  }
  return new Cls(status, c, text, request.operation);
}

/** Classifies a transport failure (no HTTP response) from the `node:http` socket error code. */
export function fromTransport(err: unknown, request: RequestContext, timedOut: boolean): ConnectionError {
  const sysCode = transportCode(err);
  let code = 'connection_error';
  if (timedOut || sysCode === 'ETIMEDOUT') code = 'timeout';
  else if (sysCode === 'ECONNRESET' || sysCode === 'EPIPE') code = 'connection_reset';
  else if (sysCode === 'ECONNREFUSED') code = 'connection_refused';
  const detail = sysCode ? ` (${sysCode})` : '';
  const text = `${request.operation} failed: no response, ${code}${detail}${describeTarget(request)}`;
  return new ConnectionError(0, code, scrub(text, request.secrets), request.operation);
}

/** The system error code of a socket error, also when wrapped (`cause` chain, a few levels). */
function transportCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
