import { LifecycleRule } from '../types';
import { Problem } from './problem';

/**
 * Lifecycle-rule checks that B2 would otherwise only report at apply time (docs/b2-api.md §4):
 * at most 100 rules; each rule has a `fileNamePrefix` and at least one positive whole number of
 * days; no two rules may match the same file (`photos/` and `photos/kittens/` overlap, and `""`
 * overlaps everything). https://www.backblaze.com/docs/cloud-storage-lifecycle-rules
 */
export const MAX_LIFECYCLE_RULES = 100;

const DAY_FIELDS = [
  'daysFromUploadingToHiding',
  'daysFromHidingToDeleting',
  'daysFromStartingToCancelingUnfinishedLargeFiles',
] as const;

/** Pairs of rule indexes whose prefixes overlap (one is a prefix of the other). */
export function findOverlappingPrefixes(prefixes: readonly string[]): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < prefixes.length; i++) {
    for (let j = i + 1; j < prefixes.length; j++) {
      if (prefixes[i].startsWith(prefixes[j]) || prefixes[j].startsWith(prefixes[i])) pairs.push([i, j]);
    }
  }
  return pairs;
}

export function validateLifecycleRules(rules: unknown, property = 'lifecycleRules'): Problem[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [{ property, reason: 'must be a list of lifecycle rules' }];
  const problems: Problem[] = [];
  if (rules.length > MAX_LIFECYCLE_RULES) {
    problems.push({ property, reason: `${rules.length} rules; B2 allows at most ${MAX_LIFECYCLE_RULES}` });
  }
  rules.forEach((rule: Partial<LifecycleRule>, i) => {
    const at = `${property}[${i}]`;
    if (typeof rule?.fileNamePrefix !== 'string') {
      problems.push({ property: `${at}.fileNamePrefix`, reason: 'required (use "" for the whole bucket)' });
    }
    let anySet = false;
    for (const field of DAY_FIELDS) {
      const v = rule?.[field];
      if (v === null || v === undefined) continue;
      anySet = true;
      if (!Number.isInteger(v) || (v as number) < 1) {
        problems.push({
          property: `${at}.${field}`,
          reason: `must be a positive whole number of days or null, got ${JSON.stringify(v)}`,
        });
      }
    }
    if (!anySet) {
      problems.push({
        property: at,
        reason: 'sets no day field; a rule needs at least one of ' + DAY_FIELDS.join(', '),
      });
    }
  });
  const prefixes = rules.map((r: Partial<LifecycleRule>) =>
    typeof r?.fileNamePrefix === 'string' ? r.fileNamePrefix : null,
  );
  const known = prefixes.flatMap((p, i) => (p === null ? [] : [{ p, i }]));
  for (const [a, b] of findOverlappingPrefixes(known.map((k) => k.p))) {
    const [i, j] = [known[a].i, known[b].i];
    problems.push({
      property: `${property}[${j}].fileNamePrefix`,
      reason:
        `prefix ${JSON.stringify(known[b].p)} overlaps rule ${i} (${JSON.stringify(known[a].p)}); B2 refuses two rules ` +
        'matching one file: merge them into one rule or use disjoint prefixes',
    });
  }
  return problems;
}
