/**
 * Real PostgreSQL and MariaDB servers for tests, each in its own temp directory, listening on
 * 127.0.0.1 at a free port with its unix socket in that directory. `stop()` signals exactly the
 * server PID it started and removes the directory.
 *
 * PostgreSQL: Debian `postgresql` (`/usr/lib/postgresql/<ver>/bin`), initdb with SCRAM password
 * auth over TCP (so tests exercise password passing), the server process spawned directly so
 * its PID is known. Refuses to run as root, so as root it runs as the `postgres` user.
 * MariaDB: Debian `mariadb-server` (`mariadb-install-db`, `mariadbd`), a `backup` user with a
 * password for TCP access.
 */
import { ChildProcess, execFileSync, spawnSync } from 'child_process';
import { endTree, spawnTracked, tagOf } from './processes';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface RunningDatabase {
  engine: 'postgres' | 'mysql';
  port: number;
  dir: string;
  pid: number;
  user: string;
  password: string;
  /** Connection URL for a database on this server, without the password (the CLI refuses one). */
  url(database: string): string;
  /** The password as the tools read it from the environment: PGPASSWORD or MYSQL_PWD. */
  passwordEnv: Record<string, string>;
  /** Runs SQL as the admin user and returns stdout (tab separated, no headers). */
  sql(database: string, statement: string): string;
  createDatabase(name: string): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root))
    throw new Error('PostgreSQL server not installed (apt-get install -y postgresql)');
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('no initdb under /usr/lib/postgresql/*/bin');
  return path.join(root, versions[0], 'bin');
}

export function postgresAvailable(): boolean {
  try {
    pgBinDir();
    return true;
  } catch {
    return false;
  }
}

export function mariadbAvailable(): boolean {
  return (
    spawnSync('sh', ['-c', 'command -v mariadbd || test -x /usr/sbin/mariadbd']).status === 0 &&
    spawnSync('sh', ['-c', 'command -v mariadb-install-db']).status === 0
  );
}

const isRoot = process.getuid?.() === 0;

function idOf(user: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', user]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', user]).toString().trim()),
  };
}

async function waitFor(
  check: () => boolean,
  what: string,
  proc: ChildProcess,
  logs: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`${what} exited before ready:\n${logs()}`);
    if (check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms:\n${logs()}`);
}

async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals, dir: string): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }
  const tag = tagOf(proc);
  if (tag) await endTree(tag); // the server's own children (postgres backends) included
  fs.rmSync(dir, { recursive: true, force: true });
}

export async function startPostgres(): Promise<RunningDatabase> {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-pg-'));
  const data = path.join(dir, 'data');
  const password = 'pg-test-' + Math.random().toString(36).slice(2, 10);
  const owner = isRoot ? idOf('postgres') : undefined;
  fs.writeFileSync(path.join(dir, 'pw'), password);
  if (owner) {
    fs.chownSync(dir, owner.uid, owner.gid);
    fs.chownSync(path.join(dir, 'pw'), owner.uid, owner.gid);
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  execFileSync(
    path.join(bin, 'initdb'),
    [
      '-D',
      data,
      '-U',
      'postgres',
      '--pwfile',
      path.join(dir, 'pw'),
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-sync',
    ],
    {
      ...asOwner,
      stdio: 'pipe',
    },
  );
  const port = await freePort();
  let logs = '';
  const proc = spawnTracked(
    'postgres',
    path.join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'synchronous_commit=off',
    ],
    {
      ...asOwner,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
  const env = { ...process.env, PGPASSWORD: password };
  const psql = (db: string, statement: string): string =>
    execFileSync(
      'psql',
      [
        '-X',
        '-q',
        '-A',
        '-t',
        '-F',
        '\t',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        db,
        '-c',
        statement,
      ],
      { env, encoding: 'utf8' },
    );
  await waitFor(
    () => spawnSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).status === 0,
    'postgres',
    proc,
    () => logs,
  );
  return {
    engine: 'postgres',
    port,
    dir,
    pid: proc.pid!,
    user: 'postgres',
    password,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    passwordEnv: { PGPASSWORD: password },
    sql: psql,
    createDatabase: (name) => void psql('postgres', `CREATE DATABASE "${name}"`),
    // SIGINT = PostgreSQL "fast shutdown".
    stop: () => stopProcess(proc, 'SIGINT', dir),
  };
}

export async function startMariadb(): Promise<RunningDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-maria-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const userArgs = isRoot ? ['--user=root'] : [];
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      ...userArgs,
    ],
    { stdio: 'pipe' },
  );
  const port = await freePort();
  const daemon = fs.existsSync('/usr/sbin/mariadbd') ? '/usr/sbin/mariadbd' : 'mariadbd';
  let logs = '';
  const proc = spawnTracked(
    'mariadb',
    daemon,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
      '--skip-name-resolve',
      '--innodb-flush-log-at-trx-commit=0',
      '--skip-log-bin',
      ...userArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
  const rootSql = (statement: string): ReturnType<typeof spawnSync> =>
    spawnSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '-N', '-B', '-e', statement], {
      encoding: 'utf8',
    });
  await waitFor(
    () => rootSql('SELECT 1').status === 0,
    'mariadbd',
    proc,
    () => logs,
  );
  const password = 'maria-test-' + Math.random().toString(36).slice(2, 10);
  const created = rootSql(
    `CREATE USER 'backup'@'%' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'backup'@'%' WITH GRANT OPTION;`,
  );
  if (created.status !== 0) throw new Error(`could not create the backup user: ${String(created.stderr)}`);
  const sql = (db: string, statement: string): string =>
    execFileSync(
      'mariadb',
      [
        '--no-defaults',
        '--protocol=TCP',
        '-h',
        '127.0.0.1',
        `--port=${port}`,
        '-u',
        'backup',
        '-N',
        '-B',
        '-e',
        statement,
        db,
      ],
      {
        env: { ...process.env, MYSQL_PWD: password },
        encoding: 'utf8',
      },
    );
  return {
    engine: 'mysql',
    port,
    dir,
    pid: proc.pid!,
    user: 'backup',
    password,
    url: (db) => `mysql://backup@127.0.0.1:${port}/${db}`,
    passwordEnv: { MYSQL_PWD: password },
    sql,
    createDatabase: (name) => void sql('mysql', `CREATE DATABASE \`${name}\``),
    stop: () => stopProcess(proc, 'SIGTERM', dir),
  };
}
