/**
 * Fault kind `drop-after` (`POST /__admin/faults`, action "drop-after"): the operation runs and is
 * committed, then the connection is destroyed without an answer — the lost response to a
 * non-idempotent call that clients (the estate providers' reconciliation) must handle. Also the
 * admin API's input validation: a malformed rule is a 400 and never breaks other requests; the
 * clock advance is capped.
 */
import { startS3Env, s3raw, type S3Env } from './s3helpers';
import { Session, bucketName, wire } from './native-helpers';

let env: S3Env;
let s: Session;

beforeAll(async () => {
  env = await startS3Env();
  s = await Session.master(env.emu, 3);
}, 30_000);

afterAll(async () => {
  await env?.stop();
});

afterEach(async () => {
  await env.emu.admin('DELETE', '/__admin/faults');
});

/** The call must fail at the transport level (no HTTP answer at all). */
async function expectNoAnswer(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toThrow(/fetch failed|socket|terminated|ECONNRESET/i);
}

test('b2_create_bucket: no answer, but the bucket exists', async () => {
  await env.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_create_bucket',
    action: 'drop-after',
    count: 1,
  });
  const name = bucketName('drop');
  await expectNoAnswer(
    s.call('b2_create_bucket', { accountId: s.accountId, bucketName: name, bucketType: 'allPrivate' }),
  );
  const list = await s.ok('b2_list_buckets', { accountId: s.accountId, bucketName: name });
  expect(list.buckets.map((b: { bucketName: string }) => b.bucketName)).toEqual([name]);
  // the rule fired once; the next call is answered
  const again = await s.call('b2_create_bucket', {
    accountId: s.accountId,
    bucketName: name,
    bucketType: 'allPrivate',
  });
  expect(again.json.code).toBe('duplicate_bucket_name');
});

test('b2_create_key: no answer, but the key exists (the secret is lost, as with a real lost response)', async () => {
  await env.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_create_key',
    action: 'drop-after',
    count: 1,
  });
  const keyName = `drop-${Date.now()}`;
  await expectNoAnswer(
    s.call('b2_create_key', { accountId: s.accountId, keyName, capabilities: ['listBuckets'] }),
  );
  const keys = await s.ok('b2_list_keys', { accountId: s.accountId, maxKeyCount: 1000 });
  expect(keys.keys.filter((k: { keyName: string }) => k.keyName === keyName)).toHaveLength(1);
});

test('b2_upload_file: no answer, but the file is stored and downloads', async () => {
  const b = await s.createBucket(bucketName('dropup'));
  await env.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_upload_file',
    action: 'drop-after',
    count: 1,
  });
  await expectNoAnswer(s.upload(b.bucketId, 'lost-answer.txt', 'committed anyway'));
  const dl = (s.auth as { apiInfo: { storageApi: { downloadUrl: string } } }).apiInfo.storageApi.downloadUrl;
  const r = await wire(`${dl}/file/${b.bucketName}/lost-answer.txt`, { headers: { authorization: s.token } });
  expect(r.status).toBe(200);
  expect(r.text).toBe('committed anyway');
});

test('an error answer is dropped too (the call ran and was refused; nothing was committed)', async () => {
  await env.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_delete_bucket',
    action: 'drop-after',
    count: 1,
  });
  await expectNoAnswer(s.call('b2_delete_bucket', { accountId: s.accountId, bucketId: 'b'.repeat(24) }));
});

test('S3 PutObject: no answer, but the object exists', async () => {
  const b = await s.createBucket(bucketName('drops3'));
  await env.emu.admin('POST', '/__admin/faults', {
    operation: 's3:PutObject',
    action: 'drop-after',
    count: 1,
  });
  await expectNoAnswer(s3raw(env, 'PUT', `/${b.bucketName}/obj.txt`, { body: 'via s3' }));
  const got = await s3raw(env, 'GET', `/${b.bucketName}/obj.txt`);
  expect(got.status).toBe(200);
  expect(got.text).toBe('via s3');
});

test('the rule list shows the kind and its fire count', async () => {
  await env.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_list_buckets',
    action: 'drop-after',
    count: 2,
  });
  await expectNoAnswer(s.call('b2_list_buckets', { accountId: s.accountId }));
  const rules = (await env.emu.admin('GET', '/__admin/faults')) as {
    rules: { action: string; fired: number }[];
  };
  expect(rules.rules).toEqual([expect.objectContaining({ action: 'drop-after', fired: 1 })]);
});

describe('admin input validation', () => {
  const post = (path: string, body: unknown) =>
    wire(`${env.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.emu.info.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test.each([
    [{ method: 5, status: 500 }, /method must be a non-empty string/],
    [{ method: ['POST'], status: 500 }, /method must be a non-empty string/],
    [{ method: 'PO ST', status: 500 }, /method must be an HTTP method name/],
    [{ operation: {}, status: 500 }, /operation must be a non-empty string/],
    [{ path: 7, status: 500 }, /path must be a non-empty string/],
    [{ path: '(', status: 500 }, /path is not a valid regular expression/],
    [{ code: 'a\r\nb', status: 500 }, /code must be/],
    [{ message: 'x\ny', status: 500 }, /message must be at most 1000 characters on one line/],
    [{ status: 500, colour: 'red' }, /unknown fault rule field "colour"/],
    [{ action: 'explode' }, /action must be "error", "reset" or "drop-after"/],
    [[1, 2], /fault rule must be a JSON object/],
    [{ rules: 'all' }, /rules must be an array/],
  ])('%j → 400 and every other request still works', async (rule, message) => {
    const r = await post('/__admin/faults', rule);
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(message);
    const rules = (await env.emu.admin('GET', '/__admin/faults')) as { rules: unknown[] };
    expect(rules.rules).toEqual([]);
    const ok = await s.call('b2_list_buckets', { accountId: s.accountId });
    expect(ok.status).toBe(200);
  });

  test('a batch with one bad rule adds none of them', async () => {
    const r = await post('/__admin/faults', {
      rules: [
        { operation: 'b2_list_buckets', status: 503 },
        { method: 1, status: 500 },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/^rules\[1\]: method/);
    const rules = (await env.emu.admin('GET', '/__admin/faults')) as { rules: unknown[] };
    expect(rules.rules).toEqual([]);
  });

  test('clock advance is capped at 100 years in total', async () => {
    for (const advanceSeconds of [1e300, 100 * 365 * 86_400 + 1, Number.MAX_SAFE_INTEGER]) {
      const r = await post('/__admin/clock', { advanceSeconds });
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(/advanceSeconds must be a number 0-3153600000/);
    }
    const ok = await s.call('b2_list_buckets', { accountId: s.accountId });
    expect(ok.status).toBe(200);
  });
});
