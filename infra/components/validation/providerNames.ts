import { CLOUD_PROVIDERS, CloudProvider } from '../defaults';
import { Problem } from '../../providers/validation/problem';

/**
 * Validates the list of cloud providers an environment backs up: non-empty, known names
 * (`aws`, `azure`, `gcp`, `multi`), no duplicates. Returns the typed list and the problems.
 */
export function parseProviderNames(
  value: unknown,
  property = 'providers',
): { providers: CloudProvider[]; problems: Problem[] } {
  if (!Array.isArray(value) || value.length === 0) {
    return {
      providers: [],
      problems: [{ property, reason: `must be a non-empty list of ${CLOUD_PROVIDERS.join(', ')}` }],
    };
  }
  const problems: Problem[] = [];
  const providers: CloudProvider[] = [];
  value.forEach((v, i) => {
    if (!(CLOUD_PROVIDERS as readonly unknown[]).includes(v)) {
      problems.push({
        property: `${property}[${i}]`,
        reason: `unknown provider ${JSON.stringify(v)}; expected one of ${CLOUD_PROVIDERS.join(', ')}`,
      });
    } else if (providers.includes(v as CloudProvider)) {
      problems.push({ property: `${property}[${i}]`, reason: `provider "${v}" is listed twice` });
    } else {
      providers.push(v as CloudProvider);
    }
  });
  return { providers, problems };
}
