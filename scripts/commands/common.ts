/**
 * What every command module shares: the connection/output options all jobs take, their mapping to
 * `CommonOptions`, integer parsing, the AES key options, and the `CommandSpec` shape each module in
 * this folder exports. `scripts/cli.ts` only assembles the specs into one program.
 */
import { Command } from 'commander';
import { DEFAULT_KEY_ENV } from '../lib/crypto';
import { UsageError } from '../lib/errors';
import { MANIFEST_KEY_ENV, MANIFEST_PREVIOUS_KEYS_ENV } from '../lib/manifestSignature';
import { Io } from '../lib/reporter';
import { CommonOptions, JobDefinition, RunnerDeps } from '../lib/runner';

/** Commander's parsed options of one command. */
export type Raw = Record<string, unknown>;

export interface CliDeps extends Partial<Omit<RunnerDeps, 'io' | 'env'>> {
  io?: Io;
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream;
}

/** One CLI command: its name, help, options, and how parsed flags become the job's options. */
export interface CommandSpec<O> {
  name: string;
  description: string;
  job: JobDefinition<O>;
  /** Declares the command's own options (the common ones are added by `addCommon`). */
  define: (cmd: Command) => Command;
  /** Maps commander's parsed flags to the job's options. */
  options: (raw: Raw, deps: CliDeps) => O;
  /** snapshot-config declares its own mandatory --provider (it also names the cloud). */
  ownProvider?: boolean;
  /** The result goes to stderr when stdout carries data (restore --to -). */
  resultToStderr?: (raw: Raw) => boolean;
}

/** Runs one parsed command; resolves to its exit code. */
export type Exec = <O>(
  def: JobDefinition<O>,
  c: CommonOptions,
  o: O,
  resultToStderr?: boolean,
) => Promise<number>;

/** A command with its options type erased, ready to attach to the program. */
export interface CliCommand {
  name: string;
  /** Adds the command to `program`; `done` receives the exit code of its run. */
  attach(program: Command, exec: Exec, deps: CliDeps, done: (code: number) => void): Command;
}

export function defineCommand<O>(spec: CommandSpec<O>): CliCommand {
  return {
    name: spec.name,
    attach(program, exec, deps, done) {
      let cmd = addCommon(
        program.command(spec.name).description(spec.description).exitOverride(),
        !spec.ownProvider,
      );
      if (spec.job.writesManifest || spec.job.readsManifests)
        cmd = manifestKeyOption(cmd, spec.job.writesManifest);
      return spec.define(cmd).action(async (raw: Raw) => {
        const code = await exec(
          spec.job,
          commonOptions(raw),
          spec.options(raw, deps),
          spec.resultToStderr?.(raw),
        );
        done(code);
      });
    },
  };
}

export function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer (got "${v}")`);
    return n;
  };
}

function positiveSeconds(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError(`${name} must be a positive number of seconds (got "${v}")`);
    return n;
  };
}

export function addCommon(cmd: Command, withProvider = true): Command {
  if (withProvider) {
    cmd.option(
      '--provider <provider>',
      "which of the stack's buckets to use with --from-stack (aws, azure, gcp, multi)",
    );
  }
  return cmd
    .option('--bucket <name>', 'bucket (env B2_BUCKET)')
    .option(
      '--endpoint <url>',
      'S3 endpoint, e.g. https://s3.us-west-004.backblazeb2.com (env B2_S3_ENDPOINT)',
    )
    .option('--key-id <id>', 'application key id (env B2_KEY_ID)')
    .option('--application-key-file <path>', 'file holding the application key (else env B2_APPLICATION_KEY)')
    .option(
      '--region <region>',
      'S3 region (default: from the endpoint host, else env B2_REGION, else us-west-004)',
    )
    .option(
      '--from-stack <env>',
      'read bucket, endpoint and scoped key from `pulumi stack output` of this stack',
    )
    .option(
      '--stack-outputs <file>',
      'like --from-stack, from a saved `pulumi stack output --json --show-secrets` file',
    )
    .option(
      '--env <name>',
      'environment name for object metadata (default: env BACKUP_ENV, the stack, or dev)',
    )
    .option('--json', 'print the result as one JSON document on stdout', false)
    .option('--dry-run', 'show what would happen; write nothing', false)
    .option('--metrics-file <path>', 'write Prometheus textfile metrics (success, bytes, duration, retries)')
    .option(
      '--progress-interval <seconds>',
      'off a terminal (cron, Kubernetes), print one progress line every this many seconds',
      positiveSeconds('--progress-interval'),
      30,
    )
    .option('--no-progress', 'no progress at all (on a terminal or in logs)');
}

export function commonOptions(raw: Raw): CommonOptions {
  return {
    bucket: raw.bucket as string | undefined,
    endpoint: raw.endpoint as string | undefined,
    keyId: raw.keyId as string | undefined,
    applicationKeyFile: raw.applicationKeyFile as string | undefined,
    region: raw.region as string | undefined,
    fromStack: raw.fromStack as string | undefined,
    stackOutputs: raw.stackOutputs as string | undefined,
    env: raw.env as string | undefined,
    provider: raw.provider as string | undefined,
    json: !!raw.json,
    dryRun: !!raw.dryRun,
    metricsFile: raw.metricsFile as string | undefined,
    progress: raw.progress !== false,
    progressIntervalMs: typeof raw.progressInterval === 'number' ? raw.progressInterval * 1000 : undefined,
    manifestKeyFile: raw.manifestKeyFile as string | undefined,
    manifestPreviousKeyFiles: raw.manifestPreviousKeyFile as string[] | undefined,
  };
}

/**
 * `--manifest-key-file`, on the commands that write or read run manifests (backup jobs sign what
 * they write; verify and the restores check what they read).
 */
export function manifestKeyOption(cmd: Command, writes: boolean): Command {
  if (!writes)
    cmd = cmd.option(
      '--manifest-previous-key-file <path>',
      `a rotated-out manifest key still accepted (repeatable; also env ${MANIFEST_PREVIOUS_KEYS_ENV}, comma-separated): manifests signed with it before the rotation stay trusted; never used to sign. Drop it once the backups its manifests list have expired (verify notes each previous key's newest manifest)`,
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    );
  return cmd.option(
    '--manifest-key-file <path>',
    writes
      ? `manifest signing key, 32 bytes base64 or hex (else env ${MANIFEST_KEY_ENV}): the run manifest is signed (HMAC-SHA256) so a stolen bucket key cannot forge one; keep it apart from the B2 keys`
      : `manifest signing key, 32 bytes base64 or hex (else env ${MANIFEST_KEY_ENV}): only manifests whose signature verifies (or unsigned ones uploaded before signing began) are trusted`,
  );
}

export function keyOptions(cmd: Command): Command {
  return cmd
    .option('--key-file <path>', 'AES-256 key file (32 bytes as base64 or hex)')
    .option('--key-env <name>', `environment variable holding the AES-256 key`, DEFAULT_KEY_ENV);
}

/** Optional string flag. */
export const str = (raw: Raw, name: string): string | undefined => raw[name] as string | undefined;

/** Help of `--spool-dir` (restore, db-restore). */
export const SPOOL_DIR_HELP =
  'where the download is held and verified before it is written (default: $TMPDIR); needs free space for the whole object';

/** Help of `--at` (restore, db-restore). */
export const AT_HELP =
  'newest version at or before this time: ISO 8601 with a UTC offset (2026-05-01T12:00:00Z, …+02:00) or an age like 2d';
