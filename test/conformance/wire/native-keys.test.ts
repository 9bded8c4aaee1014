/**
 * Application keys (docs/b2-api.md §2, §4, §7): create/list paging/delete and restricted-key
 * enforcement — capabilities, bucket scope and namePrefix (401 on v2+, filtered on v1).
 */
import { startEmulator, type RunningEmulator } from '../../helpers/emulator';
import { bucketName, Session, wire } from './native-helpers';

let emu: RunningEmulator;
let s: Session;
beforeAll(async () => {
  emu = await startEmulator();
  s = await Session.master(emu);
});
afterAll(async () => {
  await emu?.stop();
});

const createKey = (extra: Record<string, unknown>) =>
  s.call('b2_create_key', { accountId: s.accountId, keyName: 'k', capabilities: ['listFiles'], ...extra });

describe('key lifecycle', () => {
  test('create returns the secret once; list pages with nextApplicationKeyId; delete returns the key', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) {
      const r = await createKey({ keyName: `page-${i}`, validDurationInSeconds: 3600 });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({
        accountId: s.accountId,
        keyName: `page-${i}`,
        capabilities: ['listFiles'],
        bucketId: null,
        namePrefix: null,
        options: ['s3'],
      });
      expect(r.json.applicationKey).toMatch(/^K/);
      expect(r.json.expirationTimestamp).toBeGreaterThan(Date.now());
      created.push(r.json.applicationKeyId);
    }
    const seen: string[] = [];
    let start: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await s.ok('b2_list_keys', {
        accountId: s.accountId,
        maxKeyCount: 2,
        ...(start ? { startApplicationKeyId: start } : {}),
      });
      expect(page.keys.length).toBeLessThanOrEqual(2);
      for (const k of page.keys) {
        expect(k.applicationKey).toBeUndefined();
        seen.push(k.applicationKeyId);
      }
      start = page.nextApplicationKeyId ?? undefined;
      if (!start) break;
    }
    expect(seen).toEqual(expect.arrayContaining(created));
    expect(new Set(seen).size).toBe(seen.length);
    const del = await s.ok('b2_delete_key', { applicationKeyId: created[0] });
    expect(del.applicationKeyId).toBe(created[0]);
    const again = await s.call('b2_delete_key', { applicationKeyId: created[0] });
    expect(again.status).toBe(400);
  });

  test('a deleted key can no longer authorize and its tokens die', async () => {
    const k = (await createKey({ keyName: 'doomed', capabilities: ['listBuckets'] })).json;
    const ks = await Session.open(emu.url, 2, k.applicationKeyId, k.applicationKey);
    expect((await ks.call('b2_list_buckets', { accountId: ks.accountId })).status).toBe(200);
    await s.ok('b2_delete_key', { applicationKeyId: k.applicationKeyId });
    expect((await ks.call('b2_list_buckets', { accountId: ks.accountId })).status).toBe(401);
    await expect(Session.open(emu.url, 2, k.applicationKeyId, k.applicationKey)).rejects.toThrow(/401/);
  });

  test('an expired key cannot authorize (emulator clock)', async () => {
    const k = (await createKey({ keyName: 'short', validDurationInSeconds: 60 })).json;
    await emu.admin('POST', '/__admin/clock', { advanceSeconds: 120 });
    await expect(Session.open(emu.url, 2, k.applicationKeyId, k.applicationKey)).rejects.toThrow(/401/);
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ['bad name', { keyName: 'has space' }, /keyName/],
    ['unknown capability', { capabilities: ['readEverything'] }, /capabilit/],
    ['empty capabilities', { capabilities: [] }, /capabilities/],
    ['bucket key with writeKeys', { capabilities: ['writeKeys'], bucketId: 'BUCKET' }, /writeKeys/],
    ['duration too long', { validDurationInSeconds: 86400001 }, /validDurationInSeconds/],
    ['duration negative', { validDurationInSeconds: -5 }, /validDurationInSeconds/],
    ['unknown bucket', { bucketId: 'ffffffffffffffffffffffff' }, /ffffffffffffffffffffffff/],
    ['bucketIds before v4', { bucketIds: ['BUCKET'] }, /bucketIds/],
  ];
  test.each(invalid)('%s → 400 naming the field', async (_l, extra, re) => {
    const b = await s.createBucket(bucketName('kv'));
    const body = JSON.parse(JSON.stringify(extra).replace(/BUCKET/g, b.bucketId));
    const r = await createKey(body);
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(re);
  });
});

describe('restricted keys', () => {
  let bucket: { bucketId: string; bucketName: string };
  let other: { bucketId: string; bucketName: string };
  let key: { applicationKeyId: string; applicationKey: string };
  beforeAll(async () => {
    bucket = await s.createBucket(bucketName('rk'));
    other = await s.createBucket(bucketName('rk-other'));
    await s.uploadOk(bucket.bucketId, 'public/a.txt', 'a');
    await s.uploadOk(bucket.bucketId, 'public/b.txt', 'b');
    await s.uploadOk(bucket.bucketId, 'secret/c.txt', 'c');
    await s.uploadOk(other.bucketId, 'public/x.txt', 'x');
    key = (
      await createKey({
        keyName: 'reader',
        capabilities: ['listBuckets', 'listFiles', 'readFiles'],
        bucketId: bucket.bucketId,
        namePrefix: 'public/',
      })
    ).json;
  });

  test('authorize reports the scope', async () => {
    const v2 = await Session.open(emu.url, 2, key.applicationKeyId, key.applicationKey);
    expect(v2.auth).toMatchObject({
      allowed: {
        bucketId: bucket.bucketId,
        bucketName: bucket.bucketName,
        namePrefix: 'public/',
        capabilities: ['listBuckets', 'listFiles', 'readFiles'],
      },
    });
  });

  test('missing capability → 401 unauthorized', async () => {
    const v2 = await Session.open(emu.url, 2, key.applicationKeyId, key.applicationKey);
    const r = await v2.call('b2_get_upload_url', { bucketId: bucket.bucketId });
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('unauthorized');
    expect(r.json.message).toMatch(/writeFiles/);
    const keys = await v2.call('b2_list_keys', { accountId: v2.accountId });
    expect(keys.status).toBe(401);
  });

  test('other bucket → 401 on every version', async () => {
    for (const v of [1, 2, 3, 4]) {
      const ses = await Session.open(emu.url, v, key.applicationKeyId, key.applicationKey);
      const r = await ses.call('b2_list_file_names', { bucketId: other.bucketId, prefix: 'public/' });
      expect(r.status).toBe(401);
    }
  });

  test('namePrefix: v2+ listing outside it → 401; inside works', async () => {
    for (const v of [2, 3, 4]) {
      const ses = await Session.open(emu.url, v, key.applicationKeyId, key.applicationKey);
      const out = await ses.call('b2_list_file_names', { bucketId: bucket.bucketId });
      expect(out.status).toBe(401);
      const inside = await ses.ok('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'public/' });
      expect(inside.files.map((f: { fileName: string }) => f.fileName)).toEqual([
        'public/a.txt',
        'public/b.txt',
      ]);
    }
  });

  test('namePrefix: v1 silently filters and reports size', async () => {
    const v1 = await Session.open(emu.url, 1, key.applicationKeyId, key.applicationKey);
    const all = await v1.ok('b2_list_file_names', { bucketId: bucket.bucketId });
    expect(all.files.map((f: { fileName: string }) => f.fileName)).toEqual(['public/a.txt', 'public/b.txt']);
    expect(all.files[0].size).toBe(1);
  });

  test('namePrefix: downloads outside it → 401, inside 200', async () => {
    const v2 = await Session.open(emu.url, 2, key.applicationKeyId, key.applicationKey);
    const ok = await wire(`${emu.url}/file/${bucket.bucketName}/public/a.txt`, {
      headers: { authorization: v2.token },
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('a');
    const no = await wire(`${emu.url}/file/${bucket.bucketName}/secret/c.txt`, {
      headers: { authorization: v2.token },
    });
    expect(no.status).toBe(401);
    expect(no.json.code).toBe('unauthorized');
  });

  test('a restricted writer cannot write outside its prefix', async () => {
    const w = (
      await createKey({
        keyName: 'writer',
        capabilities: ['writeFiles', 'listFiles'],
        bucketId: bucket.bucketId,
        namePrefix: 'in/',
      })
    ).json;
    const ws = await Session.open(emu.url, 2, w.applicationKeyId, w.applicationKey);
    const ok = await ws.upload(bucket.bucketId, 'in/ok.txt', 'ok');
    expect(ok.status).toBe(200);
    const no = await ws.upload(bucket.bucketId, 'out/no.txt', 'no');
    expect(no.status).toBe(401);
    const hide = await ws.call('b2_hide_file', { bucketId: bucket.bucketId, fileName: 'public/a.txt' });
    expect(hide.status).toBe(401);
    // writeFiles without deleteFiles: cannot delete versions
    const del = await ws.call('b2_delete_file_version', { fileId: ok.json.fileId, fileName: 'in/ok.txt' });
    expect(del.status).toBe(401);
    expect(del.json.message).toMatch(/deleteFiles/);
  });

  test('a key cannot grant capabilities it lacks', async () => {
    const mk = (await createKey({ keyName: 'keymaker', capabilities: ['writeKeys', 'listFiles'] })).json;
    const ms = await Session.open(emu.url, 2, mk.applicationKeyId, mk.applicationKey);
    const r = await ms.call('b2_create_key', {
      accountId: ms.accountId,
      keyName: 'escalate',
      capabilities: ['deleteFiles'],
    });
    expect(r.status).toBe(401);
  });
});
