/**
 * `db-dump`: `pg_dump -Fc` / `mysqldump --single-transaction` streamed through gzip into a
 * multipart upload (bounded memory, see uploader.ts) at `db/<engine>/<database>/<ts>.<ext>.gz`.
 *
 * The dump's exit status gates completion: a dump that fails or is killed midway closes its
 * stdout like a finished one, so the uploader asks `beforeComplete`, which waits for the exit
 * and vetoes — the multipart upload is aborted and no truncated dump ever looks like a backup.
 *
 * Per-table row counts and checksums are recorded in the run manifest for `drill`. PostgreSQL:
 * computed inside the very snapshot `pg_dump --snapshot` dumps (a REPEATABLE READ transaction held
 * open in a psql session), so they are exact on a busy database. MySQL/MariaDB: `mysqldump
 * --single-transaction` opens its own snapshot, so the counts are taken just before it and can
 * drift if the database is written during the dump; the drill then names the tables that moved.
 */
import { spawn } from 'child_process';
import { createGzip } from 'zlib';
import {
  databaseSize,
  DbConn,
  dumpCommand,
  ENGINES,
  Engine,
  parseDbUrl,
  withPasswordFile,
  PgSnapshotSession,
  TableStat,
  tableStats,
} from '../lib/db';
import { JobError, UsageError } from '../lib/errors';
import { choosePartSize, parseSize } from '../lib/partSize';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { stamp } from '../lib/timeparse';
import { GZIP_CHUNK, uploadStream } from '../lib/uploader';
import { objectMetadataFor } from './common';

export interface DbDumpOptions {
  engine: Engine;
  url: string;
  partSize?: string;
  expectedSize?: string;
  concurrency: number;
  compressionLevel: number;
  /** File holding the database password (else PGPASSWORD / MYSQL_PWD from the environment). */
  passwordFile?: string;
}

export function dumpKey(engine: Engine, database: string, startedAt: number): string {
  return `db/${engine}/${database}/${stamp(startedAt)}.${engine === 'postgres' ? 'dump' : 'sql'}.gz`;
}

async function run(ctx: JobContext, opts: DbDumpOptions): Promise<JobOutcome> {
  const conn: DbConn = withPasswordFile(parseDbUrl(opts.url, opts.engine), opts.passwordFile);
  const cmd = dumpCommand(conn, ctx.env);
  const key = dumpKey(opts.engine, conn.database, ctx.startedAt);
  // Named before connecting: a run that fails before it lists its key (database unreachable)
  // still says which database it was for (verify --max-age counts the failure for that target).
  ctx.manifest.details = { database: { engine: opts.engine, name: conn.database } };
  let session: PgSnapshotSession | undefined;
  let tables: TableStat[];
  if (opts.engine === 'postgres' && !ctx.dryRun) {
    const opened = await PgSnapshotSession.open(conn, ctx.env);
    session = opened.session;
    cmd.args.push(`--snapshot=${opened.snapshotId}`);
    tables = await tableStats(conn, ctx.env, session.query).catch(async (e: unknown) => {
      await session?.close();
      throw e;
    });
  } else {
    tables = await tableStats(conn, ctx.env);
  }
  try {
    // Without --expected-size, the database's on-disk size bounds the dump: parts start
    // above 16 MiB only for databases large enough to need it (≈ 125 GB and up).
    const expected = opts.expectedSize
      ? parseSize(opts.expectedSize, '--expected-size')
      : await databaseSize(conn, ctx.env, session?.query);
    return await dumpAndUpload(ctx, opts, conn, cmd, key, tables, expected);
  } finally {
    await session?.close();
  }
}

async function dumpAndUpload(
  ctx: JobContext,
  opts: DbDumpOptions,
  conn: DbConn,
  cmd: ReturnType<typeof dumpCommand>,
  key: string,
  tables: TableStat[],
  expectedBytes: number,
): Promise<JobOutcome> {
  ctx.manifest.details = {
    database: {
      sizeBytes: expectedBytes,
      engine: opts.engine,
      name: conn.database,
      format: opts.engine === 'postgres' ? 'pg_dump-custom' : 'sql',
      compression: 'gzip',
      tables,
    },
  };
  if (ctx.dryRun) {
    ctx.manifest.objects.push({ key, size: 0, sha256: '', status: 'planned' });
    return {
      summary: { key, database: conn.database, tables, command: [cmd.cmd, ...cmd.args].join(' ') },
      human: [`would dump ${conn.database} (${tables.length} tables) with ${cmd.cmd} to ${key}`],
      bytes: 0,
      objects: 0,
    };
  }

  const child = spawn(cmd.cmd, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      stderr += err.message;
      resolve({ code: -1, signal: null });
    });
  });
  // 1 MiB output chunks instead of zlib's 16 KiB: 64× fewer chunks through the stream machinery
  // into the uploader (−0.7 CPU s per 512 MiB at level 1 in a side-by-side run, bench/README.md).
  const gzip = createGzip({ level: opts.compressionLevel, chunkSize: GZIP_CHUNK });
  child.stdout.on('error', (err) => gzip.destroy(err));
  child.stdout.pipe(gzip);

  const dumpOk = async (): Promise<void> => {
    const { code, signal } = await exited;
    if (code !== 0) {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      throw new JobError(`${cmd.cmd} ${how}; the upload was aborted. ${stderr.trim().slice(-800)}`);
    }
  };

  try {
    const res = await uploadStream({
      s3: ctx.s3,
      bucket: ctx.conn.bucket,
      key,
      body: gzip,
      contentType: 'application/gzip',
      metadata: objectMetadataFor(ctx, 'db-dump', undefined, {
        engine: opts.engine,
        database: conn.database,
        manifest: `manifests/db-dump/${stamp(ctx.startedAt)}.json`,
      }),
      partSize: choosePartSize(
        expectedBytes || undefined,
        opts.partSize ? parseSize(opts.partSize, '--part-size') : undefined,
      ),
      concurrency: opts.concurrency,
      policy: ctx.policy,
      signal: ctx.signal,
      onProgress: (n) => ctx.reporter.progress(`db-dump ${conn.database}`, n),
      beforeComplete: dumpOk,
    });
    ctx.manifest.objects.push({
      key,
      size: res.size,
      sha256: res.sha256,
      versionId: res.versionId,
      status: 'uploaded',
      parts: res.parts,
    });
    return {
      summary: {
        key,
        versionId: res.versionId,
        size: res.size,
        sha256: res.sha256,
        parts: res.parts,
        database: conn.database,
        tables,
      },
      human: [
        `dumped ${conn.database} (${tables.length} tables) to ${key}: ${res.size} bytes in ${res.parts} part(s)`,
      ],
      bytes: res.size,
      objects: 1,
    };
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    // Prefer the dump's own failure over the stream error it caused downstream.
    let timer: NodeJS.Timeout | undefined;
    const dumpFailure = await Promise.race([
      dumpOk().then(
        () => undefined,
        (e: unknown) => e,
      ),
      new Promise((r) => (timer = setTimeout(() => r(undefined), 2000))),
    ]);
    clearTimeout(timer);
    ctx.manifest.objects.push({ key, size: 0, sha256: '', status: 'aborted' });
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    throw dumpFailure instanceof JobError && !(err instanceof JobError) ? dumpFailure : err;
  }
}

export const dbDumpJob: JobDefinition<DbDumpOptions> = {
  name: 'db-dump',
  purpose: 'backup-writer',
  writesManifest: true,
  validate: (o) => {
    if (!ENGINES.includes(o.engine))
      throw new UsageError(`--engine must be one of ${ENGINES.join(', ')} (got "${o.engine}")`);
    if (!o.url) throw new UsageError('--url <connection URL> is required');
    parseDbUrl(o.url, o.engine);
    if (!Number.isInteger(o.compressionLevel) || o.compressionLevel < 0 || o.compressionLevel > 9)
      throw new UsageError('--compression-level must be 0..9');
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 16)
      throw new UsageError('--concurrency must be 1..16');
  },
  run,
};
