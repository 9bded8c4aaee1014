/**
 * tools/lib/lock.js: the cross-process setup lock. A lock left by a dead run is taken over, a
 * live owner is waited for (and only up to the timeout), the lock is re-entrant for its owner and
 * always released, and concurrent runs never overlap.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { REPO } from './sandbox';

const { withLock } = require('../../../tools/lib/lock') as {
  withLock<T>(file: string, fn: () => T, opts?: { timeoutMs?: number; what?: string }): T;
};
const { SetupError } = require('../../../tools/lib/proc') as { SetupError: new (...a: unknown[]) => Error };

const LOCK_JS = path.join(REPO, 'tools', 'lib', 'lock.js');

/** A PID that certainly belonged to a process that has exited. */
function deadPid(): number {
  const res = spawnSync(process.execPath, ['-e', '']);
  return res.pid;
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('withLock', () => {
  let dir: string;
  let file: string;
  const children: ChildProcess[] = [];
  let stderr: jest.SpyInstance;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-lock-'));
    file = path.join(dir, 'sub', 'setup.lock');
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(async () => {
    stderr.mockRestore();
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await exited(c);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const stderrText = () => stderr.mock.calls.map((c) => String(c[0])).join('');

  it('holds the lock file (with our PID) while fn runs, then removes it; returns fn’s value', () => {
    const seen = withLock(file, () => fs.readFileSync(file, 'utf8'));
    expect(seen).toBe(String(process.pid));
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(path.dirname(file))).toEqual([]); // no temp files left behind
  });

  it('releases the lock when fn throws', () => {
    expect(() =>
      withLock(file, () => {
        throw new Error('step failed');
      }),
    ).toThrow('step failed');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('is re-entrant for its owner and the inner call does not release the outer lock', () => {
    withLock(file, () => {
      expect(withLock(file, () => 'inner')).toBe('inner');
      expect(fs.readFileSync(file, 'utf8')).toBe(String(process.pid));
    });
    expect(fs.existsSync(file)).toBe(false);
  });

  it.each([
    ['a dead owner', () => String(deadPid())],
    ['an empty file', () => ''],
    ['garbage', () => 'not-a-pid\n'],
  ])('takes over a lock left by %s at once', (_what, content) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content());
    const started = Date.now();
    expect(withLock(file, () => fs.readFileSync(file, 'utf8'), { timeoutMs: 5000 })).toBe(
      String(process.pid),
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fs.existsSync(file)).toBe(false);
    expect(stderrText()).not.toContain('waiting for PID');
  });

  it('waits for a live owner, bounded by the timeout, and leaves its lock alone', () => {
    const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    children.push(owner);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, String(owner.pid));
    const fn = jest.fn();
    const started = Date.now();
    let err: unknown;
    try {
      withLock(file, fn, { timeoutMs: 600, what: 'the unit test' });
    } catch (e) {
      err = e;
    }
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(SetupError);
    expect((err as Error).message).toBe(
      `the unit test is still locked by PID ${owner.pid} after 1 s (${file})`,
    );
    expect((err as { fix: string }).fix).toContain(`kill ${owner.pid}`);
    expect(waited).toBeGreaterThanOrEqual(600);
    expect(waited).toBeLessThan(2000);
    expect(fn).not.toHaveBeenCalled();
    expect(fs.readFileSync(file, 'utf8')).toBe(String(owner.pid));
    expect(stderrText()).toContain(
      `[setup:lock] waiting for PID ${owner.pid}, which is running the unit test`,
    );
  });

  it('runs fn as soon as a live owner releases the lock', async () => {
    const released = path.join(dir, 'released-at');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs');
         require(${JSON.stringify(LOCK_JS)}).withLock(${JSON.stringify(file)}, () => {
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
           fs.writeFileSync(${JSON.stringify(released)}, String(Date.now()));
         });`,
      ],
      { stdio: 'ignore' },
    );
    children.push(holder);
    await waitFor(
      () => fs.existsSync(file) && fs.readFileSync(file, 'utf8') === String(holder.pid),
      'the holder',
    );
    let ranAt = 0;
    withLock(
      file,
      () => {
        ranAt = Date.now();
        expect(fs.readFileSync(file, 'utf8')).toBe(String(process.pid));
      },
      { timeoutMs: 10_000 },
    );
    expect(ranAt).toBeGreaterThanOrEqual(Number(fs.readFileSync(released, 'utf8')));
    expect(stderrText()).toContain(`waiting for PID ${holder.pid}`);
    expect(await exited(holder)).toBe(0);
  });

  it('never lets concurrent runs overlap, also when they start by taking over a stale lock', async () => {
    // Tight loops maximise contention on create/take-over; the earlier exclusive-create version
    // let two runs in at once about once per few hundred acquisitions on 2 cores.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, String(deadPid()));
    const inside = path.join(dir, 'inside');
    const entries = path.join(dir, 'entries');
    const worker = `
      const fs = require('fs');
      const { withLock } = require(${JSON.stringify(LOCK_JS)});
      let overlaps = 0;
      for (let i = 0; i < 150; i++) {
        withLock(${JSON.stringify(file)}, () => {
          try { fs.writeFileSync(${JSON.stringify(inside)}, 'x', { flag: 'wx' }); } catch { overlaps++; return; }
          fs.appendFileSync(${JSON.stringify(entries)}, 'x');
          fs.rmSync(${JSON.stringify(inside)});
        }, { timeoutMs: 15000 });
      }
      process.stdout.write(String(overlaps));`;
    const workers = [0, 1, 2, 3].map(() =>
      spawn(process.execPath, ['-e', worker], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    children.push(...workers);
    const outputs = workers.map((w) => {
      let text = '';
      w.stdout?.on('data', (d) => (text += d));
      w.stderr?.on('data', (d) => (text += d));
      return () => text;
    });
    const codes = await Promise.all(workers.map(exited));
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(outputs.map((o) => o().replace(/\[setup:lock\][^\n]*\n/g, ''))).toEqual(['0', '0', '0', '0']);
    expect(fs.readFileSync(entries, 'utf8')).toHaveLength(600);
    expect(fs.existsSync(file)).toBe(false);
  });
});
