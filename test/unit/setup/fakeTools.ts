/**
 * Fake `python` (venv + pip) and Debian tools (`dpkg-query`, `apt-get`, `sudo`) for the setup
 * steps. Each logs its invocations to a file, so a test can assert what was run and, as
 * importantly, that nothing was run at all when the stamp says the step is current.
 */
import fs from 'fs';
import path from 'path';
import { writeExecutable } from './sandbox';

const PYTHON = String.raw`
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);
const venvDir = path.resolve(path.dirname(__filename), '..');
const cfg = path.join(venvDir, 'pyvenv.cfg');
const inVenv = fs.existsSync(cfg);
fs.appendFileSync(process.env.FAKE_PY_LOG, JSON.stringify({ python: inVenv ? path.basename(venvDir) : 'base', args }) + '\n');
const version = inVenv ? fs.readFileSync(cfg, 'utf8').trim() : process.env.FAKE_PY_VERSION || '3.12.1';
if (args[0] === '-c') { process.stdout.write(version + '\n'); process.exit(0); }
if (args[0] === '-m' && args[1] === 'venv') {
  const dir = args[2];
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(__filename, path.join(dir, 'bin', 'python'));
  fs.chmodSync(path.join(dir, 'bin', 'python'), 0o755);
  fs.writeFileSync(path.join(dir, 'pyvenv.cfg'), version);
  process.exit(0);
}
if (inVenv && args[0] === '-m' && args[1] === 'pip' && args[2] === 'install') {
  if (process.env.FAKE_PIP_FAIL) { process.stderr.write('ERROR: no matching distribution\n'); process.exit(1); }
  const versions = { 'b2': '4.3.0', 'b2sdk': '2.9.4', 'b2sdk==2.8.*': '2.8.1', 'b2sdk==1.*': '1.33.0', 'b2sdk==1.20.*': '1.20.0', 'boto3': '1.35.0' };
  const file = path.join(venvDir, 'installed.json');
  const installed = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { pip: '24.0' };
  for (const req of args.slice(3).filter((a) => !a.startsWith('-'))) {
    installed[req.split('=')[0]] = versions[req] || '0.0.1';
    if (req === 'b2') fs.writeFileSync(path.join(venvDir, 'bin', 'b2'), '#!/bin/sh\n', { mode: 0o755 });
  }
  fs.writeFileSync(file, JSON.stringify(installed));
  process.exit(0);
}
if (inVenv && args[0] === '-m' && args[1] === 'pip' && args[2] === 'list') {
  const installed = JSON.parse(fs.readFileSync(path.join(venvDir, 'installed.json'), 'utf8'));
  process.stdout.write(JSON.stringify(Object.entries(installed).map(([name, version]) => ({ name, version }))));
  process.exit(0);
}
process.stderr.write('fake python: unexpected ' + args.join(' ') + '\n');
process.exit(3);
`;

/** Installs the fake base python at `file`; its calls go to `log` (JSON lines). */
export function installFakePython(file: string, log: string): NodeJS.ProcessEnv {
  writeExecutable(file, `#!${process.execPath}\n${PYTHON}`);
  return { PYTHON: file, FAKE_PY_LOG: log };
}

export interface PyCall {
  python: string;
  args: string[];
}

export function pyCalls(log: string): PyCall[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PyCall);
}

const DPKG_QUERY = String.raw`
const fs = require('fs');
const installed = new Set(fs.readFileSync(process.env.FAKE_DPKG_DB, 'utf8').split('\n').filter(Boolean));
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
let unknown = false;
for (const n of names) {
  if (installed.has(n)) process.stdout.write(n + ' ii \n');
  else if (n.startsWith('no-such-')) { unknown = true; process.stderr.write('dpkg-query: no packages found matching ' + n + '\n'); }
  else process.stdout.write(n + ' un \n');
}
process.exit(unknown ? 1 : 0);
`;

const APT_GET = String.raw`
const fs = require('fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_APT_LOG, JSON.stringify({ args, frontend: process.env.DEBIAN_FRONTEND || '' }) + '\n');
const op = args.find((a) => a === 'install' || a === 'update');
if (op === 'update') { fs.writeFileSync(process.env.FAKE_APT_UPDATED, '1'); process.exit(0); }
if (op === 'install') {
  if (process.env.FAKE_APT_NEEDS_UPDATE && !fs.existsSync(process.env.FAKE_APT_UPDATED)) {
    process.stderr.write('E: Unable to fetch some archives, maybe run apt-get update\n');
    process.exit(100);
  }
  const pkgs = args.slice(args.indexOf('install') + 1).filter((a) => !a.startsWith('-'));
  if (!process.env.FAKE_APT_NOOP) fs.appendFileSync(process.env.FAKE_DPKG_DB, pkgs.join('\n') + '\n');
  process.exit(0);
}
process.exit(3);
`;

/**
 * Installs dpkg-query/apt-get (and a passwordless `sudo` that runs them, for non-root runs) into
 * `binDir`. `installed` seeds the fake dpkg database. @returns the env the fakes read
 */
export function installFakeApt(binDir: string, stateDir: string, installed: string[]): NodeJS.ProcessEnv {
  fs.mkdirSync(stateDir, { recursive: true });
  const db = path.join(stateDir, 'dpkg.db');
  fs.writeFileSync(db, installed.map((p) => `${p}\n`).join(''));
  writeExecutable(path.join(binDir, 'dpkg-query'), `#!${process.execPath}\n${DPKG_QUERY}`);
  writeExecutable(path.join(binDir, 'apt-get'), `#!${process.execPath}\n${APT_GET}`);
  writeExecutable(
    path.join(binDir, 'sudo'),
    `#!/bin/sh\n[ "$1" = "-n" ] && shift\n[ "$1" = "true" ] && exit 0\nexec "${binDir}/$@"\n`,
  );
  return {
    FAKE_DPKG_DB: db,
    FAKE_APT_LOG: path.join(stateDir, 'apt.log'),
    FAKE_APT_UPDATED: path.join(stateDir, 'updated'),
  };
}

export function aptCalls(stateDir: string): { args: string[]; frontend: string }[] {
  const file = path.join(stateDir, 'apt.log');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
