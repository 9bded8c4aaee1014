/**
 * Every default of the backup estate (docs/architecture.md §1), in one place. Components and the stack program
 * take their defaults from here; nothing else hard-codes a retention, a capability or a name shape.
 */
import { withDiscriminator } from '../providers/ownership';
import { CorsRule, DefaultServerSideEncryption, LifecycleRule } from '../providers/types';
import { Capability } from '../providers/validation/keyCapabilities';

export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Cloud providers whose configuration InfraFabric backs up; `multi` = cross-provider material. */
export const CLOUD_PROVIDERS = ['aws', 'azure', 'gcp', 'multi'] as const;
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];

/** `infrafabric-backup-{env}-{provider}`, wrapped in the stack's optional prefix/suffix. */
export const BUCKET_NAME_STEM = 'infrafabric-backup';
export function bucketNameFor(
  env: Environment,
  provider: CloudProvider,
  namePrefix = '',
  nameSuffix = '',
): string {
  return `${namePrefix}${BUCKET_NAME_STEM}-${env}-${provider}${nameSuffix}`;
}
/** The EU twin of a replicated bucket: the source name plus this suffix (names are global). */
export const DEFAULT_REPLICA_SUFFIX = '-replica';

export const DEFAULT_BUCKET_TYPE = 'allPrivate' as const;
export const DEFAULT_ENCRYPTION: DefaultServerSideEncryption = { mode: 'SSE-B2', algorithm: 'AES256' };
export const DEFAULT_CORS_RULES: CorsRule[] = [];
export const MANAGED_BY = 'pulumi/infrafabric-backup';
export const DEFAULT_COST_CENTER = 'platform';

/** bucketInfo: env, provider, managed-by, cost-center (docs/architecture.md §1). */
export function defaultBucketInfo(
  env: string,
  provider: string,
  costCenter = DEFAULT_COST_CENTER,
): Record<string, string> {
  return { 'cost-center': costCenter, env, 'managed-by': MANAGED_BY, provider };
}

/** Abandoned large/multipart uploads are cancelled after this many days, in every rule. */
export const CANCEL_UNFINISHED_LARGE_FILES_DAYS = 7;

/**
 * Lifecycle per backup prefix, mapped from the seed's intent onto B2's three real fields
 * (docs/b2-api.md §4.1 and §5). The seed wrote `daysHiddenOrDeleted` and two rules on one prefix; neither
 * exists in B2 (one rule per prefix; overlapping prefixes are refused). The mapping:
 *
 * | prefix | seed intent | daysFromUploadingToHiding | daysFromHidingToDeleting |
 * |---|---|---|---|
 * | `configs/` | date-named snapshots: hide 90 d after upload, delete 365 d after hidden | 90 | 365 |
 * | `audit-logs/` | keep ≈ 6 months: hide after 30 d, delete 150 d later | 30 | 150 |
 * | `db/` | dumps: hide 30 d after upload, delete 1 d after hidden | 30 | 1 |
 * | `terraform-state/` | never hide the current state; purge superseded versions 90 d after a newer one lands | null | 90 |
 *
 * Why: a version counts as hidden the moment a newer version of the same name is uploaded, so
 * `daysFromHidingToDeleting` alone ages out superseded state files while the current one (always the
 * newest upload) is never hidden. `configs/` snapshots are date-named (one version per name), so
 * "hide after 90 days" applies to each snapshot as a whole; hidden snapshots stay restorable as
 * versions for 365 more days. Every rule also sets
 * `daysFromStartingToCancelingUnfinishedLargeFiles: 7` — a bucket-wide `""` rule for that would
 * overlap the prefix rules and be refused.
 */
const STANDARD_RETENTION: Record<string, [hide: number | null, del: number | null]> = {
  'audit-logs/': [30, 150],
  'configs/': [90, 365],
  'db/': [30, 1],
  'terraform-state/': [null, 90],
};

/**
 * `short` (dev): the same shape with days cut down so test data does not pile up. The current
 * terraform state is still never hidden.
 */
const SHORT_RETENTION: Record<string, [hide: number | null, del: number | null]> = {
  'audit-logs/': [7, 7],
  'configs/': [7, 7],
  'db/': [3, 1],
  'terraform-state/': [null, 7],
};

export const RETENTION_PROFILES = ['standard', 'short'] as const;
export type RetentionProfile = (typeof RETENTION_PROFILES)[number];

/** The lifecycle rules of a retention profile, sorted by prefix (stable diffs). */
export function lifecycleRulesFor(profile: RetentionProfile): LifecycleRule[] {
  const table = profile === 'short' ? SHORT_RETENTION : STANDARD_RETENTION;
  return Object.keys(table)
    .sort()
    .map((fileNamePrefix) => ({
      fileNamePrefix,
      daysFromUploadingToHiding: table[fileNamePrefix][0],
      daysFromHidingToDeleting: table[fileNamePrefix][1],
      daysFromStartingToCancelingUnfinishedLargeFiles: CANCEL_UNFINISHED_LARGE_FILES_DAYS,
    }));
}

/**
 * Key purposes and their capabilities (docs/architecture.md §1). All are bucket-scoped, so only capabilities a
 * bucket-restricted key may hold appear here.
 * - `backup-writer`: upload and list, read back its own manifests; NO deleteFiles (it can still
 *   hide, which is why prod buckets may add Object Lock).
 * - `restore-reader`: read/list only.
 * - replication: b2sdk's sets for the source (read side) and destination (write side) keys.
 */
export const KEY_CAPABILITIES = {
  'backup-writer': ['listBuckets', 'listFiles', 'readBuckets', 'readFiles', 'writeFiles'],
  'restore-reader': ['listBuckets', 'listFiles', 'readBuckets', 'readFiles'],
  'replication-source': ['readFileLegalHolds', 'readFileRetentions', 'readFiles'],
  'replication-destination': ['deleteFiles', 'writeFileLegalHolds', 'writeFileRetentions', 'writeFiles'],
} as const satisfies Record<string, readonly Capability[]>;
export type KeyPurpose = keyof typeof KEY_CAPABILITIES;

/**
 * Key names: `{bucket name}-{purpose}`, plus `-{rotation}` once rotated, plus the owning stack's
 * discriminator `-s{6 hex}` (infra/providers/ownership.ts) when `stack` (`<project>/<stack>`) is
 * given — the components always give it. Bucket names are global, so with the discriminator a name
 * belongs to exactly one stack, key resource and rotation: a key found under it that the state does
 * not hold can only be the leftover of an interrupted create (its secret died with that process),
 * which the provider may then delete (`deleteUnrecordedSameName`). ≤ 100 chars, `[A-Za-z0-9-]`
 * (checked).
 */
export function keyNameFor(
  bucketName: string,
  purpose: KeyPurpose,
  rotation: string = DEFAULT_ROTATION,
  stack?: string,
): string {
  const base = `${bucketName}-${purpose}`;
  const name = rotation === DEFAULT_ROTATION ? base : `${base}-${rotation}`;
  return stack ? withDiscriminator(name, stack) : name;
}

/** Rotation values end up in key names: letters, digits, `-`. */
export const ROTATION_PATTERN = /^[A-Za-z0-9-]{1,24}$/;

/** The one replication rule per replicated bucket (docs/b2-api.md §10). */
export const REPLICATION_RULE_NAME = 'to-eu';
export const REPLICATION_PRIORITY = 128;
export const DEFAULT_ROTATION = 'initial';

/** Default retention for Object Lock when enabled without a period. */
export const DEFAULT_LOCK_DAYS = 30;

// --- stack configuration defaults (infra/config.ts reads these; Pulumi.*.yaml may override) ---

/** Cloud providers backed up when the stack names none. */
export const DEFAULT_PROVIDERS: readonly CloudProvider[] = ['aws'];
/** Retention profile when the stack sets none: `short` for dev, `standard` elsewhere. */
export function defaultRetentionFor(env: Environment): RetentionProfile {
  return env === 'dev' ? 'short' : 'standard';
}
/** Encryption the backup jobs request on upload (and the bucket default). */
export const DEFAULT_UPLOAD_ENCRYPTION = 'SSE-B2' as const;
/** Object Lock mode when enabled without one (the only one offered: compliance can never be lifted). */
export const DEFAULT_OBJECT_LOCK_MODE = 'governance' as const;
/** The smoke test's trigger value: changing it re-runs the smoke test. */
export const DEFAULT_SMOKE_TEST_TRIGGER = 'initial';
/**
 * Opt-in features, off unless a stack turns them on: replication, Object Lock, the smoke test,
 * `forceDestroy` and `disposable` (prod refuses forceDestroy unless disposable).
 */
export const OPT_IN_DEFAULT = false;

// --- key delivery defaults (infra/components/keyDelivery.ts) ---

/** Key delivery when the stack sets none: keys are stack outputs (secrets) only. */
export const DEFAULT_KEY_DELIVERY_MODE = 'none' as const;
/** First segment of every delivered secret's name: `{prefix}/{env}/{provider}/{purpose}`. */
export const DEFAULT_KEY_SECRET_PREFIX = BUCKET_NAME_STEM;
/** Days AWS Secrets Manager keeps a deleted secret recoverable (0, or 7-30). */
export const DEFAULT_SECRET_RECOVERY_WINDOW_DAYS = 7;
/** B2 region assumed when an S3 endpoint's host does not name one. */
export const DEFAULT_B2_REGION = 'us-west-004';
/** Retention profile of a component given none (the stack config picks one per env). */
export const DEFAULT_RETENTION: RetentionProfile = 'standard';
