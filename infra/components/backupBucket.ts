/**
 * `BackupBucket`: one backup bucket with its lifecycle, encryption, bucket info and the
 * `backup-writer` / `restore-reader` keys scoped to it (docs/architecture.md §1).
 *
 * REFACTOR RULE (README "The estate", "Refactors and aliases"): a resource's URN is
 * `<parent types>$<type>::<name>`. Any change to a component's name, type, parent or to the logical
 * name of a resource declared here is a MOVE, and without an alias the engine plans it as
 * create-new + delete-old — for a bucket that is a second owner of the live bucket followed by its
 * deletion. Every such change must add an `aliases` entry naming the old name/parent (children
 * inherit their parent's aliases when their name starts with the parent's), and a test that the
 * move previews with no create, replace or delete (test/unit/components/aliases.test.ts, e2e
 * test/e2e/aliases.test.ts).
 *
 * Keys come in generations (README "Key rotation"): the writer/reader of generation `g` are the
 * resources `<name>-backup-writer-<g>` / `<name>-restore-reader-<g>`, so a generation keeps its
 * resource (and its live key) while it moves from current to previous, and is deleted when it is
 * no longer declared.
 */
import * as pulumi from '@pulumi/pulumi';
import { ApplicationKey } from '../providers/applicationKey';
import { Bucket } from '../providers/bucket';
import { stackIdentity } from '../providers/ownership';
import { AccountRole, CorsRule, DefaultRetention, LifecycleRule } from '../providers/types';
import { validateBucketName } from '../providers/validation/bucketName';
import { validateCapabilities, validateKeyName } from '../providers/validation/keyCapabilities';
import { validateLifecycleRules } from '../providers/validation/lifecycleRules';
import { Problem, throwIfProblems } from '../providers/validation/problem';
import {
  DEFAULT_BUCKET_TYPE,
  DEFAULT_CORS_RULES,
  DEFAULT_ENCRYPTION,
  DEFAULT_RETENTION,
  DEFAULT_ROTATION,
  defaultBucketInfo,
  KEY_CAPABILITIES,
  keyNameFor,
  lifecycleRulesFor,
  RetentionProfile,
  ROTATION_PATTERN,
} from './defaults';

export interface ObjectLockArgs {
  /** Default retention mode for new files. Only `governance` is used by this estate. */
  mode: 'governance' | 'compliance';
  /** Default retention period in days (1–3000). https://www.backblaze.com/docs/cloud-storage-object-lock */
  days: number;
  /** Required to enable Object Lock on a bucket that already exists (irreversible). Default false. */
  acknowledgeIrreversible?: boolean;
}

export interface BackupBucketKeysArgs {
  /** Create the `backup-writer` key (write, list, read; no delete). Default true. */
  writer?: boolean;
  /** Create the `restore-reader` key (read, list). Default true. */
  reader?: boolean;
  /** Restrict both keys to file names with this prefix. Default: none (whole bucket). https://www.backblaze.com/apidocs/b2-create-key */
  namePrefix?: string | null;
  /** The current key generation; change to rotate. Default `initial`. */
  rotation?: string;
  /**
   * The previous generation, still declared (valid) next to the current one; null/undefined = none.
   * Dropping a generation from both `rotation` and `previousRotation` deletes its keys.
   */
  previousRotation?: string | null;
  /** Lifetime of the writer/reader keys in seconds (B2 `validDurationInSeconds`). Default: no expiry. */
  validDurationInSeconds?: number | null;
  /** Writer capabilities. Default `KEY_CAPABILITIES['backup-writer']`; bucket-scoped ones only. */
  writerCapabilities?: string[];
  /** Reader capabilities. Default `KEY_CAPABILITIES['restore-reader']`; bucket-scoped ones only. */
  readerCapabilities?: string[];
}

export interface BackupBucketArgs {
  /** Final, globally unique bucket name (6–63, `[a-z0-9-]`, no `b2-`). No default. https://www.backblaze.com/docs/cloud-storage-buckets */
  bucketName: string;
  /** Environment recorded in bucketInfo (`env`). No default. */
  env: string;
  /** Cloud provider recorded in bucketInfo (`provider`). No default. */
  provider: string;
  /** bucketInfo `cost-center`. Default `platform`. */
  costCenter?: string;
  /** Extra bucketInfo entries, merged over the defaults. Default none. https://www.backblaze.com/apidocs/b2-create-bucket */
  bucketInfo?: Record<string, string>;
  /** Account holding the bucket and its keys. Default `primary`. */
  account?: AccountRole;
  /** Retention profile picking the default lifecycle rules (defaults.ts). Default `standard`. */
  retention?: RetentionProfile;
  /** Lifecycle rules replacing the profile's. Default: the profile's. https://www.backblaze.com/docs/cloud-storage-lifecycle-rules */
  lifecycleRules?: LifecycleRule[];
  /** CORS rules. Default none. https://www.backblaze.com/docs/cloud-storage-cross-origin-resource-sharing-rules */
  corsRules?: CorsRule[];
  /** Enable Object Lock with this default retention. Default: off. Can never be turned off again. https://www.backblaze.com/docs/cloud-storage-object-lock */
  objectLock?: ObjectLockArgs | null;
  /** Let `pulumi destroy` delete every file version first. Default false. */
  forceDestroy?: boolean;
  /** Throw-away stack: force-destroy may bypass governance retention. Default false. */
  disposable?: boolean;
  /** Create the bucket with `protect: true` (destroy refuses until unprotected deliberately). Default false. */
  protect?: boolean;
  /** Keys scoped to this bucket. Default: writer and reader. */
  keys?: BackupBucketKeysArgs;
  /** Adopt an existing bucket by id instead of creating one. Default: create. */
  adoptBucketId?: string;
}

/** Key id plus secret (the secret is a Pulumi secret). */
export interface KeyOutputs {
  keyId: pulumi.Output<string>;
  applicationKey: pulumi.Output<string>;
}

/** `<project>/<stack>` of the running program: the owner recorded on buckets and in key names. */
export function currentStackIdentity(): string {
  return stackIdentity(pulumi.getProject(), pulumi.getStack());
}

/** Stands in for the stack in length checks (the discriminator has a fixed length). */
const ANY_STACK = 'project/stack';

/** Validation of the arguments; pure, so preview fails before anything is registered. */
export function validateBackupBucketArgs(args: BackupBucketArgs): Problem[] {
  const problems = validateBucketName(args.bucketName);
  problems.push(
    ...validateLifecycleRules(args.lifecycleRules ?? lifecycleRulesFor(args.retention ?? DEFAULT_RETENTION)),
  );
  if (args.objectLock) {
    const d = args.objectLock.days;
    if (!Number.isInteger(d) || d < 1 || d > 3000) {
      problems.push({
        property: 'objectLock.days',
        reason: `must be a whole number of days from 1 to 3000, got ${d}`,
      });
    }
  }
  const k = args.keys ?? {};
  const rotation = k.rotation ?? DEFAULT_ROTATION;
  if (!ROTATION_PATTERN.test(rotation)) {
    problems.push({
      property: 'keys.rotation',
      reason: `${JSON.stringify(rotation)} must be 1-24 letters, digits or "-" (it becomes part of key names)`,
    });
  } else {
    for (const purpose of ['backup-writer', 'restore-reader', 'replication-destination'] as const) {
      problems.push(
        ...validateKeyName(
          keyNameFor(args.bucketName, purpose, rotation, ANY_STACK),
          `keys (${purpose} key name)`,
        ),
      );
    }
  }
  const previous = k.previousRotation ?? null;
  if (previous !== null) {
    if (!ROTATION_PATTERN.test(previous)) {
      problems.push({
        property: 'keys.previousRotation',
        reason: `${JSON.stringify(previous)} must be 1-24 letters, digits or "-"`,
      });
    } else if (previous === rotation) {
      problems.push({ property: 'keys.previousRotation', reason: 'must differ from keys.rotation' });
    }
  }
  const v = k.validDurationInSeconds;
  if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 1 || v > 86_400_000)) {
    problems.push({
      property: 'keys.validDurationInSeconds',
      reason: `must be a whole number from 1 to 86400000 (1000 days), got ${v}`,
    });
  }
  if (k.writer !== false)
    problems.push(
      ...validateCapabilities(
        k.writerCapabilities ?? [...KEY_CAPABILITIES['backup-writer']],
        true,
        'keys.writerCapabilities',
      ),
    );
  if (k.reader !== false)
    problems.push(
      ...validateCapabilities(
        k.readerCapabilities ?? [...KEY_CAPABILITIES['restore-reader']],
        true,
        'keys.readerCapabilities',
      ),
    );
  return problems;
}

function retentionOf(lock: ObjectLockArgs): DefaultRetention {
  return { mode: lock.mode, period: { duration: lock.days, unit: 'days' } };
}

export class BackupBucket extends pulumi.ComponentResource {
  readonly bucket: Bucket;
  readonly bucketId: pulumi.Output<string>;
  readonly bucketName: pulumi.Output<string>;
  readonly s3Endpoint: pulumi.Output<string>;
  readonly writerKey?: ApplicationKey;
  readonly readerKey?: ApplicationKey;
  readonly writer?: KeyOutputs;
  readonly reader?: KeyOutputs;
  /** The previous generation (when `keys.previousRotation` is set). */
  readonly previousWriterKey?: ApplicationKey;
  readonly previousReaderKey?: ApplicationKey;
  readonly previousWriter?: KeyOutputs;
  readonly previousReader?: KeyOutputs;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('infrafabric:backup:BackupBucket', name, {}, opts);
    const built = createBackupBucket(this, name, args);
    this.bucket = built.bucket;
    // The resource id IS the bucket id, and unlike the `bucketId` output it stays known while an
    // in-place update is previewed — so keys scoped with it are not planned for replacement.
    this.bucketId = built.bucket.id;
    // The name is known when the program runs; using it (not the output) keeps it known in previews.
    this.bucketName = pulumi.output(args.bucketName);
    this.s3Endpoint = built.bucket.s3Endpoint;
    this.writerKey = built.writerKey;
    this.readerKey = built.readerKey;
    this.writer = built.writerKey && keyOutputs(built.writerKey);
    this.reader = built.readerKey && keyOutputs(built.readerKey);
    this.previousWriterKey = built.previousWriterKey;
    this.previousReaderKey = built.previousReaderKey;
    this.previousWriter = built.previousWriterKey && keyOutputs(built.previousWriterKey);
    this.previousReader = built.previousReaderKey && keyOutputs(built.previousReaderKey);
    this.registerOutputs({
      bucketId: this.bucketId,
      bucketName: this.bucketName,
      s3Endpoint: this.s3Endpoint,
      writer: this.writer,
      reader: this.reader,
    });
  }
}

export function keyOutputs(k: ApplicationKey): KeyOutputs {
  return { keyId: k.applicationKeyId, applicationKey: k.applicationKey };
}

/** The logic behind BackupBucket: validate, then declare the bucket and its keys as children. */
export function createBackupBucket(parent: pulumi.Resource, name: string, args: BackupBucketArgs) {
  throwIfProblems(`BackupBucket "${name}"`, validateBackupBucketArgs(args));
  const account = args.account ?? 'primary';
  const bucket = new Bucket(
    `${name}-bucket`,
    {
      bucketName: args.bucketName,
      bucketType: DEFAULT_BUCKET_TYPE,
      bucketInfo: {
        ...defaultBucketInfo(args.env, args.provider, args.costCenter),
        ...(args.bucketInfo ?? {}),
      },
      lifecycleRules: args.lifecycleRules ?? lifecycleRulesFor(args.retention ?? DEFAULT_RETENTION),
      corsRules: args.corsRules ?? DEFAULT_CORS_RULES,
      defaultServerSideEncryption: DEFAULT_ENCRYPTION,
      fileLockEnabled: !!args.objectLock,
      defaultRetention: args.objectLock ? retentionOf(args.objectLock) : null,
      forceDestroy: args.forceDestroy ?? false,
      // Only written when set, so a stack deployed before the flag existed sees no change.
      ...(args.disposable ? { disposable: true } : {}),
      account,
      owner: { stack: currentStackIdentity(), resource: `${name}-bucket` },
      ...(args.objectLock?.acknowledgeIrreversible ? { acknowledgeIrreversible: true } : {}),
      ...(args.adoptBucketId ? { adoptBucketId: args.adoptBucketId } : {}),
    },
    // Refactor rule (file header): renaming `${name}-bucket` or moving it needs an alias.
    { parent, ...(args.protect ? { protect: true } : {}) },
  );
  const k = args.keys ?? {};
  const stack = currentStackIdentity();
  const current = k.rotation ?? DEFAULT_ROTATION;
  const previous = k.previousRotation ?? null;
  // The resources of one generation; the oldest declared generation also answers to the key's
  // URN from before generations existed (`<name>-<purpose>`), so an upgrade keeps the live keys.
  const generationKey = (
    purpose: 'backup-writer' | 'restore-reader',
    capabilities: readonly string[],
    rotation: string,
    oldest: boolean,
  ) =>
    new ApplicationKey(
      keyResourceName(name, purpose, rotation),
      {
        keyName: keyNameFor(args.bucketName, purpose, rotation, stack),
        ownerStack: stack,
        capabilities: [...capabilities].sort(),
        bucketIds: [bucket.id],
        namePrefix: k.namePrefix ?? null,
        ...(k.validDurationInSeconds ? { validDurationInSeconds: k.validDurationInSeconds } : {}),
        rotation,
        account,
        deleteUnrecordedSameName: true,
      },
      { parent, ...(oldest ? { aliases: [{ name: `${name}-${purpose}` }] } : {}) },
    );
  const both = (purpose: 'backup-writer' | 'restore-reader', capabilities: readonly string[]) => ({
    current: generationKey(purpose, capabilities, current, previous === null),
    previous: previous === null ? undefined : generationKey(purpose, capabilities, previous, true),
  });
  const writer =
    k.writer === false
      ? undefined
      : both('backup-writer', k.writerCapabilities ?? KEY_CAPABILITIES['backup-writer']);
  const reader =
    k.reader === false
      ? undefined
      : both('restore-reader', k.readerCapabilities ?? KEY_CAPABILITIES['restore-reader']);
  return {
    bucket,
    writerKey: writer?.current,
    readerKey: reader?.current,
    previousWriterKey: writer?.previous,
    previousReaderKey: reader?.previous,
  };
}

/** Logical name of a writer/reader key of one generation (see the file header). */
export function keyResourceName(component: string, purpose: string, rotation: string): string {
  return `${component}-${purpose}-${rotation}`;
}
