/**
 * @aws-sdk/client-s3 (+ lib-storage) against the emulator with the SDK's default checksum
 * settings (CRC32 on every upload, response validation) and with `WHEN_REQUIRED` (what the
 * backup CLI uses for B2, docs/architecture.md §5). In B2's 2024–25 mode the default settings must fail with
 * B2's error, while WHEN_REQUIRED uploads work.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  S3ClientConfig,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash, randomBytes } from 'crypto';
import { S3Env, startS3Env } from '../wire/s3helpers';

function client(env: S3Env, checksums: 'default' | 'WHEN_REQUIRED'): S3Client {
  const cfg: S3ClientConfig = {
    endpoint: env.url,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.keyId, secretAccessKey: env.secret },
    maxAttempts: 1,
  };
  if (checksums === 'WHEN_REQUIRED') {
    cfg.requestChecksumCalculation = 'WHEN_REQUIRED';
    cfg.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return new S3Client(cfg);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function roundTrip(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'a/one.txt',
      Body: 'first body',
      Metadata: { sha256: 'x1', type: 'config' },
    }),
  );
  expect(put.VersionId).toMatch(/^4_z/);
  const got = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: 'a/one.txt', ChecksumMode: 'ENABLED' }),
  );
  expect(await got.Body!.transformToString()).toBe('first body');
  expect(got.Metadata).toEqual({ sha256: 'x1', type: 'config' });

  const big = randomBytes(11 * 1024 * 1024);
  const up = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: 'b/big.bin', Body: big },
    partSize: 5 * 1024 * 1024,
    queueSize: 2,
  });
  await up.done();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'b/big.bin' }));
  expect(head.ContentLength).toBe(big.length);
  expect(head.ETag).toMatch(/-3"$/);
  const back = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'b/big.bin' }));
  expect(sha256(await back.Body!.transformToByteArray())).toBe(sha256(big));

  await s3.send(
    new CopyObjectCommand({ Bucket: bucket, Key: 'a/copy.txt', CopySource: `${bucket}/a/one.txt` }),
  );
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3, pageSize: 1 }, { Bucket: bucket }))
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
  expect(keys).toEqual(['a/copy.txt', 'a/one.txt', 'b/big.bin']);

  const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a/one.txt' }));
  expect(del.DeleteMarker).toBe(true);
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'a/one.txt' }));
  expect(versions.Versions).toHaveLength(1);
  expect(versions.DeleteMarkers?.[0]?.IsLatest).toBe(true);
}

describe('default emulator (checksums accepted and verified)', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('default checksum settings: full round trip', async () => {
    const s3 = client(env, 'default');
    await roundTrip(s3, 'sdk-default');
    s3.destroy();
  });

  it('presigned PUT and GET URLs from @aws-sdk/s3-request-presigner work with plain fetch', async () => {
    const s3 = client(env, 'WHEN_REQUIRED');
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-presign' }));
    const putUrl = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'sdk-presign', Key: 'up/load.txt' }),
      { expiresIn: 60 },
    );
    const put = await fetch(putUrl, { method: 'PUT', body: 'uploaded by URL' });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: 'sdk-presign', Key: 'up/load.txt' }),
      { expiresIn: 60 },
    );
    const got = await fetch(getUrl);
    expect([got.status, await got.text()]).toEqual([200, 'uploaded by URL']);
    const forged = await fetch(getUrl.replace('up/load.txt', 'up/other.txt'));
    expect(forged.status).toBe(403);
    s3.destroy();
  });

  it('WHEN_REQUIRED: full round trip', async () => {
    const s3 = client(env, 'WHEN_REQUIRED');
    await roundTrip(s3, 'sdk-when-required');
    s3.destroy();
  });
});

describe('B2 2024–25 behaviour (B2_LOCAL_S3_CHECKSUMS=reject)', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env({ env: { B2_LOCAL_S3_CHECKSUMS: 'reject' } });
    const s3 = client(env, 'WHEN_REQUIRED');
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-reject' }));
    s3.destroy();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('default settings fail PutObject with 400 InvalidArgument "Unsupported header"', async () => {
    const s3 = client(env, 'default');
    await expect(
      s3.send(new PutObjectCommand({ Bucket: 'sdk-reject', Key: 'x.txt', Body: 'x' })),
    ).rejects.toMatchObject({
      name: 'InvalidArgument',
      message: expect.stringContaining('Unsupported header'),
    });
    s3.destroy();
  });

  it('WHEN_REQUIRED uploads (single and multipart) work', async () => {
    const s3 = client(env, 'WHEN_REQUIRED');
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-reject', Key: 'x.txt', Body: 'x' }));
    await new Upload({
      client: s3,
      params: { Bucket: 'sdk-reject', Key: 'big.bin', Body: randomBytes(11 * 1024 * 1024) },
      partSize: 5 * 1024 * 1024,
    }).done();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk-reject', Key: 'x.txt' }));
    expect(await got.Body!.transformToString()).toBe('x');
    s3.destroy();
  });
});
