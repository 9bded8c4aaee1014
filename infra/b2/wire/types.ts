/**
 * B2 native API JSON shapes (docs/b2-api.md §1–3), v2/v3 unless marked v4.
 *
 * Wire names are exactly as on the wire (camelCase from the B2 docs). Nullable fields are
 * `T | null`, never optional, because B2 distinguishes "null" from "absent" in several places
 * (lifecycle day counts, guarded settings). Fields that older captures omit are optional.
 *
 * Names follow the endpoint: `b2_update_bucket` → `UpdateBucketRequest` / response `Bucket`.
 * No logic and no imports from outside wire/: the emulator imports these types too (docs/conventions.md §1).
 */
import type { CorsOperation } from './cors';

export type { CorsOperation } from './cors';

// ---------------------------------------------------------------------------------------------
// Shared value objects
// ---------------------------------------------------------------------------------------------

/** `allPublic` / `allPrivate` are settable; the rest are reported by B2 only. */
export type BucketType = 'allPublic' | 'allPrivate' | 'restricted' | 'snapshot' | 'shared';

/** A setting B2 hides when the key lacks the read capability: `{isClientAuthorizedToRead:false, value:null}`. */
export interface Guarded<T> {
  isClientAuthorizedToRead: boolean;
  value: T | null;
}

export type EncryptionMode = 'SSE-B2' | 'SSE-C' | 'none';

/** Bucket default / file encryption as B2 reports it (nulls = none). */
export interface ServerSideEncryption {
  mode: EncryptionMode | null;
  algorithm: 'AES256' | null;
}

/** Encryption as sent in start/copy JSON; SSE-C carries the customer key (a secret — never log). */
export interface ServerSideEncryptionRequest {
  mode: EncryptionMode;
  algorithm?: 'AES256';
  customerKey?: string;
  customerKeyMd5?: string;
}

export type RetentionMode = 'governance' | 'compliance';

export interface RetentionPeriod {
  duration: number;
  unit: 'days' | 'years';
}

export interface DefaultRetention {
  mode: RetentionMode | 'none' | null;
  period: RetentionPeriod | null;
}

export interface FileLockConfiguration {
  defaultRetention: DefaultRetention;
  isFileLockEnabled: boolean | null;
}

/** One rule per prefix; overlapping prefixes are refused by B2 (docs/b2-api.md §4). */
export interface LifecycleRule {
  fileNamePrefix: string;
  daysFromUploadingToHiding: number | null;
  daysFromHidingToDeleting: number | null;
  daysFromStartingToCancelingUnfinishedLargeFiles?: number | null;
}

export interface CorsRule {
  corsRuleName: string;
  allowedOrigins: string[];
  allowedOperations: CorsOperation[];
  allowedHeaders?: string[];
  exposeHeaders?: string[];
  maxAgeSeconds: number;
}

export interface ReplicationRule {
  replicationRuleName: string;
  destinationBucketId: string;
  fileNamePrefix: string;
  includeExistingFiles: boolean;
  isEnabled: boolean;
  priority: number;
}

export interface ReplicationSource {
  sourceApplicationKeyId: string;
  replicationRules: ReplicationRule[];
}

export interface ReplicationDestination {
  sourceToDestinationKeyMapping: Record<string, string>;
}

export interface ReplicationConfiguration {
  asReplicationSource: ReplicationSource | null;
  asReplicationDestination: ReplicationDestination | null;
}

export interface Bucket {
  accountId: string;
  bucketId: string;
  bucketName: string;
  bucketType: BucketType;
  bucketInfo: Record<string, string>;
  corsRules: CorsRule[];
  lifecycleRules: LifecycleRule[];
  defaultServerSideEncryption?: Guarded<ServerSideEncryption>;
  fileLockConfiguration?: Guarded<FileLockConfiguration>;
  /** Absent in 2021–22 captures; absent means "none" (b2sdk). */
  replicationConfiguration?: Guarded<ReplicationConfiguration>;
  options?: string[];
  revision: number;
}

export interface FileRetention {
  mode: RetentionMode | null;
  retainUntilTimestamp: number | null;
}

export type LegalHold = 'on' | 'off';

export type FileAction = 'upload' | 'start' | 'hide' | 'folder' | 'copy';

export type ReplicationStatus = 'PENDING' | 'COMPLETED' | 'FAILED' | 'REPLICA';

/** A file version (v2+). `fileId` is null only for `folder` entries of delimiter listings. */
export interface FileVersion {
  accountId: string;
  action: FileAction;
  bucketId: string;
  contentLength: number;
  contentMd5?: string | null;
  /** 40 hex digits, `none` for large files, or `unverified:<hex>`. */
  contentSha1: string | null;
  contentType: string | null;
  fileId: string | null;
  fileInfo: Record<string, string>;
  fileName: string;
  fileRetention?: Guarded<FileRetention>;
  legalHold?: Guarded<LegalHold>;
  serverSideEncryption?: ServerSideEncryption;
  replicationStatus?: ReplicationStatus | Lowercase<ReplicationStatus> | null;
  uploadTimestamp: number;
}

export interface Part {
  fileId: string;
  partNumber: number;
  contentLength: number;
  contentSha1: string;
  contentMd5?: string | null;
  serverSideEncryption?: ServerSideEncryption;
  uploadTimestamp: number;
}

/** An application key. v1–v3 carry `bucketId`; v4 carries `bucketIds`. */
export interface Key {
  accountId: string;
  applicationKeyId: string;
  bucketId?: string | null;
  bucketIds?: string[] | null;
  capabilities: string[];
  expirationTimestamp: number | null;
  keyName: string;
  namePrefix: string | null;
  options?: string[];
}

/** `b2_create_key` response: the key plus its secret, shown exactly once. */
export interface KeyWithSecretWire extends Key {
  applicationKey: string;
}

// ---------------------------------------------------------------------------------------------
// b2_authorize_account
// ---------------------------------------------------------------------------------------------

/** v3 `apiInfo.storageApi` (flat scope fields). */
export interface StorageApiInfoV3 {
  apiUrl: string;
  downloadUrl: string;
  s3ApiUrl: string;
  recommendedPartSize: number;
  absoluteMinimumPartSize: number;
  capabilities: string[];
  bucketId: string | null;
  bucketName: string | null;
  namePrefix: string | null;
  infoType?: 'storageApi';
}

export interface AuthorizeAccountResponseV3 {
  accountId: string;
  authorizationToken: string;
  apiInfo: { storageApi: StorageApiInfoV3; groupsApi?: unknown };
  applicationKeyExpirationTimestamp: number | null;
}

export interface AllowedBucketV4 {
  id: string;
  /** null for a deleted bucket. */
  name: string | null;
}

/** v4 `apiInfo.storageApi`: scope under `allowed`, multi-bucket. */
export interface StorageApiInfoV4 {
  apiUrl: string;
  downloadUrl: string;
  s3ApiUrl: string;
  recommendedPartSize: number;
  absoluteMinimumPartSize: number;
  allowed: { buckets: AllowedBucketV4[] | null; capabilities: string[]; namePrefix: string | null };
}

export interface AuthorizeAccountResponseV4 {
  accountId: string;
  authorizationToken: string;
  apiInfo: { storageApi: StorageApiInfoV4; groupsApi?: unknown };
  applicationKeyExpirationTimestamp: number | null;
}

// ---------------------------------------------------------------------------------------------
// Buckets
// ---------------------------------------------------------------------------------------------

export interface CreateBucketRequest {
  accountId: string;
  bucketName: string;
  bucketType: 'allPublic' | 'allPrivate';
  bucketInfo?: Record<string, string>;
  corsRules?: CorsRule[];
  lifecycleRules?: LifecycleRule[];
  fileLockEnabled?: boolean;
  defaultServerSideEncryption?: ServerSideEncryptionRequest;
  replicationConfiguration?: ReplicationConfiguration;
}

/** Omitted fields stay unchanged; a supplied list replaces the whole list. */
export interface UpdateBucketRequest {
  accountId: string;
  bucketId: string;
  bucketType?: 'allPublic' | 'allPrivate';
  bucketInfo?: Record<string, string>;
  corsRules?: CorsRule[];
  lifecycleRules?: LifecycleRule[];
  defaultServerSideEncryption?: ServerSideEncryptionRequest;
  defaultRetention?: DefaultRetention;
  /** `true` only: file lock cannot be disabled. */
  fileLockEnabled?: boolean;
  replicationConfiguration?: ReplicationConfiguration;
  ifRevisionIs?: number;
}

export interface DeleteBucketRequest {
  accountId: string;
  bucketId: string;
}

export interface ListBucketsRequest {
  accountId: string;
  bucketId?: string;
  bucketName?: string;
  bucketTypes?: string[];
}

export interface ListBucketsResponse {
  buckets: Bucket[];
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

export interface CreateKeyRequest {
  accountId: string;
  capabilities: string[];
  keyName: string;
  validDurationInSeconds?: number;
  /** v1–v3 only. */
  bucketId?: string;
  /** v4 only. */
  bucketIds?: string[];
  namePrefix?: string;
}

export interface DeleteKeyRequest {
  applicationKeyId: string;
}

export interface ListKeysRequest {
  accountId: string;
  maxKeyCount?: number;
  startApplicationKeyId?: string;
}

export interface ListKeysResponse {
  keys: Key[];
  nextApplicationKeyId: string | null;
}

// ---------------------------------------------------------------------------------------------
// Uploads and large files
// ---------------------------------------------------------------------------------------------

export interface GetUploadUrlRequest {
  bucketId: string;
}

export interface GetUploadUrlResponse {
  bucketId: string;
  uploadUrl: string;
  authorizationToken: string;
}

export interface StartLargeFileRequest {
  bucketId: string;
  fileName: string;
  contentType: string;
  fileInfo?: Record<string, string>;
  serverSideEncryption?: ServerSideEncryptionRequest;
  fileRetention?: FileRetention;
  legalHold?: LegalHold;
}

export interface GetUploadPartUrlRequest {
  fileId: string;
}

export interface GetUploadPartUrlResponse {
  fileId: string;
  uploadUrl: string;
  authorizationToken: string;
}

export interface FinishLargeFileRequest {
  fileId: string;
  /** Index 0 is part 1. */
  partSha1Array: string[];
}

export interface CancelLargeFileRequest {
  fileId: string;
}

export interface CancelLargeFileResponse {
  accountId: string;
  bucketId: string;
  fileId: string;
  fileName: string;
}

export interface ListUnfinishedLargeFilesRequest {
  bucketId: string;
  namePrefix?: string;
  startFileId?: string;
  maxFileCount?: number;
}

export interface ListUnfinishedLargeFilesResponse {
  files: FileVersion[];
  nextFileId: string | null;
}

export interface ListPartsRequest {
  fileId: string;
  startPartNumber?: number;
  maxPartCount?: number;
}

export interface ListPartsResponse {
  parts: Part[];
  nextPartNumber: number | null;
}

export type MetadataDirective = 'COPY' | 'REPLACE';

export interface CopyFileRequest {
  sourceFileId: string;
  fileName: string;
  destinationBucketId?: string;
  /** `bytes=a-b`, inclusive. */
  range?: string;
  metadataDirective?: MetadataDirective;
  contentType?: string;
  fileInfo?: Record<string, string>;
  fileRetention?: FileRetention;
  legalHold?: LegalHold;
  sourceServerSideEncryption?: ServerSideEncryptionRequest;
  destinationServerSideEncryption?: ServerSideEncryptionRequest;
}

export interface CopyPartRequest {
  sourceFileId: string;
  largeFileId: string;
  partNumber: number;
  range?: string;
  sourceServerSideEncryption?: ServerSideEncryptionRequest;
  destinationServerSideEncryption?: ServerSideEncryptionRequest;
}

// ---------------------------------------------------------------------------------------------
// Listing, info, hide, delete
// ---------------------------------------------------------------------------------------------

export interface ListFileNamesRequest {
  bucketId: string;
  startFileName?: string;
  maxFileCount?: number;
  prefix?: string;
  delimiter?: string;
}

export interface ListFileNamesResponse {
  files: FileVersion[];
  nextFileName: string | null;
}

export interface ListFileVersionsRequest extends ListFileNamesRequest {
  /** Requires `startFileName`. */
  startFileId?: string;
}

export interface ListFileVersionsResponse {
  files: FileVersion[];
  nextFileName: string | null;
  nextFileId: string | null;
}

export interface GetFileInfoRequest {
  fileId: string;
}

export interface HideFileRequest {
  bucketId: string;
  fileName: string;
}

export interface DeleteFileVersionRequest {
  fileId: string;
  fileName: string;
  bypassGovernance?: boolean;
}

export interface DeleteFileVersionResponse {
  fileId: string;
  fileName: string;
}

export interface GetDownloadAuthorizationRequest {
  bucketId: string;
  fileNamePrefix: string;
  /** 1–604800. */
  validDurationInSeconds: number;
  b2ContentDisposition?: string;
  b2ContentLanguage?: string;
  b2Expires?: string;
  b2CacheControl?: string;
  b2ContentEncoding?: string;
  b2ContentType?: string;
}

export interface GetDownloadAuthorizationResponse {
  bucketId: string;
  fileNamePrefix: string;
  authorizationToken: string;
}

export interface UpdateFileRetentionRequest {
  fileId: string;
  fileName: string;
  fileRetention: FileRetention;
  bypassGovernance?: boolean;
}

export interface UpdateFileRetentionResponse {
  fileId: string;
  fileName: string;
  fileRetention: FileRetention;
}

export interface UpdateFileLegalHoldRequest {
  fileId: string;
  fileName: string;
  legalHold: LegalHold;
}

export interface UpdateFileLegalHoldResponse {
  fileId: string;
  fileName: string;
  legalHold: LegalHold;
}
