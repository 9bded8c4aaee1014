/**
 * S3 strictness (issue 12): no request can end the emulator process, every x-amz-* header must be
 * signed (presigned URLs included), malformed XML and header values answer a named 4xx, and an
 * anonymous caller learns nothing about a private bucket. Raw requests only (third-party signer),
 * so neither side can hide the other's mistakes; every case also checks the server still answers.
 */
import { createHash } from 'crypto';
import * as http from 'http';
import { startS3Env, S3Env, s3raw, signer, s3Encode } from './s3helpers';

let env: S3Env;
const BUCKET = 'strict-s3-bucket';

beforeAll(async () => {
  env = await startS3Env();
  expect((await s3raw(env, 'PUT', `/${BUCKET}`)).status).toBe(200);
});
afterAll(async () => {
  await env?.stop();
});

/** The emulator is still up and answers an ordinary signed request. */
async function expectAlive(): Promise<void> {
  expect(env.emu.proc.exitCode).toBeNull();
  const r = await s3raw(env, 'GET', `/${BUCKET}`, { query: { 'list-type': '2' } });
  expect(r.status).toBe(200);
}

const STREAM_HEADERS = (decodedLength: number): Record<string, string> => ({
  'content-encoding': 'aws-chunked',
  'x-amz-decoded-content-length': String(decodedLength),
});

describe('malformed aws-chunked bodies never end the process', () => {
  it('an empty signed aws-chunked body → 400 IncompleteBody', async () => {
    const r = await s3raw(env, 'PUT', `/${BUCKET}/chunked/empty.bin`, {
      body: '',
      payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      headers: STREAM_HEADERS(0),
    });
    expect([r.status, r.code]).toEqual([400, 'IncompleteBody']);
    await expectAlive();
  });

  it('an empty signed aws-chunked body to a missing bucket (refused before the body is read)', async () => {
    const r = await s3raw(env, 'PUT', `/no-such-bucket-strict/empty.bin`, {
      body: '',
      payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      headers: STREAM_HEADERS(0),
    });
    expect([r.status, r.code]).toEqual([404, 'NoSuchBucket']);
    await expectAlive();
  });

  it('a "zz;chunk-signature=…" header with STREAMING-UNSIGNED-PAYLOAD-TRAILER → 400 InvalidRequest', async () => {
    for (const path of [`/${BUCKET}/chunked/zz.bin`, `/no-such-bucket-strict/zz.bin`]) {
      const r = await s3raw(env, 'PUT', path, {
        body: `zz;chunk-signature=${'a'.repeat(64)}\r\nabc\r\n0\r\n\r\n`,
        payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        headers: { ...STREAM_HEADERS(3), 'x-amz-trailer': 'x-amz-checksum-crc32' },
      });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.code).toMatch(/^(InvalidRequest|NoSuchBucket)$/);
    }
    await expectAlive();
  });

  it('a signed aws-chunked body on an operation that never reads it', async () => {
    const r = await s3raw(env, 'DELETE', `/${BUCKET}/chunked/nothing.bin`, {
      body: 'garbage that is not aws-chunked',
      payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      headers: STREAM_HEADERS(5),
    });
    expect(r.status).toBeLessThan(500);
    await expectAlive();
  });
});

// ---------------------------------------------------------------------------------------------

/** Presigns `method path` for `expiresIn` seconds with only `host` (+ `signHeaders`) signed. */
async function presign(
  method: string,
  path: string,
  signHeaders: Record<string, string> = {},
  query: Record<string, string> = {},
): Promise<string> {
  const url = new URL(env.url);
  const pre = await signer(env.keyId, env.secret, env.region).presign(
    {
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: path.split('/').map(s3Encode).join('/'),
      query,
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...signHeaders },
    },
    { expiresIn: 300, unhoistableHeaders: new Set(Object.keys(signHeaders)) },
  );
  const qs = Object.entries(pre.query!)
    .map(([k, v]) => `${s3Encode(k)}=${s3Encode(String(v))}`)
    .join('&');
  return `${env.url}${path.split('/').map(s3Encode).join('/')}?${qs}`;
}

describe('every x-amz-* header present must be signed', () => {
  beforeAll(async () => {
    expect((await s3raw(env, 'PUT', `/${BUCKET}/private/secret.txt`, { body: 'top secret' })).status).toBe(
      200,
    );
  });

  it('a presigned PUT with an added x-amz-copy-source is refused, not turned into a CopyObject', async () => {
    const url = await presign('PUT', `/${BUCKET}/public/stolen.txt`);
    const res = await fetch(url, {
      method: 'PUT',
      headers: { 'x-amz-copy-source': `/${BUCKET}/private/secret.txt` },
      body: '',
    });
    const text = await res.text();
    expect(res.status).toBe(403);
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('There were headers present in the request which were not signed');
    expect(text).toContain('<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>');
    expect((await s3raw(env, 'HEAD', `/${BUCKET}/public/stolen.txt`)).status).toBe(404);
  });

  it('the same presigned PUT without extra headers still works', async () => {
    const url = await presign('PUT', `/${BUCKET}/public/ok.txt`);
    const res = await fetch(url, { method: 'PUT', body: 'presigned upload' });
    expect(res.status).toBe(200);
    expect((await s3raw(env, 'GET', `/${BUCKET}/public/ok.txt`)).text).toBe('presigned upload');
  });

  it('a presigned URL that signed an x-amz-* header accepts it', async () => {
    const url = await presign('PUT', `/${BUCKET}/public/meta.txt`, { 'x-amz-meta-owner': 'ops' });
    const res = await fetch(url, { method: 'PUT', headers: { 'x-amz-meta-owner': 'ops' }, body: 'm' });
    expect(res.status).toBe(200);
    const head = await s3raw(env, 'HEAD', `/${BUCKET}/public/meta.txt`);
    expect(head.headers.get('x-amz-meta-owner')).toBe('ops');
  });

  it('header auth: an x-amz-* header left out of SignedHeaders → 403 AccessDenied', async () => {
    // Sign without the header, then add it on the wire.
    const url = new URL(env.url);
    const path = `/${BUCKET}/header/unsigned-meta.txt`;
    const body = 'body';
    const signed = await signer(env.keyId, env.secret, env.region).sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path,
        headers: {
          host: url.host,
          'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        },
      },
      { signingDate: new Date() },
    );
    const h: Record<string, string> = { ...signed.headers, 'x-amz-meta-injected': 'yes' };
    delete h.host;
    const res = await fetch(`${env.url}${path}`, { method: 'PUT', headers: h, body });
    const text = await res.text();
    expect(res.status).toBe(403);
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('<HeadersNotSigned>x-amz-meta-injected</HeadersNotSigned>');
  });
});

// ---------------------------------------------------------------------------------------------

describe('bad input is a named 4xx, never a 500', () => {
  const xmlCases: Array<[string, string]> = [
    ['deep nesting', `<Delete>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</Delete>`],
    ['<__proto__>', '<Delete><__proto__><x>1</x></__proto__><Object><Key>k</Key></Object></Delete>'],
    ['<constructor>', '<Delete><Object><Key>k</Key><constructor>1</constructor></Object></Delete>'],
    [
      'entity expansion',
      '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>',
    ],
  ];
  it.each(xmlCases)('DeleteObjects with %s → 400 MalformedXML', async (_name, xml) => {
    const r = await s3raw(env, 'POST', `/${BUCKET}`, {
      query: { delete: '' },
      body: xml,
      headers: { 'content-md5': createHash('md5').update(xml).digest('base64') },
    });
    expect([r.status, r.code]).toEqual([400, 'MalformedXML']);
  });

  it('<Key><x/></Key> is refused, not the key "[object Object]"', async () => {
    expect((await s3raw(env, 'PUT', `/${BUCKET}/[object Object]`, { body: 'decoy' })).status).toBe(200);
    const xml = '<Delete><Object><Key><x/></Key></Object></Delete>';
    const r = await s3raw(env, 'POST', `/${BUCKET}`, {
      query: { delete: '' },
      body: xml,
      headers: { 'content-md5': createHash('md5').update(xml).digest('base64') },
    });
    expect([r.status, r.code]).toEqual([400, 'MalformedXML']);
    expect((await s3raw(env, 'HEAD', `/${BUCKET}/[object Object]`)).status).toBe(200);
  });

  it('a response-* override with CR/LF → 400 InvalidArgument', async () => {
    expect((await s3raw(env, 'PUT', `/${BUCKET}/override.txt`, { body: 'o' })).status).toBe(200);
    for (const [k, v] of [
      ['response-content-disposition', 'attachment\r\nx-evil: 1'],
      ['response-content-type', 'text/plain\nx'],
      ['response-expires', '\u0001'],
    ]) {
      const r = await s3raw(env, 'GET', `/${BUCKET}/override.txt`, { query: { [k]: v } });
      expect([k, r.status, r.code]).toEqual([k, 400, 'InvalidArgument']);
    }
    await expectAlive();
  });

  it('a non-ASCII response-content-disposition is refused (400), an ASCII one served', async () => {
    for (const name of ['日本.txt', 'é.txt']) {
      const bad = await s3raw(env, 'GET', `/${BUCKET}/override.txt`, {
        query: { 'response-content-disposition': `attachment; filename="${name}"` },
      });
      expect([bad.status, bad.code]).toEqual([400, 'InvalidArgument']);
    }
    const ok = await s3raw(env, 'GET', `/${BUCKET}/override.txt`, {
      query: { 'response-content-disposition': 'attachment; filename="a.txt"' },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toBe('attachment; filename="a.txt"');
  });
});

describe('anonymous callers and private buckets', () => {
  it('anonymous GET ?versionId=<delete marker> on a private bucket reveals nothing', async () => {
    expect((await s3raw(env, 'PUT', `/${BUCKET}/hidden.txt`, { body: 'h' })).status).toBe(200);
    const del = await s3raw(env, 'DELETE', `/${BUCKET}/hidden.txt`);
    const marker = del.headers.get('x-amz-version-id')!;
    expect(marker).toBeTruthy();
    const anon = await fetch(`${env.url}/${BUCKET}/hidden.txt?versionId=${encodeURIComponent(marker)}`);
    expect(anon.status).toBe(403);
    expect(anon.headers.get('x-amz-delete-marker')).toBeNull();
    expect(anon.headers.get('x-amz-version-id')).toBeNull();
    const anonName = await fetch(`${env.url}/${BUCKET}/hidden.txt`);
    expect(anonName.status).toBe(403);
    expect(anonName.headers.get('x-amz-delete-marker')).toBeNull();
    // the owner still sees the marker
    const own = await s3raw(env, 'GET', `/${BUCKET}/hidden.txt`, { query: { versionId: marker } });
    expect(own.status).toBe(405);
    expect(own.headers.get('x-amz-delete-marker')).toBe('true');
  });
});

/** A signed request sent with node:http, so the path reaches the server exactly as written. */
async function rawSigned(
  method: string,
  rawPath: string,
  body = '',
): Promise<{ status: number; body: string }> {
  const u = new URL(env.url);
  const signed = await signer(env.keyId, env.secret, env.region).sign(
    {
      method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: rawPath,
      headers: { host: u.host, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
    },
    { signingDate: new Date() },
  );
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: rawPath, headers: signed.headers },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('dot segments are literal name characters', () => {
  it('GET /bucket/d/../x.txt does not serve /bucket/x.txt; the key "d/../x.txt" round-trips', async () => {
    expect((await s3raw(env, 'PUT', `/${BUCKET}/x.txt`, { body: 'top-level' })).status).toBe(200);
    const miss = await rawSigned('GET', `/${BUCKET}/d/../x.txt`);
    expect(miss.status).toBe(404);
    expect(miss.body).toContain('<Code>NoSuchKey</Code>');
    const dotted = `/${BUCKET}/d/%2E%2E/x.txt`;
    expect((await rawSigned('PUT', `/${BUCKET}/d/../x.txt`, 'dotted')).status).toBe(200);
    const hit = await rawSigned('GET', `/${BUCKET}/d/../x.txt`);
    expect([hit.status, hit.body]).toEqual([200, 'dotted']);
    expect((await rawSigned('GET', dotted)).body).toBe('dotted');
    expect((await s3raw(env, 'GET', `/${BUCKET}/x.txt`)).text).toBe('top-level');
  });
});
