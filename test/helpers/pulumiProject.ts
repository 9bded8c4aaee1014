/**
 * End-to-end fixture: a real Pulumi CLI run against a real emulator, isolated per test.
 *
 * Each `createE2EProject()` gets its own temp dir holding a file state backend, a passphrase file,
 * its own PULUMI_HOME and a generated project dir (scripts/start/project.ts) whose `main` is the
 * repository's `stacks/` program, with a small stack config (dev, one provider, no replication
 * unless asked) so each `pulumi up` stays a few seconds. `cleanup()` stops the emulator it started
 * and removes the temp dir.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { B2Client } from '../../infra/b2';
import { writeProjectDir } from '../../scripts/start/project';
import { PulumiWorkspace, REPO_ROOT } from '../../scripts/start/pulumi';
import { RunningEmulator, startEmulator } from './emulator';
import { endTree, register, taggedEnv } from './processes';

export { REPO_ROOT };

export interface E2EOptions {
  /** Stack config without the project namespace (`env`, `providers`, …); merged over defaults. */
  config?: Record<string, unknown>;
  /** Emulator regions; two for replication. Default one (us-west-004). */
  regions?: string[];
  stack?: string;
  /** Extra environment for every CLI call (e.g. INFRAFABRIC_BACKUP_ROOT). */
  env?: NodeJS.ProcessEnv;
}

export interface E2EProject {
  /** Tree tag of every CLI run (and plugin) of `ws`: `endTree(treeTag)` ends them all. */
  treeTag: string;
  tmp: string;
  stateDir: string;
  projectDir: string;
  passphrase: string;
  emu: RunningEmulator;
  ws: PulumiWorkspace;
  stack: string;
  /** Rewrites the stack config (same keys as `E2EOptions.config`, merged over the defaults). */
  setConfig(config: Record<string, unknown>): void;
  /**
   * Replaces the program (`main`) by `source` (TypeScript, written to `<tmp>/program/index.ts`;
   * import repository modules by absolute path, e.g. `${REPO_ROOT}/infra/providers/bucket`).
   * Later `setConfig` calls keep it.
   */
  useProgram(source: string): void;
  /** Runs the program in `dir` (e.g. an older checkout's `stacks/`); `undefined` = the repository's. */
  useProgramDir(dir: string | undefined): void;
  /** Native client with the master key of region `i` (0 = primary). */
  native(i?: number): B2Client;
  /** Every file under the state dir, concatenated (state, backups, history). */
  stateText(): string;
  cleanup(): Promise<void>;
}

export const E2E_DEFAULT_CONFIG: Record<string, unknown> = {
  env: 'dev',
  providers: ['aws'],
  retention: 'short',
  replication: { enabled: false },
  forceDestroy: true,
};

const NAMESPACE = 'infrafabric-backup';

export function namespaced(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [`${NAMESPACE}:${k}`, v]));
}

function readAllFiles(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .map((d) => {
      const p = path.join(dir, d.name);
      return d.isDirectory() ? readAllFiles(p) : fs.readFileSync(p, 'utf8');
    })
    .join('\n');
}

export async function createE2EProject(opts: E2EOptions = {}): Promise<E2EProject> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infrafabric-e2e-'));
  const stateDir = path.join(tmp, 'state');
  const projectDir = path.join(tmp, 'project');
  fs.mkdirSync(stateDir);
  const stack = opts.stack ?? 'e2e';
  const passphraseFile = path.join(tmp, 'passphrase');
  const passphrase = `e2e-passphrase-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(passphraseFile, passphrase, { mode: 0o600 });
  const regions = opts.regions ?? ['us-west-004'];
  const emu = await startEmulator({ regions });
  let programDir: string | undefined;
  let lastConfig: Record<string, unknown> = opts.config ?? {};
  const setConfig = (config: Record<string, unknown>) => {
    lastConfig = config;
    writeProjectDir({
      dir: projectDir,
      stack,
      config: namespaced({ ...E2E_DEFAULT_CONFIG, ...config }),
      programDir,
    });
  };
  setConfig(lastConfig);
  const useProgram = (source: string) => {
    programDir = path.join(tmp, 'program');
    fs.mkdirSync(programDir, { recursive: true });
    fs.writeFileSync(path.join(programDir, 'index.ts'), source);
    // The program resolves @pulumi/pulumi (and tsx for the providers) from the repository's install.
    if (!fs.existsSync(path.join(tmp, 'node_modules')))
      fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(tmp, 'node_modules'));
    setConfig(lastConfig);
  };

  const [primary, replica] = emu.info.regions;
  const providerEnv: NodeJS.ProcessEnv = {
    B2_REALM_URL: primary!.url,
    B2_APPLICATION_KEY_ID: primary!.keyId,
    B2_APPLICATION_KEY: primary!.applicationKey,
    ...(replica
      ? {
          B2_REPLICA_REALM_URL: replica.url,
          B2_REPLICA_APPLICATION_KEY_ID: replica.keyId,
          B2_REPLICA_APPLICATION_KEY: replica.applicationKey,
        }
      : {}),
  };
  const { env: treeEnv, tag: treeTag } = taggedEnv('pulumi-workspace', {});
  register('pulumi-workspace', treeTag);
  const ws = new PulumiWorkspace({
    projectDir,
    backendUrl: `file://${stateDir}`,
    passphraseFile,
    stack,
    pulumiHome: path.join(tmp, 'pulumi-home'),
    // Every CLI run of this workspace, its language host and plugins (each in a process group of
    // its own) carry one tree tag, so cleanup ends them all (test/helpers/processes.ts).
    env: { ...providerEnv, ...opts.env, ...treeEnv },
  });
  return {
    tmp,
    stateDir,
    projectDir,
    passphrase,
    emu,
    ws,
    stack,
    setConfig,
    useProgram,
    useProgramDir: (dir) => {
      programDir = dir;
      setConfig(lastConfig);
    },
    native: (i = 0) => {
      const r = emu.info.regions[i]!;
      return new B2Client({ applicationKeyId: r.keyId, applicationKey: r.applicationKey, realmUrl: r.url });
    },
    stateText: () => readAllFiles(stateDir),
    treeTag,
    async cleanup() {
      ws.signalRunning('SIGKILL');
      await endTree(treeTag);
      await emu.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Bucket names of an account, sorted. */
export async function bucketNames(client: B2Client): Promise<string[]> {
  return (await client.listBuckets()).map((b) => b.bucketName).sort();
}

/** Key names of an account (non-master keys), sorted, duplicates kept. */
export async function keyNames(client: B2Client): Promise<string[]> {
  const names: string[] = [];
  for await (const k of client.listKeys()) names.push(k.keyName);
  return names.sort();
}
