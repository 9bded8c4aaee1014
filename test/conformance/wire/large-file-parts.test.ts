/**
 * Parts after the end of a large file: a part still streaming when its large file is finished (or
 * one sent afterwards on an old part URL) is refused, and its bytes are not kept; the S3 layer
 * likewise. CompleteMultipartUpload stores the finished object and its ETag in one write.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { Clock } from '../../../emulator/core/clock';
import { Engine } from '../../../emulator/core/engine';
import { MemoryStore } from '../../../emulator/store/memory';
import { startS3Env, s3raw, type S3Env } from './s3helpers';
import { Session, bucketName, wire } from './native-helpers';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

let dir: string;
let env: S3Env;
let s: Session;
let bucket: { bucketId: string; bucketName: string };
const part1 = Buffer.alloc(5_000_000, 'first part;');
const part2 = Buffer.from('second and last part');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'b2-parts-'));
  env = await startS3Env({ data: dir });
  s = await Session.master(env.emu, 3);
  bucket = await s.createBucket(bucketName('parts'));
}, 60_000);

afterAll(async () => {
  await env?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const blobCount = (): number => fs.readdirSync(path.join(dir, env.region, 'blobs')).length;

async function uploadPart(fileId: string, n: number, data: Buffer): Promise<void> {
  const u = await s.ok('b2_get_upload_part_url', { fileId });
  const r = await wire(u.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: u.authorizationToken,
      'x-bz-part-number': String(n),
      'x-bz-content-sha1': sha1(data),
    },
    body: data,
  });
  if (r.status !== 200) throw new Error(`part ${n} -> ${r.status} ${r.text}`);
}

/** Start a POST whose body is sent in two halves; returns a function that sends the rest. */
function slowPost(
  url: string,
  headers: Record<string, string>,
  data: Buffer,
): { finish(): void; answer: Promise<{ status: number; text: string }> } {
  const u = new URL(url);
  let req!: http.ClientRequest;
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        headers: { ...headers, 'content-length': String(data.length) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
  });
  req.write(data.subarray(0, data.length >> 1));
  return { finish: () => req.end(data.subarray(data.length >> 1)), answer };
}

test('a part sent on an old part URL after b2_finish_large_file is refused', async () => {
  const large = await s.ok('b2_start_large_file', {
    bucketId: bucket.bucketId,
    fileName: 'after-finish',
    contentType: 'b2/x-auto',
  });
  await uploadPart(large.fileId, 1, part1);
  await uploadPart(large.fileId, 2, part2);
  const late = await s.ok('b2_get_upload_part_url', { fileId: large.fileId });
  await s.ok('b2_finish_large_file', { fileId: large.fileId, partSha1Array: [sha1(part1), sha1(part2)] });
  const before = blobCount();
  const extra = Buffer.from('too late');
  const r = await wire(late.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: late.authorizationToken,
      'x-bz-part-number': '3',
      'x-bz-content-sha1': sha1(extra),
    },
    body: extra,
  });
  expect(r.status).toBe(400);
  expect(blobCount()).toBe(before);
});

test('a part still streaming when the large file is finished is refused and its blob is not kept', async () => {
  const large = await s.ok('b2_start_large_file', {
    bucketId: bucket.bucketId,
    fileName: 'racing-finish',
    contentType: 'b2/x-auto',
  });
  await uploadPart(large.fileId, 1, part1);
  await uploadPart(large.fileId, 2, part2);
  const before = blobCount();
  const u = await s.ok('b2_get_upload_part_url', { fileId: large.fileId });
  const late = Buffer.alloc(100_000, 'late part;');
  const post = slowPost(
    u.uploadUrl,
    { authorization: u.authorizationToken, 'x-bz-part-number': '3', 'x-bz-content-sha1': sha1(late) },
    late,
  );
  await new Promise((r) => setTimeout(r, 100)); // the part's body is half-way in
  const done = await s.call('b2_finish_large_file', {
    fileId: large.fileId,
    partSha1Array: [sha1(part1), sha1(part2)],
  });
  expect(done.status).toBe(200);
  post.finish();
  const answer = await post.answer;
  expect(answer.status).toBe(400);
  expect(JSON.parse(answer.text).message).toMatch(/No active upload/);
  expect(blobCount()).toBe(before);
  // the finished file is exactly parts 1 and 2
  const dl = (s.auth as { apiInfo: { storageApi: { downloadUrl: string } } }).apiInfo.storageApi.downloadUrl;
  const got = await fetch(`${dl}/b2api/v3/b2_download_file_by_id?fileId=${large.fileId}`, {
    headers: { authorization: s.token },
  });
  expect(sha1(Buffer.from(await got.arrayBuffer()))).toBe(sha1(Buffer.concat([part1, part2])));
});

test('S3 UploadPart racing CompleteMultipartUpload: refused, nothing kept', async () => {
  const key = 's3-racing-complete';
  const init = await s3raw(env, 'POST', `/${bucket.bucketName}/${key}`, { query: { uploads: '' } });
  const uploadId = /<UploadId>([^<]+)</.exec(init.text)![1]!;
  for (const [n, data] of [part1, part2].entries()) {
    const r = await s3raw(env, 'PUT', `/${bucket.bucketName}/${key}`, {
      query: { partNumber: String(n + 1), uploadId },
      body: data,
    });
    expect(r.status).toBe(200);
  }
  const before = blobCount();
  const late = Buffer.alloc(100_000, 'late s3 part;');
  // the late part is sent while Complete runs: start it, complete, then let it end
  const upload = s3raw(env, 'PUT', `/${bucket.bucketName}/${key}`, {
    query: { partNumber: '3', uploadId },
    body: late,
  });
  const complete = s3raw(env, 'POST', `/${bucket.bucketName}/${key}`, {
    query: { uploadId },
    body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${md5(part1)}"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"${md5(part2)}"</ETag></Part></CompleteMultipartUpload>`,
  });
  const [u, c] = await Promise.all([upload, complete]);
  // either order is possible; never both a stored part 3 and a completed object without it
  if (c.status === 200) {
    expect(u.status === 200 ? 'part stored after complete' : 'refused').toBe('refused');
    expect(blobCount()).toBe(before);
    const head = await s3raw(env, 'HEAD', `/${bucket.bucketName}/${key}`);
    expect(head.headers.get('etag')).toMatch(/-2"$/);
  } else {
    // part 3 landed first, so Complete with parts 1-2 is refused (B2 finishes from all parts)
    expect(u.status).toBe(200);
    expect(c.status).toBe(400);
  }
});

test('finishLargeFile with extra (S3 ETag) is one store write', async () => {
  const store = new MemoryStore();
  const engine = new Engine({ region: 'us-west-004', store, clock: new Clock() });
  const sys = engine.systemAuth();
  const b = engine.createBucket(sys, { bucketName: 'one-write', bucketType: 'allPrivate' });
  const f = engine.startLargeFile(sys, {
    bucketId: b.bucketId,
    fileName: 'x',
    contentType: 'b2/x-auto',
    fileInfo: {},
  });
  for (const [n, data] of [part1, part2].entries())
    await engine.uploadPart(sys, {
      fileId: f.fileId,
      partNumber: n + 1,
      contentLength: data.length,
      sha1: sha1(data),
      body: Readable.from([data]),
    });
  const writes: unknown[] = [];
  const orig = store.putFile.bind(store);
  store.putFile = (file, drop) => {
    writes.push(JSON.parse(JSON.stringify(file)));
    orig(file, drop);
  };
  engine.finishLargeFile(sys, f.fileId, [sha1(part1), sha1(part2)], { s3ETag: 'abc-2' });
  expect(writes).toEqual([expect.objectContaining({ action: 'upload', extra: { s3ETag: 'abc-2' } })]);
  expect(store.getFile(f.fileId)?.extra).toEqual({ s3ETag: 'abc-2' });
});
