/**
 * A throw-away copy of the setup scripts for unit tests. The scripts derive every path from their
 * own location (ROOT = tools/lib/../..; CACHE_DIR = ROOT/.cache), so a copy under a temp dir
 * with node_modules linked back gives a private `.cache` (stamp, lock, Pulumi bin dir) and never
 * touches the checkout's real one. Fake tools (`go`, `pulumi`, `python`) are small executables on a
 * temp PATH; nothing here uses the network, apt or a Go toolchain.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

export const REPO = path.resolve(__dirname, '..', '..', '..');

/** The scripts the sandbox needs (plain CommonJS, copied so __dirname points into the sandbox). */
const SCRIPT_FILES = ['setup.js', 'ensure-pulumi.js', 'pulumi.js'];
const LIB_FILES = [
  'proc.js',
  'stamp.js',
  'lock.js',
  'apt.js',
  'venv.js',
  'pulumi-cli.js',
  'pulumi-smoke.js',
  'pulumi-language-nodejs.js',
];

export interface Sandbox {
  /** Sandbox root (plays the repository root). */
  root: string;
  /** Its private `.cache`. */
  cache: string;
  /** A directory for fake executables; put it on PATH. */
  bin: string;
  /** Removes everything. */
  cleanup(): void;
}

export function makeSandbox(prefix = 'setup-unit-'): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(root, 'tools', 'lib'), { recursive: true });
  for (const f of SCRIPT_FILES) fs.copyFileSync(path.join(REPO, 'tools', f), path.join(root, 'tools', f));
  for (const f of LIB_FILES) {
    fs.copyFileSync(path.join(REPO, 'tools', 'lib', f), path.join(root, 'tools', 'lib', f));
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  const bin = path.join(root, 'fakebin');
  fs.mkdirSync(bin);
  return {
    root,
    cache: path.join(root, '.cache'),
    bin,
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Writes an executable file. @returns its path */
export function writeExecutable(file: string, body: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, body, { mode: 0o755 });
  return file;
}

/** A fake `pulumi` whose `pulumi version` prints `version` (and logs each call to `callLog`). */
export function fakePulumi(dir: string, version: string, callLog?: string): string {
  const logLine = callLog ? `echo "$@" >> '${callLog}'\n` : '';
  return writeExecutable(path.join(dir, 'pulumi'), `#!/bin/sh\n${logLine}echo '${version}'\n`);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a node script (file + args, or `-e` code) with exactly `env` (no inherited PATH, so the
 * machine's real go/pulumi/python are invisible unless the test adds them).
 */
export function runNode(args: string[], env: NodeJS.ProcessEnv, cwd: string): RunResult {
  const res = spawnSync(process.execPath, args, { env, cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Result of `ensurePulumi(opts)` run inside the sandbox: the PulumiCli, or the SetupError. */
export type EnsureResult =
  | { ok: true; cli: { exe: string; binDir: string; version: string; source: string; goHost: boolean } }
  | { ok: false; name: string; message: string; fix: string };

export function ensurePulumiIn(
  sb: Sandbox,
  env: NodeJS.ProcessEnv,
  opts: { force?: boolean } = {},
): EnsureResult & { stderr: string } {
  const code = `
    const { ensurePulumi } = require('./tools/lib/pulumi-cli');
    let out;
    try { out = { ok: true, cli: ensurePulumi({ quiet: true, ...${JSON.stringify(opts)} }) }; }
    catch (e) { out = { ok: false, name: e.name, message: e.message, fix: e.fix }; }
    process.stdout.write(JSON.stringify(out));`;
  const res = runNode(['-e', code], { HOME: sb.root, ...env }, sb.root);
  if (res.status !== 0) throw new Error(`sandbox node exited ${res.status}: ${res.stderr}`);
  return { ...(JSON.parse(res.stdout) as EnsureResult), stderr: res.stderr };
}

/** The sandbox's `.cache/setup-stamp.json` (empty when absent). */
export function readStamp(sb: Sandbox): { steps: Record<string, Record<string, unknown>> } {
  const file = path.join(sb.cache, 'setup-stamp.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { steps: {} };
}

export function writeStamp(sb: Sandbox, stamp: { steps: Record<string, Record<string, unknown>> }): void {
  fs.mkdirSync(sb.cache, { recursive: true });
  fs.writeFileSync(path.join(sb.cache, 'setup-stamp.json'), JSON.stringify(stamp));
}

/** Lines of a call log (empty when the fake was never called). */
export function callLines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}
