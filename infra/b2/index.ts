/**
 * Public entry of the B2 native API client (design.md §2). Import from `infra/b2`, not from
 * the layer files: `B2Client`, typed errors, `SecretString`, `RetryPolicy` and the wire types.
 */
export * from './client';
export * from './errors';
export { SecretString, REDACTED } from './secret';
export { RetryPolicy, DEFAULT_RETRY_OPTIONS, systemClock } from './retry';
export type { RetryOptions, Clock, RetryEvent } from './retry';
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
