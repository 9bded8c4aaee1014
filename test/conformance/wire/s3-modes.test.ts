/**
 * Emulator modes that change S3 answers: `--rate-limit` (503 SlowDown + Retry-After on S3, 429 on
 * native — docs/b2-api.md §12) and `B2_LOCAL_S3_CHECKSUMS=reject` (B2's 2024–25 refusal of flexible
 * checksum headers — docs/b2-api.md §11).
 */
import { startS3Env, S3Env, s3raw } from './s3helpers';

describe('throttling', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env({ rateLimit: 5 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('past --rate-limit the S3 API answers 503 SlowDown with Retry-After', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, () => s3raw(env, 'GET', '/')));
    const slow = results.filter((r) => r.status === 503);
    expect(slow.length).toBeGreaterThan(0);
    expect(slow[0].code).toBe('SlowDown');
    expect(Number(slow[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(results.some((r) => r.status === 200)).toBe(true);
  });
});

describe('checksum policy "reject" (B2 2024–25)', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env({ env: { B2_LOCAL_S3_CHECKSUMS: 'reject' } });
    expect((await s3raw(env, 'PUT', '/reject-bucket')).status).toBe(200);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('x-amz-checksum-crc32 → 400 InvalidArgument "Unsupported header"', async () => {
    const r = await s3raw(env, 'PUT', '/reject-bucket/a.txt', {
      body: 'x',
      headers: { 'x-amz-checksum-crc32': 'jHNlIQ==' },
    });
    expect([r.status, r.code]).toEqual([400, 'InvalidArgument']);
    expect(r.text).toContain("Unsupported header 'x-amz-checksum-crc32' received for this API call.");
  });

  it('x-amz-sdk-checksum-algorithm is refused too; a plain PUT with Content-MD5 works', async () => {
    const r = await s3raw(env, 'PUT', '/reject-bucket/b.txt', {
      body: 'x',
      headers: { 'x-amz-sdk-checksum-algorithm': 'CRC32' },
    });
    expect(r.code).toBe('InvalidArgument');
    const ok = await s3raw(env, 'PUT', '/reject-bucket/b.txt', {
      body: 'x',
      headers: { 'content-md5': 'ndTkYSaMgDT1yFZOFVxnpg==' },
    });
    expect(ok.status).toBe(200);
  });
});

describe('fault injection on S3 operations', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env();
    expect((await s3raw(env, 'PUT', '/faults-bucket')).status).toBe(200);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('an error rule answers S3 XML with the given status/code and Retry-After, for N calls only', async () => {
    await env.emu.admin('POST', '/__admin/faults', {
      operation: 's3:PutObject',
      action: 'error',
      status: 503,
      code: 'SlowDown',
      message: 'injected',
      retryAfter: 2,
      count: 1,
    });
    const hit = await s3raw(env, 'PUT', '/faults-bucket/f.txt', { body: 'x' });
    expect([hit.status, hit.code, hit.headers.get('retry-after')]).toEqual([503, 'SlowDown', '2']);
    expect((await s3raw(env, 'PUT', '/faults-bucket/f.txt', { body: 'x' })).status).toBe(200);
  });

  it('a reset rule drops the connection', async () => {
    await env.emu.admin('POST', '/__admin/faults', { operation: 's3:GetObject', action: 'reset', count: 1 });
    await expect(s3raw(env, 'GET', '/faults-bucket/f.txt')).rejects.toThrow();
    expect((await s3raw(env, 'GET', '/faults-bucket/f.txt')).text).toBe('x');
  });
});

describe('key expiry on the emulator clock', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a key past validDurationInSeconds is refused on S3 even though signatures use wall time', async () => {
    const k = await env.native('b2_create_key', {
      accountId: env.accountId,
      keyName: 'short-lived',
      capabilities: ['listBuckets', 'listAllBucketNames'],
      validDurationInSeconds: 3600,
    });
    const as = { keyId: k.applicationKeyId as string, secret: k.applicationKey as string };
    expect((await s3raw(env, 'GET', '/', as)).status).toBe(200);
    await env.emu.admin('POST', '/__admin/clock', { advanceSeconds: 7200 });
    const r = await s3raw(env, 'GET', '/', as);
    expect([r.status, r.code]).toEqual([403, 'InvalidAccessKeyId']);
    // The long-lived key still works: advancing the emulator clock does not skew signatures.
    expect((await s3raw(env, 'GET', '/')).status).toBe(200);
  });
});
