/**
 * Public entry of the B2 native API client (docs/architecture.md §2). Import from `infra/b2`, not from
 * the layer files: `B2Client`, typed errors, `SecretString`, `RetryPolicy` and the wire types.
 */
export * from './client';
export * from './errors';
export { SecretString, REDACTED } from './secret';
export { RetryPolicy, RetryStats, OutcomeUnknown, DEFAULT_RETRY_OPTIONS, classifyB2Error } from './retry';
export type { RetryOptions, RetryEvent, RunOptions, Verdict, Classifier } from './retry';
export { systemClock } from './clock';
export type { Clock } from './clock';
export { clearAuthorizationCache } from './session';
export type { AuthInfo, AllowedScope } from './session';
export { DEFAULT_USER_AGENT } from './http';
export { MAX_PARTS } from './largeFile';
export * as wire from './wire';
export type {
  BucketType,
  Guarded,
  ServerSideEncryption,
  ServerSideEncryptionRequest,
  DefaultRetention,
  FileLockConfiguration,
  LifecycleRule,
  CorsRule,
  ReplicationConfiguration,
  ReplicationRule,
  FileRetention,
  LegalHold,
  FileAction,
  MetadataDirective,
} from './wire';
