/**
 * S3 writes on a `--data` emulator survive kill -9 (docs/architecture.md §4): an acknowledged PutObject and
 * CompleteMultipartUpload are readable after restart, with the same version ids, ETags (the
 * multipart ETag lives in protocol-private record data) and full-object checksum.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startEmulator } from '../../helpers/emulator';
import { S3Env, s3raw, startS3Env } from './s3helpers';

let dir: string;
let env: S3Env;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3-durable-'));
});
afterAll(async () => {
  await env?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('acknowledged S3 writes are there after kill -9 and restart', async () => {
  env = await startS3Env({ data: dir });
  expect((await s3raw(env, 'PUT', '/durable-s3')).status).toBe(200);
  const single = await s3raw(env, 'PUT', '/durable-s3/one.txt', { body: 'durable body' });
  const create = await s3raw(env, 'POST', '/durable-s3/multi.bin', { query: { uploads: '' } });
  const uploadId = /<UploadId>([^<]+)/.exec(create.text)![1];
  const p1 = Buffer.alloc(5_000_000, 3);
  const e1 = (
    await s3raw(env, 'PUT', '/durable-s3/multi.bin', { query: { partNumber: '1', uploadId }, body: p1 })
  ).headers.get('etag')!;
  const e2 = (
    await s3raw(env, 'PUT', '/durable-s3/multi.bin', { query: { partNumber: '2', uploadId }, body: 'end' })
  ).headers.get('etag')!;
  const done = await s3raw(env, 'POST', '/durable-s3/multi.bin', {
    query: { uploadId },
    body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${e1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>${e2}</ETag></Part></CompleteMultipartUpload>`,
  });
  const multiEtag = /<ETag>([^<]+)<\/ETag>/.exec(done.text)![1];
  const crc = (
    await s3raw(env, 'HEAD', '/durable-s3/one.txt', { headers: { 'x-amz-checksum-mode': 'ENABLED' } })
  ).headers.get('x-amz-checksum-crc32');
  expect(crc).toBeTruthy();

  await env.emu.stop('SIGKILL');
  const again = await startEmulator({ data: dir });
  env = { ...env, emu: again, url: again.url, stop: () => again.stop() };

  const one = await s3raw(env, 'GET', '/durable-s3/one.txt', {
    headers: { 'x-amz-checksum-mode': 'ENABLED' },
  });
  expect([one.status, one.text]).toEqual([200, 'durable body']);
  expect(one.headers.get('x-amz-version-id')).toBe(single.headers.get('x-amz-version-id'));
  expect(one.headers.get('x-amz-checksum-crc32')).toBe(crc);
  const multi = await s3raw(env, 'HEAD', '/durable-s3/multi.bin');
  expect([multi.status, multi.headers.get('etag'), multi.headers.get('content-length')]).toEqual([
    200,
    multiEtag,
    String(p1.length + 3),
  ]);
});
