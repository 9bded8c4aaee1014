/**
 * `restore`: one object version to a file or stdout — by `--version-id`, by `--at <time>` (the
 * newest version uploaded at or before it), or the current one. The version is downloaded into a
 * private spool and its SHA-256 compared with the run manifest (or the object's metadata) before
 * anything is written: a mismatch exits 3 with the target untouched; a version with no recorded
 * hash is refused unless `--allow-unverified`. An existing `--to` file is replaced only with
 * `--force`. `--decrypt` opens a tf-state envelope with the key from --key-file / the key env var.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { Writable } from 'stream';
import { decrypt, loadKey } from '../lib/crypto';
import { UsageError } from '../lib/errors';
import {
  describeVerification,
  requireExpectedHash,
  resolveRestoreSource,
  sourceSummary,
  spoolAndVerify,
} from '../lib/restoreSource';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { parseInstant } from '../lib/timeparse';

export interface RestoreOptions {
  key: string;
  versionId?: string;
  at?: string;
  to: string;
  decrypt: boolean;
  keyFile?: string;
  keyEnv?: string;
  /** Replace an existing --to file. */
  force?: boolean;
  /** Restore a version that has no recorded SHA-256 (nothing to verify against). */
  allowUnverified?: boolean;
  /** Parent of the private spool directory (default $TMPDIR). */
  spoolDir?: string;
  /** Where `--to -` writes (injected in tests). */
  stdout?: Writable;
}

/** Refuses a target that cannot or must not be written, before any network call. */
export function checkTarget(to: string, force: boolean): void {
  if (to === '-') return;
  const abs = path.resolve(to);
  const parent = path.dirname(abs);
  let pst: fs.Stats;
  try {
    pst = fs.statSync(parent);
  } catch {
    throw new UsageError(`--to ${to}: directory ${parent} does not exist (create it first)`);
  }
  if (!pst.isDirectory()) throw new UsageError(`--to ${to}: ${parent} is not a directory`);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory())
    throw new UsageError(
      `--to ${to} is a directory; name the file to write, e.g. ${path.join(to, 'restored')}`,
    );
  if (st && !force)
    throw new UsageError(`--to ${to} already exists; not replaced (pass --force to replace it)`);
}

async function run(ctx: JobContext, opts: RestoreOptions): Promise<JobOutcome> {
  const encKey = opts.decrypt ? loadKey(opts, ctx.env) : undefined;
  const src = await resolveRestoreSource(ctx, opts.key, { versionId: opts.versionId, at: opts.at });
  requireExpectedHash(src, !!opts.allowUnverified);
  if (ctx.dryRun) {
    return {
      summary: { ...sourceSummary(src), to: opts.to },
      human: [
        `would restore ${opts.key} version ${src.versionId} (uploaded ${new Date(src.uploadedAt).toISOString()}) to ${opts.to}`,
        src.expectedSha256
          ? `and verify it against sha256 ${src.expectedSha256} from ${src.expectedFrom}`
          : 'without verification (--allow-unverified)',
      ],
      bytes: 0,
      objects: 0,
    };
  }
  checkTarget(opts.to, !!opts.force); // again: the file may have appeared since validation
  const toStdout = opts.to === '-';
  const out = opts.stdout ?? process.stdout;
  const spool = await spoolAndVerify(ctx, src, opts.spoolDir, 'restore');
  let size = spool.size;
  try {
    if (encKey) {
      const plain = decrypt(await spool.readAll(), encKey);
      size = plain.length;
      if (toStdout) await writeOut(out, plain);
      else {
        fs.writeFileSync(spool.path, plain, { mode: 0o600 });
        await spool.moveTo(opts.to, !!opts.force);
      }
    } else if (toStdout) {
      await pipeline(spool.createReadStream(), out, { end: false });
    } else {
      await spool.moveTo(opts.to, !!opts.force);
    }
  } finally {
    await spool.dispose();
  }
  const verification = describeVerification(src, spool.sha256);
  // With --to - the data owns stdout; the result line goes to stderr (cli.ts redirects it).
  return {
    summary: { ...sourceSummary(src, spool.sha256), to: opts.to, restoredBytes: size, decrypted: !!encKey },
    human: [
      toStdout
        ? `restored ${opts.key} to stdout: ${size} bytes`
        : `restored ${opts.key} to ${opts.to}: ${size} bytes`,
      verification,
    ],
    bytes: spool.size,
    objects: 1,
  };
}

function writeOut(out: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => out.write(data, (e) => (e ? reject(e) : resolve())));
}

export const restoreJob: JobDefinition<RestoreOptions> = {
  name: 'restore',
  purpose: 'restore-reader',
  writesManifest: false,
  readsManifests: true,
  validate: (o, deps) => {
    if (!o.key) throw new UsageError('--key <object key> is required');
    if (!o.to) throw new UsageError('--to <path|-> is required');
    if (o.versionId && o.at) throw new UsageError('give at most one of --version-id and --at');
    if (o.at) parseInstant(o.at, '--at', Date.now());
    if (o.decrypt) loadKey(o, deps.env);
    checkTarget(o.to, !!o.force);
    if (o.spoolDir && !(fs.existsSync(o.spoolDir) && fs.statSync(o.spoolDir).isDirectory()))
      throw new UsageError(`--spool-dir ${o.spoolDir}: not a directory`);
  },
  run,
};
