/**
 * The estate's stacks driven through the Pulumi Automation API (`@pulumi/pulumi/automation`) with
 * the pinned CLI (`PulumiCommand.get` on its bin dir — never `PulumiCommand.install`, which
 * downloads) and the repository's language host and policy pack. Used by the pipeline scripts
 * (preview, up, drift) and the bootstrap (README "GitOps", "New environment").
 *
 * Each stack runs in its working copy (scripts/start/project.ts): the committed `Pulumi.<stack>.yaml`
 * is copied there with its `encryptionsalt`, so the CLI never writes a tracked file.
 *
 * Credentials only from the environment (CI's secret store): `PULUMI_CONFIG_PASSPHRASE` (or
 * `_FILE`), the state backend (`PULUMI_BACKEND_URL` + `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
 * for B2's S3 API), and the providers' `B2_*` variables (or the stack's secret config).
 */
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from '@pulumi/pulumi/automation';
import * as fs from 'fs';
import * as path from 'path';
import { readStackSecrets, writeProjectDir } from '../start/project';
import { POLICY_PACK_DIR, REPO_ROOT } from '../start/pulumi';

interface PulumiCliModule {
  ensurePulumi(opts?: { quiet?: boolean }): { exe: string; binDir: string; version: string };
  pulumiEnv(binDir?: string, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}
const cliModule = require('../../tools/lib/pulumi-cli') as PulumiCliModule;

export interface EstateStackOptions {
  stack: string;
  /** Directory holding the committed `Pulumi.<stack>.yaml`. Default the repository root. */
  configDir?: string;
  /** Working copy directory. Default `.cache/estate/<stack>` in the repository. */
  workDir?: string;
  /** Environment for the CLI and the providers. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Policy pack dir (default the repository's) or false. */
  policyPack?: string | false;
  /** Create the stack when the backend lacks it (bootstrap only). Default false. */
  create?: boolean;
}

export interface EstateStack {
  stack: Stack;
  workDir: string;
  policyPacks: string[];
  /** The stack was created by this call. */
  created: boolean;
}

/** Environment names the CLI must get from the caller, never from files in the repository. */
export const PASSED_ENV = [
  'PULUMI_BACKEND_URL',
  'PULUMI_CONFIG_PASSPHRASE',
  'PULUMI_CONFIG_PASSPHRASE_FILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'B2_REALM_URL',
  'B2_APPLICATION_KEY_ID',
  'B2_APPLICATION_KEY',
  'B2_REPLICA_REALM_URL',
  'B2_REPLICA_APPLICATION_KEY_ID',
  'B2_REPLICA_APPLICATION_KEY',
];

/** A named, actionable failure of the estate scripts (printed without a stack trace). */
export class EstateError extends Error {}

export async function pulumiCommand(): Promise<PulumiCommand> {
  const cli = cliModule.ensurePulumi({ quiet: true });
  // PulumiCommand runs `<root>/bin/pulumi`.
  return PulumiCommand.get({ root: path.dirname(cli.binDir), skipVersionCheck: true });
}

export function cliEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const cli = cliModule.ensurePulumi({ quiet: true });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cliModule.pulumiEnv(cli.binDir, env))) if (v !== undefined) out[k] = v;
  out.INFRAFABRIC_BACKUP_ROOT = REPO_ROOT;
  out.NO_COLOR = '1';
  return out;
}

/** Opens (or, with `create`, creates) a stack of the estate in its working copy. */
export async function openEstateStack(o: EstateStackOptions): Promise<EstateStack> {
  const env = o.env ?? process.env;
  if (!env.PULUMI_BACKEND_URL)
    throw new EstateError(
      'PULUMI_BACKEND_URL is not set: point it at the state backend (README "State backend on B2")',
    );
  if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE)
    throw new EstateError(
      'neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set: the stack secrets cannot be read',
    );
  const configDir = o.configDir ?? REPO_ROOT;
  const stackFile = path.join(configDir, `Pulumi.${o.stack}.yaml`);
  if (!fs.existsSync(stackFile))
    throw new EstateError(
      `${stackFile} does not exist: create the environment with npm run bootstrap -- --env ${o.stack}`,
    );
  if (!o.create && Object.keys(readStackSecrets(stackFile)).length === 0)
    throw new EstateError(
      `${stackFile} has no encryptionsalt, so a fresh checkout cannot decrypt the stack's secrets: run npm run bootstrap -- --env ${o.stack} once and commit the file`,
    );
  const workDir = o.workDir ?? path.join(REPO_ROOT, '.cache', 'estate', o.stack);
  writeProjectDir({ dir: workDir, stack: o.stack, stackFile });
  const ws = await LocalWorkspace.create({
    workDir,
    pulumiCommand: await pulumiCommand(),
    envVars: cliEnv(env),
  });
  const exists = (await ws.listStacks()).some((s) => s.name === o.stack || s.name.endsWith(`/${o.stack}`));
  let stack: Stack;
  if (exists) stack = await Stack.select(o.stack, ws);
  else if (o.create) stack = await Stack.create(o.stack, ws);
  else
    throw new EstateError(
      `stack "${o.stack}" does not exist in ${redactUrl(env.PULUMI_BACKEND_URL)}: create it with npm run bootstrap -- --env ${o.stack}`,
    );
  const pack = o.policyPack === undefined ? POLICY_PACK_DIR : o.policyPack;
  return { stack, workDir, policyPacks: pack ? [pack] : [], created: !exists };
}

/** The backend URL without credentials in it (an s3 URL may carry none; a file URL is a path). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

/** Collects engine events (the Automation API's typed event stream). */
export function eventCollector(): { events: EngineEvent[]; onEvent: (e: EngineEvent) => void } {
  const events: EngineEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}
