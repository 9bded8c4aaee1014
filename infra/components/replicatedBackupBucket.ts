/**
 * `ReplicatedBackupBucket`: a BackupBucket in the primary (US-West) account replicated to a twin
 * BackupBucket in the replica (EU) account, with the two replication keys and the rule
 * (docs/architecture.md §1, docs/b2-api.md §10).
 *
 * Graph (no cycle): source bucket → source replication key; replica bucket → destination key;
 * all four → Replication (which writes both buckets' replicationConfiguration).
 *
 * Object Lock, when asked for, goes on the EU twin only: B2 refuses to enable Object Lock on a
 * replication source (`source_replication_conflict`, docs/b2-api.md §9), and the twin is the copy that
 * most needs to be immutable.
 *
 * The source is the same bucket a plain BackupBucket of this name would be: its component
 * `<name>-source` answers to the URN of `BackupBucket <name>` (under this component's parent), so
 * switching replication on keeps the live bucket and its writer/reader keys (refactor rule:
 * backupBucket.ts header). The replication keys are one generation: a rotation replaces them
 * create-before-delete, and the Replication resource switches to the new pair in place (add the
 * new mapping, switch the source, drop the old mapping) before the old keys are deleted.
 */
import * as pulumi from '@pulumi/pulumi';
import { ApplicationKey } from '../providers/applicationKey';
import { Replication } from '../providers/replication';
import { validateBucketName } from '../providers/validation/bucketName';
import { Problem, throwIfProblems } from '../providers/validation/problem';
import {
  BackupBucket,
  BackupBucketArgs,
  KeyOutputs,
  currentStackIdentity,
  validateBackupBucketArgs,
} from './backupBucket';
import {
  DEFAULT_REPLICA_SUFFIX,
  DEFAULT_ROTATION,
  DEFAULT_UPLOAD_ENCRYPTION,
  KEY_CAPABILITIES,
  keyNameFor,
  REPLICATION_PRIORITY,
  REPLICATION_RULE_NAME,
} from './defaults';
import { UploadEncryption, validateEncryptionWithReplication } from './validation/encryption';

export interface ReplicatedBackupBucketArgs extends Omit<BackupBucketArgs, 'account'> {
  /** Name of the EU twin (same rules as bucketName). Default: `bucketName` + `-replica`. https://www.backblaze.com/docs/cloud-storage-buckets */
  replicaBucketName?: string;
  /** How the backup jobs encrypt uploads; SSE-C is refused (B2 does not replicate SSE-C files). Default `SSE-B2`. https://www.backblaze.com/docs/cloud-storage-server-side-encryption */
  uploadEncryption?: UploadEncryption;
  /** Replication rule name. Default `to-eu`. https://www.backblaze.com/docs/cloud-storage-cloud-replication */
  ruleName?: string;
  /** Replicate files that existed before the rule. Default false. https://www.backblaze.com/docs/cloud-storage-cloud-replication */
  includeExistingFiles?: boolean;
  /** Rule priority (1–2147483647). Default 128. https://www.backblaze.com/docs/cloud-storage-cloud-replication */
  priority?: number;
}

export function validateReplicatedArgs(args: ReplicatedBackupBucketArgs): Problem[] {
  const replicaName = args.replicaBucketName ?? args.bucketName + DEFAULT_REPLICA_SUFFIX;
  const problems = validateBackupBucketArgs({ ...args, objectLock: null });
  problems.push(...validateBucketName(replicaName, 'replicaBucketName'));
  if (replicaName === args.bucketName)
    problems.push({ property: 'replicaBucketName', reason: 'must differ from bucketName' });
  problems.push(
    ...validateEncryptionWithReplication(args.uploadEncryption ?? DEFAULT_UPLOAD_ENCRYPTION, true),
  );
  if (
    args.objectLock &&
    (!Number.isInteger(args.objectLock.days) || args.objectLock.days < 1 || args.objectLock.days > 3000)
  ) {
    problems.push({ property: 'objectLock.days', reason: 'must be a whole number of days from 1 to 3000' });
  }
  return problems;
}

export class ReplicatedBackupBucket extends pulumi.ComponentResource {
  readonly source: BackupBucket;
  readonly replica: BackupBucket;
  readonly sourceKey: ApplicationKey;
  readonly destinationKey: ApplicationKey;
  readonly replication: Replication;
  readonly writer?: KeyOutputs;
  readonly reader?: KeyOutputs;
  readonly previousWriter?: KeyOutputs;
  readonly previousReader?: KeyOutputs;

  constructor(name: string, args: ReplicatedBackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('infrafabric:backup:ReplicatedBackupBucket', name, {}, opts);
    const built = createReplicatedBackupBucket(this, name, args, opts?.parent);
    this.source = built.source;
    this.replica = built.replica;
    this.sourceKey = built.sourceKey;
    this.destinationKey = built.destinationKey;
    this.replication = built.replication;
    this.writer = built.source.writer;
    this.reader = built.source.reader;
    this.previousWriter = built.source.previousWriter;
    this.previousReader = built.source.previousReader;
    this.registerOutputs({
      sourceBucketId: this.source.bucketId,
      replicaBucketId: this.replica.bucketId,
      ruleName: this.replication.ruleName,
    });
  }
}

export function createReplicatedBackupBucket(
  parent: pulumi.Resource,
  name: string,
  args: ReplicatedBackupBucketArgs,
  /** This component's own parent: where a plain `BackupBucket <name>` of the same bucket lived. */
  outerParent?: pulumi.Resource,
) {
  throwIfProblems(`ReplicatedBackupBucket "${name}"`, validateReplicatedArgs(args));
  const replicaName = args.replicaBucketName ?? args.bucketName + DEFAULT_REPLICA_SUFFIX;
  const rotation = args.keys?.rotation ?? DEFAULT_ROTATION;
  const stack = currentStackIdentity();
  const {
    replicaBucketName: _r,
    uploadEncryption: _u,
    ruleName: _n,
    includeExistingFiles: _i,
    priority: _p,
    ...common
  } = args;

  const source = new BackupBucket(
    `${name}-source`,
    { ...common, objectLock: null, account: 'primary' },
    // Replication switched on: this is the bucket that was `BackupBucket <name>` next to us.
    { parent, aliases: [{ name, parent: outerParent ?? pulumi.rootStackResource }] },
  );
  const replica = new BackupBucket(
    `${name}-replica`,
    {
      ...common,
      bucketName: replicaName,
      account: 'replica',
      keys: { writer: false, reader: false },
      adoptBucketId: undefined,
    },
    { parent },
  );
  const sourceKey = new ApplicationKey(
    `${name}-replication-source`,
    {
      keyName: keyNameFor(args.bucketName, 'replication-source', rotation, stack),
      ownerStack: stack,
      capabilities: [...KEY_CAPABILITIES['replication-source']],
      bucketIds: [source.bucketId],
      rotation,
      account: 'primary',
      deleteUnrecordedSameName: true,
    },
    { parent },
  );
  const destinationKey = new ApplicationKey(
    `${name}-replication-destination`,
    {
      keyName: keyNameFor(args.bucketName, 'replication-destination', rotation, stack),
      ownerStack: stack,
      capabilities: [...KEY_CAPABILITIES['replication-destination']],
      bucketIds: [replica.bucketId],
      rotation,
      account: 'replica',
      deleteUnrecordedSameName: true,
    },
    { parent },
  );
  const replication = new Replication(
    `${name}-replication`,
    {
      sourceBucketId: source.bucketId,
      destinationBucketId: replica.bucketId,
      // Resource ids (= key ids) stay known across previews, unlike outputs.
      sourceKeyId: sourceKey.id,
      destinationKeyId: destinationKey.id,
      ruleName: args.ruleName ?? REPLICATION_RULE_NAME,
      fileNamePrefix: '',
      includeExistingFiles: args.includeExistingFiles ?? false,
      isEnabled: true,
      priority: args.priority ?? REPLICATION_PRIORITY,
      sourceAccount: 'primary',
      destinationAccount: 'replica',
    },
    { parent },
  );
  return { source, replica, sourceKey, destinationKey, replication };
}
