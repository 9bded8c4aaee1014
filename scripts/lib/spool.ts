/**
 * Restore spool: one object version downloaded into a private file, hashed while it is written,
 * so a restore can compare the SHA-256 before anything is final (the file target, `pg_restore`,
 * `mysql`). Interface for restores:
 *
 *   const spool = await spoolObject({ s3, policy, bucket, key, versionId, size, dir });
 *   try { if (spool.sha256 !== expected) throw …; spool.createReadStream() / spool.moveTo(file) }
 *   finally { await spool.dispose(); }
 *
 * The spool lives in a fresh directory (mkdtemp, 0700) under `dir` ($TMPDIR by default, or
 * `--spool-dir`), the file is created exclusively with mode 0600 and removed by `dispose`. The
 * download is refused before the first byte when the filesystem has less free space than the
 * object's size. How the bytes arrive is `fillSpool`'s business (one GET, resumed with a Range
 * after a mid-body reset; from 64 MiB on, hashed and written by a second thread, spoolWriter.ts);
 * parallel ranged GETs could replace it with positional writes into the same exclusive-created file.
 */
import { S3Client } from '@aws-sdk/client-s3';
import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { messageOf, UsageError } from './errors';
import { downloadTo, streamVersion } from './objects';
import { formatBytes } from './reporter';
import { RetryPolicy } from './retry';
import { SpoolWriter } from './spoolWriter';

export interface SpoolRequest {
  s3: S3Client;
  policy: RetryPolicy;
  bucket: string;
  key: string;
  /** The exact version (resolved by the caller, so a concurrent upload cannot switch bytes). */
  versionId: string;
  /** The version's size from the listing or HEAD: checked against free space before downloading. */
  size: number;
  /** Parent of the private spool directory (default: $TMPDIR / os.tmpdir()). */
  dir?: string;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  /**
   * Hash and write on a second thread: true / false, or undefined for the default by size
   * (`spoolThreadFromEnv` reads IFB_SPOOL_THREAD).
   */
  thread?: boolean;
}

export interface SpooledObject {
  /** The spool file (0600, inside a private 0700 directory). */
  path: string;
  size: number;
  /** SHA-256 (hex) of exactly the bytes in the spool file, computed while they were written. */
  sha256: string;
  metadata: Record<string, string>;
  createReadStream(): fs.ReadStream;
  readAll(): Promise<Buffer>;
  /**
   * Moves the spool file to `target` (rename on the same filesystem, else a copy), refusing to
   * replace an existing file unless `overwrite`. The spool is empty afterwards.
   */
  moveTo(target: string, overwrite: boolean): Promise<void>;
  /** Removes the spool file and directory; safe to call twice. */
  dispose(): Promise<void>;
}

/** Free bytes for an unprivileged user on the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const st = fs.statfsSync(dir);
  return Number(st.bavail) * Number(st.bsize);
}

/**
 * Spool directories not yet disposed. A process that exits before a restore's clean-up ran (the
 * forced exit 4.5 s after SIGINT/SIGTERM, scripts/cli.ts) removes them on the way out, so no
 * private copy of backup data is left in $TMPDIR.
 */
const liveSpools = new Set<string>();
process.on('exit', () => {
  for (const root of liveSpools) fs.rmSync(root, { recursive: true, force: true });
});

export async function spoolObject(req: SpoolRequest): Promise<SpooledObject> {
  const parent = path.resolve(req.dir ?? os.tmpdir());
  let st: fs.Stats;
  try {
    st = fs.statSync(parent);
  } catch {
    throw new UsageError(`spool directory ${parent} does not exist (set --spool-dir or TMPDIR)`);
  }
  if (!st.isDirectory()) throw new UsageError(`spool directory ${parent} is not a directory`);
  const free = freeBytes(parent);
  if (free < req.size) {
    throw new UsageError(
      `not enough free space to spool ${req.key} in ${parent}: ${formatBytes(free)} free, the object is ${formatBytes(req.size)}; ` +
        'pass --spool-dir <dir> on a larger filesystem (the restore verifies the whole object before writing)',
    );
  }
  const root = await fsp.mkdtemp(path.join(parent, 'ifb-restore-'));
  liveSpools.add(root);
  const file = path.join(root, 'object');
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await fsp.rm(root, { recursive: true, force: true });
    liveSpools.delete(root);
  };
  try {
    const { size, sha256, metadata } = await fillSpool(req, file);
    return {
      path: file,
      size,
      sha256,
      metadata,
      createReadStream: () => fs.createReadStream(file, { highWaterMark: 1024 * 1024 }),
      readAll: () => fsp.readFile(file),
      async moveTo(target, overwrite) {
        await moveFile(file, target, overwrite);
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * Objects at least this large are written by a second thread (spoolWriter.ts); smaller ones on the
 * main thread. Measured here through the bin (6 alternating runs each): 4 MiB and 32 MiB restores
 * were 0.01–0.03 s slower with the thread and cost 0.025–0.06 s more CPU (its start-up), 128 MiB
 * 0.05 s faster, 1 GiB ~0.7 s faster (bench/README.md, "cli").
 */
export const THREAD_MIN_BYTES = 64 * 1024 * 1024;

/** IFB_SPOOL_THREAD=0 forces the main-thread path, =1 the thread at any size (tests, benchmarks). */
export function spoolThreadFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const v = env.IFB_SPOOL_THREAD;
  return v === '0' ? false : v === '1' ? true : undefined;
}

/**
 * Downloads the version into a new file (exclusive create, 0600) and hashes the bytes as they are
 * written; resolves once the file is written and closed.
 */
async function fillSpool(
  req: SpoolRequest,
  file: string,
): Promise<{ size: number; sha256: string; metadata: Record<string, string> }> {
  if (req.thread ?? req.size >= THREAD_MIN_BYTES) return fillSpoolThreaded(req, file);
  // wx: exclusive create (never follows or reuses an existing name); 0600: only this user.
  const sink = fs.createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 });
  const closed = new Promise<void>((resolve, reject) => {
    sink.once('close', resolve);
    sink.once('error', reject);
  });
  try {
    const dl = await downloadTo(req.s3, req.policy, req.bucket, req.key, req.versionId, sink, req.onProgress);
    sink.end();
    await closed;
    return { size: dl.size, sha256: dl.sha256, metadata: dl.metadata };
  } catch (err) {
    sink.destroy();
    await closed.catch(() => undefined);
    throw err;
  }
}

/**
 * The same contract, with hashing and writing on a second thread: the main thread receives and
 * copies chunks into the writer's ring; the SHA-256 covers the slots in the order they were
 * written, across a resumed GET. The thread starts while the GET is in flight.
 */
async function fillSpoolThreaded(
  req: SpoolRequest,
  file: string,
): Promise<{ size: number; sha256: string; metadata: Record<string, string> }> {
  const fh = await fsp.open(file, 'wx', 0o600);
  let writer: SpoolWriter | undefined;
  try {
    writer = new SpoolWriter(fh.fd, file);
    const w = writer;
    const dl = await streamVersion(
      req.s3,
      req.policy,
      req.bucket,
      req.key,
      req.versionId,
      (b) => w.write(b),
      req.onProgress,
    );
    const done = await w.finish();
    return { size: done.size, sha256: done.sha256, metadata: dl.metadata };
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await fh.close();
  }
}

async function moveFile(from: string, target: string, overwrite: boolean): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.restore`);
  try {
    try {
      await fsp.rename(from, tmp);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await fsp.copyFile(from, tmp, fs.constants.COPYFILE_EXCL);
      await fsp.chmod(tmp, 0o600);
    }
    if (overwrite) {
      await fsp.rename(tmp, target);
    } else {
      // link() fails if the name exists: no window in which another writer's file is replaced.
      try {
        await fsp.link(tmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw new UsageError(
            `--to ${target}: the file appeared during the restore; not replaced (use --force)`,
          );
        throw err;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new Error(`could not write ${target}: ${messageOf(err)}`, { cause: err });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
