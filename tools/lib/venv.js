// @ts-check
'use strict';
/**
 * Python virtualenvs holding the real B2/S3 clients the conformance tests drive:
 *   .cache/venv         b2 (B2 CLI), b2sdk (newest), boto3
 *   .cache/venv-b2sdk28 b2sdk 2.8 — the API v3 generation
 *   .cache/venv-b2sdk1  b2sdk 1.x — the old client (POST authorize, API v2), see docs/b2-api.md §1.3
 * A venv is (re)built only when its spec or the Python version changed, or a marker file is gone.
 */
const fs = require('fs');
const path = require('path');
const { CACHE_DIR, SetupError, log, which, run, probe, isExecutable } = require('./proc');
const { readStamp, writeStep } = require('./stamp');

/** @typedef {{ name: string, dir: string, requirements: string[], markers: string[], report: string[] }} VenvSpec */

/** @type {VenvSpec[]} */
const VENVS = [
  {
    name: 'venv',
    dir: path.join(CACHE_DIR, 'venv'),
    requirements: ['b2', 'b2sdk', 'boto3'],
    markers: ['bin/python', 'bin/b2'],
    report: ['b2', 'b2sdk', 'boto3'],
  },
  {
    // The last generation on API v3 (apiInfo.storageApi with a single bucketId), docs/b2-api.md §1.3.
    name: 'venv-b2sdk28',
    dir: path.join(CACHE_DIR, 'venv-b2sdk28'),
    requirements: ['b2sdk==2.8.*'],
    markers: ['bin/python'],
    report: ['b2sdk'],
  },
  {
    name: 'venv-b2sdk1',
    dir: path.join(CACHE_DIR, 'venv-b2sdk1'),
    requirements: ['b2sdk==1.*'],
    markers: ['bin/python'],
    report: ['b2sdk'],
  },
];

/**
 * A python3 that can create virtualenvs (pyenv's or Debian's). Debian splits venv into
 * python3-venv, so on a bare Debian we say exactly which package to add.
 * @returns {{ python: string, version: string }}
 */
function findPython() {
  const candidates = [process.env.PYTHON, which('python3'), '/usr/bin/python3'].filter(
    /** @returns {p is string} */ (p) => !!p,
  );
  for (const python of candidates) {
    const res = probe(python, [
      '-c',
      'import sys, venv, ensurepip; print("%d.%d.%d" % sys.version_info[:3])',
    ]);
    if (res.status === 0) return { python, version: res.stdout.trim() };
  }
  throw new SetupError(
    `no python3 with the venv and ensurepip modules was found (tried ${candidates.join(', ') || 'nothing: no python3 on PATH'})`,
    'install Python 3 with venv support (Debian: apt-get install -y python3 python3-venv), or point PYTHON=/path/to/python3 at one',
  );
}

/**
 * The stamp key. The base Python's version is deliberately not part of it: probing a pyenv shim
 * costs a second; a venv whose interpreter went away fails the marker check instead.
 * @param {VenvSpec} spec
 */
function specKey(spec) {
  return spec.requirements.join(' ');
}

/** @param {VenvSpec} spec */
function markersPresent(spec) {
  return spec.markers.every((m) => isExecutable(path.join(spec.dir, m)));
}

/**
 * Versions pip actually installed, for the stamp and the test logs.
 * @param {VenvSpec} spec @returns {Record<string, string>}
 */
function installedVersions(spec) {
  const res = probe(path.join(spec.dir, 'bin', 'python'), [
    '-m',
    'pip',
    'list',
    '--format=json',
    '--disable-pip-version-check',
  ]);
  /** @type {Record<string, string>} */
  const out = {};
  if (res.status !== 0) return out;
  for (const { name, version } of /** @type {{name: string, version: string}[]} */ (JSON.parse(res.stdout))) {
    if (spec.report.includes(name.toLowerCase())) out[name.toLowerCase()] = version;
  }
  return out;
}

/**
 * Builds one venv if its stamp is stale. Returns what it recorded.
 * @param {VenvSpec} spec @param {() => { python: string, version: string }} getPython @param {boolean} force
 */
function ensureVenv(spec, getPython, force) {
  const step = `python:${spec.name}`;
  const key = specKey(spec);
  const prev = readStamp().steps[step];
  if (!force && prev && prev.key === key && markersPresent(spec)) {
    log('python', `${path.basename(spec.dir)} up to date (${JSON.stringify(prev.versions)})`);
    return prev;
  }
  const py = getPython();
  log(
    'python',
    `building ${path.relative(process.cwd(), spec.dir) || spec.dir}: pip install ${spec.requirements.join(' ')}`,
  );
  const logFile = path.join(CACHE_DIR, 'logs', `${spec.name}.log`);
  const fix = `see ${path.relative(process.cwd(), logFile)}; PyPI must be reachable (pip config / PIP_INDEX_URL)`;
  const venvPython = path.join(spec.dir, 'bin', 'python');
  const existing = probe(venvPython, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
  if (existing.status !== 0 || existing.stdout.trim() !== py.version) {
    // A venv made by another Python version is not repairable in place: start clean.
    fs.rmSync(spec.dir, { recursive: true, force: true });
    run(py.python, ['-m', 'venv', spec.dir], { fix, logFile });
  }
  run(
    path.join(spec.dir, 'bin', 'python'),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--upgrade', ...spec.requirements],
    { fix, logFile },
  );
  if (!markersPresent(spec)) {
    throw new SetupError(`pip succeeded but ${spec.markers.join(', ')} are missing in ${spec.dir}`, fix);
  }
  const value = { key, at: new Date().toISOString(), python: py.version, versions: installedVersions(spec) };
  writeStep(step, value);
  log('python', `${spec.name}: ${JSON.stringify(value.versions)}`);
  return value;
}

/**
 * Ensures both venvs. Returns the stamp entries.
 * @param {{ force?: boolean }} [opts]
 */
function ensurePythonClients(opts = {}) {
  /** @type {{ python: string, version: string } | undefined} */
  let py;
  const getPython = () => (py ??= findPython());
  return VENVS.map((spec) => ensureVenv(spec, getPython, !!opts.force));
}

module.exports = { VENVS, ensurePythonClients, findPython };
