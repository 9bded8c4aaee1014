#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Installs everything the tests drive for real, idempotently (npm test's `pretest` runs it):
 *   apt     Debian packages: rclone restic s3cmd awscli postgresql mariadb-server
 *   python  .cache/venv (b2 CLI, newest b2sdk, boto3), .cache/venv-b2sdk28 (b2sdk 2.8, API v3)
 *           and .cache/venv-b2sdk1 (b2sdk 1.x, API v2)
 *   pulumi  the pinned Pulumi CLI (tools/ensure-pulumi.js)
 *   actionlint  the pinned workflow linter (tools/lib/actionlint.js)
 *   bundle  the CLI's and the emulator's start-up bundles in .cache/bundles (tools/lib/bundle.js; rebuilt on demand anyway)
 * One line per step on stderr; what was installed is recorded in .cache/setup-stamp.json; a step
 * whose inputs are unchanged is a stat or a dpkg query, so a set-up machine finishes in ~1 s.
 * Any failure exits non-zero with what failed and how to fix it.
 */
const path = require('path');
const { ROOT, CACHE_DIR, log, fail } = require('./lib/proc');
const { withLock } = require('./lib/lock');
const { STAMP_FILE, writeStep } = require('./lib/stamp');

const STEPS = ['apt', 'python', 'pulumi', 'actionlint', 'bundle'];

const HELP = `usage: node tools/setup.js [--only ${STEPS.join('|')}] [--skip STEP] [--skip-pulumi] [--force]

Installs what the tests need (idempotent; fast when already done):
  apt     Debian packages rclone restic s3cmd awscli postgresql mariadb-server
          (as root, or through passwordless sudo; apt-get update only when needed)
  python  .cache/venv with b2 (B2 CLI), b2sdk (newest), boto3;
          .cache/venv-b2sdk28 with b2sdk==2.8.* (the API v3 generation);
          .cache/venv-b2sdk1 with b2sdk==1.* (the old v2-API client)
  pulumi  the pinned Pulumi CLI (see tools/ensure-pulumi.js and README "Pulumi CLI")
  actionlint  the pinned GitHub Actions linter, built from the Go module proxy into .cache/actionlint
  bundle  the backup CLI's and b2-local's single-file bundles (.cache/bundles; faster start-up, rebuilt when stale)

  --only STEP     run just this step (repeatable)
  --skip STEP     skip this step (repeatable); --skip-pulumi = --skip pulumi
  --force         redo the python and pulumi steps even if the stamp says they are current
Environment: SETUP_SKIP_PULUMI=1 is the same as --skip-pulumi.
Records results in ${path.relative(ROOT, STAMP_FILE)}.
`;

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Set<string>} */
  const only = new Set();
  /** @type {Set<string>} */
  const skip = new Set();
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takeStep = () => {
      const v = argv[++i];
      if (!STEPS.includes(v)) usageError(`${a} needs one of ${STEPS.join(', ')} (got ${v ?? 'nothing'})`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    } else if (a === '--only') only.add(takeStep());
    else if (a === '--skip') skip.add(takeStep());
    else if (a === '--skip-pulumi') skip.add('pulumi');
    else if (a === '--force') force = true;
    else usageError(`unknown argument ${a}`);
  }
  // CI or a developer can also opt out through the environment (e.g. a job that never runs Pulumi).
  if (process.env.SETUP_SKIP_PULUMI === '1') skip.add('pulumi');
  const steps = STEPS.filter((s) => (only.size === 0 || only.has(s)) && !skip.has(s));
  return { steps, force };
}

/** @param {string} msg @returns {never} */
function usageError(msg) {
  process.stderr.write(`setup: ${msg}\n\n${HELP}`);
  process.exit(2);
}

function main() {
  const started = Date.now();
  const { steps, force } = parseArgs(process.argv.slice(2));
  // Concurrent `npm test` runs in one checkout take turns; the fast path holds it for milliseconds.
  withLock(path.join(CACHE_DIR, 'setup.lock'), () => runSteps(steps, force), {
    what: 'node tools/setup.js',
  });
  log('done', `${steps.join(', ') || 'nothing to do'} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/** @param {string[]} steps @param {boolean} force */
function runSteps(steps, force) {
  for (const step of steps) {
    if (step === 'apt') {
      const { ensureDebianPackages } = require('./lib/apt');
      const res = ensureDebianPackages();
      if (res.installed.length) {
        writeStep('apt', {
          key: res.installed.concat(res.alreadyPresent).sort().join(' '),
          at: new Date().toISOString(),
          installed: res.installed,
        });
      }
    } else if (step === 'python') {
      require('./lib/venv').ensurePythonClients({ force });
    } else if (step === 'pulumi') {
      require('./lib/pulumi-cli').ensurePulumi({ force });
    } else if (step === 'actionlint') {
      require('./lib/actionlint').ensureActionlint({ force });
    } else if (step === 'bundle') {
      // Not fatal: without a bundle the bin runs through tsx, only slower to start.
      const { ensureBundle } = require('./lib/bundle');
      for (const [name, entry] of [
        ['infrafabric-backup', 'scripts/cli.ts'],
        ['b2-local', 'emulator/cli.ts'],
      ]) {
        const out = ensureBundle(name, entry);
        log(
          'bundle',
          out ? `${path.relative(ROOT, out)} is current` : `${name}: could not be built; runs through tsx`,
        );
      }
    }
  }
}

try {
  main();
} catch (err) {
  fail(err, 'setup');
}
