/**
 * Bad input and faults (issue 3): a malformed request gets B2's error code and a message naming
 * the field — never a 500 or a hang — and a client killed mid-upload leaves no visible file.
 */
import * as net from 'net';
import { startEmulator, type RunningEmulator } from '../../helpers/emulator';
import { bucketName, Session, sha1, wire } from './native-helpers';

let emu: RunningEmulator;
let s: Session;
let bucketId: string;
let fileId: string;
beforeAll(async () => {
  emu = await startEmulator();
  s = await Session.master(emu);
  bucketId = (await s.createBucket(bucketName('bad'))).bucketId;
  fileId = (await s.uploadOk(bucketId, 'f.txt', 'f')).fileId;
});
afterAll(async () => {
  await emu?.stop();
});

const CALLS = [
  'b2_create_bucket',
  'b2_update_bucket',
  'b2_delete_bucket',
  'b2_list_buckets',
  'b2_create_key',
  'b2_delete_key',
  'b2_list_keys',
  'b2_get_upload_url',
  'b2_start_large_file',
  'b2_get_upload_part_url',
  'b2_finish_large_file',
  'b2_cancel_large_file',
  'b2_list_unfinished_large_files',
  'b2_list_parts',
  'b2_copy_file',
  'b2_copy_part',
  'b2_list_file_names',
  'b2_list_file_versions',
  'b2_get_file_info',
  'b2_hide_file',
  'b2_delete_file_version',
  'b2_get_download_authorization',
  'b2_update_file_retention',
  'b2_update_file_legal_hold',
  'b2_set_bucket_notification_rules',
  'b2_get_bucket_notification_rules',
];

const BODIES: [string, string][] = [
  ['empty object', '{}'],
  ['not JSON', '{"bucketId": '],
  ['array', '[1,2]'],
  ['string', '"x"'],
  [
    'wrong types',
    JSON.stringify({
      accountId: 5,
      bucketId: 5,
      fileId: {},
      fileName: [],
      bucketName: null,
      maxFileCount: 'x',
      capabilities: 'all',
    }),
  ],
  [
    'huge numbers',
    JSON.stringify({
      bucketId: 'BUCKET',
      maxFileCount: 1e30,
      maxKeyCount: -1,
      maxPartCount: 0.5,
      validDurationInSeconds: 1e100,
    }),
  ],
  [
    'unknown ids',
    JSON.stringify({
      accountId: 'ACCOUNT',
      bucketId: 'ffffffffffffffffffffffff',
      fileId: '4_zffffffffffffffffffffffff_f000_d20200101_m000000_c004_v0001000_t0001',
      fileName: 'x',
      sourceFileId: 'nope',
      largeFileId: 'nope',
      partNumber: 1,
      applicationKeyId: 'nope',
    }),
  ],
];

describe.each(CALLS)('%s', (call) => {
  test.each(BODIES)('%s → never 5xx; errors are JSON with a message', async (_label, raw) => {
    const body = raw.replace('BUCKET', bucketId).replace('ACCOUNT', s.accountId);
    const r = await wire(`${emu.url}/b2api/v2/${call}`, {
      method: 'POST',
      headers: { authorization: s.token },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    expect(r.status).toBeLessThan(500);
    // a few of these bodies are valid for some calls (e.g. unknown ids filter list_buckets to [])
    if (r.status === 200) return;
    expect(r.json).toEqual({ status: r.status, code: expect.any(String), message: expect.any(String) });
    expect(r.json.message.length).toBeGreaterThan(3);
  });
});

test('missing required fields are named', async () => {
  const r = await s.call('b2_list_file_names', {});
  expect(r.json).toEqual({ status: 400, code: 'bad_request', message: 'Missing required field: bucketId' });
  const t = await s.call('b2_list_file_names', { bucketId: 7 });
  expect(t.json.message).toBe('bucketId must be a string');
  const bad = await wire(`${emu.url}/b2api/v2/b2_list_buckets`, {
    method: 'POST',
    headers: { authorization: s.token },
    body: '{oops',
  });
  expect([bad.status, bad.json.code]).toEqual([400, 'bad_json']);
});

test('wrong method → 405 method_not_allowed', async () => {
  const r = await wire(`${emu.url}/b2api/v2/b2_list_buckets`, {
    method: 'DELETE',
    headers: { authorization: s.token },
  });
  expect([r.status, r.json.code]).toEqual([405, 'method_not_allowed']);
});

test('get_file_info on a real id works while junk ids are 400 with the id in the message', async () => {
  expect((await s.call('b2_get_file_info', { fileId })).status).toBe(200);
  const r = await s.call('b2_get_file_info', { fileId: 'x'.repeat(300) });
  expect(r.status).toBe(400);
  expect(r.json.message).toContain('Invalid fileId');
});

test('an upload with a bad Content-Length or none is refused, not hung', async () => {
  const u = await s.ok('b2_get_upload_url', { bucketId });
  const port = Number(new URL(u.uploadUrl).port);
  const path = new URL(u.uploadUrl).pathname;
  const raw = await rawRequest(
    port,
    `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${u.authorizationToken}\r\nX-Bz-File-Name: c.txt\r\nX-Bz-Content-Sha1: do_not_verify\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
  );
  expect(raw).toMatch(/^HTTP\/1.1 400/);
  expect(raw).toMatch(/Content-Length/);
});

test('a client killed mid-upload leaves no visible file; the token is reusable afterwards', async () => {
  const b = (await s.createBucket(bucketName('killed'))).bucketId;
  const u = await s.ok('b2_get_upload_url', { bucketId: b });
  const url = new URL(u.uploadUrl);
  const sock = net.connect(Number(url.port), '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(
    `POST ${url.pathname} HTTP/1.1\r\nHost: x\r\nAuthorization: ${u.authorizationToken}\r\nX-Bz-File-Name: partial.bin\r\nX-Bz-Content-Sha1: do_not_verify\r\nContent-Type: b2/x-auto\r\nContent-Length: 1000000\r\n\r\n`,
  );
  sock.write(Buffer.alloc(300_000, 1));
  await new Promise((r) => setTimeout(r, 100));
  sock.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const v = await s.ok('b2_list_file_versions', { bucketId: b });
  expect(v.files).toEqual([]);
  const again = await wire(u.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: u.authorizationToken,
      'x-bz-file-name': 'whole.bin',
      'x-bz-content-sha1': sha1('ok'),
    },
    body: 'ok',
  });
  expect(again.status).toBe(200);
});

test('a second concurrent upload on one token → 400 auth_token_limit', async () => {
  const b = (await s.createBucket(bucketName('limit'))).bucketId;
  const u = await s.ok('b2_get_upload_url', { bucketId: b });
  const url = new URL(u.uploadUrl);
  const sock = net.connect(Number(url.port), '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(
    `POST ${url.pathname} HTTP/1.1\r\nHost: x\r\nAuthorization: ${u.authorizationToken}\r\nX-Bz-File-Name: slow.bin\r\nX-Bz-Content-Sha1: do_not_verify\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc`,
  );
  await new Promise((r) => setTimeout(r, 100));
  const second = await wire(u.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: u.authorizationToken,
      'x-bz-file-name': 'b.txt',
      'x-bz-content-sha1': sha1('b'),
    },
    body: 'b',
  });
  expect([second.status, second.json.code]).toEqual([400, 'auth_token_limit']);
  let answer = '';
  sock.on('data', (d) => (answer += d.toString()));
  const closed = new Promise((r) => sock.once('close', r));
  sock.end('defghij');
  await closed;
  // the first upload completes normally once its body arrives
  expect(answer).toMatch(/^HTTP\/1.1 200/);
});

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
    sock.setTimeout(5000, () => {
      sock.destroy();
      resolve(out);
    });
  });
}
