// @ts-check
'use strict';
/**
 * `.cache/setup-stamp.json`: what the setup scripts installed and with which inputs. A step is
 * skipped when its recorded inputs match and its outputs still exist, which keeps `npm test`'s
 * pretest under a couple of seconds on a machine that is already set up.
 */
const fs = require('fs');
const path = require('path');
const { CACHE_DIR } = require('./proc');

const STAMP_FILE = path.join(CACHE_DIR, 'setup-stamp.json');

/** @typedef {{ key: string, at: string, [k: string]: unknown }} StepStamp */
/** @typedef {{ steps: Record<string, StepStamp> }} Stamp */

/** @returns {Stamp} */
function readStamp() {
  try {
    const parsed = JSON.parse(fs.readFileSync(STAMP_FILE, 'utf8'));
    if (parsed && typeof parsed === 'object' && parsed.steps && typeof parsed.steps === 'object')
      return parsed;
  } catch {
    // Missing or corrupt stamp: every step re-checks (and the checks are idempotent).
  }
  return { steps: {} };
}

/**
 * Records one step. Re-reads the file first so concurrent setup runs for different steps
 * (e.g. ensure-pulumi alone) do not drop each other's entries; written via rename so a reader
 * never sees half a file.
 * @param {string} step @param {StepStamp} value
 */
function writeStep(step, value) {
  const stamp = readStamp();
  stamp.steps[step] = value;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${STAMP_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(stamp, null, 2) + '\n');
  fs.renameSync(tmp, STAMP_FILE);
}

/** @param {string} step @param {string} key */
function stepIsCurrent(step, key) {
  const s = readStamp().steps[step];
  return !!s && s.key === key;
}

module.exports = { STAMP_FILE, readStamp, writeStep, stepIsCurrent };
