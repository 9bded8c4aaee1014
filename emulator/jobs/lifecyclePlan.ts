/**
 * What B2's daily lifecycle pass does to one file name (docs/b2-api.md §5), as a pure function of the
 * name's versions, the matching rule and the time — so the rules can be tested without a server.
 *
 * - `daysFromUploadingToHiding: N`: the newest version is an upload at least N whole days old →
 *   add a hide marker.
 * - `daysFromHidingToDeleting: N`: a version that is not the newest became hidden when the next
 *   newer version (upload or hide marker) landed; N whole days later it is deleted. The current
 *   upload is never deleted by this rule alone.
 * - Hide markers left with no older upload are removed (B2's "orphan delete markers are always
 *   removed"), but only when the rule deletes hidden versions at all.
 * - Locked versions (retention in force or legal hold on) are never deleted.
 */
import type { FileRecord, LifecycleRule } from '../core/types';

export const DAY_MS = 86_400_000;

export interface NamePlan {
  /** Add a hide marker on top of the current upload. */
  hide: boolean;
  /** Version ids to delete, oldest last. */
  deleteIds: string[];
  /** Version ids due for deletion that Object Lock keeps. */
  lockedIds: string[];
}

/** Is this version protected from deletion by Object Lock at `now`? */
export function isLocked(v: FileRecord, now: number): boolean {
  if (v.legalHold === 'on') return true;
  const r = v.fileRetention;
  return !!r && r.mode !== null && r.retainUntilTimestamp !== null && r.retainUntilTimestamp > now;
}

/** The rule (at most one on native B2; the most cost-saving on S3-set overlaps) matching `fileName`. */
export function ruleFor(rules: LifecycleRule[], fileName: string): LifecycleRule | null {
  const matching = rules.filter((r) => fileName.startsWith(r.fileNamePrefix));
  if (matching.length <= 1) return matching[0] ?? null;
  // Overlaps only come from the S3 API, where B2 applies the most cost-saving combination.
  const min = (xs: Array<number | null | undefined>): number | null => {
    const ns = xs.filter((x): x is number => typeof x === 'number');
    return ns.length ? Math.min(...ns) : null;
  };
  return {
    fileNamePrefix: matching[0].fileNamePrefix,
    daysFromUploadingToHiding: min(matching.map((r) => r.daysFromUploadingToHiding)),
    daysFromHidingToDeleting: min(matching.map((r) => r.daysFromHidingToDeleting)),
    daysFromStartingToCancelingUnfinishedLargeFiles: min(
      matching.map((r) => r.daysFromStartingToCancelingUnfinishedLargeFiles),
    ),
  };
}

/**
 * Plans one name. `versions` are that name's `upload`/`hide` versions, newest first (unfinished
 * large files are handled separately by `dueUnfinished`).
 */
export function planName(versions: FileRecord[], rule: LifecycleRule, now: number): NamePlan {
  const plan: NamePlan = { hide: false, deleteIds: [], lockedIds: [] };
  if (versions.length === 0) return plan;
  const newest = versions[0];
  const hideDays = rule.daysFromUploadingToHiding;
  if (hideDays && newest.action === 'upload' && newest.uploadTimestamp + hideDays * DAY_MS <= now) {
    plan.hide = true;
  }
  const deleteDays = rule.daysFromHidingToDeleting;
  if (!deleteDays) return plan;
  const deleted = new Set<string>();
  for (let i = 1; i < versions.length; i++) {
    // Hidden the moment the next newer version landed.
    const hiddenAt = versions[i - 1].uploadTimestamp;
    const v = versions[i];
    if (hiddenAt + deleteDays * DAY_MS > now) continue;
    if (isLocked(v, now)) plan.lockedIds.push(v.fileId);
    else deleted.add(v.fileId);
  }
  // Orphaned hide markers: no upload left below them once the planned deletions happen.
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i];
    if (v.action !== 'hide' || deleted.has(v.fileId)) continue;
    const olderUploadRemains = versions
      .slice(i + 1)
      .some((o) => o.action === 'upload' && !deleted.has(o.fileId));
    if (!olderUploadRemains && v.uploadTimestamp + deleteDays * DAY_MS <= now) deleted.add(v.fileId);
  }
  plan.deleteIds = versions.filter((v) => deleted.has(v.fileId)).map((v) => v.fileId);
  return plan;
}

/** Is an unfinished large file (`start`) due for cancellation under `rule`? */
export function dueUnfinished(started: FileRecord, rule: LifecycleRule, now: number): boolean {
  const n = rule.daysFromStartingToCancelingUnfinishedLargeFiles;
  return !!n && started.uploadTimestamp + n * DAY_MS <= now;
}
