/**
 * restic with an `s3:` repository on the emulator: init, two backups, `check --read-data`,
 * restore, diff. Then the B2 promise of one store under two APIs: objects restic wrote over S3
 * are read back with b2sdk over the native API (from .cache/venv, installed by tools/setup.js)
 * and must be byte-identical.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ok, run, S3Env, s3raw, startS3Env } from '../wire/s3helpers';

const PYTHON = path.resolve(__dirname, '..', '..', '..', '.cache', 'venv', 'bin', 'python');
const BUCKET = 'restic-conformance';
let env: S3Env;
let dir: string;
let restic: (...args: string[]) => Promise<string>;

beforeAll(async () => {
  env = await startS3Env();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restic-s3-'));
  const e: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_ACCESS_KEY_ID: env.keyId,
    AWS_SECRET_ACCESS_KEY: env.secret,
    AWS_DEFAULT_REGION: env.region,
    RESTIC_PASSWORD: 'conformance-only-password',
    RESTIC_CACHE_DIR: path.join(dir, 'cache'),
  };
  const repo = `s3:${env.url}/${BUCKET}`;
  restic = async (...args: string[]) =>
    ok(await run('restic', ['-r', repo, ...args], { env: e, timeoutMs: 180_000 }), `restic ${args.join(' ')}`)
      .stdout;
});
afterAll(async () => {
  await env?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

it('init, backup twice, check --read-data, restore and diff', async () => {
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(src, 'etc', 'app.conf'), 'setting = 1\n');
  fs.writeFileSync(path.join(src, 'blob.bin'), randomBytes(3 * 1024 * 1024));
  await restic('init');
  await restic('backup', '--host', 'ci', src);
  fs.writeFileSync(path.join(src, 'etc', 'app.conf'), 'setting = 2\n');
  fs.writeFileSync(path.join(src, 'new.txt'), 'added later');
  await restic('backup', '--host', 'ci', src);
  const check = await restic('check', '--read-data');
  expect(check).toContain('no errors were found');

  const snaps = JSON.parse(await restic('snapshots', '--json')) as Array<{ short_id: string }>;
  expect(snaps).toHaveLength(2);
  const diff = await restic('diff', snaps[0].short_id, snaps[1].short_id);
  expect(diff).toMatch(/^\+\s+.*new\.txt$/m);
  expect(diff).toMatch(/^M\s+.*app\.conf$/m);

  const out = path.join(dir, 'restore');
  await restic('restore', 'latest', '--target', out);
  const restored = path.join(out, src);
  expect(fs.readFileSync(path.join(restored, 'etc', 'app.conf'), 'utf8')).toBe('setting = 2\n');
  expect(sha256(fs.readFileSync(path.join(restored, 'blob.bin')))).toBe(
    sha256(fs.readFileSync(path.join(src, 'blob.bin'))),
  );
  expect(fs.readFileSync(path.join(restored, 'new.txt'), 'utf8')).toBe('added later');
});

it('objects restic wrote over S3 are byte-identical when read with b2sdk over the native API', async () => {
  if (!fs.existsSync(PYTHON))
    throw new Error(`${PYTHON} is missing: run "node tools/setup.js" (creates .cache/venv with b2sdk)`);
  const script = `
import hashlib, io, json, sys
from b2sdk.v2 import InMemoryAccountInfo, B2Api
api = B2Api(InMemoryAccountInfo())
api.authorize_account(sys.argv[1], sys.argv[2], sys.argv[3])
bucket = api.get_bucket_by_name(sys.argv[4])
out = {}
for fv, _ in bucket.ls(recursive=True):
    if fv.file_name == 'config' or fv.file_name.startswith('data/'):
        buf = io.BytesIO()
        bucket.download_file_by_name(fv.file_name).save(buf)
        out[fv.file_name] = hashlib.sha256(buf.getvalue()).hexdigest()
print(json.dumps(out))
`;
  const r = ok(
    await run(PYTHON, ['-c', script, env.url, env.emu.info.keyId, env.emu.info.applicationKey, BUCKET], {
      env: { PATH: process.env.PATH, HOME: dir },
    }),
    'b2sdk read',
  );
  const viaNative = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
  const names = Object.keys(viaNative);
  expect(names).toContain('config');
  expect(names.filter((n) => n.startsWith('data/')).length).toBeGreaterThan(0);
  for (const name of names) {
    const s3 = await s3raw(env, 'GET', `/${BUCKET}/${name}`);
    expect(s3.status).toBe(200);
    expect(viaNative[name]).toBe(sha256(s3.body));
  }
});
