/**
 * S3-compatible API on the wire, written from the AWS/B2 documentation with raw signed fetches
 * (@smithy/signature-v4 as a third-party signer; chunk signatures computed here by hand).
 * B2 semantics first: versioning always on, delete = hide marker, version id = fileId, master key
 * refused, key scope enforced, objects shared with the native API.
 */
import { createHash, createHmac } from 'crypto';
import { startS3Env, S3Env, s3raw, signer, s3Encode } from './s3helpers';

let env: S3Env;
const BUCKET = 'wire-s3-bucket';

beforeAll(async () => {
  env = await startS3Env();
  const r = await s3raw(env, 'PUT', `/${BUCKET}`);
  expect(r.status).toBe(200);
});
afterAll(async () => {
  await env?.stop();
});

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');
const md5hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

describe('authentication', () => {
  it('wrong secret → 403 SignatureDoesNotMatch', async () => {
    const r = await s3raw(env, 'GET', `/${BUCKET}`, {
      query: { 'list-type': '2' },
      secret: env.secret + 'x',
    });
    expect([r.status, r.code]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('clock skew > 15 min → 403 RequestTimeTooSkewed', async () => {
    const r = await s3raw(env, 'GET', `/${BUCKET}`, { signingDate: new Date(Date.now() - 20 * 60_000) });
    expect([r.status, r.code]).toEqual([403, 'RequestTimeTooSkewed']);
  });

  it('the master key is refused on S3', async () => {
    const r = await s3raw(env, 'GET', '/', {
      keyId: env.emu.info.keyId,
      secret: env.emu.info.applicationKey,
    });
    expect(r.status).toBe(403);
    expect(r.code).toBe('InvalidAccessKeyId');
  });

  it('an unknown key → InvalidAccessKeyId; no credentials → AccessDenied', async () => {
    expect((await s3raw(env, 'GET', '/', { keyId: '004nosuchkey0000000001' })).code).toBe(
      'InvalidAccessKeyId',
    );
    const anon = await fetch(`${env.url}/${BUCKET}?list-type=2`);
    expect(anon.status).toBe(403);
  });

  it('presigned GET works within X-Amz-Expires, and is AccessDenied once past it', async () => {
    expect((await s3raw(env, 'PUT', `/${BUCKET}/presign/me.txt`, { body: 'presigned body' })).status).toBe(
      200,
    );
    const url = new URL(env.url);
    // Signed "now" for 5 minutes, and signed 2 minutes ago for 1 minute: no sleeping, no flakes.
    const presigned = async (signingDate: Date, expiresIn: number): Promise<string> => {
      const pre = await signer(env.keyId, env.secret, env.region).presign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: `/${BUCKET}/presign/me.txt`,
          headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        },
        { expiresIn, signingDate },
      );
      const qs = Object.entries(pre.query!)
        .map(([k, v]) => `${s3Encode(k)}=${s3Encode(String(v))}`)
        .join('&');
      return `${env.url}/${BUCKET}/presign/me.txt?${qs}`;
    };
    const ok = await fetch(await presigned(new Date(), 300));
    expect([ok.status, await ok.text()]).toEqual([200, 'presigned body']);
    const late = await fetch(await presigned(new Date(Date.now() - 120_000), 60));
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('<Code>AccessDenied</Code>');
  });
});

describe('payload integrity', () => {
  it('signed payload that does not match the body → XAmzContentSHA256Mismatch, nothing stored', async () => {
    const r = await s3raw(env, 'PUT', `/${BUCKET}/integrity/a.txt`, {
      body: 'real body',
      payloadHash: createHash('sha256').update('other').digest('hex'),
    });
    expect([r.status, r.code]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect((await s3raw(env, 'HEAD', `/${BUCKET}/integrity/a.txt`)).status).toBe(404);
  });

  it('Content-MD5 is verified (BadDigest) and a correct one accepted', async () => {
    const body = 'md5 checked';
    const bad = await s3raw(env, 'PUT', `/${BUCKET}/integrity/md5.txt`, {
      body,
      headers: { 'content-md5': createHash('md5').update('x').digest('base64') },
    });
    expect([bad.status, bad.code]).toEqual([400, 'BadDigest']);
    const good = await s3raw(env, 'PUT', `/${BUCKET}/integrity/md5.txt`, {
      body,
      headers: { 'content-md5': createHash('md5').update(body).digest('base64') },
    });
    expect(good.status).toBe(200);
    expect(good.headers.get('etag')).toBe(`"${md5hex(body)}"`);
  });

  /** Builds an aws-chunked body the way the SigV4 streaming spec describes, signing every chunk. */
  async function chunkedPut(
    key: string,
    data: Buffer,
    chunkSize: number,
    tamper: boolean,
  ): Promise<{ status: number; code: string | null }> {
    const url = new URL(env.url);
    const path = `/${BUCKET}/${key}`;
    const date = new Date();
    const amzDate = date
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${env.region}/s3/aws4_request`;
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
    chunks.push(Buffer.alloc(0));
    const sigLen = 64;
    const encodedLength = chunks.reduce(
      (n, c) => n + c.length.toString(16).length + ';chunk-signature='.length + sigLen + 4 + c.length,
      0,
    );
    const headers: Record<string, string> = {
      host: url.host,
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(data.length),
      'content-length': String(encodedLength),
    };
    const signed = await signer(env.keyId, env.secret, env.region).sign(
      { method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, headers },
      { signingDate: date },
    );
    const seed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))![1];
    const kDate = createHmac('sha256', 'AWS4' + env.secret)
      .update(day)
      .digest();
    const kSigning = createHmac(
      'sha256',
      createHmac('sha256', createHmac('sha256', kDate).update(env.region).digest()).update('s3').digest(),
    )
      .update('aws4_request')
      .digest();
    let prev = seed;
    const parts: Buffer[] = [];
    for (const c of chunks) {
      const sts = [
        'AWS4-HMAC-SHA256-PAYLOAD',
        amzDate,
        scope,
        prev,
        createHash('sha256').update('').digest('hex'),
        createHash('sha256').update(c).digest('hex'),
      ].join('\n');
      prev = createHmac('sha256', kSigning).update(sts).digest('hex');
      const sent = tamper && c.length > 0 ? Buffer.from(c).fill(0x7a, 0, 1) : c;
      parts.push(
        Buffer.from(`${c.length.toString(16)};chunk-signature=${prev}\r\n`),
        sent,
        Buffer.from('\r\n'),
      );
    }
    const h = { ...signed.headers };
    delete h.host;
    const res = await fetch(`${env.url}${path}`, { method: 'PUT', headers: h, body: Buffer.concat(parts) });
    const text = await res.text();
    return { status: res.status, code: /<Code>([^<]+)/.exec(text)?.[1] ?? null };
  }

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: signed chunks accepted, a forged chunk refused', async () => {
    const data = Buffer.alloc(200_000, 'q');
    expect(await chunkedPut('chunked/ok.bin', data, 65536, false)).toEqual({ status: 200, code: null });
    const get = await s3raw(env, 'GET', `/${BUCKET}/chunked/ok.bin`);
    expect(get.body.equals(data)).toBe(true);
    expect(await chunkedPut('chunked/forged.bin', data, 65536, true)).toEqual({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    expect((await s3raw(env, 'HEAD', `/${BUCKET}/chunked/forged.bin`)).status).toBe(404);
  });

  it('STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer: verified both ways', async () => {
    const data = Buffer.from('trailer checked payload '.repeat(100));
    const { crc32 } = await import('zlib');
    const good = Buffer.alloc(4);
    good.writeUInt32BE(crc32(data));
    const send = async (crc: string) => {
      const body = Buffer.concat([
        Buffer.from(`${data.length.toString(16)}\r\n`),
        data,
        Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`),
      ]);
      return s3raw(env, 'PUT', `/${BUCKET}/trailer/t.txt`, {
        body,
        payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        headers: {
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(data.length),
          'x-amz-trailer': 'x-amz-checksum-crc32',
        },
      });
    };
    const bad = await send('AAAAAA==');
    expect([bad.status, bad.code]).toEqual([400, 'BadDigest']);
    const ok = await send(good.toString('base64'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-amz-checksum-crc32')).toBe(good.toString('base64'));
    expect((await s3raw(env, 'GET', `/${BUCKET}/trailer/t.txt`)).body.equals(data)).toBe(true);
  });
});

describe('B2 semantics shared with the native API', () => {
  it('an S3 PUT is a B2 file: same SHA-1, fileInfo from x-amz-meta-*, version id = fileId', async () => {
    const body = 'visible natively';
    const put = await s3raw(env, 'PUT', `/${BUCKET}/shared/s3.txt`, {
      body,
      headers: { 'x-amz-meta-sha256': 'abc123', 'content-type': 'text/plain' },
    });
    const versionId = put.headers.get('x-amz-version-id')!;
    const info = await env.native('b2_get_file_info', { fileId: versionId });
    expect(info.fileName).toBe('shared/s3.txt');
    expect(info.contentSha1).toBe(sha1(body));
    expect(info.fileInfo).toEqual({ sha256: 'abc123' });
    expect(info.contentType).toBe('text/plain');
  });

  it('a native upload is readable over S3 with its info as x-amz-meta-*', async () => {
    const buckets = (await env.native('b2_list_buckets', {
      accountId: env.accountId,
      bucketName: BUCKET,
    })) as { buckets: Array<{ bucketId: string }> };
    const up = (await env.native('b2_get_upload_url', { bucketId: buckets.buckets[0].bucketId })) as {
      uploadUrl: string;
      authorizationToken: string;
    };
    const body = 'from native';
    const res = await fetch(up.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: up.authorizationToken,
        'x-bz-file-name': 'shared/native.txt',
        'content-type': 'text/plain',
        'x-bz-content-sha1': sha1(body),
        'x-bz-info-owner': 'ops',
      },
      body,
    });
    expect(res.status).toBe(200);
    const fileId = ((await res.json()) as { fileId: string }).fileId;
    const get = await s3raw(env, 'GET', `/${BUCKET}/shared/native.txt`);
    expect(get.text).toBe(body);
    expect(get.headers.get('x-amz-meta-owner')).toBe('ops');
    expect(get.headers.get('x-amz-version-id')).toBe(fileId);
    expect(get.headers.get('etag')).toBe(`"${md5hex(body)}"`);
  });

  it('DeleteObject without versionId writes a hide marker (delete marker); with versionId deletes for good', async () => {
    await s3raw(env, 'PUT', `/${BUCKET}/del/x.txt`, { body: 'v1' });
    const v2 = await s3raw(env, 'PUT', `/${BUCKET}/del/x.txt`, { body: 'v2' });
    const del = await s3raw(env, 'DELETE', `/${BUCKET}/del/x.txt`);
    expect(del.status).toBe(204);
    expect(del.headers.get('x-amz-delete-marker')).toBe('true');
    const markerId = del.headers.get('x-amz-version-id')!;
    const native = (await env.native('b2_get_file_info', { fileId: markerId })) as { action: string };
    expect(native.action).toBe('hide');
    const gone = await s3raw(env, 'GET', `/${BUCKET}/del/x.txt`);
    expect([gone.status, gone.code]).toEqual([404, 'NoSuchKey']);
    const old = await s3raw(env, 'GET', `/${BUCKET}/del/x.txt`, {
      query: { versionId: v2.headers.get('x-amz-version-id')! },
    });
    expect(old.text).toBe('v2');
    const versions = await s3raw(env, 'GET', `/${BUCKET}`, { query: { versions: '', prefix: 'del/' } });
    expect(versions.text.match(/<Version>/g)).toHaveLength(2);
    expect(versions.text).toMatch(/<DeleteMarker>.*<IsLatest>true<\/IsLatest>/);
    // Removing the marker by version id brings v2 back.
    expect(
      (await s3raw(env, 'DELETE', `/${BUCKET}/del/x.txt`, { query: { versionId: markerId } })).status,
    ).toBe(204);
    expect((await s3raw(env, 'GET', `/${BUCKET}/del/x.txt`)).text).toBe('v2');
  });

  it('GetBucketVersioning is always Enabled; PutBucketVersioning and tagging are NotImplemented', async () => {
    expect((await s3raw(env, 'GET', `/${BUCKET}`, { query: { versioning: '' } })).text).toContain(
      '<Status>Enabled</Status>',
    );
    expect(
      (
        await s3raw(env, 'PUT', `/${BUCKET}`, {
          query: { versioning: '' },
          body: '<VersioningConfiguration/>',
        })
      ).code,
    ).toBe('NotImplemented');
    expect(
      (await s3raw(env, 'PUT', `/${BUCKET}/k`, { query: { tagging: '' }, body: '<Tagging/>' })).code,
    ).toBe('NotImplemented');
    const tagged = await s3raw(env, 'PUT', `/${BUCKET}/tagged.txt`, {
      body: 'x',
      headers: { 'x-amz-tagging': 'a=b' },
    });
    expect([tagged.status, tagged.code]).toEqual([400, 'InvalidArgument']);
  });
});

describe('reads', () => {
  beforeAll(async () => {
    await s3raw(env, 'PUT', `/${BUCKET}/read/r.txt`, { body: '0123456789' });
  });
  it('Range → 206 with Content-Range; unsatisfiable → 416 InvalidRange', async () => {
    const r = await s3raw(env, 'GET', `/${BUCKET}/read/r.txt`, { headers: { range: 'bytes=2-5' } });
    expect([r.status, r.text, r.headers.get('content-range')]).toEqual([206, '2345', 'bytes 2-5/10']);
    expect(
      (await s3raw(env, 'GET', `/${BUCKET}/read/r.txt`, { headers: { range: 'bytes=50-60' } })).status,
    ).toBe(416);
  });
  it('conditional headers: If-None-Match → 304, If-Match mismatch → 412', async () => {
    const etag = `"${md5hex('0123456789')}"`;
    expect(
      (await s3raw(env, 'GET', `/${BUCKET}/read/r.txt`, { headers: { 'if-none-match': etag } })).status,
    ).toBe(304);
    expect(
      (await s3raw(env, 'GET', `/${BUCKET}/read/r.txt`, { headers: { 'if-match': '"nope"' } })).status,
    ).toBe(412);
    expect((await s3raw(env, 'GET', `/${BUCKET}/read/r.txt`, { headers: { 'if-match': etag } })).status).toBe(
      200,
    );
  });
  it('CopyObject COPY keeps metadata, REPLACE replaces it', async () => {
    await s3raw(env, 'PUT', `/${BUCKET}/copy/src.txt`, {
      body: 'copy me',
      headers: { 'x-amz-meta-a': '1', 'content-type': 'text/plain' },
    });
    const c1 = await s3raw(env, 'PUT', `/${BUCKET}/copy/dst1.txt`, {
      headers: { 'x-amz-copy-source': `/${BUCKET}/copy/src.txt` },
    });
    expect(c1.text).toContain(`<ETag>"${md5hex('copy me')}"</ETag>`);
    const h1 = await s3raw(env, 'HEAD', `/${BUCKET}/copy/dst1.txt`);
    expect([h1.headers.get('x-amz-meta-a'), h1.headers.get('content-type')]).toEqual(['1', 'text/plain']);
    await s3raw(env, 'PUT', `/${BUCKET}/copy/dst2.txt`, {
      headers: {
        'x-amz-copy-source': `/${BUCKET}/copy/src.txt`,
        'x-amz-metadata-directive': 'REPLACE',
        'x-amz-meta-b': '2',
        'content-type': 'text/x-other',
      },
    });
    const h2 = await s3raw(env, 'HEAD', `/${BUCKET}/copy/dst2.txt`);
    expect([
      h2.headers.get('x-amz-meta-a'),
      h2.headers.get('x-amz-meta-b'),
      h2.headers.get('content-type'),
    ]).toEqual([null, '2', 'text/x-other']);
  });
});

describe('listing pagination', () => {
  const keys = ['p/a/1', 'p/a/2', 'p/b', 'p/c/1', 'p/d', 'p/e/x/y', 'p/f'];
  beforeAll(async () => {
    for (const k of keys) await s3raw(env, 'PUT', `/${BUCKET}/${k}`, { body: k });
    await s3raw(env, 'PUT', `/${BUCKET}/p/b`, { body: 'second version' });
  });
  const all = (text: string, tag: string): string[] =>
    [...text.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]);

  it('ListObjectsV2 with delimiter pages by continuation token over keys and common prefixes', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await s3raw(env, 'GET', `/${BUCKET}`, {
        query: {
          'list-type': '2',
          prefix: 'p/',
          delimiter: '/',
          'max-keys': '2',
          ...(token ? { 'continuation-token': token } : {}),
        },
      });
      seen.push(...all(r.text, 'Key'), ...all(r.text.replace(/<Prefix>p\/<\/Prefix>/, ''), 'Prefix'));
      expect(Number(all(r.text, 'KeyCount')[0])).toBeLessThanOrEqual(2);
      token = all(r.text, 'NextContinuationToken')[0];
      if (!token) break;
    }
    expect(seen.sort()).toEqual(['p/a/', 'p/b', 'p/c/', 'p/d', 'p/e/', 'p/f']);
  });

  it('ListObjects v1 pages with markers', async () => {
    const seen: string[] = [];
    let marker = '';
    for (let i = 0; i < 10; i++) {
      const r = await s3raw(env, 'GET', `/${BUCKET}`, { query: { prefix: 'p/', 'max-keys': '3', marker } });
      const ks = all(r.text, 'Key');
      seen.push(...ks);
      if (!r.text.includes('<IsTruncated>true')) break;
      marker = ks[ks.length - 1];
    }
    expect(seen).toEqual(keys);
  });

  it('ListObjectVersions pages with key-marker / version-id-marker and keeps every version once', async () => {
    const seen: string[] = [];
    let km = '';
    let vm = '';
    for (let i = 0; i < 20; i++) {
      const r = await s3raw(env, 'GET', `/${BUCKET}`, {
        query: { versions: '', prefix: 'p/', 'max-keys': '2', 'key-marker': km, 'version-id-marker': vm },
      });
      seen.push(...all(r.text, 'VersionId'));
      if (!r.text.includes('<IsTruncated>true')) break;
      km = all(r.text, 'NextKeyMarker')[0];
      vm = all(r.text, 'NextVersionIdMarker')[0] ?? '';
    }
    expect(seen).toHaveLength(keys.length + 1);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('encoding-type=url encodes keys', async () => {
    await s3raw(env, 'PUT', `/${BUCKET}/enc/a b+c.txt`, { body: 'x' });
    const r = await s3raw(env, 'GET', `/${BUCKET}`, {
      query: { 'list-type': '2', prefix: 'enc/', 'encoding-type': 'url' },
    });
    expect(all(r.text, 'Key')).toEqual(['enc/a%20b%2Bc.txt']);
  });
});

describe('key capabilities and scope', () => {
  it('a bucket-restricted key needs listAllBucketNames for ListBuckets', async () => {
    const list = (await env.native('b2_list_buckets', { accountId: env.accountId, bucketName: BUCKET })) as {
      buckets: Array<{ bucketId: string }>;
    };
    const bucketId = list.buckets[0].bucketId;
    const plain = await env.createKey({
      bucketId,
      capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles'],
    });
    const r1 = await s3raw(env, 'GET', '/', { keyId: plain.keyId, secret: plain.secret });
    expect([r1.status, r1.code]).toEqual([403, 'AccessDenied']);
    const named = await env.createKey({
      bucketId,
      capabilities: ['listAllBucketNames', 'listFiles', 'readFiles'],
    });
    const r2 = await s3raw(env, 'GET', '/', { keyId: named.keyId, secret: named.secret });
    expect(r2.status).toBe(200);
    expect(r2.text).toContain(`<Name>${BUCKET}</Name>`);
  });

  it('prefix scope and capabilities are enforced like the native API', async () => {
    const list = (await env.native('b2_list_buckets', { accountId: env.accountId, bucketName: BUCKET })) as {
      buckets: Array<{ bucketId: string }>;
    };
    const k = await env.createKey({
      bucketId: list.buckets[0].bucketId,
      namePrefix: 'scoped/',
      capabilities: ['listFiles', 'readFiles', 'writeFiles'],
    });
    const as = { keyId: k.keyId, secret: k.secret };
    expect((await s3raw(env, 'PUT', `/${BUCKET}/scoped/ok.txt`, { ...as, body: 'x' })).status).toBe(200);
    expect((await s3raw(env, 'PUT', `/${BUCKET}/elsewhere.txt`, { ...as, body: 'x' })).code).toBe(
      'AccessDenied',
    );
    expect(
      (await s3raw(env, 'GET', `/${BUCKET}`, { ...as, query: { 'list-type': '2', prefix: 'scoped/' } }))
        .status,
    ).toBe(200);
    // No deleteFiles: deleting a version is refused, hiding (writeFiles) is allowed.
    const v = (await s3raw(env, 'PUT', `/${BUCKET}/scoped/v.txt`, { ...as, body: 'x' })).headers.get(
      'x-amz-version-id',
    )!;
    expect(
      (await s3raw(env, 'DELETE', `/${BUCKET}/scoped/v.txt`, { ...as, query: { versionId: v } })).code,
    ).toBe('AccessDenied');
    expect((await s3raw(env, 'DELETE', `/${BUCKET}/scoped/v.txt`, as)).status).toBe(204);
  });
});

describe('multipart (B2 large-file limits)', () => {
  it('UploadPart verifies Content-MD5: a wrong one is refused with BadDigest and stores no part', async () => {
    const key = 'mp/md5.bin';
    const create = await s3raw(env, 'POST', `/${BUCKET}/${key}`, { query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)/.exec(create.text)![1];
    const part = Buffer.alloc(10_000, 7);
    const bad = await s3raw(env, 'PUT', `/${BUCKET}/${key}`, {
      query: { partNumber: '1', uploadId },
      body: part,
      headers: { 'content-md5': createHash('md5').update('other').digest('base64') },
    });
    expect([bad.status, bad.code]).toEqual([400, 'BadDigest']);
    const listed = await s3raw(env, 'GET', `/${BUCKET}/${key}`, { query: { uploadId } });
    expect(listed.text).not.toContain('<Part>');
    const good = await s3raw(env, 'PUT', `/${BUCKET}/${key}`, {
      query: { partNumber: '1', uploadId },
      body: part,
      headers: { 'content-md5': createHash('md5').update(part).digest('base64') },
    });
    expect(good.status).toBe(200);
    expect(good.headers.get('etag')).toBe(`"${createHash('md5').update(part).digest('hex')}"`);
    await s3raw(env, 'DELETE', `/${BUCKET}/${key}`, { query: { uploadId } });
  });

  it('parts below 5 MB (except the last) and single-part completes are refused; a valid upload gets md5-of-md5s-N', async () => {
    const key = 'mp/file.bin';
    const create = await s3raw(env, 'POST', `/${BUCKET}/${key}`, { query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)/.exec(create.text)![1];
    const p1 = Buffer.alloc(5_000_000, 1);
    const p2 = Buffer.alloc(1234, 2);
    const e1 = (
      await s3raw(env, 'PUT', `/${BUCKET}/${key}`, { query: { partNumber: '1', uploadId }, body: p1 })
    ).headers.get('etag')!;
    const e2 = (
      await s3raw(env, 'PUT', `/${BUCKET}/${key}`, { query: { partNumber: '2', uploadId }, body: p2 })
    ).headers.get('etag')!;
    const parts = await s3raw(env, 'GET', `/${BUCKET}/${key}`, { query: { uploadId } });
    expect(parts.text.match(/<Part>/g)).toHaveLength(2);
    const xml = (ps: Array<[number, string]>) =>
      `<CompleteMultipartUpload>${ps.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    expect(
      (
        await s3raw(env, 'POST', `/${BUCKET}/${key}`, {
          query: { uploadId },
          body: xml([
            [1, '"bad"'],
            [2, e2],
          ]),
        })
      ).code,
    ).toBe('InvalidPart');
    const done = await s3raw(env, 'POST', `/${BUCKET}/${key}`, {
      query: { uploadId },
      body: xml([
        [1, e1],
        [2, e2],
      ]),
    });
    expect(done.status).toBe(200);
    const want =
      createHash('md5')
        .update(Buffer.concat([createHash('md5').update(p1).digest(), createHash('md5').update(p2).digest()]))
        .digest('hex') + '-2';
    expect(done.text).toContain(`"${want}"`);
    const head = await s3raw(env, 'HEAD', `/${BUCKET}/${key}`);
    expect([head.headers.get('etag'), head.headers.get('content-length')]).toEqual([
      `"${want}"`,
      String(p1.length + p2.length),
    ]);

    const small = await s3raw(env, 'POST', `/${BUCKET}/mp/small.bin`, { query: { uploads: '' } });
    const sid = /<UploadId>([^<]+)/.exec(small.text)![1];
    const s1 = (
      await s3raw(env, 'PUT', `/${BUCKET}/mp/small.bin`, {
        query: { partNumber: '1', uploadId: sid },
        body: 'tiny',
      })
    ).headers.get('etag')!;
    const s2 = (
      await s3raw(env, 'PUT', `/${BUCKET}/mp/small.bin`, {
        query: { partNumber: '2', uploadId: sid },
        body: 'tiny2',
      })
    ).headers.get('etag')!;
    expect(
      (
        await s3raw(env, 'POST', `/${BUCKET}/mp/small.bin`, {
          query: { uploadId: sid },
          body: xml([
            [1, s1],
            [2, s2],
          ]),
        })
      ).code,
    ).toBe('EntityTooSmall');
    const uploads = await s3raw(env, 'GET', `/${BUCKET}`, { query: { uploads: '' } });
    expect(uploads.text).toContain(`<UploadId>${sid}</UploadId>`);
    expect((await s3raw(env, 'DELETE', `/${BUCKET}/mp/small.bin`, { query: { uploadId: sid } })).status).toBe(
      204,
    );
    expect((await s3raw(env, 'GET', `/${BUCKET}/mp/small.bin`, { query: { uploadId: sid } })).code).toBe(
      'NoSuchUpload',
    );
  });
});

describe('stats', () => {
  it('counts calls under s3:<Operation>', async () => {
    const stats = (await env.emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> };
    expect(stats.operations['s3:PutObject']).toBeGreaterThan(5);
    expect(stats.operations['s3:ListObjectsV2']).toBeGreaterThan(0);
  });
});

describe('virtual-host style', () => {
  it('GET http://<bucket>.localhost:<port>/<key> addresses the bucket from the Host header', async () => {
    await s3raw(env, 'PUT', `/${BUCKET}/vhost/v.txt`, { body: 'virtual host' });
    const url = new URL(env.url);
    const host = `${BUCKET}.localhost:${url.port}`;
    const signed = await signer(env.keyId, env.secret, env.region).sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: `${BUCKET}.localhost`,
        port: Number(url.port),
        path: '/vhost/v.txt',
        headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { signingDate: new Date() },
    );
    const { request } = await import('http');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: Number(url.port),
          path: '/vhost/v.txt',
          headers: signed.headers as Record<string, string>,
        },
        (res) => {
          let t = '';
          res.on('data', (d: Buffer) => (t += d.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${t}`));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('200 virtual host');
  });
});

describe('UploadPartCopy', () => {
  it('copies a byte range of an existing object into a part', async () => {
    const src = Buffer.alloc(6_000_000, 7);
    src.write('HEAD', 0);
    await s3raw(env, 'PUT', `/${BUCKET}/upc/src.bin`, { body: src });
    const key = 'upc/dst.bin';
    const create = await s3raw(env, 'POST', `/${BUCKET}/${key}`, { query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)/.exec(create.text)![1];
    const copy = await s3raw(env, 'PUT', `/${BUCKET}/${key}`, {
      query: { partNumber: '1', uploadId },
      headers: {
        'x-amz-copy-source': `/${BUCKET}/upc/src.bin`,
        'x-amz-copy-source-range': 'bytes=0-5499999',
      },
    });
    expect(copy.status).toBe(200);
    const e1 = /<ETag>([^<]+)<\/ETag>/.exec(copy.text)![1];
    expect(e1).toBe(`"${md5hex(src.subarray(0, 5_500_000))}"`);
    const e2 = (
      await s3raw(env, 'PUT', `/${BUCKET}/${key}`, { query: { partNumber: '2', uploadId }, body: 'tail' })
    ).headers.get('etag')!;
    const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${e1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>${e2}</ETag></Part></CompleteMultipartUpload>`;
    expect((await s3raw(env, 'POST', `/${BUCKET}/${key}`, { query: { uploadId }, body: xml })).status).toBe(
      200,
    );
    const got = await s3raw(env, 'GET', `/${BUCKET}/${key}`);
    expect(got.body.equals(Buffer.concat([src.subarray(0, 5_500_000), Buffer.from('tail')]))).toBe(true);
  });
});

describe('Object Lock over S3', () => {
  const LOCKED = 'wire-s3-locked';
  it('bucket lock configuration, default retention, per-object retention and legal hold', async () => {
    expect(
      (await s3raw(env, 'PUT', `/${LOCKED}`, { headers: { 'x-amz-bucket-object-lock-enabled': 'true' } }))
        .status,
    ).toBe(200);
    expect((await s3raw(env, 'GET', `/${LOCKED}`, { query: { 'object-lock': '' } })).text).toContain(
      '<ObjectLockEnabled>Enabled</ObjectLockEnabled>',
    );
    const cfg =
      '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>';
    expect((await s3raw(env, 'PUT', `/${LOCKED}`, { query: { 'object-lock': '' }, body: cfg })).status).toBe(
      200,
    );
    const put = await s3raw(env, 'PUT', `/${LOCKED}/locked.txt`, { body: 'keep me' });
    const versionId = put.headers.get('x-amz-version-id')!;
    const head = await s3raw(env, 'HEAD', `/${LOCKED}/locked.txt`);
    expect(head.headers.get('x-amz-object-lock-mode')).toBe('GOVERNANCE');
    expect((await s3raw(env, 'GET', `/${LOCKED}/locked.txt`, { query: { retention: '' } })).text).toContain(
      '<Mode>GOVERNANCE</Mode>',
    );
    // Governance retention blocks a permanent delete without bypass; hiding still works.
    const del = await s3raw(env, 'DELETE', `/${LOCKED}/locked.txt`, { query: { versionId } });
    expect([del.status, del.code]).toEqual([403, 'AccessDenied']);
    const hold = '<LegalHold><Status>ON</Status></LegalHold>';
    expect(
      (
        await s3raw(env, 'PUT', `/${LOCKED}/locked.txt`, {
          query: { 'legal-hold': '', versionId },
          body: hold,
        })
      ).status,
    ).toBe(200);
    expect(
      (await s3raw(env, 'GET', `/${LOCKED}/locked.txt`, { query: { 'legal-hold': '' } })).text,
    ).toContain('<Status>ON</Status>');
    expect((await s3raw(env, 'GET', `/${BUCKET}/read/r.txt`, { query: { retention: '' } })).status).toBe(400);
  });
});

describe('response checksums', () => {
  it('GetObject with x-amz-checksum-mode: ENABLED returns the full-object CRC32 of a plain PUT', async () => {
    const body = Buffer.from('checksum me on the way out');
    await s3raw(env, 'PUT', `/${BUCKET}/ck/plain.txt`, { body });
    const { crc32 } = await import('zlib');
    const want = Buffer.alloc(4);
    want.writeUInt32BE(crc32(body));
    const got = await s3raw(env, 'GET', `/${BUCKET}/ck/plain.txt`, {
      headers: { 'x-amz-checksum-mode': 'ENABLED' },
    });
    expect(got.headers.get('x-amz-checksum-crc32')).toBe(want.toString('base64'));
    expect(
      (await s3raw(env, 'GET', `/${BUCKET}/ck/plain.txt`)).headers.get('x-amz-checksum-crc32'),
    ).toBeNull();
  });
});

describe('encryption', () => {
  it('PutBucketEncryption makes SSE-B2 the default, echoed on PUT and GET; SSE-C needs its key to read', async () => {
    const ENC = 'wire-s3-encrypted';
    await s3raw(env, 'PUT', `/${ENC}`);
    expect((await s3raw(env, 'GET', `/${ENC}`, { query: { encryption: '' } })).code).toBe(
      'ServerSideEncryptionConfigurationNotFoundError',
    );
    const cfg =
      '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>';
    expect((await s3raw(env, 'PUT', `/${ENC}`, { query: { encryption: '' }, body: cfg })).status).toBe(200);
    expect((await s3raw(env, 'GET', `/${ENC}`, { query: { encryption: '' } })).text).toContain(
      '<SSEAlgorithm>AES256</SSEAlgorithm>',
    );
    const put = await s3raw(env, 'PUT', `/${ENC}/default.txt`, { body: 'sse-b2 by default' });
    expect(put.headers.get('x-amz-server-side-encryption')).toBe('AES256');
    expect(
      (await s3raw(env, 'HEAD', `/${ENC}/default.txt`)).headers.get('x-amz-server-side-encryption'),
    ).toBe('AES256');

    const key = Buffer.alloc(32, 9);
    const sseC = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
    };
    expect((await s3raw(env, 'PUT', `/${ENC}/customer.txt`, { body: 'sse-c', headers: sseC })).status).toBe(
      200,
    );
    expect((await s3raw(env, 'GET', `/${ENC}/customer.txt`)).status).toBe(403);
    const got = await s3raw(env, 'GET', `/${ENC}/customer.txt`, { headers: sseC });
    expect([
      got.status,
      got.text,
      got.headers.get('x-amz-server-side-encryption-customer-algorithm'),
    ]).toEqual([200, 'sse-c', 'AES256']);
    expect(
      (
        await s3raw(env, 'PUT', `/${ENC}/kms.txt`, {
          body: 'x',
          headers: { 'x-amz-server-side-encryption': 'aws:kms' },
        })
      ).code,
    ).toBe('InvalidArgument');
  });
});

describe('CORS and canned ACLs', () => {
  it('PutBucketCors becomes B2 CORS rules over s3_* operations; DeleteBucketCors clears them', async () => {
    const C = 'wire-s3-cors';
    await s3raw(env, 'PUT', `/${C}`);
    expect((await s3raw(env, 'GET', `/${C}`, { query: { cors: '' } })).code).toBe('NoSuchCORSConfiguration');
    const cfg =
      '<CORSConfiguration><CORSRule><ID>web-uploads</ID><AllowedOrigin>https://app.example.com</AllowedOrigin>' +
      '<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>';
    expect((await s3raw(env, 'PUT', `/${C}`, { query: { cors: '' }, body: cfg })).status).toBe(200);
    const native = (await env.native('b2_list_buckets', { accountId: env.accountId, bucketName: C })) as {
      buckets: Array<{
        corsRules: Array<{ corsRuleName: string; allowedOperations: string[]; maxAgeSeconds: number }>;
      }>;
    };
    expect(native.buckets[0].corsRules).toEqual([
      expect.objectContaining({
        corsRuleName: 'web-uploads',
        allowedOperations: ['s3_get', 's3_put'],
        maxAgeSeconds: 600,
      }),
    ]);
    expect((await s3raw(env, 'GET', `/${C}`, { query: { cors: '' } })).text).toContain(
      '<AllowedMethod>PUT</AllowedMethod>',
    );
    expect((await s3raw(env, 'DELETE', `/${C}`, { query: { cors: '' } })).status).toBe(204);
    expect((await s3raw(env, 'GET', `/${C}`, { query: { cors: '' } })).code).toBe('NoSuchCORSConfiguration');
  });

  it('PutBucketAcl public-read makes the bucket allPublic (anonymous GET works); object ACLs must match', async () => {
    const P = 'wire-s3-public';
    await s3raw(env, 'PUT', `/${P}`);
    await s3raw(env, 'PUT', `/${P}/open.txt`, { body: 'for everyone' });
    expect((await fetch(`${env.url}/${P}/open.txt`)).status).toBe(403);
    expect(
      (await s3raw(env, 'PUT', `/${P}`, { query: { acl: '' }, headers: { 'x-amz-acl': 'public-read' } }))
        .status,
    ).toBe(200);
    const anon = await fetch(`${env.url}/${P}/open.txt`);
    expect([anon.status, await anon.text()]).toEqual([200, 'for everyone']);
    expect((await s3raw(env, 'GET', `/${P}`, { query: { acl: '' } })).text).toContain('AllUsers');
    expect(
      (
        await s3raw(env, 'PUT', `/${P}/open.txt`, {
          query: { acl: '' },
          headers: { 'x-amz-acl': 'public-read' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await s3raw(env, 'PUT', `/${P}/open.txt`, { query: { acl: '' }, headers: { 'x-amz-acl': 'private' } }))
        .code,
    ).toBe('InvalidArgument');
  });
});
