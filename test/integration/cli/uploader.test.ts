/**
 * The streaming uploader against the real emulator: parts held in pooled memory buffers by
 * default, spooled to files only when the parts do not fit the memory budget; every path uploads
 * byte-exact objects with the right SHA-256, and a failing source leaves no object and no
 * unfinished multipart upload behind.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { MiB } from '../../../scripts/lib/partSize';
import { jobRetryPolicy } from '../../../scripts/lib/retry';
import { createS3Client } from '../../../scripts/lib/s3client';
import { SecretString } from '../../../infra/b2/secret';
import { uploadStream, UploadRequest } from '../../../scripts/lib/uploader';
import { createBucketAndKey } from '../../integration/cli/fixture';
import { RunningEmulator, startEmulator } from '../../helpers/emulator';

let emu: RunningEmulator;
let s3: S3Client;
let tmp: string;
const bucket = 'ifb-uploader-unit';

beforeAll(async () => {
  emu = await startEmulator();
  const { keyId, applicationKey } = await createBucketAndKey(emu, bucket);
  s3 = createS3Client(
    { endpoint: emu.url, region: 'us-west-004', keyId, applicationKey: new SecretString(applicationKey) },
    { policy: jobRetryPolicy({ budgetMs: 5_000 }) },
  );
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-uploader-'));
}, 30_000);

afterAll(async () => {
  s3?.destroy();
  await emu?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** `total` random bytes in chunks of odd sizes, like a pipe (parts never align with chunks). */
function source(total: number, chunk = 100_003): { stream: Readable; data: Buffer } {
  const data = randomBytes(total);
  let at = 0;
  const stream = new Readable({
    read() {
      if (at >= total) return void this.push(null);
      this.push(data.subarray(at, Math.min(total, at + chunk)));
      at += chunk;
    },
  });
  return { stream, data };
}

function request(key: string, body: Readable, extra: Partial<UploadRequest> = {}): UploadRequest {
  return {
    s3,
    bucket,
    key,
    body,
    metadata: { type: 'test' },
    partSize: 5 * MiB,
    policy: jobRetryPolicy({ budgetMs: 5_000 }),
    ...extra,
  };
}

async function download(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

it('holds parts in memory by default: no spool file, byte-exact multipart object', async () => {
  const { stream, data } = source(23 * MiB + 7);
  // A spool dir that cannot be created proves no part went to disk.
  const res = await uploadStream(
    request('mem/obj.bin', stream, { spoolDir: path.join(tmp, 'does-not-exist', 'x') }),
  );
  expect(res).toMatchObject({ multipart: true, parts: 5, size: data.length, sha256: sha256(data) });
  expect(sha256(await download('mem/obj.bin'))).toBe(sha256(data));
});

it('spools parts to files when they do not fit the memory budget, and cleans up', async () => {
  const spoolDir = path.join(tmp, 'spool');
  fs.mkdirSync(spoolDir);
  const { stream, data } = source(12 * MiB + 1);
  const res = await uploadStream(request('spool/obj.bin', stream, { spoolDir, memoryBudget: 1 * MiB }));
  expect(res).toMatchObject({ multipart: true, parts: 3, size: data.length, sha256: sha256(data) });
  expect(fs.readdirSync(spoolDir)).toEqual([]);
  expect(sha256(await download('spool/obj.bin'))).toBe(sha256(data));
});

it('sends an object that fits one part as a single PutObject with its sha256 in metadata', async () => {
  for (const size of [0, 1, 3 * MiB]) {
    const { stream, data } = source(size);
    const key = `single/${size}.bin`;
    const res = await uploadStream(request(key, stream));
    expect(res).toMatchObject({ multipart: false, parts: 1, size, sha256InMetadata: true });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.Metadata?.sha256).toBe(sha256(data));
    expect((await download(key)).equals(data)).toBe(true);
  }
});

describe('one-part streams are one PutObject at every boundary (B2 refuses a one-part multipart upload)', () => {
  const part = 5 * MiB;
  it.each([
    // [size, chunk, memory budget (undefined: pooled memory; 1 MiB: spooled parts)]
    [part - 1, 100_003, undefined],
    [part, 100_003, undefined],
    [part, part, undefined], // the chunk that fills the part is the last one
    [part, 1 * MiB, 1 * MiB],
    [part - 1, 1 * MiB, 1 * MiB],
  ])('%d bytes in %d-byte chunks (budget %s): single PutObject', async (size, chunk, budget) => {
    const { stream, data } = source(size, chunk);
    const key = `boundary/${size}-${chunk}-${String(budget)}.bin`;
    const res = await uploadStream(request(key, stream, { memoryBudget: budget, spoolDir: tmp }));
    expect(res).toMatchObject({ multipart: false, parts: 1, size, sha256InMetadata: true });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.Metadata?.sha256).toBe(sha256(data));
    expect(head.Metadata?.['run-id']).toBeUndefined(); // no CreateMultipartUpload happened
    expect((await download(key)).equals(data)).toBe(true);
  });

  it.each([
    [part + 1, undefined],
    [part + 1, 1 * MiB],
    [2 * part + 1, undefined],
  ])('%d bytes (budget %s): multipart, byte-exact, no empty part', async (size, budget) => {
    const { stream, data } = source(size);
    const key = `boundary/multi-${size}-${String(budget)}.bin`;
    const res = await uploadStream(request(key, stream, { memoryBudget: budget, spoolDir: tmp }));
    expect(res).toMatchObject({ multipart: true, parts: Math.ceil(size / part), size });
    expect(sha256(await download(key))).toBe(sha256(data));
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
    expect(open.Uploads ?? []).toEqual([]);
  });
});

it('a stream that ends exactly on a part boundary has no empty trailing part', async () => {
  const { stream, data } = source(10 * MiB);
  const res = await uploadStream(request('exact/obj.bin', stream));
  expect(res).toMatchObject({ multipart: true, parts: 2, size: data.length });
  expect(sha256(await download('exact/obj.bin'))).toBe(sha256(data));
});

it.each([
  ['memory', undefined],
  ['spool', 1 * MiB],
])('a source failing mid-stream (%s parts) aborts: no object, no open upload', async (_, budget) => {
  const key = `fail/${String(budget)}.bin`;
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= 12 * MiB) return void this.destroy(new Error('dump died'));
      sent += MiB;
      this.push(randomBytes(MiB));
    },
  });
  const spoolDir = path.join(tmp, `fail-${String(budget)}`);
  fs.mkdirSync(spoolDir);
  await expect(uploadStream(request(key, body, { memoryBudget: budget, spoolDir }))).rejects.toThrow(
    'dump died',
  );
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  expect(versions.Versions ?? []).toEqual([]);
  const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  expect(open.Uploads ?? []).toEqual([]);
  expect(fs.readdirSync(spoolDir)).toEqual([]);
});

it('a beforeComplete veto after the last byte aborts the upload', async () => {
  const { stream } = source(11 * MiB);
  await expect(
    uploadStream(
      request('veto/obj.bin', stream, {
        beforeComplete: () => Promise.reject(new Error('pg_dump exited with code 1')),
      }),
    ),
  ).rejects.toThrow('pg_dump exited with code 1');
  const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'veto/' }));
  expect(open.Uploads ?? []).toEqual([]);
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'veto/' }));
  expect(versions.Versions ?? []).toEqual([]);
});

it('concurrent uploads share one memory budget: the one that does not fit spools', async () => {
  const budget = 30 * MiB; // one upload of 5 MiB parts × (4 + 1) fits, two do not
  const missing = path.join(tmp, 'no-such-dir', 'x');
  const spoolDir = path.join(tmp, 'shared');
  fs.mkdirSync(spoolDir);
  const a = source(12 * MiB);
  const b = source(12 * MiB);
  const c = source(12 * MiB);
  // `a` starts first and holds the budget; `b` must spool (it succeeds with a real spool dir),
  // `c` proves it: with a spool dir that cannot be created it fails.
  const [ra, rb, rc] = await Promise.allSettled([
    uploadStream(request('shared/a.bin', a.stream, { memoryBudget: budget, spoolDir: missing })),
    uploadStream(request('shared/b.bin', b.stream, { memoryBudget: budget, spoolDir })),
    uploadStream(request('shared/c.bin', c.stream, { memoryBudget: budget, spoolDir: missing })),
  ]);
  expect(ra.status).toBe('fulfilled');
  expect(rb.status).toBe('fulfilled');
  expect(rc.status).toBe('rejected');
  expect(String((rc as PromiseRejectedResult).reason)).toMatch(/ENOENT/);
  expect(sha256(await download('shared/a.bin'))).toBe(sha256(a.data));
  expect(sha256(await download('shared/b.bin'))).toBe(sha256(b.data));
  // Once they are done the budget is free again: the next upload needs no spool dir.
  const d = source(12 * MiB);
  await uploadStream(request('shared/d.bin', d.stream, { memoryBudget: budget, spoolDir: missing }));
  expect(sha256(await download('shared/d.bin'))).toBe(sha256(d.data));
});
