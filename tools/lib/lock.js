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
    if (tryCreate(file)) break;
    const content = readOrEmpty(file);
    const owner = Number.parseInt(content, 10);
    if (!Number.isFinite(owner) || !alive(owner)) {
      // Stale (owner killed), unreadable, or gone meanwhile: remove exactly that file, then retry.
      removeIfUnchanged(file, content);
      continue;
    }
    if (Date.now() > deadline) {
      throw new SetupError(
        `${opts.what ?? 'setup'} is still locked by PID ${owner} after ${duration(timeoutMs)} (${file})`,
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

/**
 * Creates the lock file with our PID already in it, atomically: the PID goes into a private temp
 * file that is then hard-linked to the lock name (fails with EEXIST while another run holds it).
 * A plain exclusive create would expose an empty file between open and write, which a concurrent
 * run would read as "no owner", take over, and then both would run the setup at once.
 * @param {string} file
 * @returns {boolean} true when we now hold the lock
 */
function tryCreate(file) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, String(process.pid));
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = /** @type {NodeJS.ErrnoException} */ (err).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // A filesystem without hard links: fall back to an exclusive create (short empty window).
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err2) {
      if (/** @type {NodeJS.ErrnoException} */ (err2).code === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Removes a stale lock, but only if it still holds `staleContent`: two waiters can both see the
 * same dead owner, and the slower one must not delete the lock the faster one has just created.
 * The file is first renamed to a private name (atomic, so only one waiter gets it), then checked;
 * a live lock claimed by mistake is linked back under its name.
 * @param {string} file @param {string} staleContent
 */
function removeIfUnchanged(file, staleContent) {
  const claimed = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, claimed);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') return; // someone else removed it
    throw err;
  }
  try {
    if (readOrEmpty(claimed) !== staleContent) {
      try {
        fs.linkSync(claimed, file);
      } catch {
        // A third run created a fresh lock in the meantime; it holds the lock now.
      }
    }
  } finally {
    fs.rmSync(claimed, { force: true });
  }
}

/** @param {number} ms */
function duration(ms) {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
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
