/**
 * Records the engine keeps (one account per region) and the auth context every engine method
 * takes. Shapes are storage shapes, not wire shapes (except the CORS and replication rules, kept
 * as on the wire): the native layer renders them per API version (docs/b2-api.md §3), the S3 layer
 * renders them as XML.
 */

// Shared with the client through infra/b2/wire/ only: the capability names (docs/b2-api.md §7), and
// the CORS and replication rule shapes, which are stored exactly as on the wire (one definition each).
import { BUCKET_RESTRICTED_CAPABILITIES } from '../../infra/b2/wire/capabilities';
import type { CorsRule, ReplicationConfiguration } from '../../infra/b2/wire/types';

export { ALL_CAPABILITIES } from '../../infra/b2/wire/capabilities';
export type { Capability } from '../../infra/b2/wire/capabilities';
export type { CorsRule, ReplicationConfiguration, ReplicationRule } from '../../infra/b2/wire/types';

/** Capabilities a bucket-restricted key may hold (docs/b2-api.md §4): the wire list. */
export const BUCKET_KEY_CAPABILITIES: ReadonlySet<string> = new Set(BUCKET_RESTRICTED_CAPABILITIES);

export interface KeyRecord {
  applicationKeyId: string;
  /** Kept in clear because S3 SigV4 verification needs the secret (local emulator only). */
  applicationKey: string;
  accountId: string;
  keyName: string;
  capabilities: string[];
  /** null = all buckets; one element for classic bucket keys; several only for v4 multi-bucket keys. */
  bucketIds: string[] | null;
  namePrefix: string | null;
  expirationTimestamp: number | null;
  isMaster: boolean;
  createdAt: number;
}

export interface SseSetting {
  mode: 'SSE-B2' | 'SSE-C';
  algorithm: 'AES256';
  /** SSE-C only: base64 MD5 of the customer key (never the key itself). */
  customerKeyMd5?: string;
}

export interface RetentionPeriod {
  duration: number;
  unit: 'days' | 'years';
}

export interface DefaultRetention {
  mode: 'governance' | 'compliance' | null;
  period: RetentionPeriod | null;
}

export interface FileRetention {
  mode: 'governance' | 'compliance' | null;
  retainUntilTimestamp: number | null;
}

export interface LifecycleRule {
  fileNamePrefix: string;
  daysFromUploadingToHiding: number | null;
  daysFromHidingToDeleting: number | null;
  daysFromStartingToCancelingUnfinishedLargeFiles?: number | null;
}

export interface NotificationRule {
  name: string;
  eventTypes: string[];
  isEnabled: boolean;
  objectNamePrefix: string;
  targetConfiguration: Record<string, unknown>;
  isSuspended?: boolean;
  suspensionReason?: string;
}

export interface BucketRecord {
  bucketId: string;
  accountId: string;
  bucketName: string;
  bucketType: string;
  bucketInfo: Record<string, string>;
  corsRules: CorsRule[];
  lifecycleRules: LifecycleRule[];
  defaultServerSideEncryption: SseSetting | null;
  fileLockEnabled: boolean;
  defaultRetention: DefaultRetention;
  replicationConfiguration: ReplicationConfiguration | null;
  notificationRules: NotificationRule[];
  revision: number;
  options: string[];
  createdAt: number;
}

export type FileAction = 'upload' | 'hide' | 'start';

/** One stored blob that is part of a file's content (large files have one chunk per part). */
export interface Chunk {
  blobId: string;
  /** Byte offset into the blob (copies of a range share the source blob). */
  offset: number;
  size: number;
}

export interface FileRecord {
  fileId: string;
  accountId: string;
  bucketId: string;
  fileName: string;
  action: FileAction;
  /** Monotonic per store: orders versions of one name newest first and pages list_file_versions. */
  seq: number;
  contentLength: number;
  /** 40 hex, `unverified:<hex>` (do_not_verify) or `none` (large files). */
  contentSha1: string;
  contentMd5: string | null;
  contentType: string;
  fileInfo: Record<string, string>;
  uploadTimestamp: number;
  serverSideEncryption: SseSetting | null;
  fileRetention: FileRetention | null;
  legalHold: 'on' | 'off' | null;
  replicationStatus: string | null;
  chunks: Chunk[];
  /** Protocol-private metadata (e.g. the S3 layer's multipart ETag); never rendered by native. */
  extra?: Record<string, unknown>;
}

/** A `folder` entry of a delimiter listing (docs/b2-api.md §2.4); never stored. */
export interface FolderEntry {
  action: 'folder';
  fileName: string;
  bucketId: string;
  accountId: string;
}

export interface PartRecord {
  fileId: string;
  partNumber: number;
  contentLength: number;
  contentSha1: string;
  contentMd5: string;
  uploadTimestamp: number;
  serverSideEncryption: SseSetting | null;
  chunk: Chunk;
}

/**
 * Who is calling: the key behind an account token (or an upload token, or S3 access key).
 * Engine methods check capabilities and bucket/prefix scope against it.
 */
export interface AuthContext {
  accountId: string;
  keyId: string;
  capabilities: ReadonlySet<string>;
  bucketIds: string[] | null;
  namePrefix: string | null;
  isMaster: boolean;
  /**
   * Native API version of the call (1–4). v1 silently filters what a restricted key cannot see
   * where v2+ answer 401. The S3 layer passes 4 (strict behaviour).
   */
  apiVersion: number;
  /** Internal jobs (lifecycle, replication): bypass every check. */
  system?: boolean;
}
