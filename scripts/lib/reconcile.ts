/**
 * Reconciles the bucket with the run manifests (what the backup jobs promise is stored), as a pure
 * function of the manifest entries, the bucket's version listing, its lifecycle rules and the time:
 *
 * - every version a manifest lists as uploaded still exists — unless the lifecycle rule for its
 *   prefix accounts for its removal by now (it became hidden when a newer version or hide marker
 *   landed, or `daysFromUploadingToHiding` after upload, and `daysFromHidingToDeleting` have passed);
 * - a listed name whose newest entry is a hide marker is `hidden`, unless the rule's
 *   `daysFromUploadingToHiding` accounts for that marker;
 * - the current version of every name under a backup job's prefix is one some manifest lists: a
 *   newer version written by anyone else is `replaced`;
 * - under `terraform-state/` (versioned by design) every version must be listed.
 *
 * B2 applies lifecycle rules about once a day at day granularity (docs/b2-api.md §5), so a removal up to one day
 * before the exact due time still counts as accounted for (LIFECYCLE_SLACK_MS).
 */
import { B2Rule, ruleFor } from './lifecycle';
import { jobForKey, ManifestEntry, versionRef } from './manifestIndex';
import { VersionEntry } from './objects';

export const DAY_MS = 86_400_000;
export const LIFECYCLE_SLACK_MS = DAY_MS;

export type Problem =
  'missing' | 'hidden' | 'replaced' | 'unlisted-version' | 'nothing-listed' | 'forged-manifest';

export interface Finding {
  key: string;
  versionId?: string;
  problem: Problem;
  /** The manifest that lists the version (missing, hidden). */
  manifest?: string;
  detail: string;
}

export interface ReconcileInput {
  entries: ManifestEntry[];
  versions: VersionEntry[];
  rules: B2Rule[];
  now: number;
  /** Only entries of runs started at or after this time are checked for existence. */
  sinceMs?: number;
  /** Only names under this prefix. */
  prefix?: string;
}

export interface ReconcileResult {
  findings: Finding[];
  /** Listed versions checked for existence. */
  checked: number;
  /** Listed versions gone, and accounted for by the lifecycle rule. */
  expired: number;
  /** Names whose current version was checked against the manifests. */
  names: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function reconcile(input: ReconcileInput): ReconcileResult {
  const prefix = input.prefix ?? '';
  const listed = new Set<string>();
  for (const e of input.entries) if (e.versionId) listed.add(versionRef(e.key, e.versionId));
  const byKey = new Map<string, VersionEntry[]>();
  for (const v of input.versions) {
    if (!v.key.startsWith(prefix)) continue;
    const list = byKey.get(v.key) ?? [];
    list.push(v);
    byKey.set(v.key, list);
  }
  for (const list of byKey.values()) list.sort((a, b) => b.lastModified - a.lastModified);
  const present = new Set(input.versions.map((v) => versionRef(v.key, v.versionId)));
  const findings: Finding[] = [];
  let checked = 0;
  let expired = 0;

  // 1. Everything the manifests promise still exists (or the lifecycle rule removed it).
  const seen = new Set<string>();
  for (const e of input.entries) {
    if (e.status !== 'uploaded' || !e.versionId || !e.key.startsWith(prefix)) continue;
    if (input.sinceMs !== undefined && e.runStartedAt < input.sinceMs) continue;
    const ref = versionRef(e.key, e.versionId);
    if (seen.has(ref)) continue;
    seen.add(ref);
    checked += 1;
    if (present.has(ref)) continue;
    const rule = ruleFor(input.rules, e.key);
    const due = deletionDue(e, rule, byKey.get(e.key) ?? [], input.entries);
    if (due !== undefined && input.now >= due - LIFECYCLE_SLACK_MS) {
      expired += 1;
      continue;
    }
    findings.push({
      key: e.key,
      versionId: e.versionId,
      problem: 'missing',
      manifest: e.manifestKey,
      detail:
        due === undefined
          ? `listed in ${e.manifestKey} but gone, and no lifecycle rule deletes it`
          : `listed in ${e.manifestKey} but gone before the lifecycle rule could delete it (not before ${iso(due)})`,
    });
  }

  // 2. The current version of every listed name (and of every name under a job prefix).
  const listedNames = new Set(input.entries.map((e) => e.key));
  let names = 0;
  for (const [key, list] of byKey) {
    if (!listedNames.has(key) && !jobForKey(key)) continue;
    names += 1;
    const top = list[0];
    if (top.deleteMarker) {
      const below = list.find((v) => !v.deleteMarker);
      if (!below) continue; // nothing left to hide; a missing listed version is reported above
      const rule = ruleFor(input.rules, key);
      const hideDays = rule?.daysFromUploadingToHiding;
      const byRule =
        !!hideDays && top.lastModified >= below.lastModified + hideDays * DAY_MS - LIFECYCLE_SLACK_MS;
      if (!byRule) {
        findings.push({
          key,
          versionId: below.versionId,
          problem: 'hidden',
          detail: `hidden at ${iso(top.lastModified)} by a hide marker no lifecycle rule accounts for`,
        });
      }
    } else if (!listed.has(versionRef(key, top.versionId))) {
      findings.push({
        key,
        versionId: top.versionId,
        problem: 'replaced',
        detail: `current version ${top.versionId} (written ${iso(top.lastModified)}, ${top.size} bytes) is listed by no run manifest`,
      });
    }
    // 3. Versioned by design: every version of tf-state must be one a run wrote.
    if (key.startsWith('terraform-state/')) {
      for (const v of list.slice(top.deleteMarker ? 0 : 1)) {
        if (v.deleteMarker || listed.has(versionRef(key, v.versionId))) continue;
        findings.push({
          key,
          versionId: v.versionId,
          problem: 'unlisted-version',
          detail: `version ${v.versionId} (written ${iso(v.lastModified)}) is listed by no run manifest`,
        });
      }
    }
  }
  return { findings, checked, expired, names };
}

/**
 * Run manifests are the record `reconcile` trusts; the jobs never hide one, so a manifest whose
 * newest entry is a hide marker (that no lifecycle rule for its prefix accounts for) has had its
 * promises withdrawn: named here, so the objects it listed are not merely reported as `replaced`.
 */
export function hiddenManifests(versions: VersionEntry[], rules: B2Rule[]): Finding[] {
  const byKey = new Map<string, VersionEntry[]>();
  for (const v of versions) {
    if (!v.key.startsWith('manifests/')) continue;
    const list = byKey.get(v.key) ?? [];
    list.push(v);
    byKey.set(v.key, list);
  }
  const findings: Finding[] = [];
  for (const [key, list] of byKey) {
    list.sort((a, b) => b.lastModified - a.lastModified);
    const top = list[0];
    const below = list.find((v) => !v.deleteMarker);
    if (!top.deleteMarker || !below) continue;
    const hideDays = ruleFor(rules, key)?.daysFromUploadingToHiding;
    if (hideDays && top.lastModified >= below.lastModified + hideDays * DAY_MS - LIFECYCLE_SLACK_MS) continue;
    findings.push({
      key,
      versionId: below.versionId,
      problem: 'hidden',
      manifest: key,
      detail: `run manifest hidden at ${iso(top.lastModified)} by a hide marker no lifecycle rule accounts for: the objects it listed are no longer promised (they show as replaced)`,
    });
  }
  return findings;
}

/**
 * The earliest time the lifecycle rule may delete a listed version, or undefined if it never
 * does. The version became hidden at the first of: the next newer version or hide marker of its
 * name (from the listing or the manifests), or its upload plus `daysFromUploadingToHiding`.
 */
function deletionDue(
  e: ManifestEntry,
  rule: B2Rule | undefined,
  nameVersions: VersionEntry[],
  entries: ManifestEntry[],
): number | undefined {
  const deleteDays = rule?.daysFromHidingToDeleting;
  if (!rule || !deleteDays) return undefined;
  const uploadedAt = e.runStartedAt; // the version was written at or after its run started
  const candidates: number[] = [];
  for (const v of nameVersions)
    if (v.lastModified > uploadedAt && v.versionId !== e.versionId) candidates.push(v.lastModified);
  for (const o of entries)
    if (
      o.key === e.key &&
      o.status === 'uploaded' &&
      o.versionId !== e.versionId &&
      o.runStartedAt > uploadedAt
    )
      candidates.push(o.runStartedAt);
  if (rule.daysFromUploadingToHiding) candidates.push(uploadedAt + rule.daysFromUploadingToHiding * DAY_MS);
  if (candidates.length === 0) return undefined;
  return Math.min(...candidates) + deleteDays * DAY_MS;
}
