/**
 * `npm run bootstrap -- --env <name> [--template dev|staging|prod] [--up]` — a new environment in
 * one idempotent command (README "New environment"):
 *
 *  1. the state backend: B2 bucket + dedicated key (scripts/start/bootstrapState.ts), unless
 *     PULUMI_BACKEND_URL is already set;
 *  2. `Pulumi.<name>.yaml` from the template environment's committed file (a new file you commit);
 *  3. the stack (passphrase secrets provider); its `encryptionsalt` is written into the file;
 *  4. the B2 credentials as Pulumi secrets in the file (values from B2_* variables or no-echo
 *     prompts; never on a command line, never printed) — only keys the file does not have yet;
 *  5. a preview with the policy pack; with --up the first `up`, then a preview that must show no
 *     changes.
 *
 * A re-run changes nothing: the file keeps its salt and ciphertexts, the stack and backend exist,
 * the preview shows no changes. Exit 0 ok, 1 failed, 2 usage/missing input.
 */
import { spawn } from 'child_process';
import { Command, CommanderError } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { isMap, parseDocument } from 'yaml';
import { B2Client } from '../../infra/b2';
import { bootstrapStateBackend } from '../start/bootstrapState';
import { readStackConfig, readStackSecrets } from '../start/project';
import { REPO_ROOT } from '../start/pulumi';
import { EstateError, cliEnv, eventCollector, openEstateStack } from './engine';
import { StackReport, gateReasons, renderMarkdown, reportFromEvents } from './summary';

const NS = 'infrafabric-backup';
const TEMPLATES = ['dev', 'staging', 'prod'] as const;
const log = (line: string) => process.stderr.write(`[bootstrap] ${line}\n`);

export interface BootstrapEnvOptions {
  env: string;
  template: string;
  /** Where Pulumi.<env>.yaml is written. Default the repository root. */
  dir: string;
  stateBucket: string;
  secretFile: string;
  up: boolean;
  storeCredentials: boolean;
  /** Environment (B2_*, PULUMI_*); default process.env. */
  environ?: NodeJS.ProcessEnv;
  /** Reads a secret without echo (tests inject one); default a TTY prompt. */
  prompt?: (question: string) => Promise<string>;
  /** Working copy. Default .cache/estate/<env>. */
  workDir?: string;
}

export interface BootstrapEnvResult {
  stackFile: string;
  fileCreated: boolean;
  fileChanged: boolean;
  stackCreated: boolean;
  secretsSet: string[];
  backendUrl: string;
  reports: StackReport[];
}

/** Reads a line from the terminal without echoing it. */
export function promptNoEcho(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(new EstateError(`${question}: no terminal to prompt on`));
  return new Promise((resolve) => {
    process.stderr.write(`${question}: `);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Credential config keys → the variable they come from; secret ones are stored encrypted. */
function credentialKeys(replication: boolean): { key: string; from: string; secret: boolean }[] {
  const keys = [
    { key: 'b2ApplicationKeyId', from: 'B2_APPLICATION_KEY_ID', secret: false },
    { key: 'b2ApplicationKey', from: 'B2_APPLICATION_KEY', secret: true },
    { key: 'b2RealmUrl', from: 'B2_REALM_URL', secret: false },
  ];
  if (replication)
    keys.push(
      { key: 'replicaApplicationKeyId', from: 'B2_REPLICA_APPLICATION_KEY_ID', secret: false },
      { key: 'replicaApplicationKey', from: 'B2_REPLICA_APPLICATION_KEY', secret: true },
      { key: 'replicaRealmUrl', from: 'B2_REPLICA_REALM_URL', secret: false },
    );
  return keys;
}

/** Runs the pinned CLI in the working copy with `input` on stdin (secrets never go on argv). */
function runCli(args: string[], cwd: string, env: Record<string, string>, input?: string): Promise<string> {
  const exe = path.join(env.PATH!.split(path.delimiter)[0]!, 'pulumi');
  return new Promise((resolve, reject) => {
    const child = spawn(exe, [...args, '--non-interactive'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.end(input ?? '');
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`pulumi ${args[0]} ${args[1] ?? ''} failed: ${err.trim()}`)),
    );
  });
}

/** Writes `doc` to `file` only when the text changes; returns whether it did. */
function writeIfChanged(file: string, text: string): boolean {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return false;
  fs.writeFileSync(file, text);
  return true;
}

export async function bootstrapEnvironment(o: BootstrapEnvOptions): Promise<BootstrapEnvResult> {
  const environ = { ...(o.environ ?? process.env) };
  const prompt = o.prompt ?? promptNoEcho;
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(o.env))
    throw new EstateError(
      `--env ${JSON.stringify(o.env)}: use 1-40 lowercase letters, digits or "-", starting with a letter`,
    );
  if (!(TEMPLATES as readonly string[]).includes(o.template))
    throw new EstateError(`--template ${JSON.stringify(o.template)}: must be one of ${TEMPLATES.join(', ')}`);

  // B2 account credentials: from the environment, else a prompt.
  for (const v of ['B2_APPLICATION_KEY_ID', 'B2_APPLICATION_KEY']) {
    if (!environ[v]) environ[v] = await prompt(`${v} (not echoed)`);
    if (!environ[v]) throw new EstateError(`${v} is empty: set it in the environment or answer the prompt`);
  }

  // 1. State backend.
  let backendUrl = environ.PULUMI_BACKEND_URL ?? '';
  if (!backendUrl) {
    const client = new B2Client({
      applicationKeyId: environ.B2_APPLICATION_KEY_ID!,
      applicationKey: environ.B2_APPLICATION_KEY!,
      ...(environ.B2_REALM_URL ? { realmUrl: environ.B2_REALM_URL } : {}),
    });
    const state = await bootstrapStateBackend({
      bucket: o.stateBucket,
      keyName: `${o.stateBucket}-backend`,
      envFile: o.secretFile,
      rotate: false,
      client,
      log,
    });
    backendUrl = state.loginUrl;
    const creds = readEnvFile(o.secretFile);
    environ.AWS_ACCESS_KEY_ID = creds.AWS_ACCESS_KEY_ID;
    environ.AWS_SECRET_ACCESS_KEY = creds.AWS_SECRET_ACCESS_KEY;
    environ.PULUMI_BACKEND_URL = backendUrl;
  }
  if (!environ.PULUMI_CONFIG_PASSPHRASE && !environ.PULUMI_CONFIG_PASSPHRASE_FILE) {
    const p = await prompt('PULUMI_CONFIG_PASSPHRASE for the new stack (not echoed)');
    if (!p)
      throw new EstateError(
        'the stack passphrase is empty: set PULUMI_CONFIG_PASSPHRASE(_FILE) or answer the prompt',
      );
    environ.PULUMI_CONFIG_PASSPHRASE = p;
  }

  // 2. The committed stack file, from the template when new.
  fs.mkdirSync(o.dir, { recursive: true });
  const stackFile = path.join(o.dir, `Pulumi.${o.env}.yaml`);
  const fileCreated = !fs.existsSync(stackFile);
  if (fileCreated) {
    const templateConfig = readStackConfig(path.join(REPO_ROOT, `Pulumi.${o.template}.yaml`));
    templateConfig[`${NS}:env`] = o.template;
    const doc = parseDocument('');
    doc.contents = doc.createNode({ config: templateConfig }) as never;
    doc.commentBefore =
      ` ${o.env}: created by npm run bootstrap -- --env ${o.env} --template ${o.template}. Commit this file.\n` +
      ' Secrets are Pulumi secrets (decrypted with the stack passphrase); encryptionsalt belongs to the stack.';
    fs.writeFileSync(stackFile, doc.toString());
    log(`wrote ${stackFile} from Pulumi.${o.template}.yaml`);
  }

  // 3. The stack.
  const workDir = o.workDir ?? path.join(REPO_ROOT, '.cache', 'estate', o.env);
  const es = await openEstateStack({ stack: o.env, configDir: o.dir, workDir, env: environ, create: true });
  const stackCreated = es.created;
  log(stackCreated ? `created stack ${o.env}` : `stack ${o.env} exists; reusing it`);
  const env = cliEnv(environ);
  env.PULUMI_BACKEND_URL = backendUrl;

  // Salt and credentials go into the committed file (comments and order kept).
  const doc = parseDocument(fs.readFileSync(stackFile, 'utf8'));
  const workFile = path.join(es.workDir, `Pulumi.${o.env}.yaml`);
  for (const [k, v] of Object.entries(readStackSecrets(workFile))) if (!doc.has(k)) doc.set(k, v);
  const secretsSet: string[] = [];
  if (o.storeCredentials) {
    const config = (doc.get('config') ?? doc.createNode({})) as ReturnType<typeof doc.createNode>;
    if (!isMap(config)) throw new EstateError(`${stackFile}: "config" is not a map`);
    const replication = JSON.stringify(readStackConfig(stackFile)[`${NS}:replication`] ?? {}).includes(
      '"enabled":true',
    );
    for (const c of credentialKeys(replication)) {
      const full = `${NS}:${c.key}`;
      if (config.has(full)) continue;
      const value = environ[c.from] ?? (c.secret ? await prompt(`${c.from} (not echoed)`) : '');
      if (!value) {
        if (c.secret) throw new EstateError(`${c.from} is not set: the ${c.key} secret has no value`);
        continue; // optional plain value (realm URL defaults to B2's)
      }
      if (c.secret) {
        // Encrypted by the CLI with the stack's salt; the value travels on stdin only.
        await runCli(['config', 'set', '--secret', full, '--stack', o.env], es.workDir, env, value);
        const secure = (readStackConfig(workFile)[full] ?? null) as unknown;
        if (!secure || typeof secure !== 'object' || !('secure' in (secure as object)))
          throw new EstateError(`the CLI did not store ${full} as a secret in ${workFile}`);
        config.set(full, secure);
      } else config.set(full, value);
      secretsSet.push(c.key);
    }
    doc.set('config', config);
  }
  const fileChanged = writeIfChanged(stackFile, doc.toString()) || fileCreated;
  if (fileChanged)
    log(`${stackFile}: salt and ${secretsSet.length} credential value(s) recorded — commit it`);
  // The working copy now mirrors the committed file (salt, ciphertexts).
  const again = await openEstateStack({ stack: o.env, configDir: o.dir, workDir, env: environ });

  // 5. Preview (and up) with the policy pack.
  const reports: StackReport[] = [];
  const run = async (kind: 'preview' | 'up') => {
    const { events, onEvent } = eventCollector();
    let error: string | undefined;
    try {
      if (kind === 'preview') await again.stack.preview({ policyPacks: again.policyPacks, onEvent });
      else await again.stack.up({ policyPacks: again.policyPacks, onEvent });
    } catch (e) {
      error = (e as Error).message.split('\n').slice(-30).join('\n');
    }
    const r = reportFromEvents(o.env, kind, events);
    if (error) r.error = error;
    reports.push(r);
    return r;
  };
  await run('preview');
  if (o.up && !reports[0]!.error) {
    await run('up');
    if (!reports[1]!.error) {
      const converged = await run('preview');
      if (Object.keys(converged.changes).length)
        converged.error = 'the preview after up still plans changes: the environment did not converge';
    }
  }
  return { stackFile, fileCreated, fileChanged, stackCreated, secretsSet, backendUrl, reports };
}

async function main(argv: string[]): Promise<void> {
  const cmd = new Command('bootstrap')
    .description(
      'Bring up a new environment: state backend, stack, Pulumi.<env>.yaml with secrets, preview (--up: up)',
    )
    .requiredOption('--env <name>', 'environment / stack name (e.g. qa)')
    .option(
      '--template <env>',
      'template environment: dev, staging or prod (default: --env when it is one of them)',
    )
    .option('--dir <dir>', 'where Pulumi.<env>.yaml is written', REPO_ROOT)
    .option(
      '--state-bucket <name>',
      'B2 bucket for the Pulumi state (when PULUMI_BACKEND_URL is not set)',
      'infrafabric-backup-pulumi-state',
    )
    .option(
      '--secret-file <path>',
      'env file for the state key (0600)',
      path.join(REPO_ROOT, '.cache', 'state-backend.env'),
    )
    .option(
      '--no-store-credentials',
      'do not record the B2 credentials as stack secrets (the pipeline passes B2_* instead)',
    )
    .option('--up', 'run the first pulumi up after the preview', false)
    .addHelpText(
      'after',
      `
Environment: B2_APPLICATION_KEY_ID, B2_APPLICATION_KEY (prompted without echo when missing),
B2_REALM_URL (default B2), B2_REPLICA_* for templates with replication, PULUMI_CONFIG_PASSPHRASE
or PULUMI_CONFIG_PASSPHRASE_FILE (prompted when missing), PULUMI_BACKEND_URL (else the B2 state
bucket is bootstrapped and its key written to --secret-file).`,
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    process.exit((e as CommanderError).exitCode === 0 ? 0 : 2);
  }
  const o = cmd.opts<{
    env: string;
    template?: string;
    dir: string;
    stateBucket: string;
    secretFile: string;
    storeCredentials: boolean;
    up: boolean;
  }>();
  const template = o.template ?? ((TEMPLATES as readonly string[]).includes(o.env) ? o.env : '');
  if (!template) throw new EstateError(`--template is required for --env ${o.env} (dev, staging or prod)`);
  const res = await bootstrapEnvironment({
    ...o,
    template,
    dir: path.resolve(o.dir),
    secretFile: path.resolve(o.secretFile),
  });
  const gate = { allowBucketReplace: true };
  process.stdout.write(renderMarkdown(res.reports, gate));
  process.stdout.write(
    `stack file: ${res.stackFile}${res.fileChanged ? ' (written: commit it)' : ' (unchanged)'}\n` +
      `credentials recorded: ${res.secretsSet.join(', ') || 'none new'}\n`,
  );
  process.exit(res.reports.some((r) => gateReasons(r, gate).length) ? 1 : 0);
}

if (require.main === module || process.argv[1] === __filename) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`bootstrap: ${(e as Error).message}\n`);
    process.exit(e instanceof EstateError ? 2 : 1);
  });
}
