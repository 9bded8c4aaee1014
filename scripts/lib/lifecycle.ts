/**
 * What B2's lifecycle rules will do to the versions in a bucket, and when (docs/b2-api.md §5):
 *
 * - `daysFromUploadingToHiding: N` hides the current version N days after its upload;
 * - `daysFromHidingToDeleting: N` deletes a non-current version N days after it became hidden —
 *   superseded by a newer upload or a hide marker, or hidden by the rule above;
 * - a hide marker with nothing older left is removed too;
 * - unfinished multipart uploads are cancelled N days after they started.
 *
 * Lifecycle runs about once a day, so an action due at T happens at the first daily run after T;
 * the report gives the due time. Rules come from S3 GetBucketLifecycleConfiguration (mapped per
 * docs/b2-api.md §11) or from native rules (`--rules file.json`).
 */
import { VersionEntry } from './objects';

export interface B2Rule {
  fileNamePrefix: string;
  daysFromUploadingToHiding?: number | null;
  daysFromHidingToDeleting?: number | null;
  daysFromStartingToCancelingUnfinishedLargeFiles?: number | null;
}

const DAY_FIELDS = [
  'daysFromUploadingToHiding',
  'daysFromHidingToDeleting',
  'daysFromStartingToCancelingUnfinishedLargeFiles',
] as const;

/**
 * Checks native rules read from a file (`--rules`): each an object with a string `fileNamePrefix`
 * and day fields that are absent, null or whole numbers ≥ 1 — a mistyped rule must not make a
 * deletion look accounted for. Throws a message naming the rule and field.
 */
export function checkB2Rules(rules: unknown[], where: string): B2Rule[] {
  rules.forEach((r, i) => {
    if (!r || typeof r !== 'object' || Array.isArray(r))
      throw new Error(`${where}: rule ${i} is not an object`);
    const o = r as Record<string, unknown>;
    if (typeof o.fileNamePrefix !== 'string')
      throw new Error(
        `${where}: rule ${i}: fileNamePrefix must be a string (got ${JSON.stringify(o.fileNamePrefix)})`,
      );
    for (const f of DAY_FIELDS) {
      const d = o[f];
      if (d !== undefined && d !== null && !(Number.isInteger(d) && (d as number) >= 1))
        throw new Error(
          `${where}: rule ${i} (${o.fileNamePrefix}): ${f} must be null or a whole number of days ≥ 1 (got ${JSON.stringify(d)})`,
        );
    }
  });
  return rules as B2Rule[];
}

export interface S3Rule {
  ID?: string;
  Status?: string;
  Prefix?: string;
  Filter?: { Prefix?: string };
  Expiration?: { Days?: number; ExpiredObjectDeleteMarker?: boolean };
  NoncurrentVersionExpiration?: { NoncurrentDays?: number };
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation?: number };
}

const DAY = 86_400_000;

/** Folds S3 rules (B2 shows each hide rule as two S3 rules) back into one rule per prefix. */
export function fromS3Rules(rules: S3Rule[]): B2Rule[] {
  const byPrefix = new Map<string, B2Rule>();
  for (const r of rules) {
    if (r.Status && r.Status !== 'Enabled') continue;
    const prefix = r.Filter?.Prefix ?? r.Prefix ?? '';
    const b = byPrefix.get(prefix) ?? { fileNamePrefix: prefix };
    if (r.Expiration?.Days !== undefined) b.daysFromUploadingToHiding = r.Expiration.Days;
    if (r.NoncurrentVersionExpiration?.NoncurrentDays !== undefined)
      b.daysFromHidingToDeleting = r.NoncurrentVersionExpiration.NoncurrentDays;
    if (r.AbortIncompleteMultipartUpload?.DaysAfterInitiation !== undefined) {
      b.daysFromStartingToCancelingUnfinishedLargeFiles =
        r.AbortIncompleteMultipartUpload.DaysAfterInitiation;
    }
    byPrefix.set(prefix, b);
  }
  return [...byPrefix.values()];
}

/** The rule for a name: the longest matching prefix (native B2 forbids overlaps anyway). */
export function ruleFor(rules: B2Rule[], key: string): B2Rule | undefined {
  return rules
    .filter((r) => key.startsWith(r.fileNamePrefix))
    .sort((a, b) => b.fileNamePrefix.length - a.fileNamePrefix.length)[0];
}

export type Action = 'hide' | 'delete' | 'remove-hide-marker' | 'cancel-upload';

export interface PlannedAction {
  key: string;
  versionId: string;
  size: number;
  action: Action;
  dueAt: number;
  rule: string;
}

export interface UnfinishedUpload {
  key: string;
  uploadId: string;
  initiated: number;
}

/** All future (and overdue) lifecycle actions for the given versions. */
export function planLifecycle(
  rules: B2Rule[],
  versions: VersionEntry[],
  uploads: UnfinishedUpload[] = [],
): PlannedAction[] {
  const actions: PlannedAction[] = [];
  const byKey = new Map<string, VersionEntry[]>();
  for (const v of versions) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  for (const [key, list] of byKey) {
    const rule = ruleFor(rules, key);
    if (!rule) continue;
    const label = rule.fileNamePrefix || '(whole bucket)';
    const sorted = list
      .map((v, i) => ({ v, i }))
      .sort((a, b) => b.v.lastModified - a.v.lastModified || a.i - b.i)
      .map((x) => x.v);
    const hideDays = rule.daysFromUploadingToHiding ?? undefined;
    const deleteDays = rule.daysFromHidingToDeleting ?? undefined;
    sorted.forEach((v, idx) => {
      const newer = idx > 0 ? sorted[idx - 1] : undefined;
      if (v.deleteMarker) {
        // A marker with nothing older left is removed; with older versions it stays until they go.
        if (idx === sorted.length - 1 && deleteDays !== undefined) {
          actions.push({
            key,
            versionId: v.versionId,
            size: 0,
            action: 'remove-hide-marker',
            dueAt: v.lastModified + deleteDays * DAY,
            rule: label,
          });
        }
        return;
      }
      let hiddenAt: number | undefined = newer?.lastModified;
      if (!newer && hideDays !== undefined && hideDays > 0) {
        hiddenAt = v.lastModified + hideDays * DAY;
        actions.push({
          key,
          versionId: v.versionId,
          size: v.size,
          action: 'hide',
          dueAt: hiddenAt,
          rule: label,
        });
      }
      if (hiddenAt !== undefined && deleteDays !== undefined && deleteDays > 0) {
        actions.push({
          key,
          versionId: v.versionId,
          size: v.size,
          action: 'delete',
          dueAt: hiddenAt + deleteDays * DAY,
          rule: label,
        });
      }
    });
  }
  for (const u of uploads) {
    const rule = ruleFor(rules, u.key);
    const days = rule?.daysFromStartingToCancelingUnfinishedLargeFiles;
    if (rule && days)
      actions.push({
        key: u.key,
        versionId: u.uploadId,
        size: 0,
        action: 'cancel-upload',
        dueAt: u.initiated + days * DAY,
        rule: rule.fileNamePrefix || '(whole bucket)',
      });
  }
  return actions.sort((a, b) => a.dueAt - b.dueAt || a.key.localeCompare(b.key));
}
