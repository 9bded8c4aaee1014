/**
 * The emulator behind `npm start`: durable (`--data .b2-local`), two regions, master credentials
 * and admin token fixed in `.b2-local/credentials.json` so every run sees the same accounts, and a
 * record of the running process (`.b2-local/emulator.json`) so a run after `--keep` reuses it.
 *
 * Both files hold secrets and are written 0600; nothing here prints a secret.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { REPO_ROOT } from './pulumi';
import type { ReadyLine } from '../../infra/b2/wire/emulator';

export const LOCAL_REGIONS = ['us-west-004', 'eu-central-001'] as const;

export type { ReadyLine };

interface FixedCredentials {
  keyId: string;
  applicationKey: string;
  adminToken: string;
}

interface ProcessRecord {
  pid: number;
  startedAt: string;
  dataDir: string;
  ready: ReadyLine;
}

export interface LocalEmulator {
  ready: ReadyLine;
  pid: number;
  /** true when this run started it (false: reused from an earlier `--keep` run). */
  startedHere: boolean;
  admin<T = unknown>(method: 'GET' | 'POST', p: string, body?: unknown): Promise<T>;
  /** SIGTERM, wait (SIGKILL after 10 s), forget the record. */
  stop(): Promise<void>;
}

const log = (line: string) => process.stderr.write(`[start] ${line}\n`);

function writeSecretFile(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/**
 * Fixed first-region master credentials and admin token: generated once, then read back. (The
 * second region's master key persists in its own data through the emulator's store.)
 */
export function fixedCredentials(dataDir: string): FixedCredentials {
  const file = path.join(dataDir, 'credentials.json');
  if (fs.existsSync(file)) {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<FixedCredentials>;
    if (c.keyId && c.applicationKey && c.adminToken) return c as FixedCredentials;
    throw new Error(
      `${file} is incomplete (needs keyId, applicationKey, adminToken); delete it and run again`,
    );
  }
  fs.mkdirSync(dataDir, { recursive: true });
  // Shapes like B2's: a 12-hex account/key id and a 31-char key starting with K004.
  const creds: FixedCredentials = {
    keyId: randomBytes(6).toString('hex'),
    applicationKey:
      'K004' +
      randomBytes(24)
        .toString('base64')
        .replace(/[^A-Za-z0-9]/g, '')
        .slice(0, 27)
        .padEnd(27, 'x'),
    adminToken: randomBytes(24).toString('hex'),
  };
  writeSecretFile(file, JSON.stringify(creds, null, 2) + '\n');
  return creds;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Only a process whose command line is our emulator may be signalled (PIDs get recycled). */
function isOurEmulator(pid: number): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.some((a) => a.endsWith(path.join('bin', 'b2-local.js')));
  } catch {
    return isAlive(pid); // no /proc (macOS): trust the record
  }
}

async function adminCall<T>(
  ready: ReadyLine,
  method: 'GET' | 'POST',
  p: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<T> {
  const res = await fetch(ready.url + p, {
    method,
    headers: { authorization: `Bearer ${ready.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`emulator admin ${method} ${p} answered ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

async function terminate(pid: number): Promise<void> {
  if (!isAlive(pid) || !isOurEmulator(pid)) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 10_000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
}

function handle(ready: ReadyLine, pid: number, recordFile: string, startedHere: boolean): LocalEmulator {
  return {
    ready,
    pid,
    startedHere,
    admin: (method, p, body) => adminCall(ready, method, p, body),
    async stop() {
      await terminate(pid);
      fs.rmSync(recordFile, { force: true });
    },
  };
}

/** A live emulator from an earlier `--keep` run on the same data dir, or null (stale ones are stopped). */
async function reuse(
  recordFile: string,
  dataDir: string,
  regions: readonly string[],
): Promise<LocalEmulator | null> {
  if (!fs.existsSync(recordFile)) return null;
  let rec: ProcessRecord;
  try {
    rec = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as ProcessRecord;
  } catch {
    fs.rmSync(recordFile, { force: true });
    return null;
  }
  const sameShape =
    path.resolve(rec.dataDir) === path.resolve(dataDir) &&
    rec.ready.regions.map((r) => r.region).join() === regions.join();
  if (isAlive(rec.pid) && isOurEmulator(rec.pid)) {
    if (sameShape) {
      try {
        await adminCall(rec.ready, 'GET', '/__admin/stats', undefined, 5_000);
        log(`reusing the emulator left running by an earlier --keep run (pid ${rec.pid}, ${rec.ready.url})`);
        return handle(rec.ready, rec.pid, recordFile, false);
      } catch {
        log(`emulator pid ${rec.pid} from an earlier run does not answer; stopping it`);
      }
    } else {
      log(`emulator pid ${rec.pid} from an earlier run has other regions or data; stopping it`);
    }
    await terminate(rec.pid);
  }
  fs.rmSync(recordFile, { force: true });
  return null;
}

export interface StartLocalOptions {
  dataDir: string;
  regions?: readonly string[];
}

/**
 * Reuses a kept emulator or starts one on free ports and waits for its ready line. It is always
 * started detached (own process group, stdout closed after the ready line) so it can outlive us
 * with `--keep`; otherwise the caller stops it.
 */
export async function startLocalEmulator(opts: StartLocalOptions): Promise<LocalEmulator> {
  const dataDir = path.resolve(opts.dataDir);
  const regions = opts.regions ?? LOCAL_REGIONS;
  const recordFile = path.join(dataDir, 'emulator.json');
  const creds = fixedCredentials(dataDir);
  const kept = await reuse(recordFile, dataDir, regions);
  if (kept) return kept;

  const logFile = path.join(dataDir, 'emulator.log');
  const logFd = fs.openSync(logFile, 'a');
  const args = [
    path.join(REPO_ROOT, 'bin', 'b2-local.js'),
    '--port',
    '0',
    '--data',
    dataDir,
    ...regions.flatMap((r) => ['--region', r]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      B2_LOCAL_KEY_ID: creds.keyId,
      B2_LOCAL_APPLICATION_KEY: creds.applicationKey,
      B2_LOCAL_ADMIN_TOKEN: creds.adminToken,
    },
    stdio: ['ignore', 'pipe', logFd],
    // Its own process group: Ctrl-C in the terminal reaches us, and we decide (stop, or keep).
    detached: true,
  });
  fs.closeSync(logFd);
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulator did not print its ready line within 30 s; see ${logFile}`));
    }, 30_000);
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', (line) => {
      clearTimeout(timer);
      rl.close();
      try {
        resolve(JSON.parse(line) as ReadyLine);
      } catch {
        reject(new Error(`the emulator printed an unexpected first line; see ${logFile}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (code ${code}) before it was ready; see ${logFile}`));
    });
  });
  // Nothing more comes on stdout; let it outlive us when kept.
  child.stdout!.destroy();
  child.unref();
  const record: ProcessRecord = { pid: child.pid!, startedAt: new Date().toISOString(), dataDir, ready };
  writeSecretFile(recordFile, JSON.stringify(record, null, 2) + '\n');
  log(
    `emulator started (pid ${child.pid}): ${ready.regions.map((r) => `${r.region} ${r.url}`).join(', ')}; log ${path.relative(process.cwd(), logFile)}`,
  );
  return handle(ready, child.pid!, recordFile, true);
}

/** Environment the dynamic providers read (infra/providers/credentials.ts), from the ready line. */
export function providerEnv(ready: ReadyLine): NodeJS.ProcessEnv {
  const [primary, replica] = ready.regions;
  if (!primary || !replica) throw new Error('the emulator must run two regions (primary and replica)');
  return {
    B2_REALM_URL: primary.url,
    B2_APPLICATION_KEY_ID: primary.keyId,
    B2_APPLICATION_KEY: primary.applicationKey,
    B2_REPLICA_REALM_URL: replica.url,
    B2_REPLICA_APPLICATION_KEY_ID: replica.keyId,
    B2_REPLICA_APPLICATION_KEY: replica.applicationKey,
  };
}
