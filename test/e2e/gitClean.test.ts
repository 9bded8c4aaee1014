/**
 * Running the CLI never edits tracked files: in a fresh clone of the repository (HEAD), `npm start`
 * and the Pulumi / backup CLI commands the README shows leave `git status` clean — including
 * `npm run pulumi -- … --stack local` from the repository root (runs in the stack's working copy)
 * and the inspect hint `npm start` prints (runs where it is invoked, INIT_CWD).
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(600_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('e2e: the CLI never edits tracked files', () => {
  let tmp: string;
  let clone: string;
  let keptPid: number | undefined;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infrafabric-e2e-clean-'));
    clone = path.join(tmp, 'repo');
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone]);
    // Dependencies and the pinned CLI from this checkout (both git-ignored in the clone).
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules'));
    fs.symlinkSync(path.join(REPO_ROOT, '.cache'), path.join(clone, '.cache'));
  });
  afterAll(() => {
    if (keptPid) {
      try {
        process.kill(keptPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('npm start, its inspect hint and the README commands leave git status clean', async () => {
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (/^(PULUMI_|B2_|AWS_|npm_|INIT_CWD)/.test(k)) delete base[k];
    const status = () => execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' });
    expect(status()).toBe('');

    const start = await sh('npm start -- --keep', clone, base);
    expect({ code: start.code, err: start.code === 0 ? '' : start.stderr.slice(-3000) }).toEqual({
      code: 0,
      err: '',
    });
    keptPid = Number(/kill (\d+)/.exec(start.stderr)?.[1]) || undefined;
    expect(status()).toBe('');

    // The hint npm start prints, exactly as printed (relative to where it was run).
    const hint = /inspect the stack: (\(cd .*\))/.exec(start.stderr)![1]!;
    const inspected = await sh(hint, clone, base);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toContain('buckets');
    expect(status()).toBe('');

    // README "Backup jobs": the stack from the repository root, through npm run pulumi.
    const env = {
      ...base,
      PULUMI_BACKEND_URL: `file://${clone}/.pulumi-state`,
      PULUMI_CONFIG_PASSPHRASE_FILE: `${clone}/.b2-local/passphrase`,
    };
    for (const cmd of [
      'npm run pulumi -- stack output --stack local',
      'npm run pulumi -- preview --stack local --expect-no-changes',
      'npx infrafabric-backup list --from-stack local --provider aws',
    ]) {
      const r = await sh(cmd, clone, env);
      expect({ cmd, code: r.code, err: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({
        cmd,
        code: 0,
        err: '',
      });
      expect({ cmd, status: status() }).toEqual({ cmd, status: '' });
    }

    // A stack-writing command without --stack in the root is refused with the fix, not run.
    const refused = await sh('npm run pulumi -- preview', clone, env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('needs the stack named');
    expect(status()).toBe('');
  });
});
