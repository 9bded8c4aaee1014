/**
 * What a restore restores, decided before any byte is downloaded: the exact version (by id, by
 * `--at`, or the current one), its size and upload time, and the SHA-256 it must have — from the
 * run manifest that lists that version, else from the object's own metadata. Shared by `restore`,
 * `db-restore` and `drill`; the download itself goes through the spool (spool.ts).
 */
import { IntegrityError, JobError, UsageError } from './errors';
import { findManifestEntry, findManifestEntryChecked, jobForKey, NOT_CHECKED_NOTE } from './manifestIndex';
import { headObject, listVersions, versionAt } from './objects';
import { JobContext } from './runner';
import { formatBytes } from './reporter';
import { spoolObject, SpooledObject, spoolThreadFromEnv } from './spool';
import { parseInstant } from './timeparse';

export interface RestoreSource {
  key: string;
  versionId: string;
  size: number;
  /** Upload time of the chosen version (ms). */
  uploadedAt: number;
  /** How the version was chosen: `--version-id`, `--at <time>`, `current`, or a manifest. */
  chosenBy: string;
  expectedSha256?: string;
  /** Where the expected hash comes from: a manifest key, or "object metadata". */
  expectedFrom?: string;
  /**
   * Set when the key is under a backup job's prefix but no run manifest lists this version: it was
   * not written by a backup run (a replacement), so its own metadata is not trusted.
   */
  unlisted?: string;
  /**
   * The signature of the manifest the expected hash comes from: `verified (key id X)`, or the
   * "signatures not checked" note when it is signed but no key was configured.
   */
  manifestSignature?: string;
}

/** How a manifest's signature stood when a restore took its hash from it. */
export function signatureNote(facts: { signedBy?: string; notChecked?: boolean }): string | undefined {
  if (facts.signedBy) return `manifest signature verified, key id ${facts.signedBy}`;
  return facts.notChecked ? NOT_CHECKED_NOTE : undefined;
}

export interface VersionChoice {
  versionId?: string;
  at?: string;
}

/** Resolves the version and its expected hash. Throws before downloading when nothing is known. */
export async function resolveRestoreSource(
  ctx: JobContext,
  key: string,
  choice: VersionChoice,
  known?: {
    sha256?: string;
    manifestKey?: string;
    size?: number;
    chosenBy?: string;
    manifestSignature?: string;
  },
): Promise<RestoreSource> {
  let versionId = choice.versionId;
  let chosenBy = versionId ? '--version-id' : 'current';
  if (!versionId && choice.at) {
    const v = versionAt(
      await listVersions(ctx.s3, ctx.conn.bucket, key),
      key,
      parseInstant(choice.at, '--at', ctx.clock.now()),
    );
    versionId = v.versionId;
    chosenBy = `--at ${choice.at}`;
  }
  const head = await headObject(ctx.s3, ctx.conn.bucket, key, versionId);
  if (!head) {
    // A version a run manifest lists is a backup that was promised: its absence is a missing
    // backup (exit 3), not an ordinary failure.
    const listedIn =
      known?.manifestKey ??
      (versionId ? (await findManifestEntry(ctx, key, versionId))?.manifestKey : undefined);
    if (versionId && listedIn)
      throw new IntegrityError(
        `${key}: version ${versionId}, listed in ${listedIn}, is missing from the bucket (deleted?); restore another listed version (\`infrafabric-backup list --prefix ${key}\`) and run \`verify\``,
      );
    throw new JobError(
      versionId
        ? `${key}: version ${versionId} does not exist (see \`infrafabric-backup list --prefix ${key}\`)`
        : `${key}: no current version (missing or hidden; pick one with --version-id or --at)`,
    );
  }
  const resolved = versionId ?? head.VersionId;
  if (!resolved) throw new JobError(`${key}: the server returned no version id`);
  const size = head.ContentLength ?? 0;
  const src: RestoreSource = {
    key,
    versionId: resolved,
    size,
    uploadedAt: head.LastModified?.getTime() ?? 0,
    chosenBy:
      known?.manifestKey && !choice.versionId && !choice.at
        ? `newest dump in ${known.manifestKey}`
        : chosenBy,
  };
  if (known?.sha256) {
    src.expectedSha256 = known.sha256;
    src.expectedFrom = known.manifestKey ?? 'object metadata';
    src.manifestSignature = known.manifestSignature;
    if (known.size !== undefined && known.size !== size)
      throw new IntegrityError(
        `${key} version ${resolved}: stored size ${size} differs from the ${known.size} bytes recorded in ${src.expectedFrom}`,
      );
  } else {
    const found = await findManifestEntryChecked(ctx, key, resolved, src.uploadedAt || undefined);
    const entry = found.entry;
    if (entry) {
      src.expectedSha256 = entry.sha256;
      src.expectedFrom = entry.manifestKey;
      src.manifestSignature = signatureNote(found);
      if (entry.size !== size)
        throw new IntegrityError(
          `${key} version ${resolved}: stored size ${size} differs from the ${entry.size} bytes recorded in ${entry.manifestKey}`,
        );
    } else if (found.rejected.length) {
      // Listed only by manifests that are not trusted (forged?): their hash is never used.
      src.unlisted = `version ${resolved} of ${key} is listed only in untrusted run manifest(s): ${found.rejected
        .map((r) => `${r.key} (${r.reason})`)
        .join('; ')} — it may be a forged manifest listing a replacement; run \`verify\``;
    } else if (jobForKey(key)) {
      src.unlisted = `no run manifest of ${jobForKey(key)} lists version ${resolved} of ${key}: it was not written by a backup run (replaced?)`;
    } else if (head.Metadata?.sha256) {
      src.expectedSha256 = head.Metadata.sha256;
      src.expectedFrom = 'object metadata (x-amz-meta-sha256)';
    }
  }
  return src;
}

/** Refuses an unverifiable restore unless the operator opted out. */
export function requireExpectedHash(src: RestoreSource, allowUnverified: boolean): void {
  if (src.expectedSha256 || allowUnverified) return;
  if (src.unlisted)
    throw new IntegrityError(
      `${src.unlisted}; refusing to restore it. Restore a listed version (--version-id, or \`list --prefix ${src.key}\`), or pass --allow-unverified`,
    );
  throw new UsageError(
    `${src.key} version ${src.versionId}: no recorded SHA-256 (no run manifest lists this version and its metadata has none), ` +
      'so the download cannot be verified; refusing. Pass --allow-unverified to restore it anyway',
  );
}

/**
 * Downloads the version into the spool and checks its SHA-256. On a mismatch the spool is removed
 * and an IntegrityError (exit 3) names both hashes: nothing was written anywhere else.
 */
export async function spoolAndVerify(
  ctx: JobContext,
  src: RestoreSource,
  spoolDir: string | undefined,
  label: string,
): Promise<SpooledObject> {
  const spool = await spoolObject({
    s3: ctx.s3,
    policy: ctx.policy,
    bucket: ctx.conn.bucket,
    key: src.key,
    versionId: src.versionId,
    size: src.size,
    dir: spoolDir,
    signal: ctx.signal,
    onProgress: (n) => ctx.reporter.progress(label, n, src.size),
    thread: spoolThreadFromEnv(ctx.env),
  });
  if (src.expectedSha256 && spool.sha256 !== src.expectedSha256) {
    await spool.dispose();
    throw new IntegrityError(
      `${src.key} version ${src.versionId}: downloaded SHA-256 ${spool.sha256} does not match ${src.expectedSha256} recorded in ${src.expectedFrom}; nothing was written`,
    );
  }
  return spool;
}

/** One line for humans: what was verified against what. */
export function describeVerification(src: RestoreSource, sha256: string): string {
  const when = new Date(src.uploadedAt).toISOString();
  return src.expectedSha256
    ? `verified sha256 ${sha256} against ${src.expectedFrom} (version ${src.versionId}, uploaded ${when}, ${formatBytes(src.size)}, chosen by ${src.chosenBy})${src.manifestSignature ? `; ${src.manifestSignature}` : ''}`
    : `NOT verified (--allow-unverified): sha256 ${sha256}, version ${src.versionId}, uploaded ${when}, chosen by ${src.chosenBy}`;
}

/** The --json fields every restore reports. */
export function sourceSummary(src: RestoreSource, sha256?: string): Record<string, unknown> {
  return {
    key: src.key,
    versionId: src.versionId,
    uploadedAt: new Date(src.uploadedAt).toISOString(),
    chosenBy: src.chosenBy,
    size: src.size,
    expectedSha256: src.expectedSha256 ?? null,
    verifiedAgainst: src.expectedSha256 ? src.expectedFrom : null,
    manifestSignature: src.manifestSignature ?? null,
    ...(sha256 ? { sha256, verified: !!src.expectedSha256 && sha256 === src.expectedSha256 } : {}),
  };
}
