/**
 * CORS rules on native downloads and uploads (docs/b2-api.md §3–4): preflights answered from the
 * bucket's corsRules, allowed origins echoed on actual requests, everything else refused.
 */
import { startEmulator, type RunningEmulator } from '../../helpers/emulator';
import { bucketName, Session } from './native-helpers';

let emu: RunningEmulator;
let s: Session;
let bucket: { bucketId: string; bucketName: string };
beforeAll(async () => {
  emu = await startEmulator();
  s = await Session.master(emu);
  bucket = await s.createBucket(bucketName('cors'), {
    corsRules: [
      {
        corsRuleName: 'downloads',
        allowedOrigins: ['https://*.example.com'],
        allowedOperations: ['b2_download_file_by_name'],
        allowedHeaders: ['range', 'x-bz-*'],
        exposeHeaders: ['x-bz-content-sha1'],
        maxAgeSeconds: 3600,
      },
    ],
  });
  await s.uploadOk(bucket.bucketId, 'a.txt', 'a');
});
afterAll(async () => {
  await emu?.stop();
});

const preflight = (origin: string, headers = 'range') =>
  fetch(`${emu.url}/file/${bucket.bucketName}/a.txt`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': headers },
  });

test('a preflight from an allowed origin with allowed headers is answered from the rule', async () => {
  const r = await preflight('https://app.example.com', 'range, x-bz-test');
  expect(r.status).toBe(200);
  expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  expect(r.headers.get('access-control-allow-methods')).toContain('GET');
  expect(r.headers.get('access-control-max-age')).toBe('3600');
});

test('other origins, headers and operations are refused', async () => {
  expect((await preflight('https://evil.test')).status).toBe(403);
  expect((await preflight('https://app.example.com', 'authorization-x')).status).toBe(403);
  const u = await s.ok('b2_get_upload_url', { bucketId: bucket.bucketId });
  const up = await fetch(u.uploadUrl, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
  });
  expect(up.status).toBe(403);
});

test('actual requests from an allowed origin carry Allow-Origin and exposed headers', async () => {
  const ok = await fetch(`${emu.url}/file/${bucket.bucketName}/a.txt`, {
    headers: { authorization: s.token, origin: 'https://app.example.com' },
  });
  expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  expect(ok.headers.get('access-control-expose-headers')).toBe('x-bz-content-sha1');
  const other = await fetch(`${emu.url}/file/${bucket.bucketName}/a.txt`, {
    headers: { authorization: s.token, origin: 'https://evil.test' },
  });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
});
