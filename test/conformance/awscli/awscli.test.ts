/**
 * The aws CLI v2 (Debian `awscli`, /usr/bin/aws) against the emulator's S3 API: multipart
 * `s3 cp` both ways, `s3api` versions after overwrite and delete (B2 hide markers), presigned URL
 * fetched with curl. No user config: credentials and region come from the environment only.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { awsEnv, ok, run, S3Env, startS3Env } from '../wire/s3helpers';

const AWS = '/usr/bin/aws';
const BUCKET = 'awscli-conformance';
let env: S3Env;
let dir: string;
let aws: (...args: string[]) => Promise<string>;

beforeAll(async () => {
  if (!fs.existsSync(AWS))
    throw new Error(`${AWS} is missing: run "node tools/setup.js" (installs Debian awscli)`);
  env = await startS3Env();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'awscli-'));
  const e = awsEnv(env, dir);
  aws = async (...args: string[]) =>
    ok(
      await run(AWS, ['--endpoint-url', env.url, '--no-cli-pager', ...args], { env: e }),
      `aws ${args.join(' ')}`,
    ).stdout;
});
afterAll(async () => {
  await env?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('s3 mb + multipart s3 cp up and down round-trips the bytes; ETag is md5-of-md5s-N', async () => {
  await aws('s3', 'mb', `s3://${BUCKET}`);
  const src = path.join(dir, 'big.bin');
  const data = randomBytes(20 * 1024 * 1024); // above the CLI's 8 MiB multipart threshold
  fs.writeFileSync(src, data);
  await aws('s3', 'cp', '--only-show-errors', src, `s3://${BUCKET}/data/big.bin`);
  const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', BUCKET, '--key', 'data/big.bin')) as {
    ETag: string;
    ContentLength: number;
    VersionId: string;
  };
  expect(head.ContentLength).toBe(data.length);
  expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
  // The object is a B2 large file, visible over the native API under the same id.
  const info = await env.native('b2_get_file_info', { fileId: head.VersionId });
  expect(info.contentLength).toBe(data.length);
  const back = path.join(dir, 'back.bin');
  await aws('s3', 'cp', '--only-show-errors', `s3://${BUCKET}/data/big.bin`, back);
  expect(createHash('sha256').update(fs.readFileSync(back)).digest('hex')).toBe(
    createHash('sha256').update(data).digest('hex'),
  );
});

it('s3api list-object-versions shows every version and the hide marker as a delete marker', async () => {
  const f = path.join(dir, 'v.txt');
  fs.writeFileSync(f, 'one');
  await aws('s3', 'cp', '--only-show-errors', f, `s3://${BUCKET}/ver/v.txt`);
  fs.writeFileSync(f, 'two');
  await aws('s3', 'cp', '--only-show-errors', f, `s3://${BUCKET}/ver/v.txt`);
  await aws('s3', 'rm', '--only-show-errors', `s3://${BUCKET}/ver/v.txt`);
  const out = JSON.parse(
    await aws('s3api', 'list-object-versions', '--bucket', BUCKET, '--prefix', 'ver/'),
  ) as {
    Versions: Array<{ Key: string; IsLatest: boolean; Size: number }>;
    DeleteMarkers: Array<{ Key: string; IsLatest: boolean; VersionId: string }>;
  };
  expect(out.Versions.map((v) => [v.Key, v.IsLatest, v.Size])).toEqual([
    ['ver/v.txt', false, 3],
    ['ver/v.txt', false, 3],
  ]);
  expect(out.DeleteMarkers).toHaveLength(1);
  expect(out.DeleteMarkers[0].IsLatest).toBe(true);
  const native = await env.native('b2_get_file_info', { fileId: out.DeleteMarkers[0].VersionId });
  expect(native.action).toBe('hide');
  const ls = await run(AWS, ['--endpoint-url', env.url, 's3', 'ls', `s3://${BUCKET}/ver/`], {
    env: awsEnv(env, dir),
  });
  expect(ls.stdout.trim()).toBe('');
});

it('s3 presign gives a URL that curl can fetch', async () => {
  const f = path.join(dir, 'p.txt');
  fs.writeFileSync(f, 'presigned via aws cli');
  await aws('s3', 'cp', '--only-show-errors', f, `s3://${BUCKET}/pre/p.txt`);
  const url = (await aws('s3', 'presign', `s3://${BUCKET}/pre/p.txt`, '--expires-in', '300')).trim();
  const got = ok(await run('curl', ['-sS', '-f', url]), 'curl presigned');
  expect(got.stdout).toBe('presigned via aws cli');
  const tampered = await run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    url.replace('X-Amz-Expires=300', 'X-Amz-Expires=301'),
  ]);
  expect(tampered.stdout).toBe('403');
});
