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
const stateAndSegments = async (): Promise<unknown> => [
  await listVersionsJson(estate, 'audit-logs/'),
  await listVersionsJson(estate, 'state/'),
];

/** A boilerplate first KiB, the same on every host (what makes bug 2 skip bytes silently). */
const HEADER = `# audit log, format v2${' '.repeat(1000)}\n`.padEnd(1100, '#') + '\n';

it('a second host with the same directory name never loses bytes: refused (exit 2) before uploading', async () => {
  const contentA = HEADER + lines('host-a', 100);
  const contentB = HEADER + lines('host-b', 400); // same first KiB, longer
  const a = source('host-a/var/log/audit', { 'host.log': contentA });
  const b = source('host-b/var/log/audit', { 'host.log': contentB });
  expect((await auditLogs(a, 'host-a')).code).toBe(0);
  const before = await stateAndSegments();
  const second = await auditLogs(b, 'host-b');
  if (second.code === 0) {
    // the old behaviour: it "succeeded" — then every byte of host-b's file must be stored
    expect(await restoredFile('audit-logs/', 'host.log')).toBe(contentB);
  }
  expect(second.code).toBe(2);
  expect(second.stderr).toContain(
    `state/audit-logs/audit.json belongs to host-a:${a}; this is host-b:${b} — give this source its own --name (e.g. --name host-b-audit), or pass --adopt-state if the directory really moved`,
  );
  expect(await stateAndSegments()).toEqual(before); // nothing uploaded, state untouched

  // Following the advice: its own name, its own state and keys; both restore byte-exact.
  const own = await auditLogs(b, 'host-b', '--name', 'host-b-audit');
  expect(own.code).toBe(0);
  expect(own.json()).toMatchObject({ uploaded: 1 });
  expect(await restoredFile('audit-logs/audit/', 'host.log')).toBe(contentA);
  expect(await restoredFile('audit-logs/host-b-audit/', 'host.log')).toBe(contentB);
});

it('--adopt-state moves a source: only new bytes uploaded, the state now names the new directory', async () => {
  const old = source('moving/old/audit', { 'm.log': lines('moving', 50) });
  expect((await auditLogs(old, 'host-m', '--name', 'mover')).code).toBe(0);
  const moved = path.join(tmp, 'moving', 'new', 'audit');
  fs.mkdirSync(path.dirname(moved), { recursive: true });
  fs.renameSync(old, moved);
  fs.appendFileSync(path.join(moved, 'm.log'), lines('moved', 20));
  const before = await stateAndSegments();
  const refused = await auditLogs(moved, 'host-m', '--name', 'mover');
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(
    `state/audit-logs/mover.json belongs to host-m:${old}; this is host-m:${moved} — give this source its own --name (e.g. --name new-mover), or pass --adopt-state`,
  );
  expect(await stateAndSegments()).toEqual(before);
  const adopted = await auditLogs(moved, 'host-m', '--name', 'mover', '--adopt-state');
  expect(adopted.code).toBe(0);
  expect(adopted.json()).toMatchObject({
    uploaded: 1,
    adoptedStateFrom: { host: 'host-m', dir: old, name: 'mover' },
    source: { host: 'host-m', dir: moved, name: 'mover' },
  });
  expect(adopted.stdout + adopted.stderr).not.toContain('Error');
  expect(await restoredFile('audit-logs/mover/', 'm.log')).toBe(
    fs.readFileSync(path.join(moved, 'm.log'), 'utf8'),
  );
  const next = await auditLogs(moved, 'host-m', '--name', 'mover');
  expect(next.code).toBe(0);
  expect(next.json()).toMatchObject({ uploaded: 0 });
});

it('a --state-file is bound the same way; a state recording no source is adopted, then recorded', async () => {
  const dir = source('statefile/h1/audit', { 's.log': lines('sf', 30) });
  const stateFile = path.join(tmp, 'statefile', 'state.json');
  // A state as the previous release wrote it: offsets, no source.
  const first = await auditLogs(dir, 'host-1', '--name', 'sf', '--state-file', stateFile);
  expect(first.code).toBe(0);
  const written = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
  expect(written.source).toEqual({ host: 'host-1', dir, name: 'sf' });
  delete written.source;
  fs.writeFileSync(stateFile, JSON.stringify(written));
  fs.appendFileSync(path.join(dir, 's.log'), lines('sf-2', 5));
  const legacy = await auditLogs(dir, 'host-1', '--name', 'sf', '--state-file', stateFile);
  expect(legacy.code).toBe(0);
  expect(legacy.json()).toMatchObject({ uploaded: 1 });
  expect(JSON.parse(fs.readFileSync(stateFile, 'utf8'))).toMatchObject({
    source: { host: 'host-1', dir, name: 'sf' },
  });
  expect(await restoredFile('audit-logs/sf/', 's.log')).toBe(
    fs.readFileSync(path.join(dir, 's.log'), 'utf8'),
  );

  // The same state file on another host (a copied config, a shared volume): refused, untouched.
  const other = source('statefile/h2/audit', { 's.log': lines('sf', 30) + lines('other-host', 5) });
  const stateBefore = fs.readFileSync(stateFile, 'utf8');
  const before = await stateAndSegments();
  const r = await auditLogs(other, 'host-2', '--name', 'sf', '--state-file', stateFile);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`${stateFile} belongs to host-1:${dir}; this is host-2:${other}`);
  expect(r.stderr).toContain('--name host-2-sf');
  expect(fs.readFileSync(stateFile, 'utf8')).toBe(stateBefore);
  expect(await stateAndSegments()).toEqual(before);
  // A dry run is refused the same way; another --name on the same state is refused too.
  expect(
    (await auditLogs(other, 'host-2', '--name', 'sf', '--state-file', stateFile, '--dry-run')).code,
  ).toBe(2);
  const renamed = await auditLogs(dir, 'host-1', '--name', 'sf-new', '--state-file', stateFile);
  expect(renamed.code).toBe(2);
  expect(renamed.stderr).toMatch(
    /belongs to source "sf" .*this run is named "sf-new" — pass --name sf as before, or --adopt-state/,
  );
});

it('two hosts claiming one unbound state at the same time: at most one goes on, and its bytes are all stored', async () => {
  for (const round of [1, 2, 3]) {
    const name = `race-${round}`;
    const a = source(`race/${round}/host-a/${name}`, { 'r.log': HEADER + lines('race-a', 60) });
    const b = source(`race/${round}/host-b/${name}`, { 'r.log': HEADER + lines('race-b', 90) });
    const [ra, rb] = await Promise.all([auditLogs(a, 'host-a'), auditLogs(b, 'host-b')]);
    const ok = [ra, rb].filter((r) => r.code === 0);
    expect({ round, codes: [ra.code, rb.code].sort() }).toEqual({
      round,
      codes: expect.arrayContaining([2]),
    });
    for (const r of [ra, rb].filter((x) => x.code === 2))
      expect(r.stderr).toMatch(/belongs to host-|claimed by another run at the same time/);
    if (ok.length === 1) {
      const dir = ok[0] === ra ? a : b;
      expect(await restoredFile(`audit-logs/${name}/`, 'r.log')).toBe(
        fs.readFileSync(path.join(dir, 'r.log'), 'utf8'),
      );
    } else expect(await segmentsOf('r.log', `audit-logs/${name}/`)).toEqual([]);
    // Afterwards the state is one host's: its next run goes on, the other's is refused by name.
    const again = [await auditLogs(a, 'host-a'), await auditLogs(b, 'host-b')];
    expect(again.map((r) => r.code).sort()).toEqual([0, 2]);
    expect(again.find((r) => r.code === 2)!.stderr).toMatch(
      /belongs to host-.*give this source its own --name/,
    );
    const winner = again[0].code === 0 ? a : b;
    expect(await restoredFile(`audit-logs/${name}/`, 'r.log')).toBe(
      fs.readFileSync(path.join(winner, 'r.log'), 'utf8'),
    );
  }
});
