/**
 * tools/setup.js end to end in a sandbox with fake tools: the python step's stamp (a second run
 * with a current stamp runs nothing; a changed requirement list, a missing marker or --force
 * rebuilds only what is stale), the apt step (installs only what dpkg lacks, refreshes lists once
 * on failure), argument handling, and a stale setup lock left by a killed run.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { aptCalls, installFakeApt, installFakePython, pyCalls } from './fakeTools';
import { makeSandbox, readStamp, runNode, Sandbox } from './sandbox';

let sb: Sandbox;
let pyLog: string;
let pyEnv: NodeJS.ProcessEnv;
beforeEach(() => {
  sb = makeSandbox();
  pyLog = path.join(sb.root, 'python-calls.jsonl');
  pyEnv = installFakePython(path.join(sb.root, 'base-python', 'bin', 'python3'), pyLog);
});
afterEach(() => sb.cleanup());

function setup(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return runNode(
    [path.join(sb.root, 'tools', 'setup.js'), ...args],
    { PATH: sb.bin, HOME: sb.root, ...pyEnv, ...extraEnv },
    sb.root,
  );
}

/** `pip install` requirement lists per venv, in call order. */
const pipInstalls = () =>
  pyCalls(pyLog)
    .filter((c) => c.args[1] === 'pip' && c.args[2] === 'install')
    .map(
      (c) =>
        `${c.python}: ${c.args.filter((a) => !a.startsWith('-') && a !== 'pip' && a !== 'install').join(' ')}`,
    );
const venvCreations = () =>
  pyCalls(pyLog)
    .filter((c) => c.args[1] === 'venv')
    .map((c) => path.basename(c.args[2]));

describe('setup.js --only python', () => {
  it('builds the three venvs once; a second run with a current stamp runs nothing', () => {
    const first = setup(['--only', 'python']);
    expect(first.stderr).toMatch(/\[setup:done\] python in \d+\.\ds/);
    expect(first.status).toBe(0);
    expect(venvCreations()).toEqual(['venv', 'venv-b2sdk28', 'venv-b2sdk1']);
    expect(pipInstalls()).toEqual([
      'venv: b2 b2sdk boto3',
      'venv-b2sdk28: b2sdk==2.8.*',
      'venv-b2sdk1: b2sdk==1.*',
    ]);
    const steps = readStamp(sb).steps;
    expect(steps['python:venv']).toMatchObject({
      key: 'b2 b2sdk boto3',
      python: '3.12.1',
      versions: { b2: '4.3.0', b2sdk: '2.9.4', boto3: '1.35.0' }, // pip itself is not reported
    });
    expect(steps['python:venv-b2sdk28']).toMatchObject({ key: 'b2sdk==2.8.*', versions: { b2sdk: '2.8.1' } });
    expect(steps['python:venv-b2sdk1']).toMatchObject({ key: 'b2sdk==1.*', versions: { b2sdk: '1.33.0' } });

    const callsAfterFirst = pyCalls(pyLog).length;
    const stampAfterFirst = fs.readFileSync(path.join(sb.cache, 'setup-stamp.json'), 'utf8');
    const second = setup(['--only', 'python']);
    expect(second.status).toBe(0);
    expect(pyCalls(pyLog)).toHaveLength(callsAfterFirst); // not even a python probe
    expect(second.stderr.match(/up to date/g)).toHaveLength(3);
    expect(fs.readFileSync(path.join(sb.cache, 'setup-stamp.json'), 'utf8')).toBe(stampAfterFirst);
  });

  it('rebuilds only the venv whose requirement list changed', () => {
    expect(setup(['--only', 'python']).status).toBe(0);
    const before = pipInstalls().length;
    // A later commit changes one requirement list (here: in the sandbox's copy of venv.js).
    const venvJs = path.join(sb.root, 'tools', 'lib', 'venv.js');
    const src = fs.readFileSync(venvJs, 'utf8');
    expect(src).toContain("requirements: ['b2sdk==1.*']");
    fs.writeFileSync(venvJs, src.replace("requirements: ['b2sdk==1.*']", "requirements: ['b2sdk==1.20.*']"));

    const res = setup(['--only', 'python']);
    expect(res.status).toBe(0);
    expect(pipInstalls().slice(before)).toEqual(['venv-b2sdk1: b2sdk==1.20.*']);
    expect(venvCreations()).toHaveLength(3); // same interpreter: upgraded in place, not re-created
    expect(readStamp(sb).steps['python:venv-b2sdk1']).toMatchObject({
      key: 'b2sdk==1.20.*',
      versions: { b2sdk: '1.20.0' },
    });
  });

  it('rebuilds a venv whose marker or interpreter is gone, and everything with --force', () => {
    expect(setup(['--only', 'python']).status).toBe(0);
    let before = pipInstalls().length;

    fs.rmSync(path.join(sb.cache, 'venv', 'bin', 'b2'));
    expect(setup(['--only', 'python']).status).toBe(0);
    expect(pipInstalls().slice(before)).toEqual(['venv: b2 b2sdk boto3']);
    expect(venvCreations()).toHaveLength(3);

    before = pipInstalls().length;
    fs.rmSync(path.join(sb.cache, 'venv-b2sdk28', 'bin', 'python'));
    expect(setup(['--only', 'python']).status).toBe(0);
    expect(pipInstalls().slice(before)).toEqual(['venv-b2sdk28: b2sdk==2.8.*']);
    expect(venvCreations().slice(3)).toEqual(['venv-b2sdk28']); // re-created from scratch

    // --force redoes all three; a venv made by another Python version is re-created, not upgraded.
    before = pipInstalls().length;
    expect(setup(['--only', 'python', '--force'], { FAKE_PY_VERSION: '3.13.0' }).status).toBe(0);
    expect(pipInstalls().slice(before)).toHaveLength(3);
    expect(venvCreations().slice(4)).toEqual(['venv', 'venv-b2sdk28', 'venv-b2sdk1']);
    expect(readStamp(sb).steps['python:venv']).toMatchObject({ python: '3.13.0' });
  });

  it('a pip failure exits 1 naming the command, the log file and the fix, and stamps nothing', () => {
    const res = setup(['--only', 'python'], { FAKE_PIP_FAIL: '1' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      /setup: FAILED: `.*\/\.cache\/venv\/bin\/python -m pip install .*b2 b2sdk boto3` exited with 1 \(full output in \.cache\/logs\/venv\.log\)/,
    );
    expect(res.stderr).toContain('setup: how to fix: see .cache/logs/venv.log; PyPI must be reachable');
    expect(fs.readFileSync(path.join(sb.cache, 'logs', 'venv.log'), 'utf8')).toContain(
      'no matching distribution',
    );
    expect(readStamp(sb).steps['python:venv']).toBeUndefined();
  });

  it("keeps other steps' stamp entries, and treats a corrupt stamp as empty (everything re-checks)", () => {
    fs.mkdirSync(sb.cache, { recursive: true });
    const other = { key: 'rclone restic', at: '2026-01-01T00:00:00.000Z', installed: ['restic'] };
    fs.writeFileSync(path.join(sb.cache, 'setup-stamp.json'), JSON.stringify({ steps: { apt: other } }));
    expect(setup(['--only', 'python']).status).toBe(0);
    expect(readStamp(sb).steps.apt).toEqual(other);
    expect(pipInstalls()).toHaveLength(3);

    fs.writeFileSync(path.join(sb.cache, 'setup-stamp.json'), '{"steps": {"python:venv": ');
    expect(setup(['--only', 'python']).status).toBe(0);
    expect(pipInstalls()).toHaveLength(6);
    expect(Object.keys(readStamp(sb).steps).sort()).toEqual([
      'python:venv',
      'python:venv-b2sdk1',
      'python:venv-b2sdk28',
    ]);
    expect(fs.readdirSync(sb.cache).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('takes over a setup lock left by a killed run', () => {
    fs.mkdirSync(sb.cache, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(path.join(sb.cache, 'setup.lock'), String(dead));
    const res = setup([
      '--skip',
      'apt',
      '--skip',
      'python',
      '--skip',
      'pulumi',
      '--skip',
      'actionlint',
      '--skip',
      'bundle',
    ]); // the lock is taken even so
    expect(res.status).toBe(0);
    expect(res.stderr).not.toContain('waiting for PID');
    expect(fs.existsSync(path.join(sb.cache, 'setup.lock'))).toBe(false);
  });
});

describe('setup.js --only apt (fake dpkg/apt-get)', () => {
  const ALL = ['rclone', 'restic', 's3cmd', 'awscli', 'postgresql', 'mariadb-server'];
  let aptState: string;
  beforeEach(() => {
    aptState = path.join(sb.root, 'apt-state');
  });
  const installs = () => aptCalls(aptState).filter((c) => c.args.includes('install'));

  it('does nothing but one dpkg query when everything is installed', () => {
    const env = installFakeApt(sb.bin, aptState, ALL);
    const res = setup(['--only', 'apt'], env);
    expect(res.status).toBe(0);
    expect(res.stderr).toContain(`[setup:apt] all present: ${ALL.join(' ')}`);
    expect(aptCalls(aptState)).toEqual([]);
    expect(readStamp(sb).steps.apt).toBeUndefined();
  });

  it('installs only the missing packages, non-interactively, and records them', () => {
    const env = installFakeApt(
      sb.bin,
      aptState,
      ALL.filter((p) => p !== 'restic' && p !== 'awscli'),
    );
    const res = setup(['--only', 'apt'], env);
    expect(res.status).toBe(0);
    expect(installs()).toEqual([
      {
        args: expect.arrayContaining(['install', '-y', '--no-install-recommends', 'restic', 'awscli']),
        frontend: 'noninteractive',
      },
    ]);
    const args = installs()[0].args;
    expect(args.slice(args.indexOf('install'))).toEqual([
      'install',
      '-y',
      '--no-install-recommends',
      'restic',
      'awscli',
    ]);
    expect(args).toEqual(expect.arrayContaining(['-o', 'DPkg::Lock::Timeout=600']));
    expect(readStamp(sb).steps.apt).toMatchObject({
      key: [...ALL].sort().join(' '),
      installed: ['restic', 'awscli'],
    });
    // Now present: the next run installs nothing.
    expect(setup(['--only', 'apt'], env).status).toBe(0);
    expect(installs()).toHaveLength(1);
  });

  it('refreshes the package lists once when an install fails, then retries', () => {
    const env = installFakeApt(
      sb.bin,
      aptState,
      ALL.filter((p) => p !== 'rclone'),
    );
    const res = setup(['--only', 'apt'], { ...env, FAKE_APT_NEEDS_UPDATE: '1' });
    expect(res.status).toBe(0);
    const ops = aptCalls(aptState).map((c) => c.args.find((a) => a === 'install' || a === 'update'));
    expect(ops.slice(-2)).toEqual(['update', 'install']);
    expect(ops.filter((o) => o === 'update')).toHaveLength(1);
  });

  it('fails clearly when apt-get reports success but the package is still missing', () => {
    const env = installFakeApt(
      sb.bin,
      aptState,
      ALL.filter((p) => p !== 's3cmd'),
    );
    const res = setup(['--only', 'apt'], { ...env, FAKE_APT_NOOP: '1' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(
      'setup: FAILED: apt-get reported success but these are still not installed: s3cmd',
    );
  });

  it('without dpkg/apt-get says what to install by hand and how to skip the step', () => {
    const res = setup(['--only', 'apt']);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('this machine has no dpkg/apt-get');
    expect(res.stderr).toContain('then run: node tools/setup.js --skip apt');
  });
});

describe('setup.js arguments', () => {
  it('rejects an unknown step with exit 2 and the usage', () => {
    const res = setup(['--only', 'bogus']);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain(
      'setup: --only needs one of apt, python, pulumi, actionlint, bundle (got bogus)',
    );
    expect(res.stderr).toContain('usage: node tools/setup.js');
  });

  it('SETUP_SKIP_PULUMI=1 and --skip-pulumi skip the pulumi step (which would fail here: no pulumi, no go)', () => {
    expect(setup(['--only', 'pulumi']).status).toBe(1);
    for (const res of [
      setup(['--only', 'pulumi'], { SETUP_SKIP_PULUMI: '1' }),
      setup(['--only', 'pulumi', '--skip-pulumi']),
    ]) {
      expect(res.status).toBe(0);
      expect(res.stderr).toContain('[setup:done] nothing to do');
    }
  });

  it('--skip removes steps from the default list', () => {
    const env = installFakeApt(sb.bin, path.join(sb.root, 'apt-state'), [
      'rclone',
      'restic',
      's3cmd',
      'awscli',
      'postgresql',
      'mariadb-server',
    ]);
    const res = setup(
      ['--skip', 'python', '--skip', 'pulumi', '--skip', 'actionlint', '--skip', 'bundle'],
      env,
    );
    expect(res.status).toBe(0);
    expect(res.stderr).toMatch(/\[setup:done\] apt in/);
    expect(pyCalls(pyLog)).toEqual([]);
  });
});
