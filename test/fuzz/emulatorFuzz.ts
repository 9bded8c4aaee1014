/**
 * Property-based fuzzing of a running b2-local (issue 12): generated malformed input at the SigV4
 * and aws-chunked parsers, the S3 XML bodies, the native JSON calls, headers, Range headers, query
 * strings and request paths of both APIs. The property of every case: the answer is a success or
 * a *named* 4xx (a B2 JSON `code` or an S3 XML `<Code>`), never a 5xx, a reset or silence — and
 * after each property the server still answers an ordinary request.
 *
 * Used by `emulator.fuzz.test.ts` (bounded, in `npm test`) and `bench/fuzz/run.ts` (long runs).
 * Runs are reproducible: one seed drives every property (FUZZ_SEED), FUZZ_RUNS sets the runs per
 * property; a failure names the property, the seed and fast-check's counterexample path.
 */
import { createHash, createHmac } from 'crypto';
import fc from 'fast-check';
import * as http from 'http';
import { S3Env, signer } from '../conformance/wire/s3helpers';

export const DEFAULT_SEED = 20261206;

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD instead of throwing). */
const enc = (s: string): string =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : '%' + b.toString(16).toUpperCase().padStart(2, '0'),
    )
    .join('');

export interface FuzzOptions {
  seed: number;
  /** Runs per property. */
  runs: number;
  /** Only properties whose name contains this (optional). */
  only?: string;
  log?: (line: string) => void;
}

export interface PropertyResult {
  property: string;
  runs: number;
  ms: number;
  /** Answers by status (and code for 4xx), e.g. `400 InvalidRequest`: what the fuzz reached. */
  answers: Record<string, number>;
}

export interface RawAnswer {
  status: number;
  code: string | null;
  headers: http.IncomingHttpHeaders;
  /** The start of the body (for failure messages). */
  text: string;
}

/** One request on its own connection (a reset cannot hide behind keep-alive); bounded in time. */
export function send(
  url: string,
  req: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: req.method,
        path: req.path,
        // a body always goes with its length: Node's client sends a GET body unframed otherwise
        headers:
          req.body !== undefined &&
          !Object.keys(req.headers ?? {}).some((k) => k.toLowerCase() === 'content-length')
            ? { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) }
            : req.headers,
        agent: false,
        // the fuzz sends headers Node's own client would refuse to build; the server must cope
        insecureHTTPParser: true,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            code: codeOf(text),
            headers: res.headers,
            text: text.slice(0, 300),
          });
        });
      },
    );
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

function codeOf(text: string): string | null {
  const xml = /<Code>([^<]+)<\/Code>/.exec(text);
  if (xml) return xml[1];
  try {
    const j = JSON.parse(text) as { code?: unknown };
    return typeof j.code === 'string' && j.code ? j.code : null;
  } catch {
    return null;
  }
}

/**
 * The property of every answer: success, or a 4xx that names its error. One 5xx is a named answer
 * too: S3's 501 NotImplemented for a subresource or header naming functionality B2 does not have
 * (what AWS answers; clients key on it) — it is about the request, not a server failure.
 */
export function checkAnswer(a: RawAnswer, method: string, what: string): void {
  if (a.status >= 200 && a.status < 400) return;
  if (a.status >= 400 && a.status < 500 && (a.code || method === 'HEAD')) return;
  if (a.status === 501 && (a.code === 'NotImplemented' || method === 'HEAD')) return;
  throw new Error(`${what}: answered ${a.status} ${a.code ?? '(no error code)'} ${JSON.stringify(a.text)}`);
}

// ---------------------------------------------------------------------------------------------
// Context: a running emulator with an S3 key, a master token, a bucket and an object

export interface FuzzTarget {
  env: S3Env;
  bucket: string;
  bucketId: string;
  apiToken: string;
  fileId: string;
}

export async function prepareTarget(env: S3Env): Promise<FuzzTarget> {
  const bucket = 'fuzz-target-bucket';
  const b = await env.native('b2_create_bucket', {
    accountId: env.accountId,
    bucketName: bucket,
    bucketType: 'allPrivate',
  });
  const auth = await fetch(`${env.url}/b2api/v2/b2_authorize_account`, {
    headers: {
      authorization:
        'Basic ' + Buffer.from(`${env.emu.info.keyId}:${env.emu.info.applicationKey}`).toString('base64'),
    },
  });
  const apiToken = ((await auth.json()) as { authorizationToken: string }).authorizationToken;
  const put = await s3Signed(env, 'PUT', `/${bucket}/obj.txt`, {}, Buffer.from('fuzz object body'));
  if (put.status !== 200) throw new Error(`fuzz setup: PutObject → ${put.status}`);
  return {
    env,
    bucket,
    bucketId: b.bucketId as string,
    apiToken,
    fileId: String(put.headers['x-amz-version-id']),
  };
}

/** The server still answers an ordinary signed request and an ordinary native call. */
export async function expectAlive(t: FuzzTarget): Promise<void> {
  const s3 = await s3Signed(t.env, 'GET', `/${t.bucket}`, { 'list-type': '2' });
  if (s3.status !== 200) throw new Error(`after fuzzing: ListObjectsV2 → ${s3.status} ${s3.code}`);
  const n = await send(t.env.url, {
    method: 'POST',
    path: '/b2api/v2/b2_list_buckets',
    headers: { authorization: t.apiToken },
    body: JSON.stringify({ accountId: t.env.accountId }),
  });
  if (n.status !== 200) throw new Error(`after fuzzing: b2_list_buckets → ${n.status} ${n.code}`);
}

// ---------------------------------------------------------------------------------------------
// Signing helpers (third-party signer; chunk signatures by hand from the AWS documentation)

export async function signedHeaders(
  env: S3Env,
  method: string,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string>,
  date = new Date(),
): Promise<Record<string, string>> {
  const u = new URL(env.url);
  const signed = await signer(env.keyId, env.secret, env.region).sign(
    {
      method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path,
      query,
      headers: { host: u.host, ...headers },
    },
    { signingDate: date },
  );
  return signed.headers as Record<string, string>;
}

async function s3Signed(
  env: S3Env,
  method: string,
  path: string,
  query: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
  extra: Record<string, string> = {},
): Promise<RawAnswer> {
  const headers = await signedHeaders(env, method, path, query, {
    'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    ...extra,
  });
  const qs = Object.entries(query)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&');
  return send(env.url, { method, path: qs ? `${path}?${qs}` : path, headers, body });
}

function signingKey(secret: string, day: string, region: string): Buffer {
  const h = (k: Buffer | string, d: string): Buffer => createHmac('sha256', k).update(d).digest();
  return h(h(h(h('AWS4' + secret, day), region), 's3'), 'aws4_request');
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Strings a protocol parser might trip on: ASCII, latin1, unicode, control characters. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '..',
    '.',
    '/',
    '%',
    '%zz',
    '%00',
    '\u0000',
    '\r\n',
    '\u00ff',
    '日本',
    '__proto__',
    'constructor',
    'NaN',
    '-1',
    '1e309',
    '9'.repeat(30),
  ),
);

/** Header-safe strings (what an HTTP client can put on the wire): printable ASCII and latin1. */
const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }),
  nasty.map((v) => enc(v)),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom(
    '',
    'bytes=0-',
    'bytes=-1',
    'bytes=5-1',
    'bytes=0-0,2-3',
    '*',
    'AES256',
    'true',
    'null',
    '-1',
  ),
);

const headerName = fc.oneof(
  fc.constantFrom(
    'x-amz-content-sha256',
    'x-amz-date',
    'x-amz-decoded-content-length',
    'x-amz-trailer',
    'x-amz-copy-source',
    'x-amz-copy-source-range',
    'x-amz-meta-a',
    'x-amz-server-side-encryption',
    'x-amz-server-side-encryption-customer-algorithm',
    'x-amz-object-lock-mode',
    'x-amz-object-lock-retain-until-date',
    'x-amz-checksum-crc32',
    'x-amz-checksum-sha256',
    'x-amz-tagging',
    'x-amz-storage-class',
    'x-amz-metadata-directive',
    'x-amz-bypass-governance-retention',
    'content-md5',
    'content-type',
    'content-encoding',
    'range',
    'if-match',
    'if-none-match',
    'if-modified-since',
    'x-bz-file-name',
    'x-bz-content-sha1',
    'x-bz-info-b2-content-disposition',
    'x-bz-info-a',
    'x-bz-part-number',
    'x-bz-file-legal-hold',
    'x-bz-file-retention-mode',
    'x-bz-file-retention-retain-until-timestamp',
    'x-bz-server-side-encryption',
    'x-bz-server-side-encryption-customer-key',
    'x-bz-custom-upload-timestamp',
    'x-bz-test-mode',
    'origin',
    'access-control-request-method',
  ),
  fc.stringMatching(/^x-(amz|bz)-[a-z0-9-]{1,20}$/),
);

const headerSet = fc.dictionary(headerName, headerValue, { maxKeys: 5 });

// ---------------------------------------------------------------------------------------------
// Properties

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Property = (t: FuzzTarget, record: (a: RawAnswer) => void) => fc.IAsyncProperty<any>;

function tally(answers: Record<string, number>, a: RawAnswer): void {
  const k = a.status >= 400 ? `${a.status} ${a.code ?? '-'}` : String(a.status);
  answers[k] = (answers[k] ?? 0) + 1;
}

/** SigV4 Authorization headers: mutations of a valid one, and garbage. */
const sigv4: Property = (t, record) =>
  fc.asyncProperty(
    fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE', 'POST'),
    fc.constantFrom(`/${t.bucket}`, `/${t.bucket}/obj.txt`, `/${t.bucket}/new.txt`, '/'),
    fc.oneof(
      fc.constant('valid'),
      fc.constantFrom(
        'drop-credential',
        'drop-signature',
        'drop-signedheaders',
        'bad-date',
        'wrong-scope',
        'v2',
      ),
      nasty,
    ),
    headerSet,
    fc.oneof(fc.constant(null), nasty),
    async (method, path, mutation, extra, contentSha) => {
      const headers = await signedHeaders(
        t.env,
        method,
        path,
        {},
        {
          'x-amz-content-sha256':
            contentSha === null ? createHash('sha256').update('').digest('hex') : 'UNSIGNED-PAYLOAD',
        },
      );
      let auth = headers.authorization ?? '';
      switch (mutation) {
        case 'valid':
          break;
        case 'drop-credential':
          auth = auth.replace(/Credential=[^,]*,\s*/, '');
          break;
        case 'drop-signature':
          auth = auth.replace(/,\s*Signature=.*/, '');
          break;
        case 'drop-signedheaders':
          auth = auth.replace(/SignedHeaders=[^,]*,\s*/, '');
          break;
        case 'bad-date':
          headers['x-amz-date'] = '2020-01-01';
          break;
        case 'wrong-scope':
          auth = auth.replace(/\/s3\/aws4_request/, '/ec2/aws4_request');
          break;
        case 'v2':
          auth = `AWS ${t.env.keyId}:c2lnbmF0dXJl`;
          break;
        default:
          auth = auth.replace(/(SignedHeaders=)[^,]*/, `$1${mutation}`);
      }
      headers.authorization = auth;
      if (contentSha !== null) headers['x-amz-content-sha256'] = contentSha;
      for (const [k, v] of Object.entries(extra)) headers[k] = v;
      const a = await send(t.env.url, { method, path, headers: cleanHeaders(headers) });
      record(a);
      checkAnswer(a, method, `${method} ${path} Authorization mutation ${JSON.stringify(mutation)}`);
    },
  );

/** Node refuses to send a header with CR/LF/NUL; drop those (the server never sees them either). */
function cleanHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) && /^[\t\x20-\x7e\x80-\xff]*$/.test(v)) out[k] = v;
  }
  return out;
}

/** aws-chunked bodies: structurally valid chunk streams, then mutated; all three payload modes. */
const awsChunked: Property = (t, record) =>
  fc.asyncProperty(
    fc.constantFrom(
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    ),
    fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }),
    fc.array(
      fc.record({
        at: fc.nat(),
        kind: fc.constantFrom('insert', 'delete', 'replace', 'truncate'),
        text: fc.oneof(
          nasty,
          fc.constantFrom(
            '\r\n',
            ';',
            'zz',
            'chunk-signature=',
            '0\r\n\r\n',
            'x-amz-checksum-crc32:AAAAAA==\r\n',
            'x-amz-trailer-signature:00\r\n',
          ),
        ),
      }),
      { maxLength: 3 },
    ),
    fc.oneof(
      fc.constant<string | null>(null),
      fc.constantFrom('x-amz-checksum-crc32', 'x-amz-checksum-sha256', 'x-amz-checksum-bogus', ''),
    ),
    fc.oneof(fc.constant<number | null>(null), fc.integer({ min: -1, max: 2000 })),
    // a missing bucket and a body-less operation: handlers that refuse before reading the body
    fc.constantFrom(
      `/${t.bucket}/chunked.bin`,
      '/no-such-bucket-fuzz/chunked.bin',
      `/${t.bucket}/obj.txt?acl`,
    ),
    async (mode, chunks, mutations, trailer, declared, target) => {
      const [path, query] = target.split('?');
      const data = Buffer.concat(chunks.map((c) => Buffer.from(c)));
      const date = new Date();
      const headers = await signedHeaders(
        t.env,
        'PUT',
        path,
        query ? { [query]: '' } : {},
        {
          'x-amz-content-sha256': mode,
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(declared ?? data.length),
          ...(trailer !== null ? { 'x-amz-trailer': trailer } : {}),
        },
        date,
      );
      let body = chunkedBody(t, headers, mode, chunks, trailer, date);
      for (const m of mutations) body = mutate(body, m);
      headers['content-length'] = String(body.length);
      const a = await send(t.env.url, { method: 'PUT', path: target, headers: cleanHeaders(headers), body });
      record(a);
      checkAnswer(a, 'PUT', `aws-chunked ${mode} to ${target} with ${mutations.length} mutation(s)`);
    },
  );

function chunkedBody(
  t: FuzzTarget,
  headers: Record<string, string>,
  mode: string,
  chunks: Uint8Array[],
  trailer: string | null,
  date: Date,
): Buffer {
  const signed = mode !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
  const amzDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${t.env.region}/s3/aws4_request`;
  const key = signingKey(t.env.secret, day, t.env.region);
  let prev = /Signature=([0-9a-f]{64})/.exec(headers.authorization ?? '')?.[1] ?? '';
  const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
  const parts: Buffer[] = [];
  for (const c of [...chunks.filter((x) => x.length > 0), new Uint8Array(0)]) {
    let ext = '';
    if (signed) {
      prev = createHmac('sha256', key)
        .update(['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, sha(''), sha(c)].join('\n'))
        .digest('hex');
      ext = `;chunk-signature=${prev}`;
    }
    parts.push(Buffer.from(`${c.length.toString(16)}${ext}\r\n`), Buffer.from(c));
    if (c.length) parts.push(Buffer.from('\r\n'));
  }
  if (trailer) {
    const line = `${trailer}:AAAAAA==`;
    parts.push(Buffer.from(`${line}\r\n`));
    if (mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') {
      const ts = createHmac('sha256', key)
        .update(['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, prev, sha(line + '\n')].join('\n'))
        .digest('hex');
      parts.push(Buffer.from(`x-amz-trailer-signature:${ts}\r\n`));
    }
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

function mutate(body: Buffer, m: { at: number; kind: string; text: string }): Buffer {
  const at = body.length ? m.at % (body.length + 1) : 0;
  const text = Buffer.from(m.text, 'latin1');
  switch (m.kind) {
    case 'insert':
      return Buffer.concat([body.subarray(0, at), text, body.subarray(at)]);
    case 'delete':
      return Buffer.concat([body.subarray(0, at), body.subarray(at + Math.max(1, text.length))]);
    case 'replace':
      return Buffer.concat([body.subarray(0, at), text, body.subarray(at + text.length)]);
    default:
      return body.subarray(0, at);
  }
}

/** XML documents: random trees of S3 element names with hostile text, for every XML body operation. */
const xmlTree: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .oneof(
        nasty,
        fc.constantFrom('&amp;', '&#34;', '&#x0;', '&unknown;', '<![CDATA[x]]>', '<!-- c -->', '"etag"'),
      )
      .map(escapeLoosely),
    fc
      .tuple(
        fc.constantFrom(
          'Object',
          'Key',
          'VersionId',
          'Quiet',
          'Part',
          'PartNumber',
          'ETag',
          'Rule',
          'ID',
          'Filter',
          'Prefix',
          'Status',
          'Expiration',
          'Days',
          'NoncurrentVersionExpiration',
          'NoncurrentDays',
          'CORSRule',
          'AllowedOrigin',
          'AllowedMethod',
          'AllowedHeader',
          'MaxAgeSeconds',
          'Mode',
          'RetainUntilDate',
          'ObjectLockEnabled',
          'DefaultRetention',
          'Years',
          'ApplyServerSideEncryptionByDefault',
          'SSEAlgorithm',
          'LocationConstraint',
          '__proto__',
          'constructor',
          'toString',
          'a:b',
          'x',
        ),
        fc.array(tie('node'), { maxLength: 3 }),
      )
      .map(([name, kids]) => `<${name}>${kids.join('')}</${name}>`),
  ),
})).node;

function escapeLoosely(s: string): string {
  // mostly escaped text, sometimes raw (malformed on purpose)
  return s.length % 3 === 0 ? s : s.replace(/&(?![a-z#]+;)/g, '&amp;').replace(/</g, '&lt;');
}

interface XmlOp {
  method: string;
  path: string;
  query: Record<string, string>;
  root: string;
}

const xmlBodies: Property = (t, record) =>
  fc.asyncProperty(
    fc.constantFrom<XmlOp>(
      { method: 'POST', path: `/${t.bucket}`, query: { delete: '' }, root: 'Delete' },
      {
        method: 'POST',
        path: `/${t.bucket}/obj.txt`,
        query: { uploadId: 'no-such-upload' },
        root: 'CompleteMultipartUpload',
      },
      { method: 'PUT', path: `/${t.bucket}`, query: { lifecycle: '' }, root: 'LifecycleConfiguration' },
      { method: 'PUT', path: `/${t.bucket}`, query: { cors: '' }, root: 'CORSConfiguration' },
      {
        method: 'PUT',
        path: `/${t.bucket}`,
        query: { encryption: '' },
        root: 'ServerSideEncryptionConfiguration',
      },
      { method: 'PUT', path: `/${t.bucket}/obj.txt`, query: { retention: '' }, root: 'Retention' },
      { method: 'PUT', path: `/${t.bucket}/obj.txt`, query: { 'legal-hold': '' }, root: 'LegalHold' },
      { method: 'PUT', path: `/${t.bucket}`, query: { 'object-lock': '' }, root: 'ObjectLockConfiguration' },
      { method: 'PUT', path: '/fuzz-created-bucket', query: {}, root: 'CreateBucketConfiguration' },
    ),
    fc.array(xmlTree, { maxLength: 4 }),
    fc.oneof(fc.constant('wrap'), fc.constant('raw'), fc.constant('doctype'), fc.constant('deep')),
    async (op, kids, shape) => {
      let xml: string;
      if (shape === 'raw') xml = kids.join('');
      else if (shape === 'deep')
        xml = `<${op.root}>${'<Rule>'.repeat(200)}${'</Rule>'.repeat(200)}</${op.root}>`;
      else if (shape === 'doctype')
        xml = `<!DOCTYPE ${op.root} [<!ENTITY e "${'x'.repeat(50)}">]><${op.root}>&e;${kids.join('')}</${op.root}>`;
      else xml = `<?xml version="1.0" encoding="UTF-8"?><${op.root}>${kids.join('')}</${op.root}>`;
      const body = Buffer.from(xml);
      const md5 = createHash('md5').update(body).digest('base64');
      const a = await s3Signed(t.env, op.method, op.path, op.query, body, { 'content-md5': md5 });
      record(a);
      checkAnswer(
        a,
        op.method,
        `${op.method} ${op.path}?${Object.keys(op.query).join('&')} with XML ${JSON.stringify(xml.slice(0, 200))}`,
      );
    },
  );

const NATIVE_CALLS = [
  'b2_create_bucket',
  'b2_update_bucket',
  'b2_delete_bucket',
  'b2_list_buckets',
  'b2_create_key',
  'b2_delete_key',
  'b2_list_keys',
  'b2_get_upload_url',
  'b2_get_upload_part_url',
  'b2_start_large_file',
  'b2_finish_large_file',
  'b2_cancel_large_file',
  'b2_list_unfinished_large_files',
  'b2_list_parts',
  'b2_list_file_names',
  'b2_list_file_versions',
  'b2_get_file_info',
  'b2_hide_file',
  'b2_delete_file_version',
  'b2_copy_file',
  'b2_copy_part',
  'b2_get_download_authorization',
  'b2_update_file_retention',
  'b2_update_file_legal_hold',
  'b2_set_bucket_notification_rules',
  'b2_get_bucket_notification_rules',
];
const NATIVE_FIELDS = [
  'accountId',
  'applicationKeyId',
  'bucketId',
  'bucketIds',
  'bucketInfo',
  'bucketName',
  'bucketType',
  'bucketTypes',
  'bypassGovernance',
  'capabilities',
  'contentType',
  'corsRules',
  'defaultRetention',
  'defaultServerSideEncryption',
  'delimiter',
  'destinationBucketId',
  'destinationServerSideEncryption',
  'eventNotificationRules',
  'fileId',
  'fileInfo',
  'fileLockEnabled',
  'fileName',
  'fileNamePrefix',
  'fileRetention',
  'ifRevisionIs',
  'keyName',
  'largeFileId',
  'legalHold',
  'lifecycleRules',
  'maxFileCount',
  'maxKeyCount',
  'maxPartCount',
  'metadataDirective',
  'namePrefix',
  'partNumber',
  'partSha1Array',
  'prefix',
  'range',
  'replicationConfiguration',
  'serverSideEncryption',
  'sourceFileId',
  'sourceServerSideEncryption',
  'startApplicationKeyId',
  'startFileId',
  'startFileName',
  'startPartNumber',
  'validDurationInSeconds',
  '__proto__',
  'constructor',
];

/** Native JSON calls: arbitrary JSON, and objects of the calls' own fields with hostile values. */
const nativeJson: Property = (t, record) => {
  const known = (field: string): fc.Arbitrary<unknown> =>
    field === 'accountId'
      ? fc.constantFrom(t.env.accountId, 'nope')
      : field === 'bucketId' || field === 'destinationBucketId'
        ? fc.constantFrom(t.bucketId, 'nope', '')
        : field.endsWith('FileId') || field === 'fileId' || field === 'largeFileId'
          ? fc.constantFrom(t.fileId, '4_zdeadbeef', '')
          : fc.jsonValue({ maxDepth: 3 });
  const fields = fc
    .uniqueArray(fc.constantFrom(...NATIVE_FIELDS), { maxLength: 6 })
    .chain((names) => fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), known(n)))))
    .map((pairs) => JSON.stringify(Object.fromEntries(pairs)));
  return fc.asyncProperty(
    fc.constantFrom(...NATIVE_CALLS),
    fc.constantFrom('v1', 'v2', 'v3', 'v4'),
    fc.oneof(fields, fc.json({ maxDepth: 3 }), nasty, fc.constant('{"a":' + '['.repeat(3000))),
    fc.constantFrom('POST', 'GET'),
    async (call, v, body, method) => {
      const a = await send(t.env.url, {
        method,
        path: method === 'GET' ? `/b2api/${v}/${call}?${safeQuery(body)}` : `/b2api/${v}/${call}`,
        headers: { authorization: t.apiToken },
        body: method === 'POST' ? Buffer.from(body) : undefined,
      });
      record(a);
      checkAnswer(a, method, `${method} /b2api/${v}/${call} with ${JSON.stringify(body.slice(0, 200))}`);
    },
  );
};

/** A GET query built from a JSON object's top-level fields (arrays as JSON text). */
function safeQuery(json: string): string {
  try {
    const o = JSON.parse(json) as unknown;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return `x=${enc(json)}`;
    return Object.entries(o as Record<string, unknown>)
      .map(([k, v]) => `${enc(k)}=${enc(typeof v === 'string' ? v : JSON.stringify(v))}`)
      .join('&');
  } catch {
    return enc(json);
  }
}

/** Native uploads and downloads with generated headers, ranges, names and bodies. */
const nativeTransfer: Property = (t, record) =>
  fc.asyncProperty(
    fc.constantFrom('upload', 'part', 'download-name', 'download-id'),
    headerSet,
    fc.oneof(fc.constant<string | null>(null), headerValue),
    fc.oneof(fc.constant('obj.txt'), nasty.map(enc), nasty),
    fc.uint8Array({ maxLength: 200 }),
    async (kind, extra, range, name, bytes) => {
      const body = Buffer.from(bytes);
      let req: { method: string; path: string; headers: Record<string, string>; body?: Buffer };
      if (kind === 'upload' || kind === 'part') {
        const up = await uploadTarget(t);
        req = {
          method: 'POST',
          path: kind === 'upload' ? up.path : '/b2api/v2/b2_upload_part/4_zdeadbeef/x',
          headers: {
            authorization: up.token,
            'x-bz-file-name': name,
            'x-bz-content-sha1': createHash('sha1').update(body).digest('hex'),
            'content-type': 'b2/x-auto',
            ...extra,
          },
          body,
        };
      } else {
        req = {
          method: 'GET',
          path:
            kind === 'download-name'
              ? `/file/${t.bucket}/${name}`
              : `/b2api/v2/b2_download_file_by_id?fileId=${enc(t.fileId)}`,
          headers: { authorization: t.apiToken, ...(range !== null ? { range } : {}), ...extra },
        };
      }
      req.headers = cleanHeaders(req.headers);
      if (!/^\/[\x21-\x7e]*$/.test(req.path)) req.path = req.path.replace(/[^\x21-\x7e]/g, (c) => enc(c));
      const a = await send(t.env.url, req);
      record(a);
      checkAnswer(
        a,
        req.method,
        `${kind} ${req.path} headers ${JSON.stringify(extra)} range ${JSON.stringify(range)}`,
      );
    },
  );

async function uploadTarget(t: FuzzTarget): Promise<{ path: string; token: string }> {
  const r = await fetch(`${t.env.url}/b2api/v2/b2_get_upload_url`, {
    method: 'POST',
    headers: { authorization: t.apiToken },
    body: JSON.stringify({ bucketId: t.bucketId }),
  });
  const j = (await r.json()) as { uploadUrl: string; authorizationToken: string };
  return { path: new URL(j.uploadUrl).pathname, token: j.authorizationToken };
}

/** S3 requests with generated (signed) headers, ranges and query strings. */
const s3Requests: Property = (t, record) =>
  fc.asyncProperty(
    fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'POST'),
    fc.constantFrom(
      `/${t.bucket}`,
      `/${t.bucket}/obj.txt`,
      `/${t.bucket}/other.txt`,
      '/',
      '/no-such-bucket-fuzz/x',
    ),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'versionId',
          'uploadId',
          'partNumber',
          'list-type',
          'max-keys',
          'prefix',
          'delimiter',
          'marker',
          'continuation-token',
          'start-after',
          'encoding-type',
          'key-marker',
          'version-id-marker',
          'max-uploads',
          'max-parts',
          'part-number-marker',
          'uploads',
          'versions',
          'location',
          'acl',
          'cors',
          'lifecycle',
          'retention',
          'legal-hold',
          'object-lock',
          'encryption',
          'delete',
          'response-content-type',
          'response-content-disposition',
          'response-expires',
          'x-id',
          'tagging',
        ),
        nasty,
      ),
      nasty,
      { maxKeys: 3 },
    ),
    headerSet,
    fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
    ),
    async (method, path, query, extra, body) => {
      const headers = cleanHeaders(
        await signedHeaders(t.env, method, path, query, {
          'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
          ...cleanHeaders(extra),
        }),
      );
      const qs = Object.entries(query)
        .map(([k, v]) => `${enc(k)}=${enc(v)}`)
        .join('&');
      const a = await send(t.env.url, { method, path: qs ? `${path}?${qs}` : path, headers, body });
      record(a);
      checkAnswer(a, method, `${method} ${path}?${qs} headers ${JSON.stringify(extra)}`);
    },
  );

/** Raw request targets: dot segments, percent garbage, odd query strings, any path, no credentials. */
const rawTargets: Property = (t, record) =>
  fc.asyncProperty(
    fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'),
    fc.array(
      fc.oneof(
        fc.constantFrom(
          'file',
          'b2api',
          'b2_authorize_account',
          'v2',
          'b2_list_buckets',
          '__admin',
          t.bucket,
          '..',
          '.',
          '%2e%2e',
          '',
          'obj.txt',
        ),
        nasty,
      ),
      {
        minLength: 1,
        maxLength: 5,
      },
    ),
    fc.oneof(
      fc.constant(''),
      nasty,
      fc.constantFrom(
        'a=1&a=2',
        '&&&',
        '=',
        '%',
        'X-Amz-Algorithm=AWS4-HMAC-SHA256',
        'AWSAccessKeyId=x',
        'Authorization=x',
      ),
    ),
    // no credentials, the master token, or a Basic header of generated bytes (b2_authorize_account)
    fc.oneof(
      fc.constant<string | null>(null),
      fc.constant(t.apiToken),
      fc.uint8Array({ maxLength: 40 }).map((b) => `Basic ${Buffer.from(b).toString('base64')}`),
      headerValue.map((v) => `Basic ${Buffer.from(v, 'latin1').toString('base64')}`),
    ),
    async (method, segments, query, authorization) => {
      const path =
        '/' +
        segments.map((s) => s.replace(/[^\x21-\x7e]|[?#]/g, (c) => enc(c))).join('/') +
        (query ? `?${query.replace(/[^\x21-\x7e]|#/g, (c) => enc(c))}` : '');
      const a = await send(t.env.url, {
        method,
        path,
        headers: authorization === null ? {} : cleanHeaders({ authorization }),
      });
      record(a);
      checkAnswer(a, method, `${method} ${path}`);
    },
  );

/** Reads of an existing object on both APIs: ranges, overrides, versions, conditions, anonymous. */
const reads: Property = (t, record) =>
  fc.asyncProperty(
    fc.constantFrom('s3', 'native-name', 'native-id'),
    fc.constantFrom('GET', 'HEAD'),
    fc.oneof(fc.constant<string | null>(null), headerValue, fc.stringMatching(/^bytes=\d{0,3}-\d{0,3}$/)),
    fc.dictionary(
      fc.constantFrom(
        'response-content-type',
        'response-content-disposition',
        'response-expires',
        'response-cache-control',
        'response-content-language',
        'response-content-encoding',
        'versionId',
        'partNumber',
        'b2ContentDisposition',
        'b2ContentType',
        'b2Expires',
        'b2CacheControl',
        'b2ContentLanguage',
        'b2ContentEncoding',
        'Authorization',
        'fileId',
      ),
      fc.oneof(nasty, fc.constant(t.fileId)),
      { maxKeys: 3 },
    ),
    fc.dictionary(
      fc.constantFrom(
        'if-match',
        'if-none-match',
        'if-modified-since',
        'if-unmodified-since',
        'x-amz-checksum-mode',
        'x-amz-server-side-encryption-customer-algorithm',
        'x-bz-server-side-encryption-customer-key',
      ),
      headerValue,
      { maxKeys: 2 },
    ),
    fc.boolean(),
    async (api, method, range, query, conditions, anonymous) => {
      const extra = cleanHeaders({ ...conditions, ...(range !== null ? { range } : {}) });
      let a: RawAnswer;
      if (api === 's3') {
        const path = `/${t.bucket}/obj.txt`;
        const qs = Object.entries(query)
          .map(([k, v]) => `${enc(k)}=${enc(v)}`)
          .join('&');
        const headers = anonymous
          ? extra
          : cleanHeaders(
              await signedHeaders(t.env, method, path, query, {
                'x-amz-content-sha256': createHash('sha256').update('').digest('hex'),
                ...extra,
              }),
            );
        a = await send(t.env.url, { method, path: qs ? `${path}?${qs}` : path, headers });
      } else {
        const q = new URLSearchParams(query);
        if (api === 'native-id') q.set('fileId', query.fileId ?? t.fileId);
        const path = api === 'native-name' ? `/file/${t.bucket}/obj.txt` : '/b2api/v2/b2_download_file_by_id';
        const headers = anonymous ? extra : { ...extra, authorization: t.apiToken };
        a = await send(t.env.url, { method, path: `${path}?${q.toString()}`, headers });
      }
      record(a);
      const what = `${api} ${method} range ${JSON.stringify(range)} query ${JSON.stringify(query)}`;
      checkAnswer(a, method, `${what} headers ${JSON.stringify(conditions)}`);
    },
  );

export const PROPERTIES: Record<string, Property> = {
  reads,
  sigv4,
  awsChunked,
  xmlBodies,
  nativeJson,
  nativeTransfer,
  s3Requests,
  rawTargets,
};

/**
 * Runs every property (or `only`) with one seed; throws on the first failing property with the
 * seed, the counterexample and how to reproduce it. Checks the server after each property.
 */
export async function runFuzz(t: FuzzTarget, o: FuzzOptions): Promise<PropertyResult[]> {
  const results: PropertyResult[] = [];
  for (const [name, make] of Object.entries(PROPERTIES)) {
    if (o.only && !name.includes(o.only)) continue;
    const answers: Record<string, number> = {};
    const started = Date.now();
    const details = await fc.check(
      make(t, (a) => tally(answers, a)),
      { seed: o.seed, numRuns: o.runs, endOnFailure: true },
    );
    if (details.failed) {
      throw new Error(
        `fuzz property "${name}" failed (seed ${o.seed}, path ${details.counterexamplePath}): ` +
          `${String((details.errorInstance as Error)?.message ?? details.errorInstance)}\n` +
          `counterexample: ${fc.stringify(details.counterexample)}\n` +
          `reproduce: FUZZ_SEED=${o.seed} FUZZ_RUNS=${o.runs} FUZZ_ONLY=${name} npx jest test/fuzz --maxWorkers=1`,
      );
    }
    await expectAlive(t);
    const r = { property: name, runs: details.numRuns, ms: Date.now() - started, answers };
    o.log?.(`${name}: ${r.runs} runs in ${r.ms} ms`);
    results.push(r);
  }
  return results;
}

export function fuzzOptionsFromEnv(defaultRuns: number, env: NodeJS.ProcessEnv = process.env): FuzzOptions {
  const seed = env.FUZZ_SEED ? Number(env.FUZZ_SEED) : DEFAULT_SEED;
  const runs = env.FUZZ_RUNS ? Number(env.FUZZ_RUNS) : defaultRuns;
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got "${env.FUZZ_SEED}"`);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`FUZZ_RUNS must be a positive integer, got "${env.FUZZ_RUNS}"`);
  return { seed, runs, only: env.FUZZ_ONLY || undefined };
}
