// @ts-check
'use strict';
/**
 * actionlint (the GitHub Actions workflow linter), pinned and built from the Go module proxy into
 * `.cache/actionlint/<version>/actionlint` — `node tools/setup.js --only actionlint`, idempotent (a
 * stamp and a stat when current). test/e2e/estateWorkflow.test.ts lints
 * deploy/github-actions/*.yml with it.
 */
const fs = require('fs');
const path = require('path');
const { CACHE_DIR, SetupError, log, which, run, probe, isExecutable } = require('./proc');
const { readStamp, writeStep } = require('./stamp');

const ACTIONLINT_VERSION = '1.7.12';
const MODULE = 'github.com/rhysd/actionlint/cmd/actionlint';
const DIR = path.join(CACHE_DIR, 'actionlint', ACTIONLINT_VERSION);
const EXE = path.join(DIR, 'actionlint');
const LOG = path.join(CACHE_DIR, 'logs', 'actionlint-build.log');

/**
 * The pinned actionlint binary, built when missing.
 * @param {{ force?: boolean, quiet?: boolean }} [opts]
 * @returns {{ exe: string, version: string }}
 */
function ensureActionlint(opts = {}) {
  const prev = readStamp().steps.actionlint;
  if (!opts.force && prev && prev.key === ACTIONLINT_VERSION && isExecutable(EXE)) {
    if (!opts.quiet)
      log(
        'actionlint',
        `actionlint v${ACTIONLINT_VERSION} cached in ${path.relative(path.dirname(CACHE_DIR), EXE)}`,
      );
    return { exe: EXE, version: ACTIONLINT_VERSION };
  }
  if (!which('go'))
    throw new SetupError(
      'actionlint is not built and there is no Go toolchain to build it',
      `install Go >= 1.24 (https://go.dev/dl/), or put actionlint v${ACTIONLINT_VERSION} at ${EXE}`,
    );
  const started = Date.now();
  fs.mkdirSync(DIR, { recursive: true });
  log(
    'actionlint',
    `building actionlint v${ACTIONLINT_VERSION} from the Go module proxy (log: ${path.relative(path.dirname(CACHE_DIR), LOG)})`,
  );
  run('go', ['install', `${MODULE}@v${ACTIONLINT_VERSION}`], {
    env: { ...process.env, GOBIN: DIR, GOFLAGS: '-mod=mod', GOWORK: 'off' },
    logFile: LOG,
    fix: `read ${LOG}; the Go module proxy must be reachable (GOPROXY)`,
  });
  const v = probe(EXE, ['-version']);
  if (v.status !== 0 || !v.stdout.includes(ACTIONLINT_VERSION))
    throw new SetupError(
      `the built actionlint does not report v${ACTIONLINT_VERSION}: ${v.stdout.trim()}`,
      `delete ${DIR} and re-run`,
    );
  writeStep('actionlint', {
    key: ACTIONLINT_VERSION,
    at: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
  });
  log(
    'actionlint',
    `built actionlint v${ACTIONLINT_VERSION} in ${Math.round((Date.now() - started) / 1000)}s`,
  );
  return { exe: EXE, version: ACTIONLINT_VERSION };
}

module.exports = { ACTIONLINT_VERSION, ensureActionlint };
