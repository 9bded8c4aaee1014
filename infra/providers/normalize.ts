/**
 * Canonical forms for comparing desired and live settings. B2 returns lists and maps in its own
 * order and fills absent lifecycle fields with null; comparing canonical JSON (sorted keys, rules
 * sorted by their name/prefix) keeps diffs quiet and exact.
 */
import { CorsRule, LifecycleRule } from './types';

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

export function normalizeLifecycleRules(
  rules: readonly Partial<LifecycleRule>[] | null | undefined,
): LifecycleRule[] {
  if (isUnknown(rules)) return rules as never; // preview: not known yet, pass through
  return (rules ?? [])
    .map((r) => ({
      fileNamePrefix: r.fileNamePrefix ?? '',
      daysFromUploadingToHiding: r.daysFromUploadingToHiding ?? null,
      daysFromHidingToDeleting: r.daysFromHidingToDeleting ?? null,
      daysFromStartingToCancelingUnfinishedLargeFiles:
        r.daysFromStartingToCancelingUnfinishedLargeFiles ?? null,
    }))
    .sort((a, b) => (a.fileNamePrefix < b.fileNamePrefix ? -1 : a.fileNamePrefix > b.fileNamePrefix ? 1 : 0));
}

export function normalizeCorsRules(rules: readonly CorsRule[] | null | undefined): CorsRule[] {
  if (isUnknown(rules)) return rules as never; // preview: not known yet, pass through
  return (rules ?? [])
    .map((r) => ({
      corsRuleName: r.corsRuleName,
      allowedOrigins: [...r.allowedOrigins],
      allowedOperations: [...r.allowedOperations].sort(),
      allowedHeaders: [...(r.allowedHeaders ?? [])],
      exposeHeaders: [...(r.exposeHeaders ?? [])],
      maxAgeSeconds: r.maxAgeSeconds,
    }))
    .sort((a, b) => (a.corsRuleName < b.corsRuleName ? -1 : a.corsRuleName > b.corsRuleName ? 1 : 0));
}

export function normalizeStringMap(map: Record<string, string> | null | undefined): Record<string, string> {
  if (isUnknown(map)) return map as never; // preview: not known yet, pass through
  const out: Record<string, string> = {};
  for (const k of Object.keys(map ?? {}).sort()) out[k] = String(map![k]);
  return out;
}

/** Sorted, de-duplicated list of strings. */
export function normalizeSet(values: readonly string[] | null | undefined): string[] {
  if (isUnknown(values)) return values as never; // preview: not known yet, pass through
  return [...new Set(values ?? [])].sort();
}

/**
 * What the engine sends for a value not known yet (an output of a resource still to be created)
 * during preview — `rpc.unknownValue` in @pulumi/pulumi. Checks must not judge such values.
 */
export const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
export const isUnknown = (v: unknown): boolean => v === UNKNOWN;
