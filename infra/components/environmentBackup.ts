/**
 * `EnvironmentBackup`: the whole backup estate of one environment — one (replicated when asked)
 * backup bucket per cloud provider, with its keys — and the outputs the backup CLI reads.
 *
 * Per provider the bucket is `BackupBucket <env>-<p>` or, with replication, `ReplicatedBackupBucket
 * <env>-<p>` holding `BackupBucket <env>-<p>-source`. Both directions of that switch are moves, kept
 * by aliases (refactor rule: backupBucket.ts header) — never a new owner of the live bucket.
 */
import * as pulumi from '@pulumi/pulumi';
import { Problem, throwIfProblems } from '../providers/validation/problem';
import { BackupBucket, KeyOutputs, ObjectLockArgs } from './backupBucket';
import {
  bucketNameFor,
  CloudProvider,
  DEFAULT_REPLICA_SUFFIX,
  DEFAULT_UPLOAD_ENCRYPTION,
  Environment,
  RetentionProfile,
} from './defaults';
import { ReplicatedBackupBucket } from './replicatedBackupBucket';
import { UploadEncryption, validateEncryptionWithReplication } from './validation/encryption';
import { parseProviderNames } from './validation/providerNames';

export interface EnvironmentBackupArgs {
  /** `dev`, `staging` or `prod`; part of every bucket name. No default. */
  env: Environment;
  /** Cloud providers backed up (`aws`, `azure`, `gcp`, `multi`): one bucket each. No default. */
  providers: CloudProvider[];
  /** Prepended to every bucket name (names are global across B2). Default `""`. https://www.backblaze.com/docs/cloud-storage-buckets */
  namePrefix?: string;
  /** Appended to every bucket name. Default `""`. */
  nameSuffix?: string;
  /** bucketInfo `cost-center`. Default `platform`. */
  costCenter?: string;
  /** Lifecycle profile (defaults.ts). Default `standard`. https://www.backblaze.com/docs/cloud-storage-lifecycle-rules */
  retention?: RetentionProfile;
  /** Replicate every bucket to an EU twin in the replica account. Default off. https://www.backblaze.com/docs/cloud-storage-cloud-replication */
  replication?: { enabled: boolean; replicaSuffix?: string };
  /** Governance Object Lock (on the EU twins when replicated). Default off. https://www.backblaze.com/docs/cloud-storage-object-lock */
  objectLock?: ({ enabled: boolean } & ObjectLockArgs) | null;
  /** The current key generation; change it to rotate. Default `initial`. */
  keyRotation?: string;
  /** The previous key generation, kept valid next to the current one. Default: none. */
  previousKeyRotation?: string | null;
  /** Lifetime of writer/reader keys in seconds. Default: no expiry. */
  keyValidDurationInSeconds?: number | null;
  /** File-name prefix for writer/reader keys. Default: none. https://www.backblaze.com/apidocs/b2-create-key */
  keyNamePrefix?: string | null;
  /** Encryption the jobs use for uploads; SSE-C refused with replication. Default `SSE-B2`. */
  uploadEncryption?: UploadEncryption;
  /** Let destroy empty non-empty buckets. Default false. */
  forceDestroy?: boolean;
  /** Throw-away stack (force-destroy may bypass governance retention). Default false. */
  disposable?: boolean;
  /** Create every bucket with `protect: true`. Default false (the program sets it for prod). */
  protectBuckets?: boolean;
  /** Deliberate take-over of existing buckets (provider → bucket id; the source bucket when replicated). Default none. */
  adoptBucketIds?: Partial<Record<CloudProvider, string>>;
}

/** One bucket as the backup CLI needs it. */
export interface BucketRef {
  name: pulumi.Output<string>;
  id: pulumi.Output<string>;
  s3Endpoint: pulumi.Output<string>;
}

export interface EnvironmentOutputs {
  buckets: Partial<Record<CloudProvider, BucketRef & { replica?: BucketRef }>>;
  keys: KeySet;
  /** The previous generation, same shape; empty maps before the first rotation. */
  previousKeys: KeySet;
  replication: Partial<
    Record<
      CloudProvider,
      {
        ruleName: pulumi.Output<string>;
        sourceBucketId: pulumi.Output<string>;
        destinationBucketId: pulumi.Output<string>;
      }
    >
  >;
}

export interface KeySet {
  writer: Partial<Record<CloudProvider, KeyOutputs>>;
  reader: Partial<Record<CloudProvider, KeyOutputs>>;
}

export function validateEnvironmentArgs(args: EnvironmentBackupArgs): Problem[] {
  const problems = parseProviderNames(args.providers).problems;
  problems.push(
    ...validateEncryptionWithReplication(
      args.uploadEncryption ?? DEFAULT_UPLOAD_ENCRYPTION,
      !!args.replication?.enabled,
    ),
  );
  return problems;
}

export class EnvironmentBackup extends pulumi.ComponentResource {
  readonly buckets: Partial<Record<CloudProvider, BackupBucket | ReplicatedBackupBucket>>;
  readonly outputs: EnvironmentOutputs;

  constructor(name: string, args: EnvironmentBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super('infrafabric:backup:EnvironmentBackup', name, {}, opts);
    const built = createEnvironmentBackup(this, args);
    this.buckets = built.buckets;
    this.outputs = built.outputs;
    this.registerOutputs({ ...built.outputs });
  }
}

const REPLICATED_TYPE = 'infrafabric:backup:ReplicatedBackupBucket';

function publishKeys(
  outputs: EnvironmentOutputs,
  provider: CloudProvider,
  b: Pick<BackupBucket, 'writer' | 'reader' | 'previousWriter' | 'previousReader'>,
): void {
  if (b.writer) outputs.keys.writer[provider] = b.writer;
  if (b.reader) outputs.keys.reader[provider] = b.reader;
  if (b.previousWriter) outputs.previousKeys.writer[provider] = b.previousWriter;
  if (b.previousReader) outputs.previousKeys.reader[provider] = b.previousReader;
}

const ref = (b: BackupBucket): BucketRef => ({
  name: b.bucketName,
  id: b.bucketId,
  s3Endpoint: b.s3Endpoint,
});

export function createEnvironmentBackup(parent: pulumi.Resource, args: EnvironmentBackupArgs) {
  throwIfProblems(`EnvironmentBackup "${args.env}"`, validateEnvironmentArgs(args));
  const buckets: Partial<Record<CloudProvider, BackupBucket | ReplicatedBackupBucket>> = {};
  const outputs: EnvironmentOutputs = {
    buckets: {},
    keys: { writer: {}, reader: {} },
    previousKeys: { writer: {}, reader: {} },
    replication: {},
  };
  const lock = args.objectLock?.enabled
    ? {
        mode: args.objectLock.mode,
        days: args.objectLock.days,
        acknowledgeIrreversible: args.objectLock.acknowledgeIrreversible ?? false,
      }
    : null;
  for (const provider of args.providers) {
    const bucketName = bucketNameFor(args.env, provider, args.namePrefix ?? '', args.nameSuffix ?? '');
    const common = {
      bucketName,
      env: args.env,
      provider,
      costCenter: args.costCenter,
      retention: args.retention,
      objectLock: lock,
      forceDestroy: args.forceDestroy,
      disposable: args.disposable,
      protect: args.protectBuckets,
      keys: {
        namePrefix: args.keyNamePrefix ?? null,
        rotation: args.keyRotation,
        previousRotation: args.previousKeyRotation ?? null,
        validDurationInSeconds: args.keyValidDurationInSeconds ?? null,
      },
      adoptBucketId: args.adoptBucketIds?.[provider],
    };
    const name = `${args.env}-${provider}`;
    if (args.replication?.enabled) {
      const r = new ReplicatedBackupBucket(
        name,
        {
          ...common,
          replicaBucketName: bucketName + (args.replication.replicaSuffix ?? DEFAULT_REPLICA_SUFFIX),
          uploadEncryption: args.uploadEncryption,
        },
        { parent },
      );
      buckets[provider] = r;
      outputs.buckets[provider] = { ...ref(r.source), replica: ref(r.replica) };
      outputs.replication[provider] = {
        ruleName: r.replication.ruleName,
        sourceBucketId: r.replication.sourceBucketId,
        destinationBucketId: r.replication.destinationBucketId,
      };
      publishKeys(outputs, provider, r);
    } else {
      const b = new BackupBucket(
        name,
        { ...common, account: 'primary' },
        {
          parent,
          // Replication switched off: this is the bucket that was the replicated one's source.
          aliases: [{ name: `${name}-source`, parent: pulumi.createUrn(name, REPLICATED_TYPE, parent) }],
        },
      );
      buckets[provider] = b;
      outputs.buckets[provider] = ref(b);
      publishKeys(outputs, provider, b);
    }
  }
  return { buckets, outputs };
}
