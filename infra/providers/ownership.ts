/**
 * Who owns a bucket or key the providers made (issue 10, item 1).
 *
 * Buckets carry an ownership marker in `bucketInfo`, two entries:
 *
 * | key | value | example |
 * |---|---|---|
 * | `owner-stack` | `<project>/<stack>` of the Pulumi stack that made (or deliberately took over) the bucket | `infrafabric-backup/prod` |
 * | `owner-resource` | the Pulumi logical name of the `b2:Bucket` resource | `infrafabric-backup-prod-aws-bucket` |
 *
 * `<project>/<stack>` names a stack on every state backend (file, S3, Pulumi Cloud: the organisation
 * is not part of it, so two organisations using the same project and stack name on one B2 account
 * look alike — B2 bucket names are global, so this only matters within one account). B2 allows at
 * most 10 bucketInfo entries (docs/b2-api.md §4): the marker takes 2, the estate's defaults 4.
 *
 * Keys cannot carry info, so their names carry a stack discriminator instead: the last `-`-separated
 * segment is `s` + the first 6 hex characters of SHA-256(`<project>/<stack>`), e.g.
 * `infrafabric-backup-prod-aws-backup-writer-s1a2b3c`. Cleanup of keys left by an interrupted create
 * only ever deletes keys carrying this stack's discriminator (and the very definition being created).
 */
import { createHash } from 'crypto';

export const OWNER_STACK_KEY = 'owner-stack';
export const OWNER_RESOURCE_KEY = 'owner-resource';
export const OWNER_KEYS: readonly string[] = [OWNER_STACK_KEY, OWNER_RESOURCE_KEY];

/** B2's bucketInfo entry limit (docs/b2-api.md §4: ≤ 10 keys). */
export const MAX_BUCKET_INFO_ENTRIES = 10;

/** Identity of a bucket's owner. */
export interface BucketOwner {
  /** `<project>/<stack>`. */
  stack: string;
  /** Logical name of the Bucket resource. */
  resource: string;
}

/** The stack identity of the running program: `<project>/<stack>`. */
export function stackIdentity(project: string, stack: string): string {
  return `${project}/${stack}`;
}

/** The bucketInfo entries that mark `owner`. */
export function ownerInfo(owner: BucketOwner): Record<string, string> {
  return { [OWNER_STACK_KEY]: owner.stack, [OWNER_RESOURCE_KEY]: owner.resource };
}

/** The marker read back from a live bucket's info; null when it carries none (or half of one). */
export function ownerOf(bucketInfo: Record<string, string> | undefined | null): BucketOwner | null {
  const stack = bucketInfo?.[OWNER_STACK_KEY];
  const resource = bucketInfo?.[OWNER_RESOURCE_KEY];
  return stack && resource ? { stack, resource } : null;
}

export function sameOwner(a: BucketOwner | null, b: BucketOwner | null): boolean {
  return !!a && !!b && a.stack === b.stack && a.resource === b.resource;
}

export function describeOwner(o: BucketOwner | null): string {
  return o ? `stack "${o.stack}", resource "${o.resource}"` : 'no owner (no ownership marker)';
}

/** `s` + 6 hex characters of SHA-256(stack identity): the key-name segment of one stack. */
export function stackDiscriminator(stack: string): string {
  return 's' + createHash('sha256').update(stack, 'utf8').digest('hex').slice(0, 6);
}

/** `base` with this stack's discriminator appended as the last segment. */
export function withDiscriminator(base: string, stack: string): string {
  return `${base}-${stackDiscriminator(stack)}`;
}

/** True when `keyName`'s last segment is the discriminator of `stack`. */
export function carriesDiscriminator(keyName: string, stack: string): boolean {
  return keyName.endsWith(`-${stackDiscriminator(stack)}`);
}

/**
 * Checks an `owner` provider input; returns a reason or null. Absent is allowed at the provider
 * level (the `Bucket` class always fills it in); such a bucket gets no marker and its create
 * adopts nothing.
 */
export function ownerProblem(owner: unknown): string | null {
  if (owner === undefined) return null;
  if (owner === null || typeof owner !== 'object')
    return 'must be {stack: "<project>/<stack>", resource: "<logical name>"}';
  const o = owner as Record<string, unknown>;
  if (typeof o.stack !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(o.stack))
    return `stack must be "<project>/<stack>", got ${JSON.stringify(o.stack)}`;
  if (typeof o.resource !== 'string' || o.resource.length === 0 || o.resource.length > 200)
    return `resource must be the resource's logical name (1-200 chars), got ${JSON.stringify(o.resource)}`;
  const extra = Object.keys(o).filter((k) => k !== 'stack' && k !== 'resource');
  if (extra.length) return `unknown field(s) ${extra.join(', ')}; only stack and resource`;
  return null;
}
