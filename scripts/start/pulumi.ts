/**
 * Drives the pinned Pulumi CLI (README "Pulumi CLI") for `npm start`, `npm run bootstrap-state`
 * and the end-to-end tests: one `PulumiWorkspace` = one project directory + one state backend +
 * one secrets passphrase file.
 *
 * Why a workspace object instead of `pulumi login`: the backend is chosen with
 * `PULUMI_BACKEND_URL` on every call, so nothing is written to the shared PULUMI_HOME's
 * credentials file and parallel runs (tests, a developer's `npm start`) never switch each other's
 * backend. The passphrase reaches the CLI only as `PULUMI_CONFIG_PASSPHRASE_FILE`, never on a
 * command line or in a log.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The typed surface of tools/lib/pulumi-cli.js (plain CommonJS, shared with the setup scripts). */
interface PulumiCliModule {
  PINNED_VERSION: string;
  ensurePulumi(opts?: { force?: boolean; quiet?: boolean }): { exe: string; binDir: string; version: string };
  pulumiEnv(binDir?: string, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}
const cliModule = require('../../tools/lib/pulumi-cli') as PulumiCliModule;

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Environment variables that must never leak from the caller into a workspace's CLI runs. */
const SCRUBBED_ENV = [
  'PULUMI_CONFIG_PASSPHRASE',
  'PULUMI_CONFIG_PASSPHRASE_FILE',
  'PULUMI_BACKEND_URL',
  'PULUMI_ACCESS_TOKEN',
];

export interface WorkspaceOptions {
  /** Directory holding Pulumi.yaml and Pulumi.<stack>.yaml (see project.ts). */
  projectDir: string;
  /**
   * `file:///abs/dir` or `s3://bucket?endpoint=…`, passed as PULUMI_BACKEND_URL. Omit it to use
   * whatever `pulumi login` recorded in PULUMI_HOME (then give the workspace its own pulumiHome).
   */
  backendUrl?: string;
  /** File holding the stack's secrets passphrase. */
  passphraseFile: string;
  /** Stack every command targets (`--stack`). */
  stack: string;
  /** Extra environment (B2 credentials for the providers, AWS_* for an S3 backend). */
  env?: NodeJS.ProcessEnv;
  /** Own PULUMI_HOME (tests isolate themselves); default the project cache's. */
  pulumiHome?: string;
  /**
   * Policy pack directory run on every `preview` and `up` (`--policy-pack`). Default the
   * repository's `policy/` (README "Policy pack"); `false` runs without one.
   */
  policyPack?: string | false;
  /** Policy pack config file (`--policy-pack-config`), e.g. to change a policy's enforcement. */
  policyPackConfig?: string;
}

/** The repository's policy pack (README "Policy pack"). */
export const POLICY_PACK_DIR = path.resolve(__dirname, '..', '..', 'policy');

export interface RunOptions {
  /** `false`: run this one command without the workspace's policy pack (e.g. a program that predates it). */
  policyPack?: false;
  /** Copy the CLI's stdout and stderr to our stderr as they arrive (progress). Default false. */
  echo?: boolean;
  /** Return instead of throwing on a non-zero exit. Default false. */
  allowFailure?: boolean;
  /** Kill the CLI (SIGTERM, then SIGKILL) after this long. Default 10 minutes. */
  timeoutMs?: number;
  /** Receives the child right after spawn (tests kill it midway). */
  onSpawn?: (child: ChildProcess) => void;
  /** Per-call extra environment, over the workspace's. */
  env?: NodeJS.ProcessEnv;
  /** Own process group (tests signal the CLI and its plugins as a group with `-pid`). */
  detached?: boolean;
  /** Written to the CLI's stdin, then closed (e.g. a secret for `config set --secret`: never on argv). */
  input?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A failed CLI call; the message carries the tail of its output (the CLI never prints secrets). */
export class PulumiCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly result: RunResult,
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-25).join('\n');
    super(`\`pulumi ${args.join(' ')}\` failed (${result.signal ?? `exit ${result.code}`}):\n${tail}`);
  }
}

/** Commands that take `--stack`. */
const STACK_COMMANDS = new Set([
  'cancel',
  'up',
  'preview',
  'refresh',
  'destroy',
  'config',
  'stack',
  'import',
  'state',
]);

export class PulumiWorkspace {
  readonly exe: string;
  readonly version: string;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly running = new Set<ChildProcess>();

  constructor(readonly opts: WorkspaceOptions) {
    const cli = cliModule.ensurePulumi({ quiet: true });
    this.exe = cli.exe;
    this.version = cli.version;
    const base: NodeJS.ProcessEnv = { ...process.env };
    for (const k of SCRUBBED_ENV) delete base[k];
    this.baseEnv = {
      ...cliModule.pulumiEnv(cli.binDir, base),
      ...(opts.pulumiHome ? { PULUMI_HOME: opts.pulumiHome } : {}),
      ...(opts.backendUrl ? { PULUMI_BACKEND_URL: opts.backendUrl } : {}),
      PULUMI_CONFIG_PASSPHRASE_FILE: opts.passphraseFile,
      // Plain, uncoloured output: it is logged and parsed, never shown as a live TTY view.
      NO_COLOR: '1',
      ...opts.env,
    };
  }

  /** The environment every call runs with (tests read it to spawn helpers the same way). */
  get env(): NodeJS.ProcessEnv {
    return this.baseEnv;
  }

  /**
   * Runs `pulumi <args> --non-interactive [--stack S]`. Throws PulumiCommandError on failure
   * unless `allowFailure`.
   */
  run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const full = [...args, '--non-interactive'];
    if (STACK_COMMANDS.has(args[0]!) && !isStackLifecycle(args)) full.push('--stack', this.opts.stack);
    if (opts.policyPack !== false) full.push(...this.policyArgs(args));
    const started = Date.now();
    const child = spawn(this.exe, full, {
      cwd: this.opts.projectDir,
      env: { ...this.baseEnv, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: opts.detached ?? false,
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    this.running.add(child);
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
    return new Promise<RunResult>((resolve, reject) => {
      let killTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      }, timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${this.exe}: ${e.message}`));
      });
      child.once('close', (code, signal) => {
        this.running.delete(child);
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        const result: RunResult = { code, signal, stdout, stderr, ms: Date.now() - started };
        if (code !== 0 && !opts.allowFailure) reject(new PulumiCommandError(full, result));
        else resolve(result);
      });
    });
  }

  /** `--policy-pack` (+ config) for the commands the engine runs policies on, unless given already. */
  policyArgs(args: string[]): string[] {
    const pack = this.opts.policyPack === undefined ? POLICY_PACK_DIR : this.opts.policyPack;
    if (!pack || !['preview', 'up'].includes(args[0]!) || args.includes('--policy-pack')) return [];
    const out = ['--policy-pack', pack];
    if (this.opts.policyPackConfig) out.push('--policy-pack-config', this.opts.policyPackConfig);
    return out;
  }

  /** Signals every CLI process still running (SIGINT lets the engine cancel and unlock cleanly). */
  signalRunning(signal: NodeJS.Signals = 'SIGINT'): void {
    for (const c of this.running) c.kill(signal);
  }

  /**
   * Creates the workspace's stack (passphrase secrets provider) when the backend lacks it. Every
   * command passes `--stack`, so nothing depends on the "selected" stack in PULUMI_HOME.
   */
  async selectOrCreateStack(): Promise<'selected' | 'created'> {
    if (await this.stackExists()) return 'selected';
    await this.run(['stack', 'init', this.opts.stack, '--secrets-provider', 'passphrase']);
    return 'created';
  }

  async stackExists(): Promise<boolean> {
    const ls = await this.run(['stack', 'ls', '--json']);
    const stacks = JSON.parse(ls.stdout || '[]') as { name: string }[];
    return stacks.some((s) => s.name === this.opts.stack || s.name.endsWith(`/${this.opts.stack}`));
  }

  /**
   * A file backend's stack lock whose owner is gone (a CLI killed mid-update on this host) makes
   * every later command fail with "the stack is currently locked". Removes such locks through
   * `pulumi cancel`, but only when every lock of the stack belongs to a dead process here.
   * Returns how many stale locks were found.
   */
  async cancelStaleLocks(): Promise<number> {
    const url = this.opts.backendUrl ?? '';
    if (!url.startsWith('file://')) return 0;
    const root = path.join(url.slice('file://'.length).split('?')[0]!, '.pulumi', 'locks');
    const locks = findFiles(root).filter(
      (f) => path.basename(path.dirname(f)) === this.opts.stack && f.endsWith('.json'),
    );
    if (locks.length === 0) return 0;
    for (const f of locks) {
      const lock = JSON.parse(fs.readFileSync(f, 'utf8')) as { pid?: number; hostname?: string };
      if (lock.hostname !== os.hostname() || !lock.pid || isAlive(lock.pid)) return 0;
    }
    await this.run(['cancel', '--yes']);
    return locks.length;
  }

  /** `pulumi stack output --json [--show-secrets]` parsed. */
  async outputs(showSecrets = false): Promise<Record<string, unknown>> {
    const args = ['stack', 'output', '--json', ...(showSecrets ? ['--show-secrets'] : [])];
    const res = await this.run(args);
    return JSON.parse(res.stdout) as Record<string, unknown>;
  }

  /** `pulumi stack export` parsed (the deployment: resources, secrets encrypted). */
  async exportState(): Promise<{ deployment: { resources?: StateResource[] } }> {
    const res = await this.run(['stack', 'export']);
    return JSON.parse(res.stdout) as { deployment: { resources?: StateResource[] } };
  }
}

export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  pending_replacement?: boolean;
}

function findFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? findFiles(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `stack init/select/ls/rm` name the stack themselves (or list all of them). */
function isStackLifecycle(args: string[]): boolean {
  return args[0] === 'stack' && ['init', 'select', 'ls', 'rm'].includes(args[1] ?? '');
}

/** Resource counts from the "Resources:" block the CLI prints after up/preview/refresh/destroy. */
export function resourceSummary(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const block = output.split(/\nResources:\n/).pop() ?? '';
  for (const line of block.split('\n')) {
    const m =
      /^\s+(?:[+~\-±]+\s+)?(\d+) (to create|created|to update|updated|to delete|deleted|to replace|replaced|unchanged)\b/.exec(
        line,
      );
    if (m) counts[m[2]!] = Number(m[1]);
    else if (line.trim() && !/^\s/.test(line)) break;
  }
  return counts;
}
