/** Helpers shared by jobs. */
import { ObjectType, objectMetadata } from '../lib/metadata';
import { JobContext } from '../lib/runner';

export type ObjectMetadataMap = Record<string, string>;

export function objectMetadataFor(
  ctx: JobContext,
  type: ObjectType,
  sha256?: string,
  extra?: Record<string, string | undefined>,
): ObjectMetadataMap {
  return objectMetadata({ type, provider: ctx.manifest.provider, env: ctx.conn.env, sha256, extra });
}
