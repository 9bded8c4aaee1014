/**
 * `verify --max-age` (issue 11: verify never calls broken backups healthy): a backup job that
 * stopped running for one target, or fails every night for it, leaves old backups that still
 * verify — so each backup target in scope (here snapshot-config's providers: configs/aws/ keeps
 * running, configs/gcp/ stops, configs/azure/ fails every run through an injected PutObject fault;
 * and a db-dump of a database that cannot be reached) must have a successful run no older than
 * --max-age by the emulator's clock (advanced through its admin API, never slept), whatever the
 * other targets of the same job did.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Clock, systemClock } from '../../../infra/b2/clock';
import { cli, EmulatorClock, emulatorClock, Estate, listVersionsJson, startEstate } from './fixture';

const HOUR = 3_600;
let estate: Estate;
let clock: EmulatorClock;
let tmp: string;

interface Fresh {
  job: string;
  target: string | null;
  retired: boolean;
  lastSuccess: string | null;
  ageSeconds: number | null;
  failedSince: number;
  newestFailure: string | null;
  stale: boolean;
  problem?: string;
}
interface VerifyDoc {
  ok: boolean;
  maxAge: string | null;
  retired: string[];
  freshness: Fresh[];
}

const run = (args: string[], at: Clock = clock): ReturnType<typeof cli> =>
  cli(estate, args, {}, undefined, { clock: at });
const verify = async (
  ...extra: string[]
): Promise<{ code: number; doc: VerifyDoc; stdout: string; stderr: string }> => {
  const r = await run(['verify', '--json', ...extra]);
  return { code: r.code, doc: r.json<VerifyDoc>(), stdout: r.stdout, stderr: r.stderr };
};
async function advanceHours(hours: number): Promise<void> {
  await estate.emu.admin('POST', '/__admin/clock', { advanceSeconds: hours * HOUR });
  await clock.sync();
}
/** A snapshot-config run of one provider with new content (so it uploads); its exit code. */
async function snapshot(provider: string): Promise<number> {
  const file = path.join(tmp, `${provider}.json`);
  fs.writeFileSync(file, JSON.stringify({ provider, at: clock.now() }));
  return (await run(['snapshot-config', '--provider', provider, '--from', file])).code;
}
const entry = (doc: VerifyDoc, target: string): Fresh | undefined =>
  doc.freshness.find((f) => f.target === target);
/** A clock stopped at `ms` (the boundary test needs an exact age). */
const frozenAt = (ms: number): Clock => ({ now: () => ms, sleep: systemClock.sleep });

beforeAll(async () => {
  estate = await startEstate();
  clock = await emulatorClock(estate);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-freshness-'));
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('verify --max-age', () => {
  it('a fresh job passes; without --max-age each job’s last success is reported, nothing judged', async () => {
    expect(await snapshot('aws')).toBe(0);
    expect(await snapshot('gcp')).toBe(0);
    const plain = await verify();
    expect(plain.code).toBe(0);
    expect(plain.doc.maxAge).toBeNull();
    expect(plain.doc.freshness).toEqual([
      expect.objectContaining({
        job: 'snapshot-config',
        target: 'configs/aws/',
        failedSince: 0,
        stale: false,
      }),
      expect.objectContaining({
        job: 'snapshot-config',
        target: 'configs/gcp/',
        failedSince: 0,
        stale: false,
      }),
    ]);
    const text = await run(['verify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /last successful run: snapshot-config configs\/aws\/ 20\d\d-.*Z \(\d+ s ago\), snapshot-config configs\/gcp\/ 20\d\d-.*Z \(\d+ s ago\)/,
    );
    const fresh = await verify('--max-age', '26h');
    expect(fresh.code).toBe(0);
    expect(fresh.doc.freshness.map((f) => f.stale)).toEqual([false, false]);
  });

  it('one target that stopped fails its job although another target of the job runs daily: exit 3 naming job and target', async () => {
    await advanceHours(24);
    expect(await snapshot('aws')).toBe(0); // aws runs daily; gcp stopped after the first day
    await advanceHours(24);
    expect(await snapshot('aws')).toBe(0);
    // No --prefix: aws's daily runs keep the job busy, but gcp is judged on its own runs.
    const all = await verify('--max-age', '26h');
    expect(all.code).toBe(3);
    expect(entry(all.doc, 'configs/aws/')).toMatchObject({ job: 'snapshot-config', stale: false });
    expect(entry(all.doc, 'configs/gcp/')).toMatchObject({
      job: 'snapshot-config',
      stale: true,
      failedSince: 0,
    });
    expect(entry(all.doc, 'configs/gcp/')!.ageSeconds).toBeGreaterThanOrEqual(48 * HOUR);
    expect(all.stderr).toMatch(
      /INTEGRITY FAILURE: 1 problem\(s\): snapshot-config configs\/gcp\/: last successful run \S+Z \(2 d ago, older than --max-age 26h\); if gcp was decommissioned, pass --retired configs\/gcp\/$/m,
    );
    expect(all.stderr).not.toMatch(/configs\/aws\/: last successful run/);
    // A --prefix selects the targets under it.
    const aws = await verify('--prefix', 'configs/aws/', '--max-age', '26h');
    expect(aws.code).toBe(0);
    expect(aws.doc.freshness.map((f) => f.target)).toEqual(['configs/aws/']);
    const gcp = await verify('--prefix', 'configs/gcp/', '--max-age', '26h');
    expect(gcp.code).toBe(3);
    expect(gcp.doc.freshness).toEqual([
      expect.objectContaining({
        job: 'snapshot-config',
        target: 'configs/gcp/',
        stale: true,
        failedSince: 0,
      }),
    ]);
    // Decommissioned on purpose: --retired stops judging it (still reported), the rest is judged as before.
    const retired = await run(['verify', '--max-age', '26h', '--retired', 'configs/gcp/']);
    expect(retired.code).toBe(0);
    expect(retired.stdout).toMatch(/snapshot-config configs\/gcp\/ \S+Z \(2 d ago, retired\)/);
    const retiredJson = await verify('--max-age', '26h', '--retired', 'configs/gcp/');
    expect(retiredJson.code).toBe(0);
    expect(retiredJson.doc.retired).toEqual(['configs/gcp/']);
    expect(entry(retiredJson.doc, 'configs/gcp/')).toMatchObject({ retired: true, stale: false });
    // Retiring another target does not excuse gcp; a --retired that names no target is noted.
    const other = await run(['verify', '--max-age', '26h', '--retired', 'configs/azure/']);
    expect(other.code).toBe(3);
    expect(other.stdout).toMatch(/note: --retired configs\/azure\/ matches no target in scope/);
    const typo = await run(['verify', '--max-age', '26h', '--retired', 'gcp']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--retired "gcp": not a backup target .* configs\/gcp\//);
    // --since: a target with no run at all in that window is out of scope.
    expect((await verify('--max-age', '26h', '--since', '36h')).code).toBe(0);
    expect((await verify('--max-age', '26h', '--since', '3d')).code).toBe(3);
    // Every reconcile check still passes: only freshness failed.
    expect(await verify('--prefix', 'configs/gcp/')).toMatchObject({ code: 0 });
    expect(await snapshot('gcp')).toBe(0);
    expect((await verify('--prefix', 'configs/gcp/', '--max-age', '26h')).code).toBe(0);
    expect((await verify('--max-age', '26h')).code).toBe(0);
    // Back in service while still --retired: judged no more, but the output says so.
    const back = await run(['verify', '--max-age', '26h', '--retired', 'configs/gcp/']);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/note: snapshot-config configs\/gcp\/ is --retired but succeeded \d+ s ago/);
  });

  it('a target whose runs all failed since its last success is named with the failure count; other targets keep theirs', async () => {
    expect(await snapshot('azure')).toBe(0);
    // From now on azure's object upload is refused (the run manifest, recording the failure, is not).
    await estate.emu.admin('POST', '/__admin/faults', {
      operation: 's3:PutObject',
      path: '/configs/azure/',
      status: 403,
      code: 'AccessDenied',
      message: 'credential expired',
    });
    for (let night = 1; night <= 3; night++) {
      await advanceHours(24);
      expect(await snapshot('azure')).toBe(1);
      expect(await snapshot('aws')).toBe(0); // aws keeps succeeding every night
    }
    const r = await verify('--max-age', '26h');
    expect(r.code).toBe(3);
    const f = entry(r.doc, 'configs/azure/')!;
    expect(f).toMatchObject({ job: 'snapshot-config', stale: true, failedSince: 3 });
    expect(Date.parse(f.newestFailure!)).toBeGreaterThan(Date.parse(f.lastSuccess!) + 71 * HOUR * 1000);
    // azure's failures are azure's: aws (succeeding) and gcp (stopped) count none of them.
    expect(entry(r.doc, 'configs/aws/')).toMatchObject({ stale: false, failedSince: 0, newestFailure: null });
    expect(entry(r.doc, 'configs/gcp/')).toMatchObject({ stale: true, failedSince: 0, newestFailure: null });
    expect(r.stderr).toMatch(
      /snapshot-config configs\/azure\/: last successful run \S+Z \(3 d ago, older than --max-age 26h\); 3 failed run\(s\) since, newest \S+Z; if azure was decommissioned, pass --retired configs\/azure\//,
    );
    expect(r.stderr).toMatch(/snapshot-config configs\/gcp\/: last successful run \S+Z \(3 d ago/);
    // The newest run is seconds old but failed: it never counts as fresh. Only the last success's
    // age decides, so a longer --max-age accepts the same history (the failures still reported).
    const lenient = await verify('--prefix', 'configs/azure/', '--max-age', '4d');
    expect(lenient.code).toBe(0);
    expect(lenient.doc.freshness[0]).toMatchObject({
      target: 'configs/azure/',
      stale: false,
      failedSince: 3,
    });
    await estate.emu.admin('DELETE', '/__admin/faults');
  });

  it('--job naming a job with no run at all is stale (with or without --max-age); an unknown name is a usage error', async () => {
    const named = await verify('--max-age', '4d', '--job', 'snapshot-config', '--job', 'db-dump');
    expect(named.code).toBe(3);
    expect(named.doc.freshness.map((f) => [f.job, f.target, f.stale])).toEqual([
      ['snapshot-config', 'configs/aws/', false],
      ['snapshot-config', 'configs/azure/', false],
      ['snapshot-config', 'configs/gcp/', false],
      ['db-dump', null, true],
    ]);
    expect(named.stderr).toMatch(/db-dump: no run at all \(--max-age 4d\)/);
    const bare = await verify('--job', 'tf-state');
    expect(bare.code).toBe(3);
    expect(bare.stderr).toMatch(/tf-state: no run at all \(named by --job\)/);
    const typo = await run(['verify', '--job', 'db-dumps']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--job: unknown backup job "db-dumps" \(backup jobs: db-dump, /);
  });

  it.each([['26'], ['yesterday'], ['-3h'], ['0h']])(
    'a bad --max-age (%s) is a usage error naming the flag and the accepted forms',
    async (bad) => {
      const r = await run(['verify', '--max-age', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--max-age/);
      expect(r.stderr).toMatch(/90m, 12h, 30d, 2w|26h/);
    },
  );

  it('boundary: exactly --max-age old passes, one second more fails', async () => {
    expect(await snapshot('aws')).toBe(0);
    const now = await verify('--prefix', 'configs/aws/');
    const last = Date.parse(now.doc.freshness[0].lastSuccess!);
    const at = async (ms: number): Promise<number> =>
      (await run(['verify', '--prefix', 'configs/aws/', '--max-age', '26h'], frozenAt(ms))).code;
    expect(await at(last + 26 * HOUR * 1000)).toBe(0);
    expect(await at(last + 26 * HOUR * 1000 + 1000)).toBe(3);
  });

  it('--dry-run judges freshness too and writes nothing (no manifest, no metrics file)', async () => {
    await advanceHours(30);
    const before = (await listVersionsJson(estate)).length;
    const metrics = path.join(tmp, 'verify.prom');
    const r = await run(['verify', '--dry-run', '--max-age', '26h', '--metrics-file', metrics]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /snapshot-config configs\/aws\/: last successful run .*older than --max-age 26h/,
    );
    expect(fs.existsSync(metrics)).toBe(false);
    expect((await listVersionsJson(estate)).length).toBe(before);
  });

  it('a db-dump that fails before listing any object (database unreachable) counts for the database its manifest names', async () => {
    // Nothing listens on port 1: psql is refused at once, before the dump's key is written.
    const dump = await run([
      'db-dump',
      '--engine',
      'postgres',
      '--url',
      'postgres://backup@127.0.0.1:1/billing',
    ]);
    expect(dump.code).toBe(1);
    const r = await verify('--prefix', 'db/', '--allow-empty', '--max-age', '26h');
    expect(r.code).toBe(3);
    expect(r.doc.freshness).toEqual([
      expect.objectContaining({
        job: 'db-dump',
        target: 'db/postgres/billing/',
        stale: true,
        failedSince: 1,
      }),
    ]);
    expect(r.stderr).toMatch(
      /db-dump db\/postgres\/billing\/: no successful run \(--max-age 26h\); 1 failed run\(s\) since, newest \S+Z; if billing was decommissioned, pass --retired db\/postgres\/billing\//,
    );
    const retired = await verify(
      '--prefix',
      'db/',
      '--allow-empty',
      '--max-age',
      '26h',
      '--retired',
      'db/postgres/billing/',
    );
    expect(retired.code).toBe(0);
    expect(retired.doc.freshness).toEqual([
      expect.objectContaining({ target: 'db/postgres/billing/', retired: true }),
    ]);
  });
});
