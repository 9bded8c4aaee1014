/**
 * Starts the real emulator (`bin/b2-local.js`) as a child process on 127.0.0.1 with port 0 and
 * returns its ready line (docs/architecture.md §4). Every test that needs B2 uses this; `stop()` kills the
 * exact PID it started and waits for it to exit.
 */
import { ChildProcess } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import type { ReadyLine } from '../../infra/b2/wire/emulator';
import { endTree, spawnTracked, tagOf } from './processes';

export type { ReadyLine };

export interface RunningEmulator {
  info: ReadyLine;
  url: string;
  proc: ChildProcess;
  /** stderr collected so far (for failure messages). */
  logs(): string;
  /** POST/GET an admin endpoint with the admin token. */
  admin(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  data?: string; // --data DIR (default --memory)
  regions?: string[];
  rateLimit?: number;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Node flags for the emulator process (e.g. `--cpu-prof` in benchmarks). */
  nodeArgs?: string[];
}

const ROOT = path.resolve(__dirname, '..', '..');

export async function startEmulator(opts: StartOptions = {}): Promise<RunningEmulator> {
  const args = [...(opts.nodeArgs ?? []), path.join(ROOT, 'bin', 'b2-local.js'), '--port', '0'];
  if (opts.data) args.push('--data', opts.data);
  else args.push('--memory');
  for (const r of opts.regions ?? []) args.push('--region', r);
  if (opts.rateLimit) args.push('--rate-limit', String(opts.rateLimit));
  args.push(...(opts.extraArgs ?? []));
  const proc = spawnTracked('emulator', process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tag = tagOf(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const info = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`emulator not ready within ${opts.readyTimeoutMs ?? 15000} ms; stderr:\n${stderr}`));
    }, opts.readyTimeoutMs ?? 15000);
    const rl = readline.createInterface({ input: proc.stdout! });
    rl.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as ReadyLine);
      } catch (e) {
        reject(new Error(`bad ready line ${JSON.stringify(line)}: ${String(e)}`));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited (${code}) before ready; stderr:\n${stderr}`));
    });
  });
  return {
    info,
    url: info.url,
    proc,
    logs: () => stderr,
    async admin(method, p, body) {
      const res = await fetch(info.url + p, {
        method,
        headers: { authorization: `Bearer ${info.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`admin ${method} ${p} -> ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (tag) await endTree(tag);
    },
  };
}
