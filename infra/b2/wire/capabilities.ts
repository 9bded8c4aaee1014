/**
 * Application-key capability names (docs/b2-api.md §7): the 26 classic ones (b2sdk ALL_CAPABILITIES;
 * the master key holds all) plus the newer lifecycle/logging ones. Wire constants, shared by the
 * emulator and the providers' validation. https://www.backblaze.com/docs/cloud-storage-application-key-capabilities
 */
export const ALL_CAPABILITIES = [
  'listKeys',
  'writeKeys',
  'deleteKeys',
  'listAllBucketNames',
  'listBuckets',
  'readBuckets',
  'writeBuckets',
  'deleteBuckets',
  'readBucketEncryption',
  'writeBucketEncryption',
  'readBucketRetentions',
  'writeBucketRetentions',
  'readBucketReplications',
  'writeBucketReplications',
  'readBucketNotifications',
  'writeBucketNotifications',
  'listFiles',
  'readFiles',
  'shareFiles',
  'writeFiles',
  'deleteFiles',
  'readFileLegalHolds',
  'writeFileLegalHolds',
  'readFileRetentions',
  'writeFileRetentions',
  'bypassGovernance',
  'readBucketLifecycleRules',
  'writeBucketLifecycleRules',
  'readBucketLogging',
  'writeBucketLogging',
] as const;
export type Capability = (typeof ALL_CAPABILITIES)[number];

/**
 * What a key restricted to one or more buckets may hold (docs/b2-api.md §4; the lifecycle pair as
 * decided in docs/b2-key-scope.md): every capability but the key ones, writeBuckets, deleteBuckets,
 * the replication pair and (scope unconfirmed) the logging pair. Shared by the emulator's key
 * creation and the providers' validation.
 */
export const BUCKET_RESTRICTED_CAPABILITIES: readonly Capability[] = ALL_CAPABILITIES.filter(
  (c) =>
    ![
      'listKeys',
      'writeKeys',
      'deleteKeys',
      'writeBuckets',
      'deleteBuckets',
      'readBucketReplications',
      'writeBucketReplications',
      'readBucketLogging',
      'writeBucketLogging',
    ].includes(c),
);
