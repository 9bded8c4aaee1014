/**
 * `db-restore`: restores a db-dump version (newest, by key + version id, or point in time) into
 * a database. Order of events: the target database is checked (any user table → refused unless
 * `--clean`, exit 2), the version and its expected SHA-256 are resolved from the run manifest,
 * the dump is downloaded into a private spool and hashed while it is written, compared (mismatch
 * → exit 3, the database untouched), and only then gunzipped into `pg_restore` / `mysql`.
 * `restoreDump` is shared with `drill`.
 */
import { spawn } from 'child_process';
import { pipeline } from 'stream/promises';
import { createGunzip } from 'zlib';
import {
  DbConn,
  ENGINES,
  Engine,
  parseDbUrl,
  restoreCommand,
  userTableCount,
  withPasswordFile,
} from '../lib/db';
import { JobError, messageOf, UsageError } from '../lib/errors';
import {
  describeVerification,
  requireExpectedHash,
  resolveRestoreSource,
  RestoreSource,
  sourceSummary,
  spoolAndVerify,
} from '../lib/restoreSource';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { parseInstant } from '../lib/timeparse';
import { newestDump, newestDumpSource } from './dbManifests';

export interface DbRestoreOptions {
  engine: Engine;
  url: string;
  key?: string;
  versionId?: string;
  at?: string;
  database?: string;
  passwordFile?: string;
  /** Restore into a database that already has tables (objects in the dump are dropped first). */
  clean?: boolean;
  allowUnverified?: boolean;
  spoolDir?: string;
}

export interface RestoreResult {
  bytes: number;
  seconds: number;
  sha256: string;
}

/**
 * Spools and verifies the dump, then streams it through gunzip into the restore tool. A tool that
 * exits before reading all its input (EPIPE) is reported by name with its exit status and the
 * tail of its stderr.
 */
export async function restoreDump(
  ctx: JobContext,
  src: RestoreSource,
  conn: DbConn,
  opts: { clean?: boolean; spoolDir?: string } = {},
): Promise<RestoreResult> {
  const started = Date.now();
  const cmd = restoreCommand(conn, ctx.env, !!opts.clean);
  const spool = await spoolAndVerify(ctx, src, opts.spoolDir, `download ${src.key}`);
  try {
    const child = spawn(cmd.cmd, cmd.args, { env: cmd.env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    let spawnError: Error | undefined;
    const exited = new Promise<number | null>((resolve) => {
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : null)));
      child.once('error', (e) => {
        spawnError = e;
        resolve(-1);
      });
    });
    let feedError: unknown;
    try {
      await pipeline(spool.createReadStream(), createGunzip(), child.stdin);
    } catch (err) {
      feedError = err;
      child.stdin.destroy();
    }
    const code = await exited;
    const tool = cmd.cmd.split('/').pop();
    if (spawnError) throw new JobError(`${tool} could not be started: ${spawnError.message}`);
    if (code !== 0) {
      const early =
        (feedError as NodeJS.ErrnoException | undefined)?.code === 'EPIPE'
          ? ' before reading all of the dump'
          : '';
      const tail = stderr.trim().slice(-800);
      throw new JobError(`${tool} exited with status ${code}${early}${tail ? `: ${tail}` : ' (no stderr)'}`);
    }
    if (feedError) throw new JobError(`feeding the dump to ${tool} failed: ${messageOf(feedError)}`);
    return { bytes: spool.size, seconds: (Date.now() - started) / 1000, sha256: spool.sha256 };
  } finally {
    await spool.dispose();
  }
}

async function resolveSource(ctx: JobContext, opts: DbRestoreOptions, conn: DbConn): Promise<RestoreSource> {
  if (!opts.key) {
    const rec = await newestDump(ctx, opts.engine, opts.database ?? conn.database);
    return newestDumpSource(ctx, rec);
  }
  return resolveRestoreSource(ctx, opts.key, { versionId: opts.versionId, at: opts.at });
}

async function run(ctx: JobContext, opts: DbRestoreOptions): Promise<JobOutcome> {
  const conn = withPasswordFile(parseDbUrl(opts.url, opts.engine), opts.passwordFile);
  // Before anything is downloaded: a database with tables is not overwritten without --clean.
  const tables = await userTableCount(conn, ctx.env);
  if (tables > 0 && !opts.clean) {
    throw new UsageError(
      `database ${conn.database} already has ${tables} table(s); refusing to restore over them. ` +
        'Restore into an empty database, or pass --clean to drop and recreate the objects in the dump',
    );
  }
  const src = await resolveSource(ctx, opts, conn);
  requireExpectedHash(src, !!opts.allowUnverified);
  if (ctx.dryRun) {
    return {
      summary: {
        ...sourceSummary(src),
        database: conn.database,
        existingTables: tables,
        clean: !!opts.clean,
      },
      human: [
        `would restore ${src.key} version ${src.versionId} (uploaded ${new Date(src.uploadedAt).toISOString()}) into ${conn.database}${opts.clean ? ' with --clean' : ''}`,
      ],
      bytes: 0,
      objects: 0,
    };
  }
  const r = await restoreDump(ctx, src, conn, { clean: opts.clean, spoolDir: opts.spoolDir });
  return {
    summary: {
      ...sourceSummary(src, r.sha256),
      database: conn.database,
      clean: !!opts.clean,
      bytes: r.bytes,
      restoreSeconds: Number(r.seconds.toFixed(3)),
    },
    human: [
      `restored ${src.key} into ${conn.database} in ${r.seconds.toFixed(1)} s (${r.bytes} bytes)`,
      describeVerification(src, r.sha256),
    ],
    bytes: r.bytes,
    objects: 1,
  };
}

export const dbRestoreJob: JobDefinition<DbRestoreOptions> = {
  name: 'db-restore',
  purpose: 'restore-reader',
  writesManifest: false,
  readsManifests: true,
  validate: (o) => {
    if (!ENGINES.includes(o.engine))
      throw new UsageError(`--engine must be one of ${ENGINES.join(', ')} (got "${o.engine}")`);
    if (!o.url) throw new UsageError('--url <target database URL> is required');
    parseDbUrl(o.url, o.engine);
    if (o.versionId && o.at) throw new UsageError('give at most one of --version-id and --at');
    if ((o.versionId || o.at) && !o.key) throw new UsageError('--version-id/--at need --key');
    if (o.at) parseInstant(o.at, '--at', Date.now());
  },
  run,
};
