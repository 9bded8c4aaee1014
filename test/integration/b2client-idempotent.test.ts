/**
 * Non-idempotent calls of the native client (issue 10 item 5) against the emulator's `drop-after`
 * fault: the call runs and commits, then the connection is destroyed without an answer. The client
 * must not resend blindly; it reconciles: the bucket it made is found and returned (one bucket, one
 * create), an orphaned key is deleted and a fresh one made (one live key, whose secret works), a
 * finished large file / a hide marker / a copy found in place is success (one each). A `reset`
 * fault (nothing ran) is resent once after checking that nothing exists.
 */
import { createHash } from 'crypto';
import { B2Client, OutcomeUnknown } from '../../infra/b2';
import { RunningEmulator, startEmulator } from '../helpers/emulator';

let emu: RunningEmulator;
let c: B2Client;
let bucketId: string;
let seq = 0;
const unique = (tag: string) => `ifb-idem-${tag}-${process.pid}-${++seq}`;

beforeAll(async () => {
  emu = await startEmulator();
  const r = emu.info.regions[0]!;
  c = new B2Client({
    applicationKeyId: r.keyId,
    applicationKey: r.applicationKey,
    realmUrl: r.url,
    retry: { initialDelayMs: 1, jitterMs: 0 },
  });
  bucketId = (await c.createBucket({ bucketName: unique('files'), bucketType: 'allPrivate' })).bucketId;
});
afterAll(async () => {
  await emu?.stop();
});
afterEach(async () => {
  await emu.admin('DELETE', '/__admin/faults');
});

const fault = (operation: string, action: 'drop-after' | 'reset') =>
  emu.admin('POST', '/__admin/faults', { operation, action, count: 1 });
async function ops(): Promise<Record<string, number>> {
  return ((await emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> }).operations;
}
async function delta(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await ops();
  await fn();
  const after = await ops();
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
}
const bucketsNamed = async (name: string) =>
  (await c.listBuckets({ bucketTypes: ['all'] })).filter((b) => b.bucketName === name);
const keysNamed = async (name: string) => {
  const out = [];
  for await (const k of c.listKeys()) if (k.keyName === name) out.push(k);
  return out;
};
const versionsOf = async (name: string) => {
  const out = [];
  for await (const v of c.listFileVersions({ bucketId, prefix: name })) if (v.fileName === name) out.push(v);
  return out;
};

test('b2_create_bucket, answer lost: the bucket it made is returned, created once, no "name in use" error', async () => {
  const name = unique('bucket');
  const info = { 'owner-stack': 'p/s', 'owner-resource': 'r' };
  await fault('b2_create_bucket', 'drop-after');
  let made: Awaited<ReturnType<B2Client['createBucket']>> | undefined;
  const d = await delta(async () => {
    made = await c.createBucket({ bucketName: name, bucketType: 'allPrivate', bucketInfo: info });
  });
  expect(d.b2_create_bucket).toBe(1);
  const live = await bucketsNamed(name);
  expect(live.map((b) => b.bucketId)).toEqual([made!.bucketId]);
  expect(made!.bucketInfo).toEqual(info);
});

test('b2_create_bucket, answer lost, but the bucket found differs (not ours to claim): OutcomeUnknown, bucket untouched', async () => {
  const name = unique('other');
  const theirs = await c.createBucket({
    bucketName: name,
    bucketType: 'allPrivate',
    bucketInfo: { who: 'them' },
  });
  await fault('b2_create_bucket', 'drop-after');
  await expect(
    c.createBucket({ bucketName: name, bucketType: 'allPrivate', bucketInfo: { who: 'us' } }),
  ).rejects.toBeInstanceOf(OutcomeUnknown);
  const live = await bucketsNamed(name);
  expect(live).toHaveLength(1);
  expect(live[0]!.bucketInfo).toEqual({ who: 'them' });
  expect(live[0]!.revision).toBe(theirs.revision);
});

test('b2_create_bucket, connection reset before it ran: checked, then sent again, one bucket', async () => {
  const name = unique('reset');
  await fault('b2_create_bucket', 'reset');
  const d = await delta(() => c.createBucket({ bucketName: name, bucketType: 'allPrivate' }));
  expect(d.b2_create_bucket).toBe(2);
  expect(await bucketsNamed(name)).toHaveLength(1);
});

test('b2_create_key, answer lost: the orphan (secret lost) is deleted and a fresh key made; exactly one live, and it works', async () => {
  const name = unique('key');
  const req = { keyName: name, capabilities: ['listFiles', 'readFiles'], bucketIds: [bucketId] };
  await fault('b2_create_key', 'drop-after');
  let key: Awaited<ReturnType<B2Client['createKey']>> | undefined;
  const d = await delta(async () => {
    key = await c.createKey(req);
  });
  expect(d.b2_create_key).toBe(2);
  expect(d.b2_delete_key).toBe(1);
  expect((await keysNamed(name)).map((k) => k.applicationKeyId)).toEqual([key!.applicationKeyId]);
  const scoped = new B2Client({
    applicationKeyId: key!.applicationKeyId,
    applicationKey: key!.applicationKey,
    realmUrl: emu.info.regions[0]!.url,
  });
  expect((await scoped.authorize()).allowed.bucketId).toBe(bucketId);
});

test('b2_create_key reconciliation never deletes a key that existed before the call, nor a new key of another definition', async () => {
  const name = unique('keep');
  const req = { keyName: name, capabilities: ['listFiles', 'readFiles'], bucketIds: [bucketId] };
  const older = await c.createKey(req);
  await fault('b2_create_key', 'drop-after');
  const fresh = await c.createKey(req);
  expect((await keysNamed(name)).map((k) => k.applicationKeyId).sort()).toEqual(
    [older.applicationKeyId, fresh.applicationKeyId].sort(),
  );
  // With the caller's own listing (what the provider passes): same rule.
  const known = (await keysNamed(name)).map((k) => k.applicationKeyId);
  await fault('b2_create_key', 'drop-after');
  const third = await c.createKey(req, { knownKeyIds: known });
  expect((await keysNamed(name)).map((k) => k.applicationKeyId).sort()).toEqual(
    [...known, third.applicationKeyId].sort(),
  );
});

test('b2_finish_large_file, answer lost: the file found finished is success (finished once)', async () => {
  const name = unique('large');
  const part = Buffer.alloc(5_000_000, 7);
  const last = Buffer.from('tail');
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
  const started = await c.startLargeFile({ bucketId, fileName: name });
  const fileId = started.fileId!;
  await c.uploadPart(fileId, 1, part);
  await c.uploadPart(fileId, 2, last);
  await fault('b2_finish_large_file', 'drop-after');
  let done: Awaited<ReturnType<B2Client['finishLargeFile']>> | undefined;
  const d = await delta(async () => {
    done = await c.finishLargeFile(fileId, [sha1(part), sha1(last)]);
  });
  expect(d.b2_finish_large_file).toBe(1);
  expect(done!.fileId).toBe(fileId);
  expect(done!.action).toBe('upload');
  expect((await versionsOf(name)).map((v) => v.action)).toEqual(['upload']);
});

test('b2_hide_file, answer lost: the hide marker found is success, one marker', async () => {
  const name = unique('hide');
  await c.uploadFile({ bucketId, fileName: name, body: 'x' });
  await fault('b2_hide_file', 'drop-after');
  const d = await delta(() => c.hideFile(bucketId, name));
  expect(d.b2_hide_file).toBe(1);
  expect((await versionsOf(name)).map((v) => v.action)).toEqual(['hide', 'upload']);
});

test('b2_copy_file, answer lost: the copy found (same bytes) is success, one copy', async () => {
  const src = unique('src');
  const dst = unique('dst');
  const source = await c.uploadFile({ bucketId, fileName: src, body: 'copy me' });
  await fault('b2_copy_file', 'drop-after');
  let copy: Awaited<ReturnType<B2Client['copyFile']>> | undefined;
  const d = await delta(async () => {
    copy = await c.copyFile({ sourceFileId: source.fileId!, fileName: dst });
  });
  expect(d.b2_copy_file).toBe(1);
  expect(copy!.contentSha1).toBe(source.contentSha1);
  expect((await versionsOf(dst)).map((v) => v.fileId)).toEqual([copy!.fileId]);
});
