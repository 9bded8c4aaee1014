/**
 * Object metadata every job writes (docs/architecture.md §5): `x-amz-meta-sha256, -type, -provider, -env,
 * -tool-version`. Keys are lower-case because S3 metadata names are case-insensitive on the wire
 * and B2 maps them to fileInfo names (docs/b2-api.md §11).
 */
import { TOOL_VERSION } from './version';

export type ObjectType =
  'config-snapshot' | 'terraform-state' | 'audit-log' | 'db-dump' | 'manifest' | 'state';

export interface MetadataInput {
  type: ObjectType;
  provider?: string;
  env: string;
  sha256?: string;
  extra?: Record<string, string | undefined>;
}

export function objectMetadata(m: MetadataInput): Record<string, string> {
  const out: Record<string, string> = {
    type: m.type,
    provider: m.provider ?? 'multi',
    env: m.env,
    'tool-version': TOOL_VERSION,
  };
  if (m.sha256) out.sha256 = m.sha256;
  for (const [k, v] of Object.entries(m.extra ?? {})) if (v !== undefined) out[k] = v;
  return out;
}
