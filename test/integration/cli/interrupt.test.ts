/**
 * Retries are visible and interruptible (issue 11 §9), through the real bin as cron, systemd and
 * Kubernetes run it:
 * - an unreachable endpoint (connection refused, DNS failure) fails within the connection budget
 *   with one stderr line per retry naming the operation, the error and the wait;
 * - SIGINT / SIGTERM in the middle of a multipart upload stuck in a 2-minute `Retry-After` exits
 *   130 / 143 within 5 s and leaves no unfinished large file and no object;
 * - under `timeout`, no process outlives it.
 */
import { ListMultipartUploadsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { cli, Estate, sdkClient, startEstate } from './fixture';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'infrafabric-backup.js');

let estate: Estate;
let tmp: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-interrupt-'));
  // One incompressible 40 MB log: audit-logs streams it as a multipart upload (16 MiB parts).
  const dir = path.join(tmp, 'logs');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'big.log'), randomBytes(40_000_000));
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv, cmd = process.execPath, pre: string[] = [BIN]) {
  const started = Date.now();
  const child = spawn(cmd, [...pre, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stderr, ms: Date.now() - started })),
  );
  return { child, exited, stderr: () => stderr };
}

/** A 127.0.0.1 port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function clearFaults(): Promise<void> {
  await estate.emu.admin('DELETE', '/__admin/faults');
}

/** Every UploadPart answers 503 SlowDown with Retry-After: 120 — the job sits in a long wait. */
async function stallUploads(): Promise<void> {
  await clearFaults();
  await estate.emu.admin('POST', '/__admin/faults', {
    operation: 's3:UploadPart',
    status: 503,
    code: 'SlowDown',
    message: 'injected stall',
    retryAfter: 120,
  });
}

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function nothingLeft(prefix: string): Promise<void> {
  const s3 = sdkClient(estate);
  const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: estate.bucket, Prefix: prefix }));
  expect(open.Uploads ?? []).toEqual([]);
  const v = await s3.send(new ListObjectVersionsCommand({ Bucket: estate.bucket, Prefix: prefix }));
  expect(v.Versions ?? []).toEqual([]);
  s3.destroy();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Children of `pid` from /proc (Linux). */
function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

it('connection refused: retry lines on stderr, exit 1 within the connection budget', async () => {
  const port = await closedPort();
  const env = {
    ...estate.env,
    B2_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    BACKUP_RETRY_BASE_MS: '200',
    BACKUP_RETRY_MAX_MS: '1000',
    BACKUP_RETRY_CONNECT_BUDGET_MS: '5000',
    BACKUP_CONNECT_TIMEOUT_MS: '1000',
  };
  const r = await run(['list', '--prefix', 'db/'], env).exited;
  expect(r.code).toBe(1);
  expect(r.ms).toBeLessThan(15_000);
  const retries = r.stderr.split('\n').filter((l) => l.startsWith('retry: '));
  expect(retries.length).toBeGreaterThanOrEqual(2);
  for (const l of retries)
    expect(l).toMatch(
      /^retry: ListObjectVersions db\/ failed \(attempt \d+\): ECONNREFUSED.*; retrying in \d+\.\d s$/,
    );
  expect(r.stderr).toMatch(
    /list failed: cannot reach the S3 endpoint \(retried for up to 5 s\): connect ECONNREFUSED/,
  );
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}, 30_000);

it('DNS failure: bounded too, and named', async () => {
  const env = {
    ...estate.env,
    B2_S3_ENDPOINT: 'http://s3.no-such-host.invalid',
    BACKUP_RETRY_BASE_MS: '200',
    BACKUP_RETRY_MAX_MS: '1000',
    BACKUP_RETRY_CONNECT_BUDGET_MS: '4000',
    BACKUP_CONNECT_TIMEOUT_MS: '1000',
  };
  const r = await run(['list'], env).exited;
  expect(r.code).toBe(1);
  expect(r.ms).toBeLessThan(30_000);
  expect(r.stderr).toMatch(/retry: ListObjectVersions failed \(attempt 1\): (ENOTFOUND|EAI_AGAIN)/);
  expect(r.stderr).toMatch(
    /cannot reach the S3 endpoint \(retried for up to 4 s\): getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
  );
}, 45_000);

it.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)(
  '%s during a multipart upload stuck in a 2-minute Retry-After: exit %i within 5 s, nothing left',
  async (sig, expected) => {
    await stallUploads();
    const name = `int-${sig}`;
    const p = run(
      [
        'audit-logs',
        '--dir',
        path.join(tmp, 'logs'),
        '--name',
        name,
        '--state-file',
        path.join(tmp, `${name}.json`),
      ],
      {
        ...estate.env,
        BACKUP_RETRY_BASE_MS: '1000',
        BACKUP_RETRY_MAX_MS: '120000',
        BACKUP_RETRY_BUDGET_MS: '600000',
      },
    );
    try {
      await waitUntil('a retry line for UploadPart', () =>
        /retry: UploadPart .*retrying in 120\.0 s/.test(p.stderr()),
      ).catch((e) => {
        throw new Error(e.message + '\n' + p.stderr());
      });
      const sentAt = Date.now();
      p.child.kill(sig);
      const r = await p.exited;
      expect(Date.now() - sentAt).toBeLessThan(5_000);
      expect(r.code).toBe(expected);
      expect(r.stderr).toContain(`received ${sig}: aborting uploads in flight`);
      expect(r.stderr).toMatch(/503 SlowDown: injected stall; retrying in 120\.0 s/);
      expect(r.stderr).toContain(`audit-logs failed: interrupted by ${sig}`);
      // A clean abort, not the 4.5 s safety exit.
      expect(r.stderr).not.toContain('did not finish in time');
      await clearFaults();
      await nothingLeft('audit-logs/');
    } finally {
      p.child.kill('SIGKILL');
      await clearFaults();
    }
  },
  60_000,
);

it('under `timeout`, the job exits with it: no orphan process, no unfinished upload', async () => {
  await stallUploads();
  const name = 'int-timeout';
  const p = run(
    [
      '-s',
      'TERM',
      '4',
      process.execPath,
      BIN,
      'audit-logs',
      '--dir',
      path.join(tmp, 'logs'),
      '--name',
      name,
      '--state-file',
      path.join(tmp, `${name}.json`),
    ],
    {
      ...estate.env,
      BACKUP_RETRY_BASE_MS: '1000',
      BACKUP_RETRY_MAX_MS: '120000',
      BACKUP_RETRY_BUDGET_MS: '600000',
    },
    'timeout',
    [],
  );
  let node: number | undefined;
  try {
    await waitUntil('the node child of timeout', () => {
      node = childrenOf(p.child.pid!)[0];
      return node !== undefined;
    });
    const r = await p.exited;
    expect(r.code).toBe(124); // timeout's own "timed out"
    expect(r.stderr).toContain('received SIGTERM');
    expect(alive(node!)).toBe(false);
    await clearFaults();
    await nothingLeft('audit-logs/');
  } finally {
    p.child.kill('SIGKILL');
    if (node && alive(node)) process.kill(node, 'SIGKILL');
    await clearFaults();
  }
}, 60_000);

it.each([
  ['main thread', '0'],
  ['writer thread', '1'],
])(
  'SIGINT while a restore waits out a GetObject Retry-After (%s): exit 130 within 5 s, no spool or target left',
  async (_what, thread) => {
    const src = path.join(tmp, 'config.json');
    fs.writeFileSync(src, JSON.stringify({ ok: true, pad: 'x'.repeat(1000) }));
    const up = await cli(estate, ['snapshot-config', '--provider', 'aws', '--from', src, '--json']);
    expect(up.code).toBe(0);
    const key = up.json<{ key: string }>().key;
    await clearFaults();
    await estate.emu.admin('POST', '/__admin/faults', {
      operation: 's3:GetObject',
      path: 'configs/aws/.*config\\.json', // the object itself, not the run manifests read first
      status: 503,
      code: 'SlowDown',
      message: 'injected stall',
      retryAfter: 120,
    });
    const spoolParent = fs.mkdtempSync(path.join(tmp, 'spool-'));
    const target = path.join(tmp, `restored-${thread}.json`);
    const p = run(['restore', '--key', key, '--to', target], {
      ...estate.env,
      TMPDIR: spoolParent,
      IFB_SPOOL_THREAD: thread,
      BACKUP_RETRY_MAX_MS: '120000',
      BACKUP_RETRY_BUDGET_MS: '600000',
    });
    try {
      await waitUntil('a retry line for GetObject', () =>
        /retry: GetObject .*retrying in 120\.0 s/.test(p.stderr()),
      );
      // tsx keeps its cache under TMPDIR too; the restore's spool is ifb-restore-*.
      const spools = (): string[] => fs.readdirSync(spoolParent).filter((f) => f.startsWith('ifb-restore-'));
      expect(spools()).toHaveLength(1); // the private spool exists while it waits
      const sentAt = Date.now();
      p.child.kill('SIGINT');
      const r = await p.exited;
      expect(Date.now() - sentAt).toBeLessThan(5_000);
      expect(r.code).toBe(130);
      expect(spools()).toEqual([]);
      expect(fs.existsSync(target)).toBe(false);
    } finally {
      p.child.kill('SIGKILL');
      await clearFaults();
    }
  },
  60_000,
);
