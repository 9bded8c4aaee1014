/**
 * rclone's s3 backend (provider Other, env-var config only — never a user config) against the
 * emulator: bucket creation, copy with multipart (small cutoff), check, delete (→ B2 hide marker,
 * old version kept), and the S3-written files visible over the native API.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ok, run, S3Env, startS3Env } from '../wire/s3helpers';

let env: S3Env;
let dir: string;
let rc: (...args: string[]) => Promise<string>;
const BUCKET = 'rclone-s3-conformance';

beforeAll(async () => {
  env = await startS3Env();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rclone-s3-'));
  const e: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    RCLONE_CONFIG: path.join(dir, 'no-such-rclone.conf'),
    RCLONE_CONFIG_E_TYPE: 's3',
    RCLONE_CONFIG_E_PROVIDER: 'Other',
    RCLONE_CONFIG_E_ACCESS_KEY_ID: env.keyId,
    RCLONE_CONFIG_E_SECRET_ACCESS_KEY: env.secret,
    RCLONE_CONFIG_E_ENDPOINT: env.url,
    RCLONE_CONFIG_E_REGION: env.region,
    RCLONE_CONFIG_E_FORCE_PATH_STYLE: 'true',
    // Exercise multipart with small files: B2 parts must be >= 5 MB except the last.
    RCLONE_CONFIG_E_UPLOAD_CUTOFF: '5M',
    RCLONE_CONFIG_E_CHUNK_SIZE: '5M',
  };
  rc = async (...args: string[]) =>
    ok(await run('rclone', args, { env: e }), `rclone ${args.join(' ')}`).stdout;
});
afterAll(async () => {
  await env?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('copies a tree (with a multipart file), checks it, and deletes by hiding', async () => {
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a.txt'), 'alpha');
  fs.writeFileSync(path.join(src, 'sub', 'b.txt'), 'beta');
  fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(12 * 1024 * 1024));
  await rc('mkdir', `e:${BUCKET}`);
  await rc('copy', src, `e:${BUCKET}/data`);
  const listed = (await rc('lsf', '-R', `e:${BUCKET}/data`)).trim().split('\n').sort();
  expect(listed).toEqual(['a.txt', 'big.bin', 'sub/', 'sub/b.txt']);
  // `check` compares sizes and MD5s: the multipart object's ETag must not pass for an MD5.
  await rc('check', src, `e:${BUCKET}/data`);
  await rc('check', '--download', src, `e:${BUCKET}/data`);

  await rc('deletefile', `e:${BUCKET}/data/a.txt`);
  expect((await rc('lsf', `e:${BUCKET}/data`)).split('\n')).not.toContain('a.txt');
  const buckets = (await env.native('b2_list_buckets', { accountId: env.accountId, bucketName: BUCKET })) as {
    buckets: Array<{ bucketId: string }>;
  };
  const versions = (await env.native('b2_list_file_versions', {
    bucketId: buckets.buckets[0].bucketId,
    prefix: 'data/a.txt',
  })) as {
    files: Array<{ action: string }>;
  };
  expect(versions.files.map((f) => f.action)).toEqual(['hide', 'upload']);
});

it('sync back down reproduces the tree', async () => {
  const out = path.join(dir, 'out');
  await rc('sync', `e:${BUCKET}/data`, out);
  expect(fs.readFileSync(path.join(out, 'sub', 'b.txt'), 'utf8')).toBe('beta');
  expect(fs.statSync(path.join(out, 'big.bin')).size).toBe(12 * 1024 * 1024);
  expect(fs.existsSync(path.join(out, 'a.txt'))).toBe(false);
});

it('keeps awkward names byte-exact across S3 and the native API', async () => {
  const src = path.join(dir, 'names');
  fs.mkdirSync(src, { recursive: true });
  const names = ['a b+c.txt', 'ünïcødé €.txt', "quote'd (1) & more=ok.txt", 'percent%20literal.txt'];
  for (const n of names) fs.writeFileSync(path.join(src, n), n);
  await rc('copy', src, `e:${BUCKET}/names`);
  const listed = (await rc('lsf', `e:${BUCKET}/names`)).trim().split('\n').sort();
  expect(listed).toEqual([...names].sort());
  const buckets = (await env.native('b2_list_buckets', { accountId: env.accountId, bucketName: BUCKET })) as {
    buckets: Array<{ bucketId: string }>;
  };
  const native = (await env.native('b2_list_file_names', {
    bucketId: buckets.buckets[0].bucketId,
    prefix: 'names/',
  })) as {
    files: Array<{ fileName: string }>;
  };
  expect(native.files.map((f) => f.fileName).sort()).toEqual(names.map((n) => `names/${n}`).sort());
});
