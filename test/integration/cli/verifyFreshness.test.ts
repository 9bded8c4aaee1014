/**
 * `verify --max-age` (issue 11: verify never calls broken backups healthy): a backup job that
 * stopped running, or fails every night, leaves old backups that still verify — so each job in
 * scope must have a successful run no older than --max-age by the emulator's clock (advanced through
 * its admin API, never slept). Targets are told apart by --prefix: configs/aws/ keeps running,
 * configs/gcp/ stopped, configs/azure/ fails every run (PutObject refused by an injected fault).
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
      expect.objectContaining({ job: 'snapshot-config', failedSince: 0, stale: false }),
    ]);
    const text = await run(['verify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/last successful run: snapshot-config 20\d\d-.*Z \(\d+ s ago\)/);
    const fresh = await verify('--max-age', '26h');
    expect(fresh.code).toBe(0);
    expect(fresh.doc.freshness[0].stale).toBe(false);
  });

  it('a job whose last success is older than --max-age exits 3 naming it; a later run makes it fresh', async () => {
    await advanceHours(24);
    expect(await snapshot('aws')).toBe(0); // aws runs daily; gcp stopped after the first day
    await advanceHours(24);
    expect(await snapshot('aws')).toBe(0);
    const aws = await verify('--prefix', 'configs/aws/', '--max-age', '26h');
    expect(aws.code).toBe(0);
    const gcp = await verify('--prefix', 'configs/gcp/', '--max-age', '26h');
    expect(gcp.code).toBe(3);
    expect(gcp.doc.freshness).toEqual([
      expect.objectContaining({ job: 'snapshot-config', stale: true, failedSince: 0 }),
    ]);
    expect(gcp.doc.freshness[0].ageSeconds).toBeGreaterThanOrEqual(48 * HOUR);
    expect(gcp.stderr).toMatch(
      /INTEGRITY FAILURE: .*snapshot-config: last successful run \S+Z \(2 d ago, older than --max-age 26h\)/,
    );
    // Every reconcile check still passes: only freshness failed.
    expect(await verify('--prefix', 'configs/gcp/')).toMatchObject({ code: 0 });
    expect(await snapshot('gcp')).toBe(0);
    expect((await verify('--prefix', 'configs/gcp/', '--max-age', '26h')).code).toBe(0);
  });

  it('failed runs since the last success are not fresh and are named', async () => {
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
    }
    const r = await verify('--prefix', 'configs/azure/', '--max-age', '26h');
    expect(r.code).toBe(3);
    const [f] = r.doc.freshness;
    expect(f).toMatchObject({ job: 'snapshot-config', stale: true, failedSince: 3 });
    expect(Date.parse(f.newestFailure!)).toBeGreaterThan(Date.parse(f.lastSuccess!) + 71 * HOUR * 1000);
    expect(r.stderr).toMatch(
      /snapshot-config: last successful run \S+Z \(3 d ago, older than --max-age 26h\); 3 failed run\(s\) since, newest \S+Z/,
    );
    // The newest run is seconds old but failed: it never counts as fresh. Only the last success's
    // age decides, so a longer --max-age accepts the same history (the failures still reported).
    const lenient = await verify('--prefix', 'configs/azure/', '--max-age', '4d');
    expect(lenient.code).toBe(0);
    expect(lenient.doc.freshness[0]).toMatchObject({ stale: false, failedSince: 3 });
    await estate.emu.admin('DELETE', '/__admin/faults');
  });

  it('--job naming a job with no run at all is stale (with or without --max-age); an unknown name is a usage error', async () => {
    const named = await verify('--max-age', '4d', '--job', 'snapshot-config', '--job', 'db-dump');
    expect(named.code).toBe(3);
    expect(named.doc.freshness.map((f) => [f.job, f.stale])).toEqual([
      ['snapshot-config', false],
      ['db-dump', true],
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
    expect(r.stderr).toMatch(/snapshot-config: last successful run .*older than --max-age 26h/);
    expect(fs.existsSync(metrics)).toBe(false);
    expect((await listVersionsJson(estate)).length).toBe(before);
  });
});
