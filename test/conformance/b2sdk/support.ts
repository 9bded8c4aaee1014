/**
 * Shared plumbing for the real-client conformance tests (b2sdk, b2 CLI, rclone): locating the
 * clients that tools/setup.js installs (failing loudly when one is missing, never skipping),
 * running them with a clean environment, deterministic test data, and a few plain-HTTP native
 * calls for setup/verification that must not depend on our own B2 client.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const MiB = 1024 * 1024;

const SETUP_HINT = 'run node tools/setup.js';

/** Path of an executable the setup script installs; throws (never skips) when it is missing. */
export function requireExecutable(p: string, what: string): string {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return p;
  } catch {
    throw new Error(`${what} not found at ${p}: ${SETUP_HINT}`);
  }
}

/** An executable from one of the setup script's virtualenvs (.cache/venv, venv-b2sdk28, venv-b2sdk1). */
export type Venv = 'venv' | 'venv-b2sdk28' | 'venv-b2sdk1';

export function venvExecutable(venv: Venv, exe: string): string {
  return requireExecutable(path.join(ROOT, '.cache', venv, 'bin', exe), `${exe} in .cache/${venv}`);
}

/** A Debian-installed binary (we name the absolute path so a stray copy on PATH is never used). */
export function debianBinary(name: string): string {
  return requireExecutable(path.join('/usr/bin', name), `${name} (Debian package)`);
}

/**
 * The environment real clients run with: no credentials or config of the developer's leak in,
 * and AWS_CA_BUNDLE is cleared (plain http to the emulator; a set bundle breaks some clients).
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|B2_|RCLONE_|PULUMI_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout as raw bytes (for clients that print file contents, e.g. `rclone cat`). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Runs a process to completion with a hard timeout (kills exactly the child it started). */
export function runProcess(
  cmd: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs: number;
    input?: string;
    /**
     * Send stdout to this file instead of a pipe. Node's pipes are sockets, and some clients
     * (`b2 file cat` opens /dev/stdout) cannot write to a socket; a file works like a shell redirect.
     */
    stdoutFile?: string;
  },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const outFd = opts.stdoutFile ? fs.openSync(opts.stdoutFile, 'w') : undefined;
    const child = spawn(cmd, args, {
      env: opts.env ?? cleanEnv(),
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', outFd ?? 'pipe', 'pipe'],
    });
    if (outFd !== undefined) fs.closeSync(outFd); // the child holds its own copy
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 400_000) stderr = stderr.slice(-200_000);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      stderr += `\n[runProcess] killed after ${opts.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = opts.stdoutFile ? fs.readFileSync(opts.stdoutFile) : Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
    });
  });
}

/** Throws with the command, exit status and output unless it exited 0. */
export function expectSuccess(what: string, res: ProcessResult): ProcessResult {
  if (res.code !== 0) {
    throw new Error(
      `${what} failed (exit ${res.code ?? res.signal}).\n--- stdout ---\n${res.stdout.slice(-4000)}\n--- stderr ---\n${res.stderr.slice(-8000)}`,
    );
  }
  return res;
}

/**
 * Deterministic pseudo-random bytes (AES-128-CTR keystream seeded from a string): fast enough for
 * hundreds of MB and identical on every run, so a failure reproduces byte for byte.
 */
export function detStream(seed: string): crypto.Cipher {
  const key = crypto.createHash('sha256').update(seed).digest();
  return crypto.createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
}

export function detBytes(seed: string, size: number): Buffer {
  return detStream(seed).update(Buffer.alloc(size));
}

/** Writes `size` deterministic bytes to `file` in 1 MiB chunks; returns their SHA-256 hex. */
export function writeDetFile(file: string, seed: string, size: number): string {
  const cipher = detStream(seed);
  const hash = crypto.createHash('sha256');
  const zeros = Buffer.alloc(MiB);
  const fd = fs.openSync(file, 'w');
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(MiB, left);
      const chunk = cipher.update(n === MiB ? zeros : zeros.subarray(0, n));
      hash.update(chunk);
      fs.writeSync(fd, chunk);
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export function sha256File(file: string): string {
  return hashFile(file, 'sha256');
}

export function hashFile(file: string, algorithm: 'sha1' | 'sha256'): string {
  const hash = crypto.createHash(algorithm);
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(MiB);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export function sha1Hex(data: Buffer): string {
  return crypto.createHash('sha1').update(data).digest('hex');
}

/** A fresh temp dir; `cleanup()` removes it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Short unique suffix for bucket names (B2 bucket names: 6-63 chars, letters, digits, '-'). */
export function runId(): string {
  return crypto.randomBytes(5).toString('hex');
}

export interface NativeSession {
  apiUrl: string;
  token: string;
  accountId: string;
  call<T = Record<string, unknown>>(api: string, body: Record<string, unknown>): Promise<T>;
}

/**
 * Plain-HTTP native API (v3) session, for test setup and independent verification only (the
 * client under test does the real work). Throws with status and body on any non-200.
 */
export async function nativeSession(url: string, keyId: string, key: string): Promise<NativeSession> {
  const auth = 'Basic ' + Buffer.from(`${keyId}:${key}`).toString('base64');
  const res = await fetch(`${url}/b2api/v3/b2_authorize_account`, { headers: { authorization: auth } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`b2_authorize_account -> ${res.status} ${text}`);
  const body = JSON.parse(text) as {
    accountId: string;
    authorizationToken: string;
    apiInfo: { storageApi: { apiUrl: string } };
  };
  const apiUrl = body.apiInfo.storageApi.apiUrl;
  const token = body.authorizationToken;
  return {
    apiUrl,
    token,
    accountId: body.accountId,
    async call<T>(api: string, payload: Record<string, unknown>): Promise<T> {
      const r = await fetch(`${apiUrl}/b2api/v3/${api}`, {
        method: 'POST',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      const t = await r.text();
      if (r.status !== 200) throw new Error(`${api} -> ${r.status} ${t}`);
      return JSON.parse(t) as T;
    },
  };
}
