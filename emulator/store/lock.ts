/**
 * One server per `--data` directory. Two emulators on one directory would corrupt each other
 * (the second one's start-up recovery deletes the first one's in-flight temp files), so a store
 * directory is locked while it is open:
 *
 * - the lock is an exclusive SQLite transaction held open on `<dir>/lock.sqlite` — a POSIX
 *   advisory lock the kernel drops when the process ends in any way (SIGKILL included), so a
 *   stale lock cannot exist and a restart after a crash simply takes it;
 * - `<dir>/lock.pid` records the holder (pid, start time) so a refused opener can name it.
 */
import Database from 'better-sqlite3';
import * as fs from 'fs';
import * as path from 'path';

export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(
    readonly dir: string,
    readonly holderPid: number | null,
  ) {
    super(
      `data directory ${dir} is in use by another b2-local (pid ${holderPid ?? 'unknown'}); ` +
        'stop that process or pass a different --data directory',
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  release(): void;
}

/** Lock `dir` (created if missing) for this process, or throw DataDirLockedError. */
export function lockDataDir(dir: string): DataDirLock {
  fs.mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, 'lock.sqlite'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY' || (e as { code?: string }).code === 'SQLITE_LOCKED')
      throw new DataDirLockedError(dir, holderPid(dir));
    throw e;
  }
  const pidFile = path.join(dir, 'lock.pid');
  fs.writeFileSync(pidFile, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }) + '\n');
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        const cur = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid?: number };
        if (cur.pid === process.pid) fs.rmSync(pidFile, { force: true });
      } catch {
        // no pid file or not ours: leave it
      }
      db.close(); // ends the transaction and drops the lock
    },
  };
}

function holderPid(dir: string): number | null {
  try {
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'lock.pid'), 'utf8')) as { pid?: unknown };
    return Number.isInteger(rec.pid) ? (rec.pid as number) : null;
  } catch {
    return null;
  }
}
