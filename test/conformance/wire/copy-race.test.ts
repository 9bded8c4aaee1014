/**
 * Server-side copies racing a delete of their source (issue: a ranged b2_copy_file, b2_copy_part
 * or S3 UploadPartCopy answered 200 and the copy was unreadable for good). Whatever the
 * interleaving, a copy either fails or reads back byte-identical — before and after a restart.
 * Runs on the durable store (`--data`), where the lost blob survived restarts.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startS3Env, s3raw, type S3Env } from './s3helpers';
import { Session, bucketName, wire } from './native-helpers';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
const TRIES = 7;
/** When the delete is sent after the copy (ms): from well inside the copy to after it. */
const DELAYS = [0, 1, 2, 5, 10, 40, 400];
const SIZE = 24 * 1024 * 1024;

let dir: string;
let env: S3Env;
let s: Session;
let bucket: { bucketId: string; bucketName: string };
const source = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4) source.writeUInt32LE((i * 2654435761) >>> 0, i);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'b2-copy-race-'));
  env = await startS3Env({ data: dir });
  s = await Session.master(env.emu, 3);
  bucket = await s.createBucket(bucketName('race'));
}, 60_000);

afterAll(async () => {
  await env?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const downloadUrl = (): string =>
  (s.auth as { apiInfo: { storageApi: { downloadUrl: string } } }).apiInfo.storageApi.downloadUrl;

async function download(fileId: string): Promise<{ status: number; body: Buffer }> {
  const r = await fetch(`${downloadUrl()}/b2api/v3/b2_download_file_by_id?fileId=${fileId}`, {
    headers: { authorization: s.token },
  });
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
}

async function uploadSource(name: string): Promise<string> {
  return (await s.uploadOk(bucket.bucketId, name, source)).fileId;
}

const deleteVersion = (fileId: string, fileName: string) =>
  s.call('b2_delete_file_version', { fileId, fileName });

/** Outcomes of every try: the copy failed cleanly, or succeeded and reads back the expected bytes. */
const outcomes: string[] = [];

test.each(Array.from({ length: TRIES }, (_, i) => i))(
  'ranged b2_copy_file vs delete of the source (%i)',
  async (i) => {
    const name = `src-copy-${i}`;
    const srcId = await uploadSource(name);
    const range = { start: 1 + i, end: SIZE - 2 };
    const [copy, del] = await Promise.all([
      s.call('b2_copy_file', {
        sourceFileId: srcId,
        fileName: `dst-copy-${i}`,
        range: `bytes=${range.start}-${range.end}`,
      }),
      new Promise((r) => setTimeout(r, DELAYS[i])).then(() => deleteVersion(srcId, name)),
    ]);
    expect(del.status).toBe(200);
    outcomes.push(`copy_file:${copy.status}`);
    if (copy.status === 200) {
      const got = await download(copy.json.fileId);
      expect(got.status).toBe(200);
      expect(sha1(got.body)).toBe(sha1(source.subarray(range.start, range.end + 1)));
    } else {
      expect(copy.status).toBeLessThan(500);
    }
  },
);

test.each(Array.from({ length: TRIES }, (_, i) => i))(
  'b2_copy_part vs delete of the source (%i)',
  async (i) => {
    const name = `src-part-${i}`;
    const srcId = await uploadSource(name);
    const large = await s.ok('b2_start_large_file', {
      bucketId: bucket.bucketId,
      fileName: `dst-part-${i}`,
      contentType: 'application/octet-stream',
    });
    const [part, del] = await Promise.all([
      s.call('b2_copy_part', {
        sourceFileId: srcId,
        largeFileId: large.fileId,
        partNumber: 1,
        range: `bytes=0-${SIZE - 2}`,
      }),
      new Promise((r) => setTimeout(r, DELAYS[i])).then(() => deleteVersion(srcId, name)),
    ]);
    expect(del.status).toBe(200);
    outcomes.push(`copy_part:${part.status}`);
    if (part.status !== 200) {
      expect(part.status).toBeLessThan(500);
      return;
    }
    const tail = await s.uploadOk(bucket.bucketId, `tail-${i}`, 'x'); // keeps a second part's bytes handy
    const second = Buffer.from('the end');
    const pu = await s.ok('b2_get_upload_part_url', { fileId: large.fileId });
    const up = await wire(pu.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: pu.authorizationToken,
        'x-bz-part-number': '2',
        'x-bz-content-sha1': sha1(second),
      },
      body: second,
    });
    expect(up.status).toBe(200);
    const done = await s.call('b2_finish_large_file', {
      fileId: large.fileId,
      partSha1Array: [part.json.contentSha1, sha1(second)],
    });
    expect(done.status).toBe(200);
    const got = await download(large.fileId);
    expect(got.status).toBe(200);
    expect(sha1(got.body)).toBe(sha1(Buffer.concat([source.subarray(0, SIZE - 1), second])));
    expect(tail.fileId).toBeTruthy();
  },
  30_000,
);

test.each(Array.from({ length: TRIES }, (_, i) => i))(
  'S3 UploadPartCopy vs delete of the source (%i)',
  async (i) => {
    const name = `src-s3-${i}`;
    const srcId = await uploadSource(name);
    const key = `dst-s3-${i}`;
    const init = await s3raw(env, 'POST', `/${bucket.bucketName}/${key}`, { query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)</.exec(init.text)![1]!;
    const [part, del] = await Promise.all([
      s3raw(env, 'PUT', `/${bucket.bucketName}/${key}`, {
        query: { partNumber: '1', uploadId },
        headers: {
          'x-amz-copy-source': `/${bucket.bucketName}/${name}`,
          'x-amz-copy-source-range': `bytes=0-${SIZE - 2}`,
        },
      }),
      new Promise((r) => setTimeout(r, DELAYS[i])).then(() => deleteVersion(srcId, name)),
    ]);
    expect(del.status).toBe(200);
    outcomes.push(`UploadPartCopy:${part.status}`);
    if (part.status !== 200) {
      expect(part.status).toBeLessThan(500);
      return;
    }
    const parts = await s.ok('b2_list_parts', { fileId: uploadId });
    const p1 = parts.parts[0];
    // read the part's bytes back through a finished file
    const second = Buffer.from('s3 tail');
    const pu = await s.ok('b2_get_upload_part_url', { fileId: uploadId });
    await wire(pu.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: pu.authorizationToken,
        'x-bz-part-number': '2',
        'x-bz-content-sha1': sha1(second),
      },
      body: second,
    });
    const done = await s.call('b2_finish_large_file', {
      fileId: uploadId,
      partSha1Array: [p1.contentSha1, sha1(second)],
    });
    expect(done.status).toBe(200);
    const got = await download(uploadId);
    expect(got.status).toBe(200);
    expect(sha1(got.body)).toBe(sha1(Buffer.concat([source.subarray(0, SIZE - 1), second])));
  },
  30_000,
);

test('every successful copy still reads back after a restart', async () => {
  await env.emu.stop();
  const { startEmulator } = await import('../../helpers/emulator');
  const emu = await startEmulator({ data: dir });
  try {
    const s2 = await Session.master(emu, 3);
    const v = await s2.ok('b2_list_file_versions', { bucketId: bucket.bucketId, maxFileCount: 1000 });
    const dl = (s2.auth as { apiInfo: { storageApi: { downloadUrl: string } } }).apiInfo.storageApi
      .downloadUrl;
    for (const f of v.files as {
      fileId: string;
      fileName: string;
      action: string;
      contentLength: number;
    }[]) {
      if (f.action !== 'upload') continue;
      const r = await fetch(`${dl}/b2api/v3/b2_download_file_by_id?fileId=${f.fileId}`, {
        headers: { authorization: s2.token },
      });
      const body = Buffer.from(await r.arrayBuffer());
      expect({ name: f.fileName, status: r.status, length: body.length }).toEqual({
        name: f.fileName,
        status: 200,
        length: f.contentLength,
      });
    }
  } finally {
    await emu.stop();
  }
  // informative: how the races fell (the assertions above are what matters)
  process.stdout.write(`copy race outcomes: ${outcomes.join(' ')}\n`);
}, 60_000);
