/**
 * `db-restore`: downloads a db-dump version (newest, by key + version id, or point in time),
 * gunzips it into `pg_restore` / `mysql`, and checks the downloaded bytes' SHA-256 against the
 * run manifest. `restoreDump` is shared with `drill`.
 */
import { spawn } from 'child_process';
import { Writable } from 'stream';
import { createGunzip } from 'zlib';
import { DbConn, ENGINES, Engine, parseDbUrl, restoreCommand, withPasswordFile } from '../lib/db';
import { IntegrityError, JobError, UsageError } from '../lib/errors';
import { downloadTo, listVersions, versionAt } from '../lib/objects';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { parseInstant } from '../lib/timeparse';
import { dumpForVersion, newestDump } from './dbManifests';

export interface DbRestoreOptions {
  engine: Engine;
  url: string;
  key?: string;
  versionId?: string;
  at?: string;
  database?: string;
  passwordFile?: string;
}

export interface RestoreTarget {
  key: string;
  versionId?: string;
  expectedSha256?: string;
}

/** Streams the object through gunzip into the restore tool; fails if the tool or the hash does. */
export async function restoreDump(
  ctx: JobContext,
  target: RestoreTarget,
  conn: DbConn,
): Promise<{ bytes: number; seconds: number; sha256: string }> {
  const started = Date.now();
  const cmd = restoreCommand(conn, ctx.env);
  const child = spawn(cmd.cmd, cmd.args, { env: cmd.env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', (e) => {
      stderr += e.message;
      resolve(-1);
    });
  });
  child.stdin.on('error', () => undefined); // EPIPE if the tool dies; its exit code tells why
  const gunzip = createGunzip();
  gunzip.pipe(child.stdin);
  const gunzipDone = new Promise<void>((resolve, reject) => {
    gunzip.once('end', resolve);
    gunzip.once('error', reject);
  });
  let dl;
  try {
    dl = await downloadTo(
      ctx.s3,
      ctx.policy,
      ctx.conn.bucket,
      target.key,
      target.versionId,
      gunzip as unknown as Writable,
      (n) => ctx.reporter.progress(`restore ${target.key}`, n),
    );
    gunzip.end();
    await gunzipDone;
  } catch (err) {
    gunzip.destroy();
    child.kill('SIGTERM');
    await exited;
    throw err;
  }
  const code = await exited;
  if (code !== 0) throw new JobError(`${cmd.cmd} exited with code ${code}: ${stderr.trim().slice(-800)}`);
  const expected = target.expectedSha256 || dl.metadata.sha256;
  if (expected && expected !== dl.sha256) {
    throw new IntegrityError(
      `${target.key}: downloaded SHA-256 ${dl.sha256} does not match the recorded ${expected}; the restored database is suspect`,
    );
  }
  return { bytes: dl.size, seconds: (Date.now() - started) / 1000, sha256: dl.sha256 };
}

async function resolveTarget(
  ctx: JobContext,
  opts: DbRestoreOptions,
  conn: DbConn,
): Promise<RestoreTarget & { source: string }> {
  if (!opts.key) {
    const rec = await newestDump(ctx, opts.engine, opts.database ?? conn.database);
    return { key: rec.key, versionId: rec.versionId, expectedSha256: rec.sha256, source: rec.manifestKey };
  }
  let versionId = opts.versionId;
  if (!versionId && opts.at) {
    versionId = versionAt(
      await listVersions(ctx.s3, ctx.conn.bucket, opts.key),
      opts.key,
      parseInstant(opts.at, '--at', ctx.clock.now()),
    ).versionId;
  }
  const rec = versionId ? await dumpForVersion(ctx, opts.key, versionId) : undefined;
  return {
    key: opts.key,
    versionId,
    expectedSha256: rec?.sha256,
    source: rec?.manifestKey ?? 'object metadata',
  };
}

async function run(ctx: JobContext, opts: DbRestoreOptions): Promise<JobOutcome> {
  const conn = withPasswordFile(parseDbUrl(opts.url, opts.engine), opts.passwordFile);
  const target = await resolveTarget(ctx, opts, conn);
  if (ctx.dryRun) {
    return {
      summary: { ...target, database: conn.database },
      human: [`would restore ${target.key} (${target.versionId ?? 'latest'}) into ${conn.database}`],
      bytes: 0,
      objects: 0,
    };
  }
  const r = await restoreDump(ctx, target, conn);
  return {
    summary: {
      ...target,
      database: conn.database,
      bytes: r.bytes,
      restoreSeconds: Number(r.seconds.toFixed(3)),
      sha256: r.sha256,
    },
    human: [
      `restored ${target.key} into ${conn.database} in ${r.seconds.toFixed(1)} s (${r.bytes} bytes, sha256 verified)`,
    ],
    bytes: r.bytes,
    objects: 1,
  };
}

export const dbRestoreJob: JobDefinition<DbRestoreOptions> = {
  name: 'db-restore',
  purpose: 'restore-reader',
  writesManifest: false,
  validate: (o) => {
    if (!ENGINES.includes(o.engine))
      throw new UsageError(`--engine must be one of ${ENGINES.join(', ')} (got "${o.engine}")`);
    if (!o.url) throw new UsageError('--url <target database URL> is required');
    parseDbUrl(o.url, o.engine);
    if (o.versionId && o.at) throw new UsageError('give at most one of --version-id and --at');
    if ((o.versionId || o.at) && !o.key) throw new UsageError('--version-id/--at need --key');
  },
  run,
};
