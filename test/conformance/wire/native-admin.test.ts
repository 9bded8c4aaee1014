/**
 * Admin API (docs/architecture.md §4): fault injection (status+code+Retry-After, resets, count, fraction,
 * path match), per-operation stats, the emulator clock, and the --rate-limit 429.
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
afterEach(async () => {
  await fetch(`${emu.url}/__admin/faults`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${emu.info.adminToken}` },
  });
});

const listBuckets = () => s.call('b2_list_buckets', { accountId: s.accountId });

test('admin endpoints need the admin token', async () => {
  const r = await wire(`${emu.url}/__admin/stats`);
  expect(r.status).toBe(401);
  const wrong = await wire(`${emu.url}/__admin/stats`, { headers: { authorization: 'Bearer nope' } });
  expect(wrong.status).toBe(401);
});

test('a fault for the next N calls answers status, code and Retry-After, then stops', async () => {
  await emu.admin('POST', '/__admin/faults', {
    operation: 'b2_list_buckets',
    status: 503,
    code: 'service_unavailable',
    retryAfter: 7,
    count: 2,
  });
  const a = await listBuckets();
  const b = await listBuckets();
  const c = await listBuckets();
  expect([a.status, a.json.code, a.headers.get('retry-after')]).toEqual([503, 'service_unavailable', '7']);
  expect(b.status).toBe(503);
  expect(c.status).toBe(200);
  const rules = (await emu.admin('GET', '/__admin/faults')) as { rules: { fired: number }[] };
  expect(rules.rules[0]!.fired).toBe(2);
});

test('faults match by path regex and only that operation', async () => {
  await emu.admin('POST', '/__admin/faults', { path: 'b2_list_file_names$', status: 429, count: 1 });
  const other = await listBuckets();
  expect(other.status).toBe(200);
  const b = await s.createBucket(bucketName('f'));
  const r = await s.call('b2_list_file_names', { bucketId: b.bucketId });
  expect([r.status, r.json.code]).toEqual([429, 'too_many_requests']);
});

test('a reset fault drops the connection', async () => {
  await emu.admin('POST', '/__admin/faults', { operation: 'b2_list_buckets', action: 'reset', count: 1 });
  await expect(listBuckets()).rejects.toThrow();
  expect((await listBuckets()).status).toBe(200);
});

test('fraction 1 fires on every call; DELETE clears', async () => {
  await emu.admin('POST', '/__admin/faults', { operation: 'b2_list_buckets', status: 500, fraction: 1 });
  expect((await listBuckets()).status).toBe(500);
  expect((await listBuckets()).status).toBe(500);
  await fetch(`${emu.url}/__admin/faults`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${emu.info.adminToken}` },
  });
  expect((await listBuckets()).status).toBe(200);
});

test('upload faults leave nothing behind and a retry with a new URL succeeds', async () => {
  const b = await s.createBucket(bucketName('uf'));
  await emu.admin('POST', '/__admin/faults', { operation: 'b2_upload_file', status: 503, count: 1 });
  const r1 = await s.upload(b.bucketId, 'a.txt', 'a');
  expect(r1.status).toBe(503);
  const r2 = await s.upload(b.bucketId, 'a.txt', 'a');
  expect(r2.status).toBe(200);
  const v = await s.ok('b2_list_file_versions', { bucketId: b.bucketId });
  expect(v.files).toHaveLength(1);
});

test('invalid fault rules are refused with a message naming the field', async () => {
  const r = await wire(`${emu.url}/__admin/faults`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emu.info.adminToken}` },
    body: JSON.stringify({ status: 200 }),
  });
  expect(r.status).toBe(400);
  expect(r.json.message).toMatch(/status/);
});

test('stats count calls per operation', async () => {
  await fetch(`${emu.url}/__admin/stats`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${emu.info.adminToken}` },
  });
  await listBuckets();
  await listBuckets();
  await s.call('b2_list_keys', { accountId: s.accountId });
  const st = (await emu.admin('GET', '/__admin/stats')) as {
    total: number;
    operations: Record<string, number>;
    regions: Record<string, Record<string, number>>;
  };
  expect(st.operations).toEqual({ b2_list_buckets: 2, b2_list_keys: 1 });
  expect(st.total).toBe(3);
  expect(st.regions['us-west-004']).toEqual({ b2_list_buckets: 2, b2_list_keys: 1 });
});

test('clock: GET shows the offset; negative advance refused', async () => {
  const before = (await emu.admin('GET', '/__admin/clock')) as { offsetSeconds: number };
  await emu.admin('POST', '/__admin/clock', { advanceSeconds: 10 });
  const after = (await emu.admin('GET', '/__admin/clock')) as { offsetSeconds: number };
  expect(after.offsetSeconds - before.offsetSeconds).toBe(10);
  await expect(emu.admin('POST', '/__admin/clock', { advanceSeconds: -1 })).rejects.toThrow(/400/);
});

test('lifecycle/replication run endpoints answer (501 until a runner registers, else 200)', async () => {
  const r = await wire(`${emu.url}/__admin/lifecycle/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emu.info.adminToken}` },
  });
  expect([200, 501]).toContain(r.status);
});

describe('--rate-limit', () => {
  let limited: RunningEmulator;
  afterAll(async () => {
    await limited?.stop();
  });
  test('bursts above the limit get 429 too_many_requests with Retry-After', async () => {
    limited = await startEmulator({ rateLimit: 2 });
    const ls = await Session.master(limited);
    const results = await Promise.all(
      [...Array(30)].map(() => ls.call('b2_list_buckets', { accountId: ls.accountId })),
    );
    const throttled = results.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]!.json.code).toBe('too_many_requests');
    expect(Number(throttled[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('regions', () => {
  let multi: RunningEmulator;
  afterAll(async () => {
    await multi?.stop();
  });
  test('each region is its own account on its own port; bucket names stay global', async () => {
    multi = await startEmulator({ regions: ['us-west-004', 'eu-central-003'] });
    expect(multi.info.regions.map((r) => r.region)).toEqual(['us-west-004', 'eu-central-003']);
    const [us, eu] = multi.info.regions;
    expect(us!.url).not.toBe(eu!.url);
    expect(us!.accountId).not.toBe(eu!.accountId);
    expect(multi.info.url).toBe(us!.url);
    const usS = await Session.open(us!.url, 2, us!.keyId, us!.applicationKey);
    const euS = await Session.open(eu!.url, 2, eu!.keyId, eu!.applicationKey);
    const name = bucketName('global');
    await usS.createBucket(name);
    const dup = await euS.call('b2_create_bucket', {
      accountId: euS.accountId,
      bucketName: name,
      bucketType: 'allPrivate',
    });
    expect(dup.json.code).toBe('duplicate_bucket_name');
    // credentials of one region do not work on the other
    await expect(Session.open(eu!.url, 2, us!.keyId, us!.applicationKey)).rejects.toThrow(/401/);
  });

  test('B2_LOCAL_KEY_ID / B2_LOCAL_APPLICATION_KEY fix the master credentials', async () => {
    const fixed = await startEmulator({
      env: {
        B2_LOCAL_KEY_ID: 'fixedkeyid0001',
        B2_LOCAL_APPLICATION_KEY: 'test-only-fixed-master-secret-0001',
      },
    });
    try {
      expect(fixed.info.keyId).toBe('fixedkeyid0001');
      await Session.open(fixed.url, 2, 'fixedkeyid0001', 'test-only-fixed-master-secret-0001');
    } finally {
      await fixed.stop();
    }
  });
});
