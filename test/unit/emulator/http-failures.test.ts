/**
 * Failures inside the emulator answer, never reset (issue 12): a store that fails after a native
 * upload body was read gives 500 `internal_error` with exactly one log line (Node already marks
 * such a request destroyed, which used to be taken for "client gone" → silent reset), and a value
 * stored before it was validated on write (a non-latin1 `b2-content-disposition`, CR/LF in a
 * bucket's Cache-Control) is percent-encoded on read on both APIs instead of failing every
 * download. The emulator runs in this process so the store can be made to fail; HTTP is real.
 */
import { createHash } from 'crypto';
import { startEmulator, RunningEmulator } from '../../../emulator/server';

const sha1 = (b: string): string => createHash('sha1').update(b).digest('hex');
const basic = (id: string, key: string): string => 'Basic ' + Buffer.from(`${id}:${key}`).toString('base64');

let emu: RunningEmulator;
const logs: string[] = [];
let api: { url: string; token: string; accountId: string };
let bucketId: string;

async function call(name: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await fetch(`${api.url}/b2api/v2/${name}`, {
    method: 'POST',
    headers: { authorization: api.token },
    body: JSON.stringify(body),
  });
  const j = (await r.json()) as Record<string, unknown>;
  if (r.status !== 200) throw new Error(`${name} → ${r.status} ${JSON.stringify(j)}`);
  return j;
}

async function upload(name: string, data: string): Promise<Response> {
  const u = (await call('b2_get_upload_url', { bucketId })) as {
    uploadUrl: string;
    authorizationToken: string;
  };
  return fetch(u.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: u.authorizationToken,
      'x-bz-file-name': name,
      'content-type': 'text/plain',
      'x-bz-content-sha1': sha1(data),
    },
    body: data,
  });
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, regions: ['us-west-004'], log: (l) => logs.push(l) });
  const r = emu.ready;
  const a = await fetch(`${r.url}/b2api/v2/b2_authorize_account`, {
    headers: { authorization: basic(r.keyId, r.applicationKey) },
  });
  const j = (await a.json()) as { apiUrl: string; authorizationToken: string; accountId: string };
  api = { url: j.apiUrl, token: j.authorizationToken, accountId: j.accountId };
  const b = await call('b2_create_bucket', {
    accountId: api.accountId,
    bucketName: 'http-failures-bucket',
    bucketType: 'allPrivate',
  });
  bucketId = b.bucketId as string;
});
afterAll(async () => {
  await emu?.close();
});

test('a store failure after the upload body was read → 500 internal_error and one log line', async () => {
  const store = emu.regions[0].store;
  const original = store.putFile.bind(store);
  store.putFile = () => {
    throw new Error('simulated metadata write failure');
  };
  logs.length = 0;
  try {
    const r = await upload('fails.txt', 'body that was fully read');
    expect(r.status).toBe(500);
    expect(((await r.json()) as { code: string }).code).toBe('internal_error');
  } finally {
    store.putFile = original;
  }
  const lines = logs.filter((l) => l.includes('simulated metadata write failure'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^internal error on POST \/b2api\/v2\/b2_upload_file/);
  // and the server goes on
  expect((await upload('after.txt', 'fine')).status).toBe(200);
});

test('values stored before validation are percent-encoded on read, on both APIs', async () => {
  const up = (await (await upload('legacy.txt', 'legacy')).json()) as { fileId: string };
  const store = emu.regions[0].store;
  const f = store.getFile(up.fileId)!;
  // what an earlier version accepted: UTF-8 beyond latin1, and CR/LF
  store.putFile({
    ...f,
    fileInfo: {
      'b2-content-disposition': 'attachment; filename="日本.txt"',
      'b2-content-language': 'en\r\nx: 1',
    },
  });
  const b = store.getBucket(bucketId)!;
  store.putBucket({ ...b, bucketInfo: { 'Cache-Control': 'max-age=1\nx-evil: 1' } });
  const r = await fetch(`${emu.ready.url}/file/http-failures-bucket/legacy.txt`, {
    headers: { authorization: api.token },
  });
  expect(r.status).toBe(200);
  expect(await r.text()).toBe('legacy');
  expect(r.headers.get('content-disposition')).toBe(encodeURIComponent('attachment; filename="日本.txt"'));
  expect(r.headers.get('content-language')).toBe(encodeURIComponent('en\r\nx: 1'));
  expect(r.headers.get('cache-control')).toBe(encodeURIComponent('max-age=1\nx-evil: 1'));
  expect(r.headers.get('x-evil')).toBeNull();
});
