/**
 * Runs one job: resolves the connection, builds the S3 client, times the run, writes the
 * manifest (backup jobs, even on failure) and the metrics file, prints the result, and maps the
 * outcome to an exit code. Jobs are `run(ctx, opts)` functions that return data (docs/conventions.md §7).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ConfigDeps, ConnectionFlags, ResolvedConnection, resolveConnection } from './config';
import { Clock, systemClock } from '../../infra/b2/clock';
import { exitCodeFor, InterruptedError, messageOf, UsageError } from './errors';
import { Manifest, manifestKey, newManifest, writeManifest } from './manifest';
import {
  loadManifestKey,
  loadPreviousManifestKeys,
  MANIFEST_KEY_ENV,
  MANIFEST_PREVIOUS_KEYS_ENV,
  ManifestKey,
} from './manifestSignature';
import { writeMetricsFile } from './metrics';
import { Io, Reporter } from './reporter';
import {
  describeRetry,
  JobRetryOptions,
  JobRetryPolicy,
  jobRetryPolicy,
  RetryPolicy,
  toJobError,
} from './retry';
import { createS3Client } from './s3client';
import { KeyPurpose } from './stackOutputs';

export interface CommonOptions extends ConnectionFlags {
  json: boolean;
  dryRun: boolean;
  metricsFile?: string;
  progress: boolean;
  /** Off a TTY: one progress line per this many ms (`--progress-interval`, default 30 s). */
  progressIntervalMs?: number;
  /** `--manifest-key-file` (else env BACKUP_MANIFEST_KEY): signs manifests written, checks those read. */
  manifestKeyFile?: string;
  /** `--manifest-previous-key-file` (repeatable; also env BACKUP_MANIFEST_PREVIOUS_KEYS): readers only. */
  manifestPreviousKeyFiles?: string[];
}

export interface JobContext {
  s3: S3Client;
  policy: RetryPolicy;
  clock: Clock;
  conn: ResolvedConnection;
  reporter: Reporter;
  dryRun: boolean;
  env: NodeJS.ProcessEnv;
  manifest: Manifest;
  startedAt: number;
  /** The manifest signing key, when configured (scripts/lib/manifestSignature.ts). */
  manifestKey?: ManifestKey;
  /** Rotated-out keys readers still accept (never used to sign). */
  manifestPreviousKeys?: ManifestKey[];
  /** Aborted on SIGTERM/SIGINT: uploads abort their multipart upload, the job fails. */
  signal?: AbortSignal;
}

export interface JobOutcome {
  /** Machine summary merged into the --json document. */
  summary: Record<string, unknown>;
  /** Human summary lines for stdout. */
  human: string[];
  bytes: number;
  objects: number;
  /** A job may complete its work and still report failure (verify mismatch, cost alert). */
  ok?: boolean;
  failureMessage?: string;
  /** Exit code when `ok` is false (default 1; verify's findings are 3, EXIT_INTEGRITY). */
  failureExitCode?: number;
}

export interface JobDefinition<O> {
  name: string;
  purpose: KeyPurpose;
  /** Backup jobs write `manifests/<job>/<ts>.json`; read-only jobs do not (reader keys cannot). */
  writesManifest: boolean;
  /** Reads run manifests and so checks their signatures (verify, restore, db-restore, drill). */
  readsManifests?: boolean;
  /** Checks job options before any network call (UsageError on bad input). */
  validate?: (opts: O, deps: RunnerDeps) => void | Promise<void>;
  run: (ctx: JobContext, opts: O) => Promise<JobOutcome>;
}

export interface RunnerDeps extends ConfigDeps {
  io: Io;
  clock?: Clock;
  /** Overrides for tests (short budgets) or benchmarks. */
  retry?: Partial<JobRetryOptions>;
  makeS3?: (conn: ResolvedConnection, policy: RetryPolicy) => S3Client;
  signal?: AbortSignal;
}

/** Retry knobs from the environment, so an operator can shorten waits without code changes. */
export function retryFromEnv(env: NodeJS.ProcessEnv): Partial<JobRetryOptions> {
  const out: Partial<JobRetryOptions> = {};
  const num = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new UsageError(`${name} must be a non-negative number of milliseconds (got "${v}")`);
    return n;
  };
  const base = num('BACKUP_RETRY_BASE_MS');
  const max = num('BACKUP_RETRY_MAX_MS');
  const budget = num('BACKUP_RETRY_BUDGET_MS');
  const connectBudget = num('BACKUP_RETRY_CONNECT_BUDGET_MS');
  const connectTimeout = num('BACKUP_CONNECT_TIMEOUT_MS');
  if (base !== undefined) out.initialDelayMs = base;
  if (max !== undefined) out.maxDelayMs = max;
  if (budget !== undefined) out.budgetMs = budget;
  if (connectBudget !== undefined) out.connectBudgetMs = connectBudget;
  if (connectTimeout !== undefined) out.connectTimeoutMs = connectTimeout;
  return out;
}

export async function runJob<O>(
  def: JobDefinition<O>,
  common: CommonOptions,
  opts: O,
  deps: RunnerDeps,
): Promise<number> {
  const clock = deps.clock ?? systemClock;
  const reporter = new Reporter(deps.io, common.json, {
    enabled: common.progress,
    ...(common.progressIntervalMs ? { intervalMs: common.progressIntervalMs } : {}),
  });
  const startedAt = clock.now();
  let ctx: JobContext | undefined;
  let outcome: JobOutcome | undefined;
  let error: unknown;
  let manifestRef: { key: string; versionId?: string; signedWith?: string } | undefined;
  let policy: JobRetryPolicy | undefined;
  try {
    await def.validate?.(opts, deps);
    const signingKey =
      def.writesManifest || def.readsManifests
        ? loadManifestKey(common.manifestKeyFile, deps.env)
        : undefined;
    const previousKeys = def.readsManifests
      ? loadPreviousManifestKeys(common.manifestPreviousKeyFiles, deps.env)
      : [];
    if (previousKeys.length && !signingKey)
      throw new UsageError(
        `previous manifest keys (--manifest-previous-key-file / ${MANIFEST_PREVIOUS_KEYS_ENV}) need the current key too: set ${MANIFEST_KEY_ENV} or --manifest-key-file`,
      );
    const conn = await resolveConnection(common, def.purpose, deps);
    policy = jobRetryPolicy({
      clock,
      // One stderr line per retry (operation, error, wait): a struggling job is never silent.
      onRetry: (e) => reporter.note(describeRetry(e)),
      signal: deps.signal,
      ...retryFromEnv(deps.env),
      ...deps.retry,
    });
    const s3 = deps.makeS3 ? deps.makeS3(conn, policy) : createS3Client(conn, { policy });
    ctx = {
      s3,
      policy,
      clock,
      conn,
      reporter,
      dryRun: common.dryRun,
      env: deps.env,
      manifest: newManifest(def.name, conn.bucket, conn.env, startedAt, common.provider),
      startedAt,
      manifestKey: signingKey,
      manifestPreviousKeys: previousKeys,
      signal: deps.signal,
    };
    outcome = await def.run(ctx, opts);
  } catch (err) {
    error = toJobError(err, undefined, policy?.connectBudgetMs);
  }
  // Interrupted: whatever the job threw on its way out (an AbortError, the request's last error),
  // the outcome is the signal's.
  if (deps.signal?.aborted && deps.signal.reason instanceof InterruptedError) error = deps.signal.reason;
  const ok = !error && outcome?.ok !== false;
  if (ctx && def.writesManifest && !common.dryRun) {
    ctx.manifest.finishedAt = new Date(clock.now()).toISOString();
    ctx.manifest.status = ok ? 'ok' : 'failed';
    if (!ok) ctx.manifest.error = error ? messageOf(error) : outcome?.failureMessage;
    try {
      manifestRef = await writeManifest(
        ctx.s3,
        ctx.policy,
        ctx.manifest,
        manifestKey(def.name, startedAt),
        ctx.manifestKey,
      );
    } catch (err) {
      // A run whose manifest is lost is not a trustworthy backup: fail it.
      error ??= new Error(`could not write the run manifest: ${messageOf(err)}`);
    }
  }
  const finishedAt = clock.now();
  const success = !error && outcome?.ok !== false;
  const failure = error ? messageOf(error) : outcome?.failureMessage;
  // A dry run writes nothing at all: not even the metrics file (a dry run must not turn a failed
  // job's `backup_job_success 0` into 1).
  if (common.metricsFile && common.dryRun) {
    reporter.note(`dry run: --metrics-file ${common.metricsFile} not written`);
  } else if (common.metricsFile) {
    try {
      writeMetricsFile(common.metricsFile, {
        job: def.name,
        env: ctx?.conn.env ?? common.env ?? 'unknown',
        success,
        bytes: outcome?.bytes ?? 0,
        objects: outcome?.objects ?? ctx?.manifest.objects.length ?? 0,
        durationSeconds: (finishedAt - startedAt) / 1000,
        retries: policy?.stats.retries ?? 0,
        finishedAtMs: finishedAt,
      });
    } catch (err) {
      reporter.note(`warning: could not write --metrics-file ${common.metricsFile}: ${messageOf(err)}`);
    }
  }
  const doc = {
    job: def.name,
    ok: success,
    dryRun: common.dryRun,
    ...(failure ? { error: failure } : {}),
    durationSeconds: Number(((finishedAt - startedAt) / 1000).toFixed(3)),
    retries: policy?.stats.retries ?? 0,
    ...(manifestRef ? { manifest: manifestRef } : {}),
    ...(outcome?.summary ?? {}),
  };
  const human = [...(outcome?.human ?? [])];
  if (manifestRef)
    human.push(
      `manifest: ${manifestRef.key}${manifestRef.signedWith ? ` (signed, key id ${manifestRef.signedWith})` : ''}`,
    );
  reporter.result(doc, human);
  const code = success ? 0 : error ? exitCodeFor(error) : (outcome?.failureExitCode ?? 1);
  if (code === 2) reporter.note(`error: ${failure} (see \`infrafabric-backup ${def.name} --help\`)`);
  else if (code === 3) reporter.note(`${def.name}: INTEGRITY FAILURE: ${failure}`);
  else if (!success) reporter.note(`${def.name} failed: ${failure}`);
  return code;
}
