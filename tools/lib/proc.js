// @ts-check
'use strict';
/**
 * Small process helpers shared by the setup scripts (setup.js, ensure-pulumi.js, pulumi.js).
 * Plain CommonJS so they run before anything is compiled and start in milliseconds.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

/** Repository root (scripts/lib/ → ../..). */
const ROOT = path.resolve(__dirname, '..', '..');
/** Everything the setup scripts create lives here (git-ignored). */
const CACHE_DIR = path.join(ROOT, '.cache');

/**
 * A setup step failed in a way the user can act on. `fix` says what to do; the CLI prints both
 * and exits non-zero, so nothing ever fails silently.
 */
class SetupError extends Error {
  /** @param {string} message @param {string} fix */
  constructor(message, fix) {
    super(message);
    this.name = 'SetupError';
    this.fix = fix;
  }
}

/** One progress line per step, on stderr so stdout stays clean for callers. @param {string} step @param {string} msg */
function log(step, msg) {
  process.stderr.write(`[setup:${step}] ${msg}\n`);
}

/**
 * Absolute path of `cmd` on PATH, or null. Implemented without spawning `which` (fast, portable).
 * @param {string} cmd
 * @param {string} [pathEnv]
 */
function which(cmd, pathEnv = process.env.PATH ?? '') {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    if (isExecutable(p)) return p;
  }
  return null;
}

/** @param {string} p */
function isExecutable(p) {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a command to completion. Output goes to our stderr (or a log file) so a failure is visible;
 * a non-zero exit throws a SetupError naming the command and the fix.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, fix: string, logFile?: string, capture?: boolean, timeoutMs?: number }} opts
 * @returns {string} captured stdout when `capture` is set, else ''
 */
function run(cmd, args, opts) {
  /** @type {import('child_process').StdioOptions} */
  let stdio = ['ignore', process.stderr.fd, process.stderr.fd];
  /** @type {number | undefined} */
  let fd;
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    fd = fs.openSync(opts.logFile, 'a');
    fs.writeSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);
    stdio = ['ignore', opts.capture ? 'pipe' : fd, fd];
  } else if (opts.capture) {
    stdio = ['ignore', 'pipe', process.stderr.fd];
  }
  try {
    const res = spawnSync(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: opts.timeoutMs,
    });
    if (res.error) {
      throw new SetupError(`could not run ${cmd}: ${res.error.message}`, opts.fix);
    }
    if (res.status !== 0) {
      const where = opts.logFile ? ` (full output in ${path.relative(ROOT, opts.logFile)})` : '';
      const why = res.signal ? `was killed by ${res.signal}` : `exited with ${res.status}`;
      throw new SetupError(`\`${cmd} ${args.join(' ')}\` ${why}${where}`, opts.fix);
    }
    return opts.capture ? String(res.stdout ?? '') : '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Runs a command and returns {status, stdout, stderr} without throwing (for probes).
 * @param {string} cmd @param {string[]} args @param {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number }} [opts]
 */
function probe(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 60_000,
  });
  return {
    status: res.error ? -1 : (res.status ?? -1),
    stdout: String(res.stdout ?? ''),
    stderr: String(res.stderr ?? ''),
  };
}

/**
 * Prints a SetupError (or any error) with its fix and exits non-zero. Used by every CLI entry point.
 * @param {unknown} err
 * @param {string} tool
 * @returns {never}
 */
function fail(err, tool) {
  if (err instanceof SetupError) {
    process.stderr.write(`\n${tool}: FAILED: ${err.message}\n${tool}: how to fix: ${err.fix}\n`);
  } else {
    const e = /** @type {Error} */ (err);
    process.stderr.write(`\n${tool}: FAILED: ${e && e.stack ? e.stack : String(err)}\n`);
  }
  process.exit(1);
}

module.exports = { ROOT, CACHE_DIR, SetupError, log, which, run, probe, fail, isExecutable };
