/**
 * Upgrading past the tf-state name change must not turn a healthy estate red (issue 11, "nothing
 * healthy turns red"): a workspace backed up under its directory name by an older release
 * (`terraform-state/network/`) moves to its default name (`network-<8 hex>`); the first run under
 * the new name records that it replaced the old target, and `verify --max-age` reports the idle old
 * target as replaced, not stale. An old name still written by another workspace (`--name` kept)
 * is not replaced: when that workspace stops, verify fails on it as on any stopped target.
 * Runs use the emulator's clock, advanced through its admin API.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { workspaceIdentity } from '../../../scripts/jobs/tfState';
import { cli, EmulatorClock, emulatorClock, Estate, startEstate } from './fixture';

let estate: Estate;
let clock: EmulatorClock;
let tmp: string;
const key = randomBytes(32).toString('base64');

interface Fresh {
  job: string;
  target: string | null;
  supersededBy?: string;
  stale: boolean;
  problem?: string;
}

let serial = 0;
/** A workspace directory with a state that changes on every call (so each run uploads). */
function workspace(rel: string): string {
  const dir = path.join(tmp, 'repo', rel);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(tmp, 'repo', '.git'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'terraform.tfstate'),
    JSON.stringify({ version: 4, serial: ++serial, lineage: rel, resources: [] }),
  );
  return dir;
}
const tfState = async (dir: string, ...extra: string[]): Promise<number> =>
  (
    await cli(
      estate,
      ['tf-state', '--workspace', workspace(path.relative(path.join(tmp, 'repo'), dir)), ...extra],
      {
        BACKUP_ENCRYPTION_KEY: key,
      },
      undefined,
      { clock },
    )
  ).code;
async function advanceHours(hours: number): Promise<void> {
  await estate.emu.admin('POST', '/__admin/clock', { advanceSeconds: hours * 3_600 });
  await clock.sync();
}
async function verify(): Promise<{ code: number; fresh: Fresh[]; stdout: string }> {
  const r = await cli(
    estate,
    ['verify', '--json', '--max-age', '26h', '--prefix', 'terraform-state/'],
    {},
    undefined,
    {
      clock,
    },
  );
  return { code: r.code, fresh: r.json<{ freshness: Fresh[] }>().freshness, stdout: r.stdout };
}

beforeAll(async () => {
  estate = await startEstate();
  clock = await emulatorClock(estate);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-tfrename-'));
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('the directory-name target of an upgraded workspace is reported as replaced, not stale', async () => {
  const dir = workspace('envs/prod/network');
  const newName = workspaceIdentity(dir).defaultName;
  // What the older release wrote: the bare directory name (here through --name, the same layout).
  expect(await tfState(dir, '--name', 'network')).toBe(0);
  await advanceHours(1);
  expect(await tfState(dir)).toBe(0); // the first run after upgrading
  await advanceHours(30);
  expect(await tfState(dir)).toBe(0);
  const v = await verify();
  expect(v.fresh.find((f) => f.target === 'terraform-state/network/')).toMatchObject({
    supersededBy: `terraform-state/${newName}/`,
    stale: false,
  });
  expect(v.fresh.find((f) => f.target === `terraform-state/${newName}/`)).toMatchObject({ stale: false });
  expect(v.code).toBe(0);
});

it('an old name another workspace still writes is judged, and fails verify when that workspace stops', async () => {
  const kept = workspace('a/vpc'); // keeps the old layout on purpose
  const moved = workspace('b/vpc'); // default name vpc-<hex>, finds terraform-state/vpc/ in use
  expect(await tfState(kept, '--name', 'vpc')).toBe(0);
  await advanceHours(1);
  expect(await tfState(moved)).toBe(0); // names terraform-state/vpc/ as replaced…
  await advanceHours(1);
  expect(await tfState(kept, '--name', 'vpc')).toBe(0); // …but vpc is written again after that
  const running = await verify();
  expect(running.fresh.find((f) => f.target === 'terraform-state/vpc/')).toMatchObject({ stale: false });
  expect(running.fresh.find((f) => f.target === 'terraform-state/vpc/')?.supersededBy).toBeUndefined();
  // The workspace that kept the name stops; the other one goes on.
  await advanceHours(30);
  expect(await tfState(moved)).toBe(0);
  const stopped = await verify();
  expect(stopped.code).toBe(3);
  expect(stopped.fresh.find((f) => f.target === 'terraform-state/vpc/')).toMatchObject({ stale: true });
});
