import * as E from '../../../infra/b2/errors';
import { decodeErrorBody } from '../../../infra/b2/wire';

const ctx = { operation: 'b2_delete_bucket', bucketId: 'b123' };

describe('fromWire error mapping', () => {
  // (status, code) → class and grouping; the table a Pulumi provider relies on.
  it.each<[number, string, new (...a: never[]) => E.B2Error, string, boolean]>([
    [400, 'bad_request', E.BadRequest, 'BadRequest', false],
    [400, 'bad_json', E.BadRequest, 'BadRequest', false],
    [400, 'duplicate_bucket_name', E.DuplicateBucketName, 'DuplicateBucketName', false],
    [400, 'too_many_buckets', E.TooManyBuckets, 'TooManyBuckets', false],
    [400, 'cannot_delete_non_empty_bucket', E.BucketNotEmpty, 'BucketNotEmpty', false],
    [400, 'already_hidden', E.AlreadyHidden, 'AlreadyHidden', false],
    [400, 'missing_part', E.MissingPart, 'MissingPart', false],
    [400, 'part_sha1_mismatch', E.PartSha1Mismatch, 'PartSha1Mismatch', false],
    [400, 'source_too_large', E.SourceTooLarge, 'SourceTooLarge', false],
    [400, 'file_lock_conflict', E.FileLockConflict, 'FileLockConflict', false],
    [400, 'bucket_missing_file_lock', E.BucketMissingFileLock, 'BucketMissingFileLock', false],
    [400, 'out_of_range', E.OutOfRange, 'OutOfRange', false],
    [400, 'auth_token_limit', E.AuthTokenLimit, 'AuthTokenLimit', false],
    [400, 'bad_bucket_id', E.BucketNotFound, 'BucketNotFound', false],
    [400, 'invalid_bucket_id', E.BucketNotFound, 'BucketNotFound', false],
    [400, 'no_such_file', E.FileNotFound, 'FileNotFound', false],
    [400, 'file_not_present', E.FileNotFound, 'FileNotFound', false],
    [404, 'not_found', E.FileNotFound, 'FileNotFound', false],
    [401, 'unauthorized', E.NotAllowedByKey, 'NotAllowedByKey', false],
    [401, 'expired_auth_token', E.ExpiredAuthToken, 'ExpiredAuthToken', false],
    [401, 'bad_auth_token', E.BadAuthToken, 'BadAuthToken', false],
    [401, 'missing_auth_token', E.MissingAuthToken, 'MissingAuthToken', false],
    [401, 'unsupported', E.UnsupportedByApiVersion, 'UnsupportedByApiVersion', false],
    [401, 'email_not_verified', E.Unauthorized, 'Unauthorized', false],
    [403, 'storage_cap_exceeded', E.CapExceeded, 'CapExceeded', false],
    [403, 'transaction_cap_exceeded', E.CapExceeded, 'CapExceeded', false],
    [403, 'download_cap_exceeded', E.CapExceeded, 'CapExceeded', false],
    [403, 'cap_exceeded', E.CapExceeded, 'CapExceeded', false],
    [403, 'access_denied', E.AccessDenied, 'AccessDenied', false],
    [405, 'method_not_allowed', E.MethodNotAllowed, 'MethodNotAllowed', false],
    [408, 'request_timeout', E.RequestTimeout, 'RequestTimeout', true],
    [409, 'conflict', E.Conflict, 'Conflict', false],
    [416, 'range_not_satisfiable', E.RangeNotSatisfiable, 'RangeNotSatisfiable', false],
    [429, 'too_many_requests', E.TooManyRequests, 'TooManyRequests', true],
    [500, 'internal_error', E.InternalError, 'InternalError', true],
    [502, 'unknown', E.ServiceError, 'ServiceError', true],
    [503, 'service_unavailable', E.ServiceUnavailable, 'ServiceUnavailable', true],
    [503, 'bad_request', E.ServiceUnavailable, 'ServiceUnavailable', true],
    [501, 'unknown', E.ServiceError, 'ServiceError', false],
    [302, 'unknown', E.UnexpectedResponse, 'UnexpectedResponse', false],
  ])('%i %s → %p', (status, code, Cls, name, retryable) => {
    const err = E.fromWire(status, code, 'msg', ctx);
    expect(err).toBeInstanceOf(Cls);
    expect(err).toBeInstanceOf(E.B2Error);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(err.status).toBe(status);
    expect(err.code).toBe(code);
    expect(err.operation).toBe('b2_delete_bucket');
    expect(err.retryable).toBe(retryable);
  });

  it('groups: not-found errors share NotFound; token errors share Unauthorized; caps share AccessDenied', () => {
    expect(E.fromWire(400, 'bad_bucket_id', '', ctx)).toBeInstanceOf(E.NotFound);
    expect(E.fromWire(404, 'not_found', '', ctx)).toBeInstanceOf(E.NotFound);
    expect(E.fromWire(401, 'expired_auth_token', '', ctx)).toBeInstanceOf(E.Unauthorized);
    expect(E.fromWire(401, 'unauthorized', '', ctx)).toBeInstanceOf(E.Unauthorized);
    expect(E.fromWire(403, 'storage_cap_exceeded', '', ctx)).toBeInstanceOf(E.AccessDenied);
    expect(E.fromWire(400, 'duplicate_bucket_name', '', ctx)).toBeInstanceOf(E.BadRequest);
  });

  it('a 401 on authorize means bad credentials, whatever the code (B2 has sent bad_auth_token)', () => {
    const a = { operation: 'b2_authorize_account', applicationKeyId: 'K001' };
    for (const code of ['unauthorized', 'bad_auth_token', undefined]) {
      const err = E.fromWire(401, code, '', a);
      expect(err).toBeInstanceOf(E.InvalidCredentials);
      expect(err.message).toContain('key id K001');
    }
    expect(E.fromWire(401, 'unsupported', '', a)).toBeInstanceOf(E.UnsupportedByApiVersion);
  });

  it('429 and 503 carry Retry-After seconds; HTTP-dates and junk are ignored', () => {
    const tmr = E.fromWire(429, 'too_many_requests', 'slow', ctx, { retryAfter: '12' }) as E.TooManyRequests;
    expect(tmr.retryAfterSeconds).toBe(12);
    const su = E.fromWire(503, 'service_unavailable', '', ctx, { retryAfter: ' 3 ' }) as E.ServiceUnavailable;
    expect(su.retryAfterSeconds).toBe(3);
    expect(E.parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
    expect(E.parseRetryAfter('-1')).toBeUndefined();
    expect(E.parseRetryAfter(null)).toBeUndefined();
    expect(E.parseRetryAfter('1.5')).toBe(1.5);
  });

  it('blank or missing code: status fallback, code "unknown", message names the HTTP status', () => {
    const err = E.fromWire(400, undefined, undefined, ctx);
    expect(err).toBeInstanceOf(E.BadRequest);
    expect(err.code).toBe('unknown');
    expect(err.message).toBe('b2_delete_bucket failed: 400 unknown: HTTP 400 (bucket id b123)');
  });

  it('the message names operation, code, B2 message and the request target', () => {
    const err = E.fromWire(409, 'conflict', 'simultaneous updates to bucket', {
      operation: 'b2_update_bucket',
      bucketName: 'my-bucket',
      bucketId: 'ignored-when-name-known',
    });
    expect(err.message).toBe(
      'b2_update_bucket failed: 409 conflict: simultaneous updates to bucket (bucket "my-bucket")',
    );
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'Conflict',
      status: 409,
      code: 'conflict',
      operation: 'b2_update_bucket',
      message: err.message,
    });
  });

  it('scrubs secrets B2 echoes back (auth_token_limit names the upload token)', () => {
    const token = '4_0022623512fc8f80000000001_01a2b3c4_acct_upload_token=';
    const err = E.fromWire(400, 'auth_token_limit', `more than one upload using auth token ${token}`, {
      operation: 'b2_upload_file',
      fileName: 'a.txt',
      secrets: [token],
    });
    expect(err.message).not.toContain(token);
    expect(err.message).toContain('**redacted**');
  });
});

describe('fromTransport', () => {
  const t = { operation: 'b2_list_buckets' };
  const sock = (code: string) => Object.assign(new Error(`socket error ${code}`), { code });
  it.each([
    [sock('ECONNRESET'), 'connection_reset'],
    [sock('EPIPE'), 'connection_reset'],
    [sock('ECONNREFUSED'), 'connection_refused'],
    [sock('ETIMEDOUT'), 'timeout'],
    // A wrapped socket error (cause chain) is still classified by its code.
    [Object.assign(new Error('request failed'), { cause: sock('ECONNRESET') }), 'connection_reset'],
    [new Error('something else'), 'connection_error'],
  ])('classifies %#', (err, code) => {
    const e = E.fromTransport(err, t, false);
    expect(e).toBeInstanceOf(E.ConnectionError);
    expect(e.code).toBe(code);
    expect(e.status).toBe(0);
    expect(e.retryable).toBe(true);
  });

  it('our own attempt timeout is reported as timeout', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
    expect(E.fromTransport(abort, t, true).code).toBe('timeout');
  });
});

describe('decodeErrorBody (wire codec)', () => {
  it('decodes B2 JSON', () => {
    expect(decodeErrorBody('{"status":400,"code":"bad_request","message":"Invalid fileId: bad-id"}')).toEqual(
      {
        status: 400,
        code: 'bad_request',
        message: 'Invalid fileId: bad-id',
      },
    );
  });
  it('tolerates a missing message', () => {
    expect(decodeErrorBody('{"status":401,"code":"bad_auth_token"}')).toEqual({
      status: 401,
      code: 'bad_auth_token',
      message: '',
    });
  });
  it.each([
    '',
    '   ',
    '<html><body>502 Bad Gateway</body></html>',
    '{"status":',
    'null',
    '[1]',
    '{"message":"no code"}',
  ])('returns null for %p', (text) => {
    expect(decodeErrorBody(text)).toBeNull();
  });
});
