/**
 * The engine API the S3 layer and jobs build on (emulator/README.md): unknown-length bodies,
 * Content-MD5 checks, protocol-private `extra`, scope checks on AuthContexts, system deletes that
 * still honour Object Lock, and big bodies hashed through the MD5 worker.
 */
import { createHash, randomBytes } from 'crypto';
import { Readable } from 'stream';
import { Clock } from '../../../emulator/core/clock';
import { Engine } from '../../../emulator/core/engine';
import { MemoryStore } from '../../../emulator/store/memory';

const restores: (() => void)[] = [];
const afterTestRestore = (f: () => void) => restores.push(f);
afterEach(() => restores.splice(0).forEach((f) => f()));

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function setup() {
  const clock = new Clock();
  const engine = new Engine({ region: 'us-west-004', store: new MemoryStore(), clock });
  const sys = engine.systemAuth();
  const bucket = engine.createBucket(sys, { bucketName: 'engine-api-bucket', bucketType: 'allPrivate' });
  return { clock, engine, sys, bucket };
}

const body = (b: Buffer, chunk = 65536) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += chunk) parts.push(b.subarray(i, i + chunk));
  return Readable.from(parts);
};

test('unknown content length, md5 check and extra round-trip', async () => {
  const { engine, sys, bucket } = setup();
  const data = randomBytes(3_000_000); // above the inline threshold: MD5 runs in the worker
  const f = await engine.uploadFile(sys, {
    bucketId: bucket.bucketId,
    fileName: 'obj',
    contentType: 'application/octet-stream',
    contentLength: undefined,
    sha1: undefined,
    md5: md5(data),
    body: body(data),
    fileInfo: {},
    extra: { s3ETag: '"abc"' },
  });
  expect(f.contentLength).toBe(data.length);
  expect(f.contentMd5).toBe(md5(data));
  expect(f.contentSha1).toBe(sha1(data));
  expect(engine.getFileInfo(sys, f.fileId).extra).toEqual({ s3ETag: '"abc"' });
  await expect(
    engine.uploadFile(sys, {
      bucketId: bucket.bucketId,
      fileName: 'bad',
      contentType: 'b2/x-auto',
      contentLength: 4,
      sha1: undefined,
      md5: md5(Buffer.from('nope')),
      body: body(Buffer.from('data')),
      fileInfo: {},
    }),
  ).rejects.toMatchObject({ status: 400, code: 'bad_digest' });
  expect(engine.listFileVersions(sys, { bucketId: bucket.bucketId }).files.map((x) => x.fileName)).toEqual([
    'obj',
  ]);
});

test.each(['1', '0'])('parallel large bodies hash correctly (B2_LOCAL_MD5_WORKER=%s)', async (mode) => {
  const before = process.env.B2_LOCAL_MD5_WORKER;
  process.env.B2_LOCAL_MD5_WORKER = mode;
  afterTestRestore(() => {
    if (before === undefined) delete process.env.B2_LOCAL_MD5_WORKER;
    else process.env.B2_LOCAL_MD5_WORKER = before;
  });
  const { engine, sys, bucket } = setup();
  const datas = [0, 1, 2, 3, 4].map(() => randomBytes(2_000_000 + Math.floor(Math.random() * 1000)));
  const files = await Promise.all(
    datas.map((d, i) =>
      engine.uploadFile(sys, {
        bucketId: bucket.bucketId,
        fileName: `p${i}`,
        contentType: 'b2/x-auto',
        contentLength: d.length,
        sha1: sha1(d),
        body: body(d, 50_000),
        fileInfo: {},
      }),
    ),
  );
  files.forEach((f, i) => expect(f.contentMd5).toBe(md5(datas[i]!)));
});

test('AuthContext scope: bucket and name prefix are enforced for any protocol', async () => {
  const { engine, sys, bucket } = setup();
  const key = engine.createKey(sys, {
    keyName: 's3-key',
    capabilities: ['writeFiles', 'listFiles'],
    bucketIds: [bucket.bucketId],
    namePrefix: 'ok/',
  });
  const auth = engine.authContextForKey(engine.findKey(key.applicationKeyId)!, 4);
  const up = (name: string) =>
    engine.uploadFile(auth, {
      bucketId: bucket.bucketId,
      fileName: name,
      contentType: 'b2/x-auto',
      contentLength: 1,
      sha1: undefined,
      body: body(Buffer.from('x')),
      fileInfo: {},
    });
  await expect(up('ok/a')).resolves.toMatchObject({ fileName: 'ok/a' });
  await expect(up('no/a')).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  expect(() => engine.verifyKey(key.applicationKeyId, 'wrong')).toThrow(
    expect.objectContaining({ status: 401 }),
  );
  expect(engine.findKey(engine.accountId)?.isMaster).toBe(true);
});

test('systemDeleteVersion honours Object Lock until retention passes', async () => {
  const { clock, engine, sys } = setup();
  const b = engine.createBucket(sys, {
    bucketName: 'engine-api-lock',
    bucketType: 'allPrivate',
    fileLockEnabled: true,
  });
  const f = await engine.uploadFile(sys, {
    bucketId: b.bucketId,
    fileName: 'locked',
    contentType: 'b2/x-auto',
    contentLength: 1,
    sha1: undefined,
    body: body(Buffer.from('x')),
    fileInfo: {},
    fileRetention: { mode: 'compliance', retainUntilTimestamp: clock.now() + 86_400_000 },
  });
  expect(await engine.systemDeleteVersion(f.fileId)).toBe(false);
  clock.advance(2 * 86400);
  expect(await engine.systemDeleteVersion(f.fileId)).toBe(true);
});
