/**
 * Database engines for `db-dump`, `db-restore` and `drill`: connection URLs, the dump/restore
 * commands, and per-table statistics (row count + an order-independent checksum) that the drill
 * compares after a restore.
 *
 * Passwords never appear on a command line (visible in `ps`), neither ours nor the tools': a URL
 * with a password is refused (it is in this CLI's own argv); the password comes from PGPASSWORD /
 * MYSQL_PWD in the environment (inherited by the tools) or from `--password-file`, and travels
 * to the tools in their environment. Tool paths can be pinned with BACKUP_PG_DUMP,
 * BACKUP_PG_RESTORE, BACKUP_PSQL, BACKUP_MYSQLDUMP, BACKUP_MYSQL (e.g. a versioned pg_dump).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import { JobError, UsageError } from './errors';
import { SecretString } from '../../infra/b2/secret';

export const ENGINES = ['postgres', 'mysql'] as const;
export type Engine = (typeof ENGINES)[number];

export interface DbConn {
  engine: Engine;
  host?: string;
  port?: number;
  socket?: string;
  user?: string;
  password?: SecretString;
  database: string;
}

export interface TableStat {
  table: string;
  rows: number;
  checksum: string;
}

export interface Command {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** postgres://user@host:port/db?host=/sock/dir · mysql://user@host:port/db?socket=/x.sock (no password: refused) */
export function parseDbUrl(url: string, engine: Engine, field = '--url'): DbConn {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(
      `${field}: not a URL (expected ${engine === 'postgres' ? 'postgres://user@host:5432/db' : 'mysql://user@host:3306/db'}; the password goes in ${engine === 'postgres' ? 'PGPASSWORD' : 'MYSQL_PWD'} or --password-file)`,
    );
  }
  const schemes = engine === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:', 'mariadb:'];
  if (!schemes.includes(u.protocol))
    throw new UsageError(`${field}: scheme must be ${schemes.join(' or ')} for --engine ${engine}`);
  refusePassword(u, engine, field);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new UsageError(`${field}: the URL names no database (…/<database>)`);
  const socket = u.searchParams.get(engine === 'postgres' ? 'host' : 'socket') ?? undefined;
  return {
    engine,
    host: u.hostname || undefined,
    port: u.port ? Number(u.port) : undefined,
    socket,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    database,
  };
}

/**
 * Refuses a URL that carries a password: it would sit in this process's argv, readable by every
 * user of the machine through `ps` or /proc/<pid>/cmdline.
 */
function refusePassword(u: URL, engine: Engine, field: string): void {
  if (!u.password) return;
  const envName = engine === 'postgres' ? 'PGPASSWORD' : 'MYSQL_PWD';
  throw new UsageError(
    `${field}: the URL contains a password, which would be visible in the process list (ps) while the job runs; ` +
      `remove it from the URL (${u.protocol}//${u.username ? decodeURIComponent(u.username) + '@' : ''}${u.host}${u.pathname}) ` +
      `and set ${envName} in the environment or pass --password-file <file>`,
  );
}

/** The connection with the password read from `file` (one line; a trailing newline is dropped). */
export function withPasswordFile(c: DbConn, file: string | undefined): DbConn {
  if (!file) return c;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--password-file ${file}: cannot read it (${(err as Error).message})`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (!password) throw new UsageError(`--password-file ${file}: the file is empty`);
  return { ...c, password: new SecretString(password) };
}

/** The same server, another database (drill scratch databases). */
export function withDatabase(c: DbConn, database: string): DbConn {
  return { ...c, database };
}

function tool(env: NodeJS.ProcessEnv, override: string, candidates: string[]): string {
  if (env[override]) return env[override]!;
  for (const c of candidates) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new UsageError(`${candidates[0]} not found on PATH (install the client tools or set ${override})`);
}

function pgEnv(c: DbConn, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...env, PGDATABASE: c.database, PGCONNECT_TIMEOUT: '15' };
  if (c.socket ?? c.host) e.PGHOST = c.socket ?? c.host;
  if (c.port) e.PGPORT = String(c.port);
  if (c.user) e.PGUSER = c.user;
  if (c.password) e.PGPASSWORD = c.password.reveal();
  return e;
}

function myArgs(c: DbConn): string[] {
  const a: string[] = [];
  if (c.socket) a.push(`--socket=${c.socket}`);
  else if (c.host) a.push(`--host=${c.host}`, '--protocol=TCP');
  if (c.port) a.push(`--port=${c.port}`);
  if (c.user) a.push(`--user=${c.user}`);
  return a;
}

function myEnv(c: DbConn, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return c.password ? { ...env, MYSQL_PWD: c.password.reveal() } : { ...env };
}

export function dumpCommand(c: DbConn, env: NodeJS.ProcessEnv): Command {
  if (c.engine === 'postgres') {
    // -Z0: the stream is gzipped once on our side; compressing twice only burns CPU.
    return {
      cmd: tool(env, 'BACKUP_PG_DUMP', ['pg_dump']),
      args: ['-Fc', '-Z', '0', '--no-password'],
      env: pgEnv(c, env),
    };
  }
  return {
    cmd: tool(env, 'BACKUP_MYSQLDUMP', ['mysqldump', 'mariadb-dump']),
    args: [
      ...myArgs(c),
      '--single-transaction',
      '--quick',
      '--routines',
      '--triggers',
      '--hex-blob',
      '--no-tablespaces',
      c.database,
    ],
    env: myEnv(c, env),
  };
}

/**
 * The restore tool reading the (gunzipped) dump on stdin. `clean`: objects in the dump are dropped
 * before they are recreated — pg_restore `--clean --if-exists`; a mysqldump file already starts
 * each table with `DROP TABLE IF EXISTS`. Objects the dump does not contain are left alone.
 * Callers refuse a non-empty target without `clean` (userTableCount), for both engines alike.
 */
export function restoreCommand(c: DbConn, env: NodeJS.ProcessEnv, clean = false): Command {
  if (c.engine === 'postgres') {
    return {
      cmd: tool(env, 'BACKUP_PG_RESTORE', ['pg_restore']),
      args: [
        '--no-owner',
        '--no-acl',
        '--exit-on-error',
        '--no-password',
        ...(clean ? ['--clean', '--if-exists'] : []),
        '-d',
        c.database,
      ],
      env: pgEnv(c, env),
    };
  }
  return {
    cmd: tool(env, 'BACKUP_MYSQL', ['mysql', 'mariadb']),
    args: [...myArgs(c), c.database],
    env: myEnv(c, env),
  };
}

export type QueryFn = (sql: string) => Promise<string[][]>;

/** Tables and views users created in the target database (0: safe to restore into). */
export async function userTableCount(c: DbConn, env: NodeJS.ProcessEnv): Promise<number> {
  const sql =
    c.engine === 'postgres'
      ? "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema') AND table_schema NOT LIKE 'pg_toast%'"
      : 'SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()';
  const rows = await query(c, sql, env);
  return Number(rows[0]?.[0] ?? 0);
}

/** Runs SQL through psql / mysql and returns tab-separated rows. */
export async function query(c: DbConn, sql: string, env: NodeJS.ProcessEnv): Promise<string[][]> {
  const cmd =
    c.engine === 'postgres'
      ? {
          cmd: tool(env, 'BACKUP_PSQL', ['psql']),
          args: ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '--no-password', '-c', sql],
          env: pgEnv(c, env),
        }
      : {
          cmd: tool(env, 'BACKUP_MYSQL', ['mysql', 'mariadb']),
          args: [...myArgs(c), '-N', '-B', '-e', sql, c.database],
          env: myEnv(c, env),
        };
  const out = await runCapture(cmd);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

export function runCapture(c: Command, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.cmd, c.args, { env: c.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => reject(new JobError(`${c.cmd}: ${e.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new JobError(`${c.cmd} exited with status ${code}: ${err.trim().slice(-800)}`));
    });
    child.stdin.end(input ?? '');
  });
}

function pgIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function myIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** PostgreSQL literal (standard_conforming_strings: backslash is not special). */
function pgString(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

/** MySQL literal: backslash escapes by default, so double it. */
function myString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

/**
 * Row count and checksum per table. The checksum sums the first 60 bits of each row's MD5 (as a
 * decimal), so it is independent of row order, does not cancel duplicate rows (unlike XOR) and
 * cannot overflow (numeric/decimal sum).
 */
export async function tableStats(
  c: DbConn,
  env: NodeJS.ProcessEnv,
  run: QueryFn = (sql) => query(c, sql, env),
): Promise<TableStat[]> {
  if (c.engine === 'postgres') {
    const tables = await run(
      "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1, 2",
    );
    if (tables.length === 0) return [];
    const parts = tables.map(([schema, table]) => {
      const q = `${pgIdent(schema)}.${pgIdent(table)}`;
      return `SELECT ${pgString(`${schema}.${table}`)}, count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text FROM ${q} t`;
    });
    return (await run(parts.join(' UNION ALL ') + ' ORDER BY 1')).map(([table, rows, checksum]) => ({
      table,
      rows: Number(rows),
      checksum,
    }));
  }
  const cols = await run(
    "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name WHERE c.table_schema = DATABASE() AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
  );
  const byTable = new Map<string, string[]>();
  for (const [t, col] of cols) byTable.set(t, [...(byTable.get(t) ?? []), col]);
  if (byTable.size === 0) return [];
  const parts = [...byTable.entries()].map(([t, columns]) => {
    const row = `CONCAT_WS('|', ${columns.map((col) => `IFNULL(CAST(${myIdent(col)} AS BINARY), X'00')`).join(', ')})`;
    return `SELECT ${myString(t)}, COUNT(*), CAST(COALESCE(SUM(CAST(CONV(SUBSTRING(MD5(${row}), 1, 15), 16, 10) AS UNSIGNED)), 0) AS CHAR) FROM ${myIdent(t)}`;
  });
  return (await run(parts.join(' UNION ALL ') + ' ORDER BY 1')).map(([table, rows, checksum]) => ({
    table,
    rows: Number(rows),
    checksum,
  }));
}

/**
 * On-disk size of the database (tables + indexes). A dump is smaller (no indexes) and gzip
 * shrinks it further, so this is a safe upper bound for choosing the multipart part size.
 */
export async function databaseSize(
  c: DbConn,
  env: NodeJS.ProcessEnv,
  run: QueryFn = (sql) => query(c, sql, env),
): Promise<number> {
  const sql =
    c.engine === 'postgres'
      ? 'SELECT pg_database_size(current_database())'
      : 'SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE()';
  const rows = await run(sql);
  const n = Number(rows[0]?.[0]);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

export async function createDatabase(admin: DbConn, name: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (admin.engine === 'postgres') await query(admin, `CREATE DATABASE ${pgIdent(name)}`, env);
  else await query(admin, `CREATE DATABASE ${myIdent(name)}`, env);
}

export async function dropDatabase(admin: DbConn, name: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (admin.engine === 'postgres') await query(admin, `DROP DATABASE IF EXISTS ${pgIdent(name)}`, env);
  else await query(admin, `DROP DATABASE IF EXISTS ${myIdent(name)}`, env);
}

export interface StatDiff {
  table: string;
  expected?: TableStat;
  actual?: TableStat;
  problem: string;
}

export function compareStats(expected: TableStat[], actual: TableStat[]): StatDiff[] {
  const diffs: StatDiff[] = [];
  const act = new Map(actual.map((s) => [s.table, s]));
  for (const e of expected) {
    const a = act.get(e.table);
    if (!a) diffs.push({ table: e.table, expected: e, problem: 'table missing after restore' });
    else if (a.rows !== e.rows)
      diffs.push({
        table: e.table,
        expected: e,
        actual: a,
        problem: `row count ${a.rows}, expected ${e.rows}`,
      });
    else if (a.checksum !== e.checksum)
      diffs.push({ table: e.table, expected: e, actual: a, problem: 'checksum differs' });
    act.delete(e.table);
  }
  for (const a of act.values())
    diffs.push({ table: a.table, actual: a, problem: 'table not in the dump manifest' });
  return diffs;
}

/**
 * A PostgreSQL REPEATABLE READ transaction held open in one `psql` session, whose snapshot is
 * exported for `pg_dump --snapshot`. The table statistics are computed inside it, so they describe
 * exactly the data in the dump even while the database is being written to.
 */
export class PgSnapshotSession {
  private out = '';
  private waiters: { marker: string; resolve: (rows: string[][]) => void; reject: (e: Error) => void }[] = [];
  private seq = 0;
  private stderr = '';
  private exited = false;

  private constructor(private readonly child: import('child_process').ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      this.drain();
    });
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.once('close', (code) => {
      this.exited = true;
      const err = new JobError(
        `psql snapshot session ended (code ${code}): ${this.stderr.trim().slice(-800)}`,
      );
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
    child.once('error', () => undefined);
    child.stdin.on('error', () => undefined);
  }

  static async open(
    c: DbConn,
    env: NodeJS.ProcessEnv,
  ): Promise<{ session: PgSnapshotSession; snapshotId: string }> {
    const psql = tool(env, 'BACKUP_PSQL', ['psql']);
    const child = spawn(
      psql,
      ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '--no-password'],
      { env: pgEnv(c, env), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const session = new PgSnapshotSession(child);
    await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const [[snapshotId]] = await session.query('SELECT pg_export_snapshot()');
    return { session, snapshotId };
  }

  private drain(): void {
    for (;;) {
      const w = this.waiters[0];
      if (!w) return;
      const at = this.out.indexOf(w.marker + '\n');
      if (at < 0) return;
      const body = this.out.slice(0, at);
      this.out = this.out.slice(at + w.marker.length + 1);
      this.waiters.shift();
      w.resolve(
        body
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => l.split('\t')),
      );
    }
  }

  query: QueryFn = (sql) =>
    new Promise((resolve, reject) => {
      if (this.exited)
        return reject(new JobError(`psql snapshot session already ended: ${this.stderr.trim().slice(-800)}`));
      const marker = `__ifb_end_${++this.seq}__`;
      this.waiters.push({ marker, resolve, reject });
      this.child.stdin.write(`${sql.replace(/;\s*$/, '')};\n\\echo ${marker}\n`);
    });

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('close', () => r()));
    this.child.stdin.end('COMMIT;\n\\q\n');
    await done;
  }
}
