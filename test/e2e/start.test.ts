/**
 * `npm start` (bin/start.js) end to end, in a temp data + state dir: the first run provisions the
 * local estate (prod topology: 3 providers, replication to the EU account, scoped keys), backs up
 * with the writer key and restores + verifies with the reader key; a second run sees the same
 * accounts, changes nothing and stops its emulator. `--keep` leaves the emulator for the next run.
 */
import { endAll, spawnTracked } from '../helpers/processes';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(300_000);

interface StartRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runStart(args: string[]): Promise<StartRun> {
  return new Promise((resolve, reject) => {
    // npm start, its emulator (kept or not), the Pulumi CLI and its plugins: one tracked tree.
    const child = spawnTracked(
      'npm-start',
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'start.js'), ...args],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('e2e: npm start', () => {
  let tmp: string;
  let keptPid: number | undefined;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infrafabric-e2e-start-'));
  });
  afterAll(async () => {
    if (keptPid && isAlive(keptPid)) process.kill(keptPid, 'SIGTERM');
    // Whatever of the npm start trees is left (the kept emulator carries its run's tag).
    expect(await endAll()).toEqual([]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('provisions the local estate, then a second run converges with no changes', async () => {
    const args = ['--data', path.join(tmp, 'b2'), '--state', path.join(tmp, 'state')];
    const first = await runStart([...args, '--keep']);
    expect({ code: first.code, err: first.code === 0 ? '' : first.stderr.slice(-3000) }).toEqual({
      code: 0,
      err: '',
    });
    expect(first.stdout).toMatch(
      /pulumi up: \d+ created; second look \(preview --expect-no-changes\): no changes/,
    );
    for (const p of ['aws', 'azure', 'gcp']) {
      expect(first.stdout).toContain(`local-infrafabric-backup-prod-${p} (`);
      expect(first.stdout).toContain(`local-infrafabric-backup-prod-${p}-replica (`);
    }
    expect(first.stdout).toMatch(
      /sample backup: configs\/aws\/\S+ uploaded with writer key \w+; restored \+ 1 verified with reader key \w+/,
    );
    // Pulumi.local.yaml turns the key smoke test on: it ran for every provider during `up`.
    expect(first.stdout).toMatch(
      /key smoke test \(writer uploads, cannot delete; reader reads, cannot write\): passed — aws \S+, azure \S+, gcp \S+/,
    );
    expect(first.stdout).toMatch(
      /local-infrafabric-backup-prod-aws-replica \(\w+\) — 2 object\(s\) \[2 replica\]/,
    );
    // No secret on either stream: the passphrase, master and scoped keys stay in files and memory.
    const creds = JSON.parse(fs.readFileSync(path.join(tmp, 'b2', 'credentials.json'), 'utf8')) as {
      applicationKey: string;
      adminToken: string;
    };
    const passphrase = fs.readFileSync(path.join(tmp, 'b2', 'passphrase'), 'utf8').trim();
    for (const s of [creds.applicationKey, creds.adminToken, passphrase]) {
      expect(first.stdout + first.stderr).not.toContain(s);
    }
    const record = JSON.parse(fs.readFileSync(path.join(tmp, 'b2', 'emulator.json'), 'utf8')) as {
      pid: number;
    };
    keptPid = record.pid;
    expect(isAlive(keptPid)).toBe(true);

    const second = await runStart(args);
    expect({ code: second.code, err: second.code === 0 ? '' : second.stderr.slice(-3000) }).toEqual({
      code: 0,
      err: '',
    });
    expect(second.stderr).toContain(
      `reusing the emulator left running by an earlier --keep run (pid ${keptPid}`,
    );
    expect(second.stdout).toMatch(
      /pulumi up: \d+ unchanged; second look \(preview --expect-no-changes\): no changes/,
    );
    expect(second.stdout).not.toMatch(/\d+ (created|updated|deleted|replaced)/);
    expect(second.stdout).toMatch(/sample backup: configs\/aws\/\S+ unchanged/);
    // Without --keep the emulator is stopped at the end.
    const deadline = Date.now() + 10_000;
    while (isAlive(keptPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(keptPid)).toBe(false);
  });
});
