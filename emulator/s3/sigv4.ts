/**
 * AWS Signature Version 4 verification, written from the AWS documentation
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html,
 * sigv4-streaming.html, sigv4-query-string-auth.html). Deliberately hand-written: the clients we
 * test use @smithy/signature-v4 or botocore, and a shared signer would let one bug hide on both
 * sides.
 *
 * Covers: Authorization header auth with a signed payload, `UNSIGNED-PAYLOAD`, the three
 * `STREAMING-*` payload forms (the chunk/trailer signatures are checked by `chunked.ts` with the
 * `ChunkSigner` returned here), presigned query URLs with `X-Amz-Expires`, and the 15-minute
 * clock-skew window. B2 accepts SigV4 only; V2 (`AWS key:sig`) is refused (docs/b2-api.md §11).
 *
 * Time: signatures are checked against the wall clock, not the emulator's admin clock. Real clients
 * sign with their wall clock; the admin clock only ages data (lifecycle), and advancing it by days
 * must not turn every later S3 call into `RequestTimeTooSkewed`.
 */
import { createHash, createHmac, timingSafeEqual } from 'crypto';
import { S3Error } from './errors';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** AWS rejects requests whose signing time differs from the server's by more than 15 minutes. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Presigned URLs may live at most 7 days. */
export const MAX_PRESIGN_EXPIRES_S = 604800;

/** The parts of an HTTP request that SigV4 covers, exactly as received. */
export interface SignableRequest {
  method: string;
  /** Path of the request target as sent (still percent-encoded), e.g. `/bucket/a%20b`. */
  rawPath: string;
  /** Query string as sent, without `?` (may be empty). */
  rawQuery: string;
  /** Header pairs in arrival order, any case (Node's `req.rawHeaders` paired up). */
  headers: Array<[string, string]>;
}

export type PayloadMode =
  | 'signed' // x-amz-content-sha256 = hex SHA-256 of the body: verified while reading it
  | 'unsigned' // UNSIGNED-PAYLOAD (and every presigned URL)
  | 'streaming-signed' // aws-chunked, each chunk signed
  | 'streaming-signed-trailer' // aws-chunked, chunks and trailer signed
  | 'streaming-unsigned-trailer'; // aws-chunked, no signatures, checksum trailer

export interface VerifiedAuth {
  accessKeyId: string;
  region: string;
  /** `X-Amz-Date` form, e.g. 20130524T000000Z. */
  amzDate: string;
  /** `date/region/s3/aws4_request`. */
  scope: string;
  signingKey: Buffer;
  /** The request (seed) signature; chunk signatures chain from it. */
  signature: string;
  presigned: boolean;
  payloadMode: PayloadMode;
  /** Hex SHA-256 the body must have when payloadMode is 'signed'. */
  payloadSha256: string | null;
}

export interface VerifyOptions {
  /** Wall-clock milliseconds. */
  nowMs: number;
  /** Secret for an access key id, or undefined if unknown (→ InvalidAccessKeyId). */
  lookupSecret(accessKeyId: string): string | undefined;
}

// ---------------------------------------------------------------------------------------------
// Primitives

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secret: string, date: string, region: string, service = 's3'): Buffer {
  return hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
}

/**
 * URI-encode per SigV4: every byte except the unreserved set `A-Za-z0-9-._~` becomes `%XX`
 * (upper-case hex); `/` is kept only when encoding a path.
 */
export function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Percent-decode without treating `+` as a space (S3 clients encode spaces as %20). */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** S3 canonical URI: the decoded path re-encoded once (S3 does not double-encode). */
export function canonicalUri(rawPath: string): string {
  const p = rawPath === '' ? '/' : rawPath;
  return p
    .split('/')
    .map((seg) => uriEncode(safeDecode(seg), false))
    .join('/');
}

export function parseQuery(rawQuery: string): Array<[string, string]> {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [safeDecode(p), ''] : [safeDecode(p.slice(0, i)), safeDecode(p.slice(i + 1))];
    });
}

export function canonicalQuery(params: Array<[string, string]>, omit?: string): string {
  return params
    .filter(([k]) => k !== omit)
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Header values by lower-case name; repeated headers joined with ',' as SigV4 prescribes. */
export function headerMap(headers: Array<[string, string]>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [name, value] of headers) {
    const k = name.toLowerCase();
    const v = value.trim().replace(/\s+/g, ' ');
    m.set(k, m.has(k) ? `${m.get(k)},${v}` : v);
  }
  return m;
}

export function canonicalRequest(
  method: string,
  uri: string,
  query: string,
  headers: Map<string, string>,
  signedHeaders: string[],
  payloadHash: string,
): string {
  const canonHeaders = signedHeaders.map((h) => `${h}:${headers.get(h) ?? ''}\n`).join('');
  return [method, uri, query, canonHeaders, signedHeaders.join(';'), payloadHash].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequestText)].join('\n');
}

export function signString(signingKey: Buffer, text: string): string {
  return createHmac('sha256', signingKey).update(text, 'utf8').digest('hex');
}

/** Constant-time comparison of two signatures (hex strings); different lengths are unequal. */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `20130524T000000Z` → epoch ms, or NaN. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

// ---------------------------------------------------------------------------------------------
// Chunk signatures (sigv4-streaming.html)

/** Signs successive aws-chunked chunks; each signature chains from the previous one. */
export class ChunkSigner {
  private previous: string;

  constructor(
    private readonly signingKey: Buffer,
    private readonly amzDate: string,
    private readonly scope: string,
    seedSignature: string,
  ) {
    this.previous = seedSignature;
  }

  /** Expected signature of the next chunk whose data hashes to `chunkSha256Hex`; advances the chain. */
  next(chunkSha256Hex: string): string {
    const sts = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      this.amzDate,
      this.scope,
      this.previous,
      EMPTY_SHA256,
      chunkSha256Hex,
    ].join('\n');
    this.previous = signString(this.signingKey, sts);
    return this.previous;
  }

  /** Expected trailer signature over the canonical trailer text (`name:value\n` lines). */
  trailer(canonicalTrailers: string): string {
    const sts = [
      'AWS4-HMAC-SHA256-TRAILER',
      this.amzDate,
      this.scope,
      this.previous,
      sha256Hex(canonicalTrailers),
    ].join('\n');
    this.previous = signString(this.signingKey, sts);
    return this.previous;
  }
}

// ---------------------------------------------------------------------------------------------
// Verification

interface ParsedCredential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
}

function parseCredential(
  value: string,
  errCode: 'AuthorizationHeaderMalformed' | 'AuthorizationQueryParametersError',
): ParsedCredential {
  const parts = value.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    throw new S3Error(
      errCode,
      `The Credential "${value}" is malformed; expected "<key id>/<yyyymmdd>/<region>/s3/aws4_request".`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts;
  if (service !== 's3' || terminator !== 'aws4_request' || !/^\d{8}$/.test(date)) {
    throw new S3Error(
      errCode,
      `The Credential scope "${parts.slice(1).join('/')}" is invalid; expected "<yyyymmdd>/<region>/s3/aws4_request".`,
    );
  }
  return { accessKeyId, date, region, service, terminator };
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export function parseAuthorizationHeader(value: string): {
  credential: ParsedCredential;
  signedHeaders: string[];
  signature: string;
} {
  if (value.startsWith('AWS ')) {
    throw new S3Error(
      'InvalidRequest',
      'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
    );
  }
  if (!value.startsWith(ALGORITHM + ' ')) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `Unsupported Authorization algorithm; only ${ALGORITHM} is accepted.`,
    );
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const cred = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!cred || !signed || !signature) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'The Authorization header needs Credential, SignedHeaders and Signature.',
    );
  }
  return {
    credential: parseCredential(cred, 'AuthorizationHeaderMalformed'),
    signedHeaders: signed.split(';').map((h) => h.trim().toLowerCase()),
    signature,
  };
}

export function isPresigned(rawQuery: string): boolean {
  return /(^|&)X-Amz-Algorithm=/.test(rawQuery) || /(^|&)X-Amz-Signature=/.test(rawQuery);
}

/** Has the request any SigV4 (or refused V2) credentials at all? */
export function hasCredentials(req: SignableRequest): boolean {
  return (
    isPresigned(req.rawQuery) ||
    /(^|&)(AWSAccessKeyId|Signature)=/.test(req.rawQuery) ||
    req.headers.some(([n]) => n.toLowerCase() === 'authorization')
  );
}

function payloadModeOf(contentSha: string | undefined): { mode: PayloadMode; sha: string | null } {
  switch (contentSha) {
    case undefined:
      // S3 requires the header with header auth; treat a missing one as malformed rather than guess.
      throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    case UNSIGNED_PAYLOAD:
      return { mode: 'unsigned', sha: null };
    case STREAMING_SIGNED:
      return { mode: 'streaming-signed', sha: null };
    case STREAMING_SIGNED_TRAILER:
      return { mode: 'streaming-signed-trailer', sha: null };
    case STREAMING_UNSIGNED_TRAILER:
      return { mode: 'streaming-unsigned-trailer', sha: null };
    default:
      if (!/^[0-9a-f]{64}$/.test(contentSha)) {
        throw new S3Error(
          'InvalidArgument',
          `x-amz-content-sha256 must be a hex SHA-256 or a known payload marker, got "${contentSha}".`,
        );
      }
      return { mode: 'signed', sha: contentSha };
  }
}

/**
 * Computes the signature for `req` the way a client would, trying the decoded-and-re-encoded path
 * first and the path exactly as sent second (clients differ on which characters they escape, and
 * both are honest signatures of what was sent).
 */
function matches(
  req: SignableRequest,
  headers: Map<string, string>,
  query: string,
  signedHeaders: string[],
  payloadHash: string,
  amzDate: string,
  scope: string,
  signingKey: Buffer,
  signature: string,
): boolean {
  const uris = [canonicalUri(req.rawPath)];
  if (!uris.includes(req.rawPath)) uris.push(req.rawPath || '/');
  return uris.some((uri) =>
    sameSignature(
      signString(
        signingKey,
        stringToSign(
          amzDate,
          scope,
          canonicalRequest(req.method, uri, query, headers, signedHeaders, payloadHash),
        ),
      ),
      signature,
    ),
  );
}

/**
 * Every `x-amz-*` header present must be covered by the signature (as AWS S3 requires, presigned
 * URLs included): an unsigned one could change what a valid signature authorises, e.g. an added
 * `x-amz-copy-source` turning a presigned PUT into a CopyObject. `x-amz-content-sha256` may stay
 * unsigned, as on S3: the canonical request ends with the payload hash anyway (header auth), and a
 * presigned request takes its payload hash from the query.
 */
export function requireSignedAmzHeaders(headers: Map<string, string>, signedHeaders: string[]): void {
  const signed = new Set(signedHeaders);
  const unsigned = [...headers.keys()].filter(
    (h) => h.startsWith('x-amz-') && h !== 'x-amz-content-sha256' && !signed.has(h),
  );
  if (unsigned.length) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }
}

function secretFor(accessKeyId: string, opts: VerifyOptions): string {
  const secret = opts.lookupSecret(accessKeyId);
  if (secret === undefined)
    throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKeyId });
  return secret;
}

/** Verifies an Authorization-header request. Throws S3Error on any failure. */
export function verifyHeaderAuth(req: SignableRequest, opts: VerifyOptions): VerifiedAuth {
  const headers = headerMap(req.headers);
  const { credential, signedHeaders, signature } = parseAuthorizationHeader(
    headers.get('authorization') ?? '',
  );
  if (!signedHeaders.includes('host')) {
    throw new S3Error('AuthorizationHeaderMalformed', 'SignedHeaders must include "host".');
  }
  requireSignedAmzHeaders(headers, signedHeaders);
  const amzDate = headers.get('x-amz-date') ?? '';
  let signedAt = parseAmzDate(amzDate);
  let dateForSigning = amzDate;
  if (Number.isNaN(signedAt)) {
    // SigV4 allows the Date header in place of X-Amz-Date; the string to sign then uses its ISO form.
    const d = Date.parse(headers.get('date') ?? '');
    if (Number.isNaN(d))
      throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    signedAt = d;
    dateForSigning = new Date(d)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
  }
  if (Math.abs(opts.nowMs - signedAt) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      RequestTime: dateForSigning,
      ServerTime: new Date(opts.nowMs).toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }
  if (credential.date !== dateForSigning.slice(0, 8)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      `Credential date ${credential.date} does not match the request date ${dateForSigning}.`,
    );
  }
  const secret = secretFor(credential.accessKeyId, opts);
  const scope = `${credential.date}/${credential.region}/s3/aws4_request`;
  const signingKey = deriveSigningKey(secret, credential.date, credential.region);
  const contentSha = headers.get('x-amz-content-sha256');
  const { mode, sha } = payloadModeOf(contentSha);
  const query = canonicalQuery(parseQuery(req.rawQuery));
  if (
    !matches(req, headers, query, signedHeaders, contentSha!, dateForSigning, scope, signingKey, signature)
  ) {
    throw new S3Error('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: credential.accessKeyId });
  }
  return {
    accessKeyId: credential.accessKeyId,
    region: credential.region,
    amzDate: dateForSigning,
    scope,
    signingKey,
    signature,
    presigned: false,
    payloadMode: mode,
    payloadSha256: sha,
  };
}

/** Verifies a presigned query-string request (sigv4-query-string-auth.html). */
export function verifyPresigned(req: SignableRequest, opts: VerifyOptions): VerifiedAuth {
  const params = parseQuery(req.rawQuery);
  const get = (k: string): string | undefined => params.find(([n]) => n === k)?.[1];
  const algorithm = get('X-Amz-Algorithm');
  if (algorithm !== ALGORITHM) {
    throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Algorithm must be ${ALGORITHM}.`);
  }
  const credRaw = get('X-Amz-Credential');
  const amzDate = get('X-Amz-Date') ?? '';
  const expiresRaw = get('X-Amz-Expires');
  const signedRaw = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  if (!credRaw || !signedRaw || !signature || expiresRaw === undefined) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      'Query-string authentication requires X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature.',
    );
  }
  const credential = parseCredential(credRaw, 'AuthorizationQueryParametersError');
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt)) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      `X-Amz-Date "${amzDate}" is not in yyyyMMddTHHmmssZ form.`,
    );
  }
  const expires = Number(expiresRaw);
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_EXPIRES_S) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      `X-Amz-Expires must be an integer between 1 and ${MAX_PRESIGN_EXPIRES_S} seconds, got "${expiresRaw}".`,
    );
  }
  if (signedAt - opts.nowMs > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
  if (opts.nowMs > signedAt + expires * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      Expires: new Date(signedAt + expires * 1000).toISOString(),
      ServerTime: new Date(opts.nowMs).toISOString(),
    });
  }
  if (credential.date !== amzDate.slice(0, 8)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      `Credential date ${credential.date} does not match X-Amz-Date ${amzDate}.`,
    );
  }
  const secret = secretFor(credential.accessKeyId, opts);
  const signedHeaders = signedRaw.split(';').map((h) => h.trim().toLowerCase());
  const headers = headerMap(req.headers);
  requireSignedAmzHeaders(headers, signedHeaders);
  const scope = `${credential.date}/${credential.region}/s3/aws4_request`;
  const signingKey = deriveSigningKey(secret, credential.date, credential.region);
  // Presigned URLs carry no body hash unless the signer put X-Amz-Content-Sha256 in the query.
  const payloadHash = get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
  const query = canonicalQuery(params, 'X-Amz-Signature');
  if (!matches(req, headers, query, signedHeaders, payloadHash, amzDate, scope, signingKey, signature)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: credential.accessKeyId });
  }
  const isHex = /^[0-9a-f]{64}$/.test(payloadHash);
  return {
    accessKeyId: credential.accessKeyId,
    region: credential.region,
    amzDate,
    scope,
    signingKey,
    signature,
    presigned: true,
    payloadMode: isHex ? 'signed' : 'unsigned',
    payloadSha256: isHex ? payloadHash : null,
  };
}

/** Verifies either form; V2 query auth (`AWSAccessKeyId=`) is refused like V2 headers. */
export function verifyRequest(req: SignableRequest, opts: VerifyOptions): VerifiedAuth {
  if (isPresigned(req.rawQuery)) return verifyPresigned(req, opts);
  if (/(^|&)AWSAccessKeyId=/.test(req.rawQuery)) {
    throw new S3Error(
      'InvalidRequest',
      'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
    );
  }
  return verifyHeaderAuth(req, opts);
}

/** Builds a `SignableRequest` from a Node request target and raw header list. */
export function signableFrom(method: string, url: string, rawHeaders: string[]): SignableRequest {
  const q = url.indexOf('?');
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers.push([rawHeaders[i], rawHeaders[i + 1]]);
  return {
    method,
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    headers,
  };
}
