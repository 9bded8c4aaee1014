/**
 * Progress off a terminal (issue 11 §10), through the CLI as cron and Kubernetes run it (stderr
 * not a TTY): one plain line per `--progress-interval` with the figures, objects counted as
 * objects by audit-logs and verify, bytes with rate and ETA by restore; `--no-progress` silences
 * it; a bad interval is a usage error.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli, Estate, startEstate } from './fixture';

let estate: Estate;
let tmp: string;
let dir: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-progress-'));
  dir = path.join(tmp, 'logs');
  fs.mkdirSync(dir);
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, `svc-${i}.log`), `line ${i}\n`.repeat(50));
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const progressLines = (stderr: string, label: string): string[] =>
  stderr.split('\n').filter((l) => l.startsWith(`${label}: `));

it('audit-logs and verify print object counts per interval off a TTY, never bytes', async () => {
  const up = await cli(estate, ['audit-logs', '--dir', dir, '--name', 'p', '--progress-interval', '0.001']);
  expect(up.code).toBe(0);
  const a = progressLines(up.stderr, 'audit-logs');
  expect(a.length).toBeGreaterThanOrEqual(1);
  for (const l of a)
    expect(l).toMatch(/^audit-logs: \d+ \/ 40 objects \(\d+\.\d%\), [\d.]+ objects\/s(, ETA \d+:\d\d)?$/);
  expect(up.stderr).not.toContain('\r');
  expect(up.stderr).not.toContain('\u001b[K');

  const v = await cli(estate, ['verify', '--prefix', 'audit-logs/', '--progress-interval', '0.001']);
  expect(v.code).toBe(0);
  const lines = [...progressLines(v.stderr, 'verify'), ...progressLines(v.stderr, 'reading manifests')];
  expect(lines.length).toBeGreaterThanOrEqual(1);
  for (const l of lines) {
    expect(l).toMatch(/: \d+ \/ \d+ objects \(\d+\.\d%\), [\d.]+ objects\/s/);
    expect(l).not.toMatch(/\d (B|KiB|MiB|GiB)\b/);
  }
}, 120_000);

it('restore prints bytes, total, rate and ETA per interval; --no-progress prints none', async () => {
  const src = path.join(tmp, 'big.json');
  fs.writeFileSync(src, JSON.stringify({ blob: randomBytes(12_000_000).toString('base64') }));
  const up = await cli(estate, ['snapshot-config', '--provider', 'aws', '--from', src, '--json']);
  expect(up.code).toBe(0);
  const key = up.json<{ key: string }>().key;
  const out = path.join(tmp, 'restored.json');
  const r = await cli(estate, ['restore', '--key', key, '--to', out, '--progress-interval', '0.001']);
  expect(r.code).toBe(0);
  const lines = r.stderr.split('\n').filter((l) => /^restore[^:]*: /.test(l) && l.includes('/s'));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  for (const l of lines)
    expect(l).toMatch(
      /: [\d.]+ (B|KiB|MiB) \/ 15\.\d MiB \(\d+\.\d%\), [\d.]+ (B|KiB|MiB|GiB)\/s(, ETA \d+:\d\d)?$/,
    );

  fs.rmSync(out);
  const quiet = await cli(estate, [
    'restore',
    '--key',
    key,
    '--to',
    out,
    '--no-progress',
    '--progress-interval',
    '0.001',
  ]);
  expect(quiet.code).toBe(0);
  expect(quiet.stderr).not.toMatch(/\/s(, ETA|$)/m);
}, 120_000);

it('a bad --progress-interval is a usage error, named', async () => {
  const r = await cli(estate, ['list', '--progress-interval', '0']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--progress-interval must be a positive number of seconds (got "0")');
});
