/**
 * b2_authorize_account per version (docs/b2-api.md §1.2–1.4), token expiry on the emulator clock,
 * the Date header and X-Bz-Test-Mode.
 */
import { startEmulator, type RunningEmulator } from '../../helpers/emulator';
import { basic, bucketName, Session, wire } from './native-helpers';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.stop();
});

const authorize = (version: number, init: RequestInit = {}) =>
  wire(`${emu.url}/b2api/v${version}/b2_authorize_account`, {
    ...init,
    headers: { authorization: basic(emu.info.keyId, emu.info.applicationKey), ...(init.headers ?? {}) },
  });

describe('b2_authorize_account shapes', () => {
  test('v1 is flat with minimumPartSize and allowed', async () => {
    const r = await authorize(1);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('date')).toBeTruthy();
    expect(r.json).toMatchObject({
      accountId: emu.info.accountId,
      apiUrl: emu.url,
      downloadUrl: emu.url,
      s3ApiUrl: emu.url,
      recommendedPartSize: 100000000,
      absoluteMinimumPartSize: 5000000,
      minimumPartSize: 100000000,
      allowed: { bucketId: null, bucketName: null, namePrefix: null },
    });
    expect(r.json.allowed.capabilities).toEqual(
      expect.arrayContaining(['writeKeys', 'listFiles', 'bypassGovernance']),
    );
    expect(typeof r.json.authorizationToken).toBe('string');
  });

  test('v2 is flat without minimumPartSize (POST works too, as b2sdk 1.x sends)', async () => {
    const r = await authorize(2, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.json.minimumPartSize).toBeUndefined();
    expect(r.json).toMatchObject({ apiUrl: emu.url, allowed: { bucketId: null } });
    expect(r.json.apiInfo).toBeUndefined();
  });

  test('v3 moves fields under apiInfo.storageApi with infoType', async () => {
    const r = await authorize(3);
    expect(r.status).toBe(200);
    expect(r.json.apiUrl).toBeUndefined();
    expect(r.json.allowed).toBeUndefined();
    expect(r.json.applicationKeyExpirationTimestamp).toBeNull();
    expect(r.json.apiInfo.storageApi).toMatchObject({
      apiUrl: emu.url,
      downloadUrl: emu.url,
      s3ApiUrl: emu.url,
      absoluteMinimumPartSize: 5000000,
      recommendedPartSize: 100000000,
      bucketId: null,
      bucketName: null,
      namePrefix: null,
      infoType: 'storageApi',
    });
    expect(Array.isArray(r.json.apiInfo.storageApi.capabilities)).toBe(true);
  });

  test('v4 has storageApi.allowed with buckets and drops bucketId/infoType', async () => {
    const r = await authorize(4);
    expect(r.status).toBe(200);
    const s = r.json.apiInfo.storageApi;
    expect(s.allowed).toMatchObject({ buckets: null, namePrefix: null });
    expect(s.bucketId).toBeUndefined();
    expect(s.infoType).toBeUndefined();
  });

  test('the account id stands in for the master key id', async () => {
    const r = await wire(`${emu.url}/b2api/v2/b2_authorize_account`, {
      headers: { authorization: basic(emu.info.accountId, emu.info.applicationKey) },
    });
    expect(r.status).toBe(200);
  });

  test('bad credentials and missing header are 401 unauthorized', async () => {
    const bad = await wire(`${emu.url}/b2api/v2/b2_authorize_account`, {
      headers: { authorization: basic(emu.info.keyId, 'wrong') },
    });
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({ status: 401, code: 'unauthorized', message: expect.any(String) });
    const none = await wire(`${emu.url}/b2api/v2/b2_authorize_account`);
    expect(none.status).toBe(401);
  });

  test('unknown version and call are 404 with a JSON body', async () => {
    const r = await wire(`${emu.url}/b2api/v9/b2_authorize_account`);
    expect(r.status).toBe(404);
    expect(r.json.code).toBe('not_found');
    const s = await Session.master(emu);
    const c = await s.call('b2_no_such_call');
    expect(c.status).toBe(404);
  });
});

describe('multi-bucket keys', () => {
  test('authorize only on v4 (401 unsupported elsewhere) and list their buckets', async () => {
    const s = await Session.master(emu, 4);
    const a = await s.createBucket(bucketName('mb-a'));
    const b = await s.createBucket(bucketName('mb-b'));
    const key = await s.ok('b2_create_key', {
      accountId: s.accountId,
      keyName: 'multi',
      capabilities: ['listBuckets', 'listFiles'],
      bucketIds: [a.bucketId, b.bucketId],
    });
    expect(key.bucketIds).toEqual([a.bucketId, b.bucketId]);
    for (const v of [1, 2, 3]) {
      const r = await wire(`${emu.url}/b2api/v${v}/b2_authorize_account`, {
        headers: { authorization: basic(key.applicationKeyId, key.applicationKey) },
      });
      expect(r.status).toBe(401);
      expect(r.json.code).toBe('unsupported');
    }
    const v4 = await Session.open(emu.url, 4, key.applicationKeyId, key.applicationKey);
    const names = (
      v4.auth as { apiInfo: { storageApi: { allowed: { buckets: { name: string }[] } } } }
    ).apiInfo.storageApi.allowed.buckets
      .map((x) => x.name)
      .sort();
    expect(names).toEqual([a.bucketName, b.bucketName].sort());
    const list = await v4.ok('b2_list_buckets', { accountId: v4.accountId });
    expect(list.buckets).toHaveLength(2);
  });
});

describe('tokens', () => {
  test('calls need a valid token: missing/bad → 401 bad_auth_token', async () => {
    const r = await wire(`${emu.url}/b2api/v2/b2_list_buckets`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('bad_auth_token');
    const bad = await wire(`${emu.url}/b2api/v2/b2_list_buckets`, {
      method: 'POST',
      headers: { authorization: 'nope' },
      body: JSON.stringify({ accountId: emu.info.accountId }),
    });
    expect(bad.json.code).toBe('bad_auth_token');
  });

  test('a token expires after 24 h of emulator time (expired_auth_token), re-authorize works', async () => {
    const s = await Session.master(emu);
    expect((await s.call('b2_list_buckets', { accountId: s.accountId })).status).toBe(200);
    await emu.admin('POST', '/__admin/clock', { advanceSeconds: 23 * 3600 });
    expect((await s.call('b2_list_buckets', { accountId: s.accountId })).status).toBe(200);
    await emu.admin('POST', '/__admin/clock', { advanceSeconds: 3600 + 1 });
    const r = await s.call('b2_list_buckets', { accountId: s.accountId });
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('expired_auth_token');
    const again = await Session.master(emu);
    expect((await again.call('b2_list_buckets', { accountId: again.accountId })).status).toBe(200);
  });

  test('accountId of another account is refused', async () => {
    const s = await Session.master(emu);
    const r = await s.call('b2_list_buckets', { accountId: '000000000000' });
    expect(r.status).toBe(401);
  });
});

describe('X-Bz-Test-Mode', () => {
  test('force_cap_exceeded answers 403 *_cap_exceeded', async () => {
    const s = await Session.master(emu);
    const r = await wire(`${emu.url}/b2api/v2/b2_list_buckets`, {
      method: 'POST',
      headers: { authorization: s.token, 'x-bz-test-mode': 'force_cap_exceeded' },
      body: JSON.stringify({ accountId: s.accountId }),
    });
    expect(r.status).toBe(403);
    expect(r.json.code).toBe('transaction_cap_exceeded');
  });

  test('fail_some_uploads fails one upload in three with 503', async () => {
    const s = await Session.master(emu);
    const b = await s.createBucket(bucketName('testmode'));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await s.upload(b.bucketId, `t${i}`, 'x', { 'x-bz-test-mode': 'fail_some_uploads' })).status,
      );
    expect(statuses.filter((x) => x === 503)).toHaveLength(1);
    expect(statuses.filter((x) => x === 200)).toHaveLength(2);
  });

  test('expire_some_account_authorization_tokens expires a token within three calls', async () => {
    const s = await Session.master(emu);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await wire(`${emu.url}/b2api/v2/b2_list_buckets`, {
        method: 'POST',
        headers: { authorization: s.token, 'x-bz-test-mode': 'expire_some_account_authorization_tokens' },
        body: JSON.stringify({ accountId: s.accountId }),
      });
      codes.push(r.status);
    }
    expect(codes).toContain(401);
  });
});
