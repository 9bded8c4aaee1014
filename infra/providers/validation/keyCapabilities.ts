import { Problem } from './problem';

import { ALL_CAPABILITIES, BUCKET_RESTRICTED_CAPABILITIES, Capability } from '../../b2/wire/capabilities';

export { ALL_CAPABILITIES };
export type { Capability };

/** What a key restricted to one or more buckets may hold: the wire list (docs/b2-api.md §4). */
export const BUCKET_SCOPED_CAPABILITIES: readonly Capability[] = BUCKET_RESTRICTED_CAPABILITIES;

export function validateCapabilities(
  capabilities: unknown,
  bucketScoped: boolean,
  property = 'capabilities',
): Problem[] {
  if (!Array.isArray(capabilities) || capabilities.length === 0) {
    return [{ property, reason: 'a key needs at least one capability' }];
  }
  const problems: Problem[] = [];
  const all = new Set<string>(ALL_CAPABILITIES);
  const scoped = new Set<string>(BUCKET_SCOPED_CAPABILITIES);
  capabilities.forEach((c, i) => {
    if (typeof c !== 'string' || !all.has(c)) {
      problems.push({ property: `${property}[${i}]`, reason: `unknown capability ${JSON.stringify(c)}` });
    } else if (bucketScoped && !scoped.has(c)) {
      problems.push({
        property: `${property}[${i}]`,
        reason: `"${c}" is not allowed on a bucket-scoped key; drop it or make an account-wide key (no bucketIds)`,
      });
    }
  });
  const dupes = capabilities.filter((c, i) => capabilities.indexOf(c) !== i);
  if (dupes.length)
    problems.push({ property, reason: `duplicate capabilities: ${[...new Set(dupes)].join(', ')}` });
  return problems;
}

/** Key names: 1–100 of letters, digits and `-` (docs/b2-api.md §4). */
export function validateKeyName(name: unknown, property = 'keyName'): Problem[] {
  if (typeof name !== 'string' || !/^[A-Za-z0-9-]{1,100}$/.test(name)) {
    return [{ property, reason: `key name ${JSON.stringify(name)} must be 1-100 letters, digits or "-"` }];
  }
  return [];
}
