import { Problem } from './problem';

/**
 * Inputs a provider does not know are refused instead of silently dropped, so a typo such as
 * `lifecycleRule` fails the preview. `__provider` (the engine's) is always allowed.
 */
export function validateKnownProperties(news: Record<string, unknown>, known: readonly string[]): Problem[] {
  const allowed = new Set([...known, '__provider']);
  return Object.keys(news)
    .filter((k) => !allowed.has(k))
    .sort()
    .map((k) => ({ property: k, reason: `unknown property; known: ${[...known].sort().join(', ')}` }));
}
