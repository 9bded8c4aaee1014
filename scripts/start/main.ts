/**
 * `npm start` — the README's main job: provision the local backup estate against the emulator with
 * the real Pulumi engine, prove the backup path with the scoped keys, and report.
 *
 *  1. start (or reuse a `--keep`-ed) emulator on `.b2-local`, regions us-west-004 + eu-central-001;
 *  2. file state backend `.pulumi-state/`, stack `local` (passphrase in `.b2-local/passphrase`);
 *  3. `pulumi up --yes`, then `pulumi preview --expect-no-changes` (the estate converged);
 *  4. sample backup with the writer key, restore + verify with the reader key (backup CLI);
 *  5. `POST /__admin/replication/run`, then a summary read back from the emulator.
 *
 * Progress goes to stderr, the summary to stdout. Exit 0 ok, 1 failed, 2 usage.
 */
import { Command, CommanderError } from 'commander';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LocalEmulator, providerEnv, startLocalEmulator } from './localEmulator';
import { writeProjectDir } from './project';
import { LocalWorkspace, Stack } from '@pulumi/pulumi/automation';
import { pulumiCommand } from '../estate/engine';
import { POLICY_PACK_DIR, PulumiWorkspace, REPO_ROOT } from './pulumi';
import { runSampleBackup, sampleTarget } from './sampleBackup';
import { collectEstate, formatSummary } from './summary';

interface StartOptions {
  keep: boolean;
  data: string;
  state: string;
  stack: string;
  sample: boolean;
}

const log = (line: string) => process.stderr.write(`[start] ${line}\n`);

function parseArgs(argv: string[]): StartOptions {
  const program = new Command('npm start --')
    .description(
      'Provision the local backup estate (emulator + real Pulumi engine) and run a sample backup/restore',
    )
    .option('--keep', 'leave the emulator running afterwards (the next run reuses it)', false)
    .option(
      '--data <dir>',
      'emulator data directory (also holds credentials and the passphrase)',
      '.b2-local',
    )
    .option('--state <dir>', 'Pulumi file state backend directory', '.pulumi-state')
    .option('--stack <name>', 'stack name (its config: Pulumi.<stack>.yaml in the repository)', 'local')
    .option('--no-sample', 'skip the sample backup/restore')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    const err = e as CommanderError;
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  const o = program.opts<StartOptions>();
  return { ...o, data: path.resolve(REPO_ROOT, o.data), state: path.resolve(REPO_ROOT, o.state) };
}

/** The stack passphrase: generated once, 0600, never printed. */
function passphraseFile(dataDir: string): { file: string; created: boolean } {
  const file = path.join(dataDir, 'passphrase');
  if (fs.existsSync(file)) return { file, created: false };
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, randomBytes(24).toString('base64') + '\n', { mode: 0o600 });
  return { file, created: true };
}

function isStringMap(v: unknown): v is Record<string, string> {
  return !!v && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string');
}

interface Running {
  emulator?: LocalEmulator;
  workspace?: PulumiWorkspace;
  /** Cancels the Automation API's running CLI (SIGINT/SIGTERM of npm start). */
  abort?: AbortController;
}

type Step = (msg: string) => void;

async function run(opts: StartOptions, running: Running): Promise<void> {
  const started = Date.now();
  const step: Step = (msg) => log(`${msg} (+${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const { emu, stack, existed, backend, pass, projectDir } = await openStack(opts, running, step);
  const { upCounts, converged } = await deploy(stack, existed, running.abort!.signal, step);
  const outputs = Object.fromEntries(
    Object.entries(await stack.outputs()).map(([k, o]) => [k, o.value as unknown]),
  );
  const { sample, replicationRun } = await proveBackup(opts, outputs, emu, step);

  const estate = await collectEstate(emu.ready);
  process.stdout.write(
    formatSummary(estate, {
      stack: opts.stack,
      backend: path.relative(process.cwd(), opts.state) || opts.state,
      pulumiUp: upCounts,
      converged,
      sample,
      replicationRun,
      smokeTest: isStringMap(outputs.smokeTest) ? outputs.smokeTest : undefined,
      wallSeconds: (Date.now() - started) / 1000,
      emulator: {
        urls: emu.ready.regions.map((r) => `${r.region} ${r.url}`),
        kept: opts.keep,
        reused: !emu.startedHere,
      },
    }),
  );
  if (!converged)
    throw new Error(
      'the second look found pending changes: the estate did not converge (see the preview above)',
    );
  if (opts.keep) {
    const envHint = `PULUMI_BACKEND_URL=${backend} PULUMI_CONFIG_PASSPHRASE_FILE=${pass.file}`;
    log(`emulator left running (pid ${emu.pid}); stop it with: kill ${emu.pid}`);
    log(
      `inspect the stack: (cd ${path.relative(process.cwd(), projectDir) || '.'} && ${envHint} npm run pulumi -- stack output --stack ${opts.stack})`,
    );
  }
}

/**
 * The emulator (started or reused), the project folder, the workspace with its passphrase file,
 * stale locks cleared, and the stack through the Automation API (selected, or created).
 */
async function openStack(opts: StartOptions, running: Running, step: Step) {
  const emu = await startLocalEmulator({ dataDir: opts.data });
  running.emulator = emu;
  const pass = passphraseFile(opts.data);
  fs.mkdirSync(opts.state, { recursive: true });
  const projectDir = writeProjectDir({ dir: path.join(opts.state, 'project'), stack: opts.stack });
  const backend = `file://${opts.state}`;
  const ws = new PulumiWorkspace({
    projectDir,
    backendUrl: backend,
    passphraseFile: pass.file,
    stack: opts.stack,
    policyPack: POLICY_PACK_DIR,
    env: { ...providerEnv(emu.ready), INFRAFABRIC_BACKUP_ROOT: REPO_ROOT },
  });
  running.workspace = ws;
  step(`pulumi v${ws.version}, state ${backend}`);

  const existed = await ws.stackExists();
  if (existed && pass.created) {
    throw new Error(
      `stack "${opts.stack}" in ${opts.state} was encrypted with a passphrase that was kept in ${pass.file}, which is gone. ` +
        `Remove ${opts.state} (and ${opts.data} for a clean emulator) and run npm start again.`,
    );
  }
  // The Automation API runs the CLI with our whole environment plus envVars: a caller's own
  // passphrase or backend must not override this workspace's (PulumiWorkspace scrubs them too).
  for (const k of [
    'PULUMI_CONFIG_PASSPHRASE',
    'PULUMI_CONFIG_PASSPHRASE_FILE',
    'PULUMI_BACKEND_URL',
    'PULUMI_ACCESS_TOKEN',
  ])
    delete process.env[k];
  const stale = await ws.cancelStaleLocks();
  if (stale)
    step(`removed ${stale} stale stack lock(s) left by a pulumi process that no longer runs (pulumi cancel)`);
  // The engine through the Automation API (README "GitOps"): the pinned CLI, this workspace's
  // environment (backend, passphrase file, emulator credentials), the policy pack on up/preview.
  const auto = await LocalWorkspace.create({
    workDir: projectDir,
    pulumiCommand: await pulumiCommand(),
    envVars: Object.fromEntries(
      Object.entries(ws.env).filter((e): e is [string, string] => e[1] !== undefined),
    ),
  });
  const stack = existed ? await Stack.select(opts.stack, auto) : await Stack.create(opts.stack, auto);
  running.abort = new AbortController();
  step(existed ? `stack "${opts.stack}" selected` : `stack "${opts.stack}" created`);
  return { emu, stack, existed, backend, pass, projectDir };
}

/** `pulumi up` (with a refresh on an existing stack), then a preview that must show no change. */
async function deploy(stack: Stack, existed: boolean, signal: AbortSignal, step: Step) {
  // On an existing stack, refresh first: the emulator's ports change between runs (the buckets'
  // s3Endpoint outputs must follow), and state may describe data deleted from .b2-local.
  step(existed ? 'pulumi up --refresh' : 'pulumi up');
  const up = await stack.up({
    refresh: existed,
    policyPacks: [POLICY_PACK_DIR],
    onOutput: (out) => process.stderr.write(out),
    signal,
  });
  const upCounts = changeCounts(up.summary.resourceChanges ?? {});
  step('pulumi preview --expect-no-changes');
  let converged = true;
  try {
    await stack.preview({
      expectNoChanges: true,
      policyPacks: [POLICY_PACK_DIR],
      signal,
    });
  } catch (e) {
    converged = false;
    process.stderr.write((e as Error).message.split('\n').slice(-30).join('\n') + '\n');
  }
  return { upCounts, converged };
}

/** The sample backup with the writer key, restored and verified with the reader key; a replication run. */
async function proveBackup(
  opts: StartOptions,
  outputs: Record<string, unknown>,
  emu: LocalEmulator,
  step: Step,
) {
  let sample;
  if (opts.sample) {
    step('sample backup (writer key) and restore + verify (reader key)');
    const target = sampleTarget(outputs, 'aws');
    const r = await runSampleBackup(target, path.join(opts.data, 'sample'), (l) => log(l));
    sample = {
      key: r.key,
      uploaded: r.uploaded,
      verified: r.verified.ok,
      writerKeyId: target.writer.keyId,
      readerKeyId: target.reader.keyId,
    };
  }
  step('replication run (POST /__admin/replication/run)');
  const replicationRun = (
    (await emu.admin<{ result: unknown }>('POST', '/__admin/replication/run')) ?? { result: null }
  ).result;
  return { sample, replicationRun };
}

/** The engine's change counts in the words the summary uses (`3 created`, `12 unchanged`). */
function changeCounts(changes: Record<string, number>): Record<string, number> {
  const words: Record<string, string> = {
    create: 'created',
    update: 'updated',
    delete: 'deleted',
    replace: 'replaced',
    same: 'unchanged',
  };
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(changes)) if (n) out[words[op] ?? op] = n;
  return out;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const running: Running = {};
  const cleanup = async () => {
    if (running.emulator && !opts.keep) await running.emulator.stop();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      // The engine cancels cleanly on SIGINT and releases the stack lock.
      running.workspace?.signalRunning('SIGINT');
      running.abort?.abort();
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await run(opts, running);
    await cleanup();
  } catch (e) {
    process.stderr.write(`npm start: ${(e as Error).message}\n`);
    await cleanup().catch(() => undefined);
    process.exit(1);
  }
}

void main();
