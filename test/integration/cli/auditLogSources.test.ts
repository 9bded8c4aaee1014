/**
 * Several audit-log sources in one bucket (issue 11: nothing lost, nothing silently replaced).
 *
 * 1. Segment keys name the source (`audit-logs/<name>/YYYY/MM/DD/…`): two sources with a file of
 *    the same name and size on the same day used to write one key, the second run's bytes
 *    replacing the first's (the first then expired as a noncurrent version).
 * 2. The incremental state is bound to its source (host and absolute directory): two hosts whose
 *    log directories share a name (every host's /var/log/audit) used to share one state object,
 *    and a second source whose first KiB matched uploaded only from the first source's offset.
 *    Now the second is refused (exit 2) before anything is uploaded; `--adopt-state` moves a
 *    source deliberately.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { cli, Estate, listVersionsJson, startEstate } from './fixture';

let estate: Estate;
let tmp: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-auditsrc-'));
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function lines(tag: string, n: number): string {
  return Array.from({ length: n }, (_, i) => `{"tag":"${tag}","i":${String(i).padStart(6, '0')}}\n`).join('');
}

function source(rel: string, files: Record<string, string>): string {
  const dir = path.join(tmp, rel);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

const auditLogs = (dir: string, host: string, ...extra: string[]): ReturnType<typeof cli> =>
  cli(estate, ['audit-logs', '--dir', dir, '--json', ...extra], { BACKUP_HOSTNAME: host });

/** Every current segment key (new or old layout) of `file`, with its byte range. */
async function segmentsOf(
  file: string,
  under = 'audit-logs/',
): Promise<{ key: string; start: number; end: number }[]> {
  return (await listVersionsJson(estate, under))
    .filter((v) => v.latest && !v.hideMarker)
    .map((v) => ({ key: v.key, m: /\/([^/]+?)(?:~\d+)?@(\d+)-(\d+)\.gz$/.exec(v.key) }))
    .filter((x) => x.m && x.m[1] === file)
    .map((x) => ({ key: x.key, start: Number(x.m![2]), end: Number(x.m![3]) }))
    .sort((a, b) => a.start - b.start);
}

/** Restores one segment through the CLI (verified against its run manifest) and gunzips it. */
async function restoreSegment(key: string): Promise<string> {
  const r = await cli(estate, ['restore', '--key', key, '--to', '-']);
  expect({ key, code: r.code, stderr: r.stderr }).toEqual({ key, code: 0, stderr: expect.any(String) });
  return gunzipSync(r.stdoutBuffer).toString('utf8');
}

/** A source's file as the bucket holds it: its segments under `under`, in offset order, no gaps. */
async function restoredFile(under: string, file: string): Promise<string> {
  let out = '';
  let at = 0;
  for (const s of await segmentsOf(file, under)) {
    expect(s.start).toBe(at);
    out += await restoreSegment(s.key);
    at = s.end;
  }
  return out;
}

it('two sources with one file name, size and day write distinct keys, each restoring its own bytes', async () => {
  const a = source('same-day/one/logs', { 'audit.log': lines('source-one', 300) });
  const b = source('same-day/two/logs', { 'audit.log': lines('source-two', 300) });
  expect(fs.statSync(path.join(a, 'audit.log')).size).toBe(fs.statSync(path.join(b, 'audit.log')).size);
  expect((await auditLogs(a, 'host-a', '--name', 'web-one')).code).toBe(0);
  const keysA = (await listVersionsJson(estate, 'audit-logs/')).map((v) => v.key);
  expect((await auditLogs(b, 'host-a', '--name', 'web-two')).code).toBe(0);
  const keysB = (await listVersionsJson(estate, 'audit-logs/'))
    .map((v) => v.key)
    .filter((k) => !keysA.includes(k));
  expect(keysA).toHaveLength(1);
  expect(keysB).toHaveLength(1); // a key of its own: not a second version of the first source's
  expect(await restoreSegment(keysA[0])).toBe(fs.readFileSync(path.join(a, 'audit.log'), 'utf8'));
  expect(await restoreSegment(keysB[0])).toBe(fs.readFileSync(path.join(b, 'audit.log'), 'utf8'));
  expect(await restoredFile('audit-logs/web-one/', 'audit.log')).toBe(
    fs.readFileSync(path.join(a, 'audit.log'), 'utf8'),
  );
  expect(keysA[0]).toMatch(/^audit-logs\/web-one\/\d{4}\/\d{2}\/\d{2}\/audit\.log@0-\d+\.gz$/);
  expect(keysB[0]).toMatch(/^audit-logs\/web-two\/\d{4}\/\d{2}\/\d{2}\/audit\.log@0-\d+\.gz$/);
});

it('an unsafe --name is refused (exit 2) naming the flag and the allowed characters', async () => {
  const dir = source('names/logs', { 'x.log': 'x\n' });
  for (const bad of ['a/b', '..', '2026', 'a b']) {
    const r = await auditLogs(dir, 'host-a', '--name', bad);
    expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
    expect(r.stderr).toContain(`--name "${bad}"`);
  }
  expect((await auditLogs(dir, 'host-a', '--name', 'a/b')).stderr).toMatch(
    /letters, digits, '\.', '_' and '-' only/,
  );
  const year = source('names/2026', { 'x.log': 'x\n' });
  const r = await auditLogs(year, 'host-a');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/its name "2026" is the default source name .*pass --name/);
  expect(await listVersionsJson(estate, 'audit-logs/names')).toEqual([]);
});
