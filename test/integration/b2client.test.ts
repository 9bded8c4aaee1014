/**
 * `B2Client` against the real emulator (docs/architecture.md §4), port 0, fresh in-memory store per file.
 * A full tour of the public API, then retries / re-authorization via the admin faults and clock
 * APIs, then error mapping from real emulator errors.
 */
import { createHash, randomBytes } from 'crypto';
import { Readable } from 'stream';
import {
  AlreadyHidden,
  B2Client,
  B2Error,
  BadRequest,
  BucketNotEmpty,
  CapExceeded,
  Conflict,
  DuplicateBucketName,
  FileNotFound,
  InvalidCredentials,
  NotAllowedByKey,
  NotFound,
  RangeNotSatisfiable,
  SecretString,
  ServiceUnavailable,
  TooManyRequests,
  clearAuthorizationCache,
  type FileVersion,
} from '../../infra/b2';
import { RunningEmulator, startEmulator } from '../helpers/emulator';

let emu: RunningEmulator;

/** Fast retries so fault tests stay quick; the real waits are unit-tested with a fake clock. */
const FAST_RETRY = { initialDelayMs: 5, multiplier: 2, maxDelayMs: 50, jitterMs: 5, budgetMs: 30_000 };

function masterClient(extra: Partial<ConstructorParameters<typeof B2Client>[0]> = {}): B2Client {
  return new B2Client({
    applicationKeyId: emu.info.keyId,
    applicationKey: emu.info.applicationKey,
    realmUrl: emu.url,
    retry: FAST_RETRY,
    ...extra,
  });
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
let bucketSeq = 0;
const bucketName = () => `itest-${process.pid}-${Date.now() % 100000}-${++bucketSeq}`;

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Calls per operation from GET /__admin/stats, whatever its nesting (per region / totals). */
async function calls(op: string): Promise<number> {
  const stats = await emu.admin('GET', '/__admin/stats');
  let best = 0;
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === op && typeof x === 'number') best = Math.max(best, x);
      else walk(x);
    }
  };
  walk(stats);
  return best;
}

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(() => clearAuthorizationCache());

describe('authorize', () => {
  it('returns the v3 storage API info of the emulator', async () => {
    const auth = await masterClient().authorize();
    expect(auth.accountId).toBe(emu.info.accountId);
    expect(auth.apiUrl).toBe(emu.url);
    expect(auth.downloadUrl).toBe(emu.url);
    expect(auth.s3ApiUrl).toBe(emu.url);
    expect(auth.apiVersion).toBe('v3');
    expect(auth.absoluteMinimumPartSize).toBeGreaterThan(0);
    expect(auth.recommendedPartSize).toBeGreaterThanOrEqual(auth.absoluteMinimumPartSize);
    expect(auth.allowed.capabilities).toEqual(
      expect.arrayContaining(['writeBuckets', 'listKeys', 'writeFiles']),
    );
    expect(auth.allowed.bucketId).toBeNull();
    expect(JSON.stringify(auth)).not.toContain(emu.info.applicationKey);
  });

  it('authorizes once per (realm, key) in a process, shared by every client', async () => {
    const before = await calls('b2_authorize_account');
    const clients = [masterClient(), masterClient(), masterClient()];
    await Promise.all(clients.map((c) => c.listBuckets()));
    await Promise.all(clients.map((c) => c.accountId()));
    expect(await calls('b2_authorize_account')).toBe(before + 1);
  });

  it('refuses a wrong key with InvalidCredentials and never echoes it', async () => {
    const wrong = 'K00wrongSecretValue1234567890';
    const c = new B2Client({ applicationKeyId: emu.info.keyId, applicationKey: wrong, realmUrl: emu.url });
    const err = (await c.authorize().catch((e: unknown) => e)) as B2Error;
    expect(err).toBeInstanceOf(InvalidCredentials);
    expect(err.status).toBe(401);
    expect(err.operation).toBe('b2_authorize_account');
    expect(`${err.message} ${String(err.stack)} ${JSON.stringify(err)}`).not.toContain(wrong);
    // the failure is not cached: the right key still works with the same id
    await expect(masterClient().authorize()).resolves.toBeDefined();
  });
});

describe('buckets', () => {
  it('create, read, update with ifRevisionIs, list, delete', async () => {
    const c = masterClient();
    const name = bucketName();
    const created = await c.createBucket({
      bucketName: name,
      bucketType: 'allPrivate',
      bucketInfo: { env: 'test', 'managed-by': 'itest' },
      lifecycleRules: [
        { fileNamePrefix: 'logs/', daysFromUploadingToHiding: 30, daysFromHidingToDeleting: 1 },
      ],
      defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    });
    expect(created).toMatchObject({
      bucketName: name,
      bucketType: 'allPrivate',
      bucketInfo: { env: 'test' },
    });
    expect(created.defaultServerSideEncryption?.value).toEqual({ mode: 'SSE-B2', algorithm: 'AES256' });
    expect(created.lifecycleRules).toHaveLength(1);

    expect((await c.getBucketByName(name))?.bucketId).toBe(created.bucketId);
    expect((await c.getBucketById(created.bucketId))?.bucketName).toBe(name);
    expect(await c.getBucketByName(`${name}-missing`)).toBeUndefined();

    const updated = await c.updateBucket({
      bucketId: created.bucketId,
      ifRevisionIs: created.revision,
      bucketType: 'allPublic',
      bucketInfo: { env: 'test2' },
    });
    expect(updated.revision).toBe(created.revision + 1);
    expect(updated.bucketType).toBe('allPublic');
    expect(updated.bucketInfo).toEqual({ env: 'test2' });
    expect(updated.lifecycleRules).toHaveLength(1); // omitted → unchanged

    const stale = (await c
      .updateBucket({ bucketId: created.bucketId, ifRevisionIs: created.revision, bucketInfo: {} })
      .catch((e: unknown) => e)) as B2Error;
    expect(stale).toBeInstanceOf(Conflict);
    expect(stale.status).toBe(409);

    const dup = await c.createBucket({ bucketName: name, bucketType: 'allPrivate' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(DuplicateBucketName);

    const listed = await c.listBuckets();
    expect(listed.map((b) => b.bucketName)).toContain(name);

    const deleted = await c.deleteBucket(created.bucketId);
    expect(deleted.bucketId).toBe(created.bucketId);
    expect(await c.getBucketById(created.bucketId)).toBeUndefined();
    const again = await c.deleteBucket(created.bucketId).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(NotFound);
  });
});

describe('keys', () => {
  it('create (secret as SecretString), list with paging, restricted scope, multi-bucket via v4, delete', async () => {
    const c = masterClient();
    const b1 = await c.createBucket({ bucketName: bucketName(), bucketType: 'allPrivate' });
    const b2 = await c.createBucket({ bucketName: bucketName(), bucketType: 'allPrivate' });

    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        await c.createKey({
          keyName: `itest-key-${i}`,
          capabilities: ['listBuckets', 'listFiles', 'readFiles'],
          bucketId: b1.bucketId,
        }),
      );
    }
    expect(made[0].applicationKey).toBeInstanceOf(SecretString);
    expect(JSON.stringify(made[0])).not.toContain(made[0].applicationKey.reveal());
    expect(made[0].bucketId).toBe(b1.bucketId);
    expect(made[0].bucketIds).toEqual([b1.bucketId]);

    const listed = await all(c.listKeys({ pageSize: 2 }));
    const ids = listed.map((k) => k.applicationKeyId);
    for (const k of made) expect(ids).toContain(k.applicationKeyId);
    expect(new Set(ids).size).toBe(ids.length);

    // A restricted key works in its bucket and is refused elsewhere.
    const restricted = new B2Client({
      applicationKeyId: made[0].applicationKeyId,
      applicationKey: made[0].applicationKey,
      realmUrl: emu.url,
      retry: FAST_RETRY,
    });
    const rAuth = await restricted.authorize();
    expect(rAuth.allowed.bucketId).toBe(b1.bucketId);
    expect((await restricted.listBuckets()).map((b) => b.bucketId)).toEqual([b1.bucketId]);
    await expect(all(restricted.listFileNames({ bucketId: b1.bucketId }))).resolves.toEqual([]);
    const denied = (await all(restricted.listFileNames({ bucketId: b2.bucketId })).catch(
      (e: unknown) => e,
    )) as B2Error;
    expect(denied).toBeInstanceOf(NotAllowedByKey);
    expect(denied.status).toBe(401);

    // Several buckets → v4 multi-bucket key; it authorizes (through the v4 fallback).
    const multi = await c.createKey({
      keyName: 'itest-multi',
      capabilities: ['listFiles', 'readFiles', 'writeFiles'],
      bucketIds: [b1.bucketId, b2.bucketId],
    });
    expect([...(multi.bucketIds ?? [])].sort()).toEqual([b1.bucketId, b2.bucketId].sort());
    const multiClient = new B2Client({
      applicationKeyId: multi.applicationKeyId,
      applicationKey: multi.applicationKey,
      realmUrl: emu.url,
    });
    const mAuth = await multiClient.authorize();
    expect(mAuth.allowed.buckets?.map((b) => b.id).sort()).toEqual([b1.bucketId, b2.bucketId].sort());
    const allKeys = (await all(c.listKeys())).map((k) => k.applicationKeyId);
    expect(allKeys).toContain(multi.applicationKeyId);

    for (const k of [...made, multi]) {
      const d = await c.deleteKey(k.applicationKeyId);
      expect(d.applicationKeyId).toBe(k.applicationKeyId);
    }
    const after = (await all(c.listKeys())).map((k) => k.applicationKeyId);
    for (const k of made) expect(after).not.toContain(k.applicationKeyId);
    await c.deleteBucket(b1.bucketId);
    await c.deleteBucket(b2.bucketId);
  });
});

describe('files', () => {
  let c: B2Client;
  let bucketId: string;
  let name: string;

  beforeAll(async () => {
    clearAuthorizationCache();
    c = masterClient();
    name = bucketName();
    bucketId = (await c.createBucket({ bucketName: name, bucketType: 'allPrivate' })).bucketId;
  });

  it('small upload round-trips bytes, SHA-1, content type, info and awkward names', async () => {
    const body = randomBytes(10_000);
    const fileName = 'dir/sub dir/ünï+cødé & spaces.bin';
    const up = await c.uploadFile({
      bucketId,
      fileName,
      body,
      contentType: 'application/x-test',
      fileInfo: { src_last_modified_millis: '1700000000000', note: 'a b+c/ü' },
    });
    expect(up).toMatchObject({
      action: 'upload',
      fileName,
      contentLength: body.length,
      contentSha1: sha1(body),
    });
    expect(up.fileInfo).toEqual({ src_last_modified_millis: '1700000000000', note: 'a b+c/ü' });

    const byName = await c.downloadFileByName(name, fileName);
    expect(byName.status).toBe(200);
    expect(byName.fileName).toBe(fileName);
    expect(byName.fileId).toBe(up.fileId);
    expect(byName.contentSha1).toBe(sha1(body));
    expect(byName.contentType).toBe('application/x-test');
    expect(byName.fileInfo.note).toBe('a b+c/ü');
    expect((await byName.buffer()).equals(body)).toBe(true);

    const ranged = await c.downloadFileById(up.fileId!, { range: [100, 199] });
    expect(ranged.status).toBe(206);
    expect(ranged.contentLength).toBe(100);
    expect(ranged.contentRange).toBe(`bytes 100-199/${body.length}`);
    expect((await ranged.buffer()).equals(body.subarray(100, 200))).toBe(true);

    const info = await c.getFileInfo(up.fileId!);
    expect(info).toMatchObject({ fileId: up.fileId, fileName, contentLength: body.length });

    const string = await c.uploadFile({ bucketId, fileName: 'hello.txt', body: 'hello world' });
    expect(string.contentType).toBe('text/plain');
    expect(string.contentLength).toBe(11);
  });

  it('large upload from a stream: parallel parts, SHA-1 per part, byte-exact download', async () => {
    const auth = await c.authorize();
    const partSize = auth.absoluteMinimumPartSize;
    const data = randomBytes(partSize * 3 + 12345);
    const progress: number[] = [];
    const statsBefore = await calls('b2_upload_part');
    const file = await c.uploadLargeFile({
      bucketId,
      fileName: 'large/stream.bin',
      source: Readable.from(chunksOf(data, 64 * 1024)),
      size: data.length,
      partSize,
      concurrency: 3,
      fileInfo: { large_file_sha1: sha1(data) },
      onProgress: (p) => progress.push(p.bytesUploaded),
    });
    expect(file).toMatchObject({
      action: 'upload',
      fileName: 'large/stream.bin',
      contentLength: data.length,
    });
    expect(await calls('b2_upload_part')).toBe(statsBefore + 4);
    expect(progress[progress.length - 1]).toBe(data.length);
    const dl = await c.downloadFileById(file.fileId!);
    expect(sha1(await dl.buffer())).toBe(sha1(data));
    expect(await all(c.listUnfinishedLargeFiles(bucketId))).toEqual([]);
  });

  it('large upload from a Buffer of one part falls back to a simple upload', async () => {
    const auth = await c.authorize();
    const data = randomBytes(1000);
    const f = await c.uploadLargeFile({
      bucketId,
      fileName: 'large/small.bin',
      source: data,
      partSize: auth.absoluteMinimumPartSize,
    });
    expect(f.contentSha1).toBe(sha1(data));
  });

  it('a source that fails mid-stream cancels the large file: nothing visible', async () => {
    const auth = await c.authorize();
    const partSize = auth.absoluteMinimumPartSize;
    async function* broken() {
      yield randomBytes(partSize);
      yield randomBytes(partSize);
      throw new Error('dump process died');
    }
    await expect(
      c.uploadLargeFile({
        bucketId,
        fileName: 'large/broken.bin',
        source: Readable.from(broken()),
        partSize,
      }),
    ).rejects.toThrow('dump process died');
    expect(await all(c.listUnfinishedLargeFiles(bucketId))).toEqual([]);
    const names = (await all(c.listFileVersions({ bucketId, prefix: 'large/broken' }))).map(
      (f) => f.fileName,
    );
    expect(names).toEqual([]);
  });

  it('raw large-file calls: start, parts, list parts / unfinished, finish needs 2 parts, cancel', async () => {
    const auth = await c.authorize();
    const started = await c.startLargeFile({
      bucketId,
      fileName: 'raw/large.bin',
      contentType: 'application/octet-stream',
    });
    expect(started.action).toBe('start');
    const fileId = started.fileId!;
    const p1 = randomBytes(auth.absoluteMinimumPartSize);
    const part = await c.uploadPart(fileId, 1, p1);
    expect(part).toMatchObject({ fileId, partNumber: 1, contentLength: p1.length, contentSha1: sha1(p1) });
    expect((await all(c.listParts(fileId))).map((p) => p.partNumber)).toEqual([1]);
    expect((await all(c.listUnfinishedLargeFiles(bucketId))).map((f) => f.fileId)).toContain(fileId);
    const one = await c.finishLargeFile(fileId, [sha1(p1)]).catch((e: unknown) => e);
    expect(one).toBeInstanceOf(BadRequest);
    // A part copied server-side from an existing file.
    const src = await c.uploadFile({ bucketId, fileName: 'raw/copy-source.bin', body: randomBytes(1000) });
    const copied = await c.copyPart({
      sourceFileId: src.fileId!,
      largeFileId: fileId,
      partNumber: 2,
      range: [0, 499],
    });
    expect(copied).toMatchObject({ partNumber: 2, contentLength: 500 });
    expect((await all(c.listParts(fileId, { pageSize: 1 }))).map((p) => p.partNumber)).toEqual([1, 2]);
    const cancelled = await c.cancelLargeFile(fileId);
    expect(cancelled).toMatchObject({ fileId, fileName: 'raw/large.bin', bucketId });
    expect((await all(c.listUnfinishedLargeFiles(bucketId))).map((f) => f.fileId)).not.toContain(fileId);
  });

  it('list iterators page through names and versions; hide and delete versions', async () => {
    const prefix = 'list/';
    for (let i = 0; i < 7; i++) await c.uploadFile({ bucketId, fileName: `${prefix}f${i}`, body: `v1-${i}` });
    await c.uploadFile({ bucketId, fileName: `${prefix}f0`, body: 'v2-0' });
    await c.uploadFile({ bucketId, fileName: `${prefix}sub/a`, body: 'x' });
    await c.uploadFile({ bucketId, fileName: `${prefix}sub/b`, body: 'y' });

    const names = await all(c.listFileNames({ bucketId, prefix, pageSize: 2 }));
    expect(names.map((f) => f.fileName)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((i) => `${prefix}f${i}`).concat([`${prefix}sub/a`, `${prefix}sub/b`]),
    );
    expect(names[0].contentLength).toBe(4); // newest version of f0

    const folders = await all(c.listFileNames({ bucketId, prefix, delimiter: '/', pageSize: 3 }));
    expect(folders.map((f) => `${f.action}:${f.fileName}`)).toContain(`folder:${prefix}sub/`);
    expect(folders).toHaveLength(8);

    const versions = await all(c.listFileVersions({ bucketId, prefix, pageSize: 2 }));
    expect(versions).toHaveLength(10);
    const f0 = versions.filter((v) => v.fileName === `${prefix}f0`);
    expect(f0).toHaveLength(2);
    expect(f0[0].uploadTimestamp).toBeGreaterThanOrEqual(f0[1].uploadTimestamp); // newest first

    const hidden = await c.hideFile(bucketId, `${prefix}f1`);
    expect(hidden.action).toBe('hide');
    expect(await c.hideFile(bucketId, `${prefix}f1`).catch((e: unknown) => e)).toBeInstanceOf(AlreadyHidden);
    const afterHide = (await all(c.listFileNames({ bucketId, prefix }))).map((f) => f.fileName);
    expect(afterHide).not.toContain(`${prefix}f1`);
    const f1Versions = (await all(c.listFileVersions({ bucketId, prefix: `${prefix}f1` }))).map(
      (f) => f.action,
    );
    expect(f1Versions).toEqual(['hide', 'upload']);
    const notFound = (await c.downloadFileByName(name, `${prefix}f1`).catch((e: unknown) => e)) as B2Error;
    expect(notFound).toBeInstanceOf(FileNotFound);
    expect(notFound.status).toBe(404);

    // Delete every version of f2: gone from both listings.
    for (const v of versions.filter((v) => v.fileName === `${prefix}f2`)) {
      await c.deleteFileVersion(v.fileId!, v.fileName);
    }
    expect((await all(c.listFileVersions({ bucketId, prefix: `${prefix}f2` }))).length).toBe(0);
    const gone = await c.deleteFileVersion(f0[0].fileId!, `${prefix}f2`).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(B2Error);
  });

  it('copies a whole file and a range', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    const src = await c.uploadFile({ bucketId, fileName: 'copy/src.txt', body, fileInfo: { k: 'v' } });
    const whole = await c.copyFile({ sourceFileId: src.fileId!, fileName: 'copy/whole.txt' });
    expect(whole).toMatchObject({ fileName: 'copy/whole.txt', contentLength: 20, contentSha1: sha1(body) });
    expect(whole.fileInfo).toEqual({ k: 'v' });
    const part = await c.copyFile({
      sourceFileId: src.fileId!,
      fileName: 'copy/part.txt',
      range: [5, 9],
      metadataDirective: 'REPLACE',
      contentType: 'text/x-part',
      fileInfo: {},
    });
    expect(part.contentLength).toBe(5);
    expect((await (await c.downloadFileById(part.fileId!)).buffer()).toString()).toBe('56789');
    const bad = await c
      .copyFile({ sourceFileId: src.fileId!, fileName: 'copy/bad.txt', metadataDirective: 'REPLACE' })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequest);
  });

  it('download authorization grants by-name downloads under its prefix only', async () => {
    await c.uploadFile({ bucketId, fileName: 'shared/a.txt', body: 'shared' });
    await c.uploadFile({ bucketId, fileName: 'private/b.txt', body: 'private' });
    const grant = await c.getDownloadAuthorization({
      bucketId,
      fileNamePrefix: 'shared/',
      validDurationInSeconds: 60,
    });
    expect(grant.authorizationToken).toBeInstanceOf(SecretString);
    const ok = await c.downloadFileByName(name, 'shared/a.txt', { authorization: grant.authorizationToken });
    expect((await ok.buffer()).toString()).toBe('shared');
    const denied = (await c
      .downloadFileByName(name, 'private/b.txt', { authorization: grant.authorizationToken })
      .catch((e: unknown) => e)) as B2Error;
    expect(denied).toBeInstanceOf(B2Error);
    expect(denied.status).toBe(401);
  });

  it('maps real emulator errors: bad range, missing file, non-empty bucket', async () => {
    const f = await c.uploadFile({ bucketId, fileName: 'err/x', body: 'abc' });
    const range = await c.downloadFileById(f.fileId!, { range: [10, 20] }).catch((e: unknown) => e);
    expect(range).toBeInstanceOf(RangeNotSatisfiable);
    const missing = (await c.downloadFileByName(name, 'err/none').catch((e: unknown) => e)) as B2Error;
    expect(missing).toBeInstanceOf(FileNotFound);
    expect(missing.message).toContain('b2_download_file_by_name');
    expect(missing.message).toContain('err/none');
    const bogus = await c
      .getFileInfo('4_zbogus_f000000000000000_d20200101_m000000_c000_v0000000_t0000')
      .catch((e: unknown) => e);
    expect(bogus).toBeInstanceOf(B2Error);
    expect([400, 404]).toContain((bogus as B2Error).status);
    const nonEmpty = await c.deleteBucket(bucketId).catch((e: unknown) => e);
    expect(nonEmpty).toBeInstanceOf(BucketNotEmpty);
  });
});

describe('retries, faults and re-authorization', () => {
  let c: B2Client;
  let bucketId: string;

  beforeAll(async () => {
    clearAuthorizationCache();
    c = masterClient();
    bucketId = (await c.createBucket({ bucketName: bucketName(), bucketType: 'allPrivate' })).bucketId;
  });

  async function fault(rule: Record<string, unknown>) {
    await emu.admin('POST', '/__admin/faults', rule);
  }

  it('retries injected 503s and succeeds', async () => {
    const before = await calls('b2_list_buckets');
    await fault({ operation: 'b2_list_buckets', status: 503, code: 'service_unavailable', count: 2 });
    const retries: string[] = [];
    const c2 = masterClient({ onRetry: (e) => retries.push(e.verdict.kind) });
    await expect(c2.listBuckets()).resolves.toBeInstanceOf(Array);
    expect(retries).toEqual(['ServiceUnavailable', 'ServiceUnavailable']);
    expect(await calls('b2_list_buckets')).toBe(before + 3);
  });

  it('honours Retry-After on 429', async () => {
    await fault({
      operation: 'b2_list_buckets',
      status: 429,
      code: 'too_many_requests',
      retryAfter: 1,
      count: 1,
    });
    const waits: number[] = [];
    const c2 = masterClient({ onRetry: (e) => waits.push(e.waitMs) });
    await c2.listBuckets();
    expect(waits).toEqual([1000]);
  });

  it('gives up with the typed error after maxAttempts', async () => {
    await fault({ operation: 'b2_list_buckets', status: 503, code: 'service_unavailable', count: 3 });
    const c2 = masterClient({ retry: { ...FAST_RETRY, maxAttempts: 3 } });
    const err = (await c2.listBuckets().catch((e: unknown) => e)) as B2Error;
    expect(err).toBeInstanceOf(ServiceUnavailable);
    expect(err.operation).toBe('b2_list_buckets');
  });

  it('never retries an injected 400', async () => {
    const before = await calls('b2_list_buckets');
    await fault({ operation: 'b2_list_buckets', status: 400, code: 'bad_request', count: 1 });
    await expect(c.listBuckets()).rejects.toBeInstanceOf(BadRequest);
    expect(await calls('b2_list_buckets')).toBe(before + 1);
  });

  it('a reset upload is retried on a fresh upload URL', async () => {
    // Warm the pool with one upload URL, then break the next upload.
    await c.uploadFile({ bucketId, fileName: 'faults/warm', body: 'w' });
    const urlsBefore = await calls('b2_get_upload_url');
    await fault({ operation: 'b2_upload_file', action: 'reset', count: 1 });
    const f = await c.uploadFile({ bucketId, fileName: 'faults/reset', body: 'after reset' });
    expect(f.contentLength).toBe(11);
    expect(await calls('b2_get_upload_url')).toBe(urlsBefore + 1);
  });

  it('a 503 on a part is retried on a fresh part URL; the file completes', async () => {
    const auth = await c.authorize();
    await fault({ operation: 'b2_upload_part', status: 503, code: 'service_unavailable', count: 2 });
    const data = randomBytes(auth.absoluteMinimumPartSize * 2 + 10);
    const f = await c.uploadLargeFile({
      bucketId,
      fileName: 'faults/large',
      source: data,
      partSize: auth.absoluteMinimumPartSize,
    });
    expect(sha1(await (await c.downloadFileById(f.fileId!)).buffer())).toBe(sha1(data));
  });

  it('an expired account token (clock +25 h) triggers exactly one re-authorize, shared by concurrent calls', async () => {
    await c.listBuckets(); // authorized and warm
    const before = await calls('b2_authorize_account');
    await emu.admin('POST', '/__admin/clock', { advanceSeconds: 25 * 3600 });
    const results = await Promise.all([
      c.listBuckets(),
      c.listBuckets(),
      masterClient().listBuckets(),
      c.getBucketById(bucketId),
    ]);
    expect(results[3]?.bucketId).toBe(bucketId);
    expect(await calls('b2_authorize_account')).toBe(before + 1);
    // Pooled upload URLs expired too: the upload gets a fresh one and succeeds.
    await expect(
      c.uploadFile({ bucketId, fileName: 'faults/after-expiry', body: 'ok' }),
    ).resolves.toMatchObject({
      fileName: 'faults/after-expiry',
    });
  });

  it('re-authorizes only once: a second expired-token answer surfaces as ExpiredAuthToken', async () => {
    await c.listBuckets();
    await fault({ operation: 'b2_list_buckets', status: 401, code: 'expired_auth_token', count: 2 });
    const before = await calls('b2_authorize_account');
    const err = (await c.listBuckets().catch((e: unknown) => e)) as B2Error;
    expect(err.name).toBe('ExpiredAuthToken');
    expect(await calls('b2_authorize_account')).toBe(before + 1);
  });

  it('X-Bz-Test-Mode: fail_some_uploads and expiring tokens are absorbed; force_cap_exceeded is typed', async () => {
    const flaky = masterClient({ testMode: 'fail_some_uploads' });
    const auth = await flaky.authorize();
    const retried: string[] = [];
    const flakyObserved = masterClient({
      testMode: 'fail_some_uploads',
      onRetry: (e) => retried.push(e.operation),
    });
    for (let i = 0; i < 6; i++) {
      await flakyObserved.uploadFile({ bucketId, fileName: `testmode/small-${i}`, body: `body ${i}` });
    }
    expect(retried.filter((op) => op === 'b2_upload_file').length).toBeGreaterThan(0);
    const data = randomBytes(auth.absoluteMinimumPartSize * 3);
    const large = await flaky.uploadLargeFile({
      bucketId,
      fileName: 'testmode/large',
      source: data,
      partSize: auth.absoluteMinimumPartSize,
    });
    expect(sha1(await (await flaky.downloadFileById(large.fileId!)).buffer())).toBe(sha1(data));

    const expiring = masterClient({ testMode: 'expire_some_account_authorization_tokens' });
    for (let i = 0; i < 6; i++) await expiring.listBuckets();
    const names = await all(expiring.listFileNames({ bucketId, prefix: 'testmode/', pageSize: 2 }));
    expect(names.length).toBe(7);

    const capped = masterClient({ testMode: 'force_cap_exceeded' });
    const err = (await capped.listBuckets().catch((e: unknown) => e)) as B2Error;
    expect(err).toBeInstanceOf(CapExceeded);
    expect(err.code).toBe('transaction_cap_exceeded');
  });

  it('429 without Retry-After is a TooManyRequests with undefined retryAfterSeconds', async () => {
    await fault({ operation: 'b2_get_file_info', status: 429, code: 'too_many_requests', count: 2 });
    const c2 = masterClient({ retry: { ...FAST_RETRY, maxAttempts: 2 } });
    const f = (await c2.uploadFile({ bucketId, fileName: 'faults/tmr', body: 'x' })) as FileVersion;
    const err = (await c2.getFileInfo(f.fileId!).catch((e: unknown) => e)) as TooManyRequests;
    expect(err).toBeInstanceOf(TooManyRequests);
    expect(err.retryAfterSeconds).toBeUndefined();
  });
});

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
