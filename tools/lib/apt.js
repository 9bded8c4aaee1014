// @ts-check
'use strict';
/**
 * Debian packages the tests drive as real clients or servers. Installed only when missing;
 * `apt-get update` only when the package lists are empty or an install could not find a package.
 */
const fs = require('fs');
const { SetupError, log, which, run, probe } = require('./proc');

/** What the tests need from Debian (rclone/restic/s3cmd/aws clients, database servers for dumps). */
const DEBIAN_PACKAGES = ['rclone', 'restic', 's3cmd', 'awscli', 'postgresql', 'mariadb-server'];

/**
 * Packages from `wanted` that dpkg does not report as fully installed ("ii").
 * @param {string[]} wanted
 * @returns {string[]}
 */
function missingPackages(wanted) {
  const res = probe('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\\n', ...wanted]);
  // dpkg-query exits 1 when some names are unknown; the ones it knows are still printed.
  const installed = new Set(
    res.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, status]) => status === 'ii')
      .map(([name]) => name),
  );
  return wanted.filter((p) => !installed.has(p));
}

/**
 * How to run apt as root: directly when we are root, through passwordless sudo otherwise.
 * @returns {{ cmd: string, prefix: string[] }}
 */
function rootRunner() {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return { cmd: 'apt-get', prefix: [] };
  if (which('sudo') && probe('sudo', ['-n', 'true']).status === 0)
    return { cmd: 'sudo', prefix: ['-n', 'apt-get'] };
  throw new SetupError(
    'installing Debian packages needs root, and this user is not root and has no passwordless sudo',
    `run once as root: apt-get install -y ${DEBIAN_PACKAGES.join(' ')}  (then re-run node tools/setup.js)`,
  );
}

function aptListsAreEmpty() {
  try {
    return !fs
      .readdirSync('/var/lib/apt/lists')
      .some((f) => f.endsWith('_Packages') || f.includes('_Packages.'));
  } catch {
    return true;
  }
}

/**
 * Ensures every package in `wanted` is installed. Idempotent; a no-op costs one dpkg-query.
 * @param {string[]} [wanted]
 * @returns {{ installed: string[], alreadyPresent: string[] }}
 */
function ensureDebianPackages(wanted = DEBIAN_PACKAGES) {
  if (!which('dpkg-query') || !which('apt-get')) {
    throw new SetupError(
      'this machine has no dpkg/apt-get, so the Debian packages the tests use cannot be installed automatically',
      `install the equivalents of: ${wanted.join(' ')} with your package manager, then run: node tools/setup.js --skip apt`,
    );
  }
  const missing = missingPackages(wanted);
  if (missing.length === 0) {
    log('apt', `all present: ${wanted.join(' ')}`);
    return { installed: [], alreadyPresent: wanted };
  }
  const { cmd, prefix } = rootRunner();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const fix = `check the apt output above; to retry by hand: DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing.join(' ')}`;
  // Wait for a dpkg lock held by a concurrent install instead of failing at once.
  const lockWait = ['-o', 'DPkg::Lock::Timeout=600'];
  const install = () =>
    run(cmd, [...prefix, ...lockWait, 'install', '-y', '--no-install-recommends', ...missing], { env, fix });
  const update = () => {
    log('apt', 'apt-get update');
    run(cmd, [...prefix, ...lockWait, 'update'], {
      env,
      fix: 'check network access to the Debian mirrors, then re-run',
    });
  };
  log('apt', `installing: ${missing.join(' ')}`);
  if (aptListsAreEmpty()) update();
  try {
    install();
  } catch {
    // Stale lists are the usual cause (404 on a superseded .deb, or an unknown package): refresh once.
    log('apt', 'install failed; refreshing package lists and retrying once');
    update();
    install();
  }
  const still = missingPackages(wanted);
  if (still.length) {
    throw new SetupError(
      `apt-get reported success but these are still not installed: ${still.join(' ')}`,
      fix,
    );
  }
  return { installed: missing, alreadyPresent: wanted.filter((p) => !missing.includes(p)) };
}

module.exports = { DEBIAN_PACKAGES, ensureDebianPackages, missingPackages };
