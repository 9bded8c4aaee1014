/**
 * Buckets: create, update (plain settings and the capability-guarded ones), delete, list, event
 * notification rules. Bucket names are global across the emulator's accounts.
 */
import { compareUtf8 } from '../../store/types';
import { B2Error, errors } from '../errors';
import { newBucketId } from '../ids';
import type {
  AuthContext,
  BucketRecord,
  DefaultRetention,
  LifecycleRule,
  NotificationRule,
  ReplicationConfiguration,
} from '../types';
import * as v from '../validate';
import type { Accounts } from './accounts';
import { EngineCore, requireCap } from './base';
import type { CreateBucketInput, UpdateBucketInput } from './types';

export class Buckets {
  private readonly isBucketNameTaken: (lowerName: string) => boolean;

  constructor(
    private readonly core: EngineCore,
    private readonly accounts: Accounts,
    isBucketNameTaken?: (lowerName: string) => boolean,
  ) {
    this.isBucketNameTaken = isBucketNameTaken ?? ((n) => this.hasBucketNamed(n));
  }

  /** True if this account owns a bucket with this (lower-cased) name. */
  hasBucketNamed(lowerName: string): boolean {
    return this.core.store.listBuckets().some((b) => b.bucketName.toLowerCase() === lowerName);
  }

  getBucketByName(name: string): BucketRecord | undefined {
    return this.core.store.getBucketByName(name);
  }

  /** Every bucket of the account (jobs iterate them without a key). */
  allBuckets(): BucketRecord[] {
    return this.core.store.listBuckets();
  }

  createBucket(auth: AuthContext, input: CreateBucketInput): BucketRecord {
    requireCap(auth, 'writeBuckets');
    if (auth.bucketIds) throw errors.unauthorized('a bucket-restricted key cannot create buckets');
    const name = v.validateBucketName(input.bucketName);
    const bucketType = v.validateBucketType(input.bucketType);
    if (this.core.store.listBuckets().length >= v.MAX_BUCKETS)
      throw new B2Error(400, 'too_many_buckets', `Account already has ${v.MAX_BUCKETS} buckets`);
    if (this.isBucketNameTaken(name.toLowerCase()))
      throw new B2Error(400, 'duplicate_bucket_name', 'Bucket name is already in use.');
    const now = this.core.clock.now();
    const bucket: BucketRecord = {
      bucketId: newBucketId(),
      accountId: this.core.accountId,
      bucketName: name,
      bucketType,
      bucketInfo: input.bucketInfo === undefined ? {} : v.validateBucketInfo(input.bucketInfo),
      corsRules:
        input.corsRules === undefined || input.corsRules === null ? [] : v.validateCorsRules(input.corsRules),
      lifecycleRules:
        input.lifecycleRules === undefined || input.lifecycleRules === null
          ? []
          : v.validateLifecycleRules(input.lifecycleRules),
      defaultServerSideEncryption: null,
      fileLockEnabled: false,
      defaultRetention: { mode: null, period: null },
      replicationConfiguration: null,
      notificationRules: [],
      revision: 2, // a fresh bucket already reports revision 2 [wire]
      options: ['s3'],
      createdAt: now,
    };
    if (bucket.lifecycleRules.length) checkLifecycleScope(auth, [], bucket.lifecycleRules);
    this.applyGuardedSettings(auth, bucket, input, true);
    this.core.store.putBucket(bucket);
    return bucket;
  }

  /**
   * Replace a bucket's lifecycle rules (native `lifecycleRules`, S3 Put/DeleteBucketLifecycle).
   * `allowOverlap`: the S3 path accepts overlapping prefixes (docs/b2-api.md §11), the native one not.
   * Scope: see `checkLifecycleScope` (docs/b2-key-scope.md).
   */
  setLifecycleRules(
    auth: AuthContext,
    bucketId: string,
    rules: unknown,
    opts: { allowOverlap?: boolean } = {},
  ): BucketRecord {
    const bucket = this.core.bucketFor(auth, bucketId);
    requireLifecycleWrite(auth);
    const next = opts.allowOverlap ? (rules as LifecycleRule[]) : v.validateLifecycleRules(rules);
    checkLifecycleScope(auth, bucket.lifecycleRules, next);
    bucket.lifecycleRules = next;
    bucket.revision += 1;
    this.core.store.putBucket(bucket);
    return bucket;
  }

  /** SSE, Object Lock and replication settings, each behind its own capability. */
  private applyGuardedSettings(
    auth: AuthContext,
    bucket: BucketRecord,
    input: CreateBucketInput | UpdateBucketInput,
    creating: boolean,
  ): void {
    if (input.defaultServerSideEncryption !== undefined) {
      requireCap(auth, 'writeBucketEncryption');
      bucket.defaultServerSideEncryption = v.validateDefaultSse(input.defaultServerSideEncryption);
    }
    if (input.replicationConfiguration !== undefined) {
      requireCap(auth, 'writeBucketReplications');
      const cfg = v.validateReplication(input.replicationConfiguration);
      if (cfg) this.checkReplicationKeys(cfg);
      bucket.replicationConfiguration = cfg;
    }
    if (input.fileLockEnabled !== undefined) {
      if (typeof input.fileLockEnabled !== 'boolean')
        throw errors.badRequest('fileLockEnabled must be a boolean');
      requireCap(auth, 'writeBucketRetentions');
      if (!input.fileLockEnabled && bucket.fileLockEnabled)
        throw new B2Error(400, 'file_lock_conflict', 'Object Lock cannot be disabled once enabled');
      if (input.fileLockEnabled && !bucket.fileLockEnabled) {
        if (bucket.replicationConfiguration?.asReplicationSource && !creating)
          throw new B2Error(
            400,
            'source_replication_conflict',
            'Object Lock cannot be enabled on a replication source bucket',
          );
        bucket.fileLockEnabled = true;
      }
    }
    if (input.defaultRetention !== undefined) {
      requireCap(auth, 'writeBucketRetentions');
      const r: DefaultRetention = v.validateDefaultRetention(input.defaultRetention);
      if (r.mode && !bucket.fileLockEnabled)
        throw new B2Error(
          400,
          'bucket_missing_file_lock',
          'defaultRetention needs a bucket with Object Lock enabled',
        );
      bucket.defaultRetention = r;
    }
  }

  private checkReplicationKeys(cfg: ReplicationConfiguration): void {
    const src = cfg.asReplicationSource;
    if (src && !this.accounts.findKey(src.sourceApplicationKeyId))
      throw errors.badRequest(
        `replicationConfiguration.asReplicationSource.sourceApplicationKeyId ${src.sourceApplicationKeyId} does not exist`,
      );
    const dst = cfg.asReplicationDestination;
    if (dst)
      for (const [s, d] of Object.entries(dst.sourceToDestinationKeyMapping))
        if (!this.accounts.findKey(d))
          throw errors.badRequest(
            `replicationConfiguration.asReplicationDestination: destination key ${d} (for ${s}) does not exist`,
          );
  }

  updateBucket(auth: AuthContext, input: UpdateBucketInput): BucketRecord {
    const bucket = this.core.bucketFor(auth, input.bucketId);
    if (input.ifRevisionIs !== undefined && input.ifRevisionIs !== null) {
      if (!Number.isInteger(input.ifRevisionIs)) throw errors.badRequest('ifRevisionIs must be an integer');
      if (input.ifRevisionIs !== bucket.revision) throw errors.conflict();
    }
    const plain =
      input.bucketType !== undefined || input.bucketInfo !== undefined || input.corsRules !== undefined;
    const bucketWide =
      plain ||
      input.defaultServerSideEncryption !== undefined ||
      input.defaultRetention !== undefined ||
      input.fileLockEnabled !== undefined ||
      input.replicationConfiguration !== undefined;
    // settings that act on every name in the bucket are out of reach of a key confined to a prefix
    if (bucketWide && auth.namePrefix && !auth.system)
      throw errors.unauthorized(
        `a key restricted to names starting with "${auth.namePrefix}" cannot change bucket-wide settings (only lifecycle rules inside its prefix)`,
      );
    if (plain) {
      requireCap(auth, 'writeBuckets');
      if (auth.bucketIds) throw errors.unauthorized('a bucket-restricted key cannot change bucket settings');
    }
    // checked before anything changes: a refused lifecycle list leaves the bucket as it was
    let lifecycle: LifecycleRule[] | null = null;
    if (input.lifecycleRules !== undefined) {
      requireLifecycleWrite(auth);
      lifecycle = v.validateLifecycleRules(input.lifecycleRules);
      checkLifecycleScope(auth, bucket.lifecycleRules, lifecycle);
    }
    if (input.bucketType !== undefined) bucket.bucketType = v.validateBucketType(input.bucketType);
    if (input.bucketInfo !== undefined) bucket.bucketInfo = v.validateBucketInfo(input.bucketInfo);
    if (input.corsRules !== undefined) bucket.corsRules = v.validateCorsRules(input.corsRules);
    if (lifecycle) bucket.lifecycleRules = lifecycle;
    this.applyGuardedSettings(auth, bucket, input, false);
    bucket.revision += 1;
    this.core.store.putBucket(bucket);
    return bucket;
  }

  deleteBucket(auth: AuthContext, bucketId: string): BucketRecord {
    requireCap(auth, 'deleteBuckets');
    if (auth.bucketIds) throw errors.unauthorized('a bucket-restricted key cannot delete buckets');
    const bucket = this.core.bucketFor(auth, bucketId);
    if (this.core.store.bucketHasFiles(bucketId))
      throw new B2Error(400, 'cannot_delete_non_empty_bucket', `Bucket ${bucket.bucketName} is not empty`);
    this.core.store.deleteBucket(bucketId);
    return bucket;
  }

  /** b2_list_buckets with B2's rules for restricted keys and `bucketTypes` (docs/b2-api.md §2). */
  listBuckets(
    auth: AuthContext,
    filter: { bucketId?: string; bucketName?: string; bucketTypes?: unknown },
  ): BucketRecord[] {
    requireCap(auth, 'listBuckets');
    const types = parseBucketTypes(filter.bucketTypes);
    const named = filter.bucketId !== undefined || filter.bucketName !== undefined;
    if (auth.bucketIds && !named && auth.apiVersion >= 2 && auth.bucketIds.length === 1)
      throw errors.unauthorized(
        'a bucket-restricted key must name its bucket (bucketId or bucketName) to list buckets',
      );
    let buckets = this.core.store.listBuckets();
    if (filter.bucketId !== undefined) buckets = buckets.filter((b) => b.bucketId === filter.bucketId);
    if (filter.bucketName !== undefined) buckets = buckets.filter((b) => b.bucketName === filter.bucketName);
    if (auth.bucketIds) {
      const allowed = auth.bucketIds;
      if (named && auth.apiVersion >= 2) {
        for (const b of buckets)
          if (!allowed.includes(b.bucketId)) throw errors.unauthorized("bucket is outside the key's scope");
        if (filter.bucketId !== undefined && !allowed.includes(filter.bucketId))
          throw errors.unauthorized("bucket is outside the key's scope");
      }
      buckets = buckets.filter((b) => allowed.includes(b.bucketId));
    }
    if (types) buckets = buckets.filter((b) => types.has(b.bucketType));
    return buckets.sort((a, b) => compareUtf8(a.bucketName, b.bucketName));
  }

  /** Whether guarded bucket settings are visible to this caller (else `{isClientAuthorizedToRead:false}`). */
  canRead(auth: AuthContext, capability: string): boolean {
    return auth.system === true || auth.capabilities.has(capability);
  }

  getNotificationRules(auth: AuthContext, bucketId: string): NotificationRule[] {
    requireCap(auth, 'readBucketNotifications');
    return this.core.bucketFor(auth, bucketId).notificationRules;
  }

  setNotificationRules(auth: AuthContext, bucketId: string, rules: unknown): NotificationRule[] {
    requireCap(auth, 'writeBucketNotifications');
    const bucket = this.core.bucketFor(auth, bucketId);
    bucket.notificationRules = validateNotificationRules(rules);
    bucket.revision += 1;
    this.core.store.putBucket(bucket);
    return bucket.notificationRules;
  }
}

/**
 * Lifecycle rules may be written with `writeBucketLifecycleRules` (any key, bucket-restricted ones
 * included) or with `writeBuckets` (which bucket-restricted keys cannot hold). docs/b2-api.md §7 lists
 * lifecycle under writeBuckets and names writeBucketLifecycleRules for the S3 lifecycle calls;
 * we accept either on both APIs so one key behaves the same on both (docs/b2-key-scope.md).
 */
function requireLifecycleWrite(auth: AuthContext): void {
  if (auth.system || auth.capabilities.has('writeBucketLifecycleRules')) return;
  if (auth.capabilities.has('writeBuckets') && !auth.bucketIds) return;
  throw errors.unauthorized(
    'the application key lacks the "writeBucketLifecycleRules" capability (or "writeBuckets" on an unrestricted key) for lifecycle rules',
  );
}

const sameRule = (a: LifecycleRule, b: LifecycleRule): boolean =>
  a.fileNamePrefix === b.fileNamePrefix &&
  a.daysFromUploadingToHiding === b.daysFromUploadingToHiding &&
  a.daysFromHidingToDeleting === b.daysFromHidingToDeleting &&
  (a.daysFromStartingToCancelingUnfinishedLargeFiles ?? null) ===
    (b.daysFromStartingToCancelingUnfinishedLargeFiles ?? null);

/**
 * A key with a namePrefix may only change rules that act inside its prefix: every rule whose
 * `fileNamePrefix` does not start with the key's prefix (`""` included, which covers every name)
 * must stay exactly as it was — none added, removed or changed. Otherwise 401 `unauthorized`.
 */
export function checkLifecycleScope(
  auth: AuthContext,
  before: LifecycleRule[],
  after: LifecycleRule[],
): void {
  const np = auth.namePrefix;
  if (auth.system || !np) return;
  const outside = (rs: LifecycleRule[]) => rs.filter((r) => !r.fileNamePrefix.startsWith(np));
  const was = outside(before);
  const now = outside(after);
  const changed =
    was.length !== now.length ||
    now.some((r) => !was.some((w) => sameRule(w, r))) ||
    was.some((w) => !now.some((r) => sameRule(w, r)));
  if (changed)
    throw errors.unauthorized(
      `the application key may only change lifecycle rules whose fileNamePrefix starts with "${np}"`,
    );
}

const LISTABLE_TYPES = ['allPublic', 'allPrivate', 'snapshot', 'restricted', 'shared'];

function parseBucketTypes(t: unknown): Set<string> | null {
  if (t === undefined || t === null) return new Set(['allPublic', 'allPrivate', 'snapshot']);
  if (!Array.isArray(t) || t.some((x) => typeof x !== 'string'))
    throw errors.badRequest('bucketTypes must be an array of strings');
  if (t.length === 0) throw errors.badRequest('bucketTypes must not be empty');
  if (t.includes('all')) {
    if (t.length > 1) throw errors.badRequest('bucketTypes: "all" cannot be combined with other types');
    return null;
  }
  for (const x of t)
    if (!LISTABLE_TYPES.includes(x)) throw errors.badRequest(`bucketTypes: unknown bucket type "${x}"`);
  return new Set(t as string[]);
}

function validateNotificationRules(rules: unknown): NotificationRule[] {
  if (!Array.isArray(rules)) throw errors.badRequest('eventNotificationRules must be an array');
  const eventRe =
    /^b2:(ObjectCreated:(\*|Upload|MultipartUpload|Copy|Replica|MultipartReplica)|ObjectDeleted:(\*|Delete|LifecycleRule)|HideMarkerCreated:(\*|Hide|LifecycleRule))$/;
  return rules.map((r, i): NotificationRule => {
    const f = `eventNotificationRules[${i}]`;
    const o = (r ?? {}) as Record<string, unknown>;
    if (typeof o.name !== 'string' || !/^[A-Za-z0-9-]{1,63}$/.test(o.name))
      throw errors.badRequest(`${f}.name is invalid`);
    if (!Array.isArray(o.eventTypes) || o.eventTypes.length === 0)
      throw new B2Error(400, 'event_types_empty', `${f}.eventTypes must not be empty`);
    for (const e of o.eventTypes)
      if (typeof e !== 'string' || !eventRe.test(e))
        throw new B2Error(400, 'event_type_invalid', `${f}.eventTypes: invalid "${String(e)}"`);
    const t = (o.targetConfiguration ?? {}) as Record<string, unknown>;
    if (t.targetType !== 'webhook')
      throw errors.badRequest(`${f}.targetConfiguration.targetType must be "webhook"`);
    if (typeof t.url !== 'string' || !t.url.startsWith('https://'))
      throw errors.badRequest(`${f}.targetConfiguration.url must be an https URL`);
    if (
      t.hmacSha256SigningSecret !== undefined &&
      t.hmacSha256SigningSecret !== null &&
      (typeof t.hmacSha256SigningSecret !== 'string' || !/^[A-Za-z0-9]{32}$/.test(t.hmacSha256SigningSecret))
    )
      throw errors.badRequest(
        `${f}.targetConfiguration.hmacSha256SigningSecret must be 32 letters or digits`,
      );
    return {
      name: o.name,
      eventTypes: o.eventTypes as string[],
      isEnabled: o.isEnabled !== false,
      objectNamePrefix: typeof o.objectNamePrefix === 'string' ? o.objectNamePrefix : '',
      targetConfiguration: t,
      isSuspended: false,
      suspensionReason: '',
    };
  });
}
