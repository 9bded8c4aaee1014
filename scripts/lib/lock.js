// @ts-check
'use strict';
/**
 * A cross-process lock file for the slow setup paths. Several `npm test` runs can start at once in
 * one checkout (each runs setup as `pretest`); without a lock two of them would rebuild the same
 * virtualenv or Go output at the same time. The lock records its owner's PID; a lock whose owner
 * is gone is taken over, so a killed run never blocks the next one.
 */
const fs = require('fs');
const path = require('path');
const { SetupError, log } = require('./proc');

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/** @param {number} ms */
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `fn` holding `file` (created exclusively). Waits up to `timeoutMs` for another live owner.
 * @template T
 * @param {string} file
 * @param {() => T} fn
 * @param {{ timeoutMs?: number, what?: string }} [opts]
 * @returns {T}
 */
function withLock(file, fn, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 45 * 60_000;
  const deadline = Date.now() + timeoutMs;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Re-entrant: setup.js holds the lock while ensurePulumi() (which also locks) runs inside it.
  if (readOrEmpty(file) === String(process.pid)) return fn();
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(readOrEmpty(file), 10);
    if (!Number.isFinite(owner) || !alive(owner)) {
      // Stale (owner killed) or half-written: remove and retry the exclusive create.
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new SetupError(
        `${opts.what ?? 'setup'} is still locked by PID ${owner} after ${Math.round(timeoutMs / 60000)} min (${file})`,
        `wait for that run to finish, or if it is stuck: kill ${owner} (the lock is then taken over automatically)`,
      );
    }
    if (!announced) {
      log('lock', `waiting for PID ${owner}, which is running ${opts.what ?? 'setup'}`);
      announced = true;
    }
    sleep(200);
  }
  try {
    return fn();
  } finally {
    if (readOrEmpty(file) === String(process.pid)) fs.rmSync(file, { force: true });
  }
}

/** @param {string} file */
function readOrEmpty(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

module.exports = { withLock };
