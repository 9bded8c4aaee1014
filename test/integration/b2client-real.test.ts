/**
 * Opt-in real-B2 tier (docs/conventions.md §10): the client's tour against a real Backblaze account.
 *
 *   B2_TEST_APPLICATION_KEY_ID / B2_TEST_APPLICATION_KEY   a key with writeBuckets, deleteBuckets,
 *                                                          listBuckets, writeFiles, listFiles,
 *                                                          readFiles, deleteFiles, shareFiles
 *   B2_TEST_REALM_URL        optional (default https://api.backblazeb2.com; the emulator works too)
 *   B2_TEST_DISALLOW_SKIP=1  CI: fail instead of skipping when the variables are missing
 *
 * Buckets are named `ifb-test-<epoch seconds>-<random>`; each run deletes its own and sweeps
 * leftovers older than a day (b2sdk `bucket_manager.py`). Costs a few Class A/B/C calls and a
 * few MB of storage for minutes.
 */
import { createHash, randomBytes } from 'crypto';
import { B2Client, B2Error, FileNotFound, clearAuthorizationCache } from '../../infra/b2';

const keyId = process.env.B2_TEST_APPLICATION_KEY_ID;
const key = process.env.B2_TEST_APPLICATION_KEY;
const realmUrl = process.env.B2_TEST_REALM_URL || undefined;
const enabled = Boolean(keyId && key);
const BUCKET_PREFIX = 'ifb-test-';
const SWEEP_AFTER_SECONDS = 24 * 3600;

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Deletes every version (and unfinished large file) in a bucket, then the bucket. */
async function destroyBucket(c: B2Client, bucketId: string): Promise<void> {
  for await (const v of c.listFileVersions({ bucketId })) {
    if (v.action === 'start') await c.cancelLargeFile(v.fileId!);
    else if (v.fileId) await c.deleteFileVersion(v.fileId, v.fileName);
  }
  for await (const u of c.listUnfinishedLargeFiles(bucketId)) await c.cancelLargeFile(u.fileId!);
  await c.deleteBucket(bucketId);
}

if (!enabled && process.env.B2_TEST_DISALLOW_SKIP === '1') {
  test('real-B2 tier is required here', () => {
    throw new Error('set B2_TEST_APPLICATION_KEY_ID and B2_TEST_APPLICATION_KEY (B2_TEST_DISALLOW_SKIP=1)');
  });
}

(enabled ? describe : describe.skip)('B2Client against real B2 (opt-in)', () => {
  let c: B2Client;
  let bucketId: string;
  let bucketName: string;

  beforeAll(async () => {
    clearAuthorizationCache();
    c = new B2Client({ applicationKeyId: keyId!, applicationKey: key!, realmUrl });
    const now = Math.floor(Date.now() / 1000);
    for (const b of await c.listBuckets()) {
      const m = new RegExp(`^${BUCKET_PREFIX}(\\d+)-`).exec(b.bucketName);
      if (m && now - Number(m[1]) > SWEEP_AFTER_SECONDS)
        await destroyBucket(c, b.bucketId).catch(() => undefined);
    }
    bucketName = `${BUCKET_PREFIX}${now}-${randomBytes(4).toString('hex')}`;
    bucketId = (
      await c.createBucket({ bucketName, bucketType: 'allPrivate', bucketInfo: { purpose: 'client-test' } })
    ).bucketId;
  });

  afterAll(async () => {
    if (bucketId) await destroyBucket(c, bucketId);
  });

  it('updates the bucket with ifRevisionIs', async () => {
    const b = (await c.getBucketById(bucketId))!;
    const u = await c.updateBucket({
      bucketId,
      ifRevisionIs: b.revision,
      bucketInfo: { purpose: 'client-test-2' },
    });
    expect(u.revision).toBe(b.revision + 1);
  });

  it('small and large uploads round-trip byte-exact (with B2 failing some uploads)', async () => {
    const flaky = new B2Client({
      applicationKeyId: keyId!,
      applicationKey: key!,
      realmUrl,
      testMode: 'fail_some_uploads',
    });
    const small = randomBytes(2000);
    const f = await flaky.uploadFile({
      bucketId,
      fileName: 'tour/small.bin',
      body: small,
      fileInfo: { k: 'v' },
    });
    expect(f.contentSha1).toBe(sha1(small));
    const ranged = await c.downloadFileByName(bucketName, 'tour/small.bin', { range: [10, 19] });
    expect((await ranged.buffer()).equals(small.subarray(10, 20))).toBe(true);

    const auth = await c.authorize();
    const large = randomBytes(auth.absoluteMinimumPartSize * 2 + 1234);
    const lf = await flaky.uploadLargeFile({
      bucketId,
      fileName: 'tour/large.bin',
      source: large,
      partSize: auth.absoluteMinimumPartSize,
    });
    expect(sha1(await (await c.downloadFileById(lf.fileId!)).buffer())).toBe(sha1(large));
  });

  it('lists, hides, copies and deletes', async () => {
    await c.uploadFile({ bucketId, fileName: 'tour/a.txt', body: 'a' });
    await c.hideFile(bucketId, 'tour/a.txt');
    const names = (await all(c.listFileNames({ bucketId, prefix: 'tour/' }))).map((x) => x.fileName);
    expect(names).not.toContain('tour/a.txt');
    const versions = await all(c.listFileVersions({ bucketId, prefix: 'tour/a.txt' }));
    expect(versions.map((v) => v.action)).toEqual(['hide', 'upload']);
    const missing = await c.downloadFileByName(bucketName, 'tour/a.txt').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FileNotFound);

    const src = (await all(c.listFileNames({ bucketId, prefix: 'tour/small.bin' })))[0];
    const copy = await c.copyFile({ sourceFileId: src.fileId!, fileName: 'tour/copy.bin', range: [0, 99] });
    expect(copy.contentLength).toBe(100);
    await c.deleteFileVersion(copy.fileId!, copy.fileName);
    const gone = await c.getFileInfo(copy.fileId!).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(B2Error);
  });
});
