/**
 * Retries shaped for B2 under injected faults (emulator `POST /__admin/faults`): 503 SlowDown
 * with Retry-After, 429 and connection resets during a 200 MB multipart upload — the job
 * succeeds and the object is byte-exact; a 5–10% fault rate over many small uploads loses nothing.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createGunzip } from 'zlib';
import { cli, Estate, listVersionsJson, startEstate } from './fixture';

let estate: Estate;
let tmp: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-faults-'));
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function sha256OfGunzipped(file: string): Promise<string> {
  const h = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(file)
      .pipe(createGunzip())
      .on('data', (d: Buffer) => h.update(d))
      .on('end', resolve)
      .on('error', reject);
  });
  return h.digest('hex');
}

it('a 200 MB upload survives 503 SlowDown, 429 and connection resets, byte-exact', async () => {
  const dir = path.join(tmp, 'big');
  fs.mkdirSync(dir);
  const src = path.join(dir, 'huge.log');
  const h = createHash('sha256');
  const fd = fs.openSync(src, 'w');
  for (let i = 0; i < 25; i++) {
    const chunk = randomBytes(8 * 1000 * 1000); // incompressible: 200 MB stays ~200 MB gzipped
    h.update(chunk);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  const expected = h.digest('hex');

  await estate.emu.admin('POST', '/__admin/faults', {
    rules: [
      {
        operation: 's3:CreateMultipartUpload',
        status: 503,
        code: 'SlowDown',
        message: 'injected',
        retryAfter: 1,
        count: 1,
      },
      { operation: 's3:UploadPart', status: 503, code: 'SlowDown', message: 'injected', count: 2 },
      { operation: 's3:UploadPart', status: 429, code: 'TooManyRequests', message: 'injected', count: 1 },
      { operation: 's3:UploadPart', action: 'reset', count: 2 },
      {
        operation: 's3:CompleteMultipartUpload',
        status: 503,
        code: 'SlowDown',
        message: 'injected',
        count: 1,
      },
    ],
  });
  const metrics = path.join(tmp, 'faults.prom');
  const r = await cli(estate, ['audit-logs', '--dir', dir, '--json', '--metrics-file', metrics]);
  expect(r.code).toBe(0);
  const d = r.json<{ retries: number; uploaded: number }>();
  expect(d.uploaded).toBe(1);
  expect(d.retries).toBeGreaterThanOrEqual(7);
  expect(fs.readFileSync(metrics, 'utf8')).toContain(
    `backup_job_retries{job="audit-logs",env="dev"} ${d.retries}`,
  );
  const fired = (await estate.emu.admin('GET', '/__admin/faults')) as
    { rules?: { fired: number }[] } | { fired: number }[];
  const rules = Array.isArray(fired) ? fired : (fired.rules ?? []);
  expect(rules.reduce((s, x) => s + x.fired, 0)).toBe(7);

  const seg = (await listVersionsJson(estate, 'audit-logs/')).find((v) =>
    v.key.includes('huge.log@0-200000000'),
  )!;
  expect(seg).toBeDefined();
  const out = path.join(tmp, 'huge.log.gz');
  const restored = await cli(estate, ['restore', '--key', seg.key, '--to', out, '--json']);
  expect(restored.code).toBe(0);
  expect(await sha256OfGunzipped(out)).toBe(expected);
  fs.rmSync(src);
  fs.rmSync(out);
}, 180_000);

it('a 10% fault rate over 150 small uploads loses nothing', async () => {
  await fetch(`${estate.emu.url}/__admin/faults`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${estate.emu.info.adminToken}` },
  });
  const dir = path.join(tmp, 'many');
  fs.mkdirSync(dir);
  for (let i = 0; i < 150; i++)
    fs.writeFileSync(path.join(dir, `svc-${i}.log`), `line ${i}\n`.repeat(20 + i));
  await estate.emu.admin('POST', '/__admin/faults', {
    rules: [
      { operation: 's3:PutObject', status: 503, code: 'SlowDown', message: 'injected', fraction: 0.05 },
      { operation: 's3:PutObject', action: 'reset', fraction: 0.05 },
      { operation: 's3:HeadObject', status: 500, code: 'InternalError', message: 'injected', fraction: 0.05 },
    ],
  });
  const r = await cli(estate, ['audit-logs', '--dir', dir, '--name', 'many', '--json']);
  await fetch(`${estate.emu.url}/__admin/faults`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${estate.emu.info.adminToken}` },
  });
  expect(r.code).toBe(0);
  expect(r.json()).toMatchObject({ uploaded: 150 });
  expect(r.json<{ retries: number }>().retries).toBeGreaterThan(0);
  const v = await cli(estate, ['verify', '--prefix', 'audit-logs/', '--json']);
  expect(v.code).toBe(0);
  expect(v.json()).toMatchObject({ mismatch: 0, errors: 0 });
}, 120_000);
