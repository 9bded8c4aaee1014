/**
 * `restore`: one object version to a file or stdout — by `--version-id`, by `--at <time>` (the
 * newest version uploaded at or before it), or the current one. Written to a temp file and
 * renamed only after the SHA-256 matches, so a bad download never replaces a good file.
 * `--decrypt` opens a tf-state envelope with the key from --key-file / the key env var.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Writable } from 'stream';
import { decrypt, loadKey } from '../lib/crypto';
import { IntegrityError, UsageError } from '../lib/errors';
import { downloadTo, getBuffer, listVersions, versionAt } from '../lib/objects';
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
  /** Where `--to -` writes (injected in tests). */
  stdout?: Writable;
}

async function run(ctx: JobContext, opts: RestoreOptions): Promise<JobOutcome> {
  let versionId = opts.versionId;
  if (!versionId && opts.at) {
    const at = parseInstant(opts.at, '--at', ctx.clock.now());
    versionId = versionAt(await listVersions(ctx.s3, ctx.conn.bucket, opts.key), opts.key, at).versionId;
  }
  const encKey = opts.decrypt ? loadKey(opts, ctx.env) : undefined;
  if (ctx.dryRun) {
    return {
      summary: { key: opts.key, versionId: versionId ?? 'current', to: opts.to },
      human: [`would restore ${opts.key} (${versionId ?? 'current'}) to ${opts.to}`],
      bytes: 0,
      objects: 0,
    };
  }
  const toStdout = opts.to === '-';
  const out = opts.stdout ?? process.stdout;
  let size: number;
  let sha256: string;
  let resolved: string | undefined;

  if (encKey) {
    const got = await getBuffer(ctx.s3, ctx.policy, ctx.conn.bucket, opts.key, versionId);
    sha256 = createHash('sha256').update(got.body).digest('hex');
    if (got.metadata.sha256 && got.metadata.sha256 !== sha256)
      throw new IntegrityError(
        `${opts.key}: SHA-256 mismatch (stored ${got.metadata.sha256}, downloaded ${sha256})`,
      );
    const plain = decrypt(got.body, encKey);
    size = plain.length;
    resolved = got.versionId;
    if (toStdout) out.write(plain);
    else writeAtomic(opts.to, plain);
  } else if (toStdout) {
    const dl = await downloadTo(ctx.s3, ctx.policy, ctx.conn.bucket, opts.key, versionId, out, (n) =>
      ctx.reporter.progress('restore', n),
    );
    ({ size, sha256 } = dl);
    resolved = dl.versionId;
    if (dl.metadata.sha256 && dl.metadata.sha256 !== sha256)
      throw new IntegrityError(
        `${opts.key}: SHA-256 mismatch (stored ${dl.metadata.sha256}, downloaded ${sha256}); output is corrupt`,
      );
  } else {
    const tmp = path.join(
      path.dirname(path.resolve(opts.to)),
      `.${path.basename(opts.to)}.${process.pid}.part`,
    );
    const file = fs.createWriteStream(tmp);
    try {
      const dl = await downloadTo(ctx.s3, ctx.policy, ctx.conn.bucket, opts.key, versionId, file, (n) =>
        ctx.reporter.progress('restore', n),
      );
      await new Promise<void>((resolve, reject) =>
        file.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
      ({ size, sha256 } = dl);
      resolved = dl.versionId;
      if (dl.metadata.sha256 && dl.metadata.sha256 !== sha256)
        throw new IntegrityError(
          `${opts.key}: SHA-256 mismatch (stored ${dl.metadata.sha256}, downloaded ${sha256})`,
        );
      fs.renameSync(tmp, opts.to);
    } catch (err) {
      file.destroy();
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }
  return {
    summary: {
      key: opts.key,
      versionId: resolved ?? versionId,
      to: opts.to,
      size,
      sha256,
      decrypted: !!encKey,
    },
    human: toStdout
      ? []
      : [`restored ${opts.key} (${resolved ?? versionId ?? 'current'}) to ${opts.to}: ${size} bytes`],
    bytes: size,
    objects: 1,
  };
}

function writeAtomic(file: string, data: Buffer): void {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.part`);
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export const restoreJob: JobDefinition<RestoreOptions> = {
  name: 'restore',
  purpose: 'restore-reader',
  writesManifest: false,
  validate: (o, deps) => {
    if (!o.key) throw new UsageError('--key <object key> is required');
    if (!o.to) throw new UsageError('--to <path|-> is required');
    if (o.versionId && o.at) throw new UsageError('give at most one of --version-id and --at');
    if (o.at) parseInstant(o.at, '--at', Date.now());
    if (o.decrypt) loadKey(o, deps.env);
  },
  run,
};
