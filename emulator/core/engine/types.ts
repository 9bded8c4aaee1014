/**
 * Input and result shapes of the engine's public methods (what the native and S3 layers pass in
 * and get back). Records themselves are in ../types.ts.
 */
import type { Readable } from 'stream';
import type { Store } from '../../store/types';
import type { Clock } from '../clock';
import type { AuthContext, BucketRecord, FileRecord, FileRetention, FolderEntry } from '../types';

/** SSE requested for a write: SSE-C carries the customer key (checked, never stored). */
export type SseInput = { mode: 'SSE-B2' } | { mode: 'SSE-C'; customerKey: string; customerKeyMd5: string };

/** `sha1` of an upload: 40 hex, `hex_digits_at_end`, `do_not_verify`, or none (S3 sends none). */
export type Sha1Mode = string | undefined;

export interface UploadInput {
  bucketId: string;
  fileName: string;
  /** MIME type or `b2/x-auto`. */
  contentType: string;
  /** Bytes the body will carry (for `hex_digits_at_end`: data + 40); undefined = unknown (S3 streaming). */
  contentLength: number | undefined;
  sha1: Sha1Mode;
  /** Expected MD5 (hex) of the data (S3 Content-MD5): mismatch → 400 `bad_digest`, nothing stored. */
  md5?: string;
  body: AsyncIterable<Buffer>;
  fileInfo: Record<string, string>;
  sse?: SseInput | null;
  fileRetention?: FileRetention | null;
  legalHold?: 'on' | 'off' | null;
  /** Custom upload timestamp (ms), not in the future. */
  uploadTimestamp?: number;
  /** Protocol-private data kept on the record (S3 ETag etc.). */
  extra?: Record<string, unknown>;
}

export interface StartLargeFileInput {
  bucketId: string;
  fileName: string;
  contentType: string;
  fileInfo: Record<string, string>;
  sse?: SseInput | null;
  fileRetention?: FileRetention | null;
  legalHold?: 'on' | 'off' | null;
  extra?: Record<string, unknown>;
}

export interface UploadPartInput {
  fileId: string;
  partNumber: number;
  contentLength: number | undefined;
  sha1: Sha1Mode;
  md5?: string;
  body: AsyncIterable<Buffer>;
  sse?: SseInput | null;
}

export interface CopyFileInput {
  sourceFileId: string;
  fileName: string;
  destinationBucketId?: string;
  range?: string;
  metadataDirective?: 'COPY' | 'REPLACE';
  contentType?: string;
  fileInfo?: Record<string, string>;
  fileRetention?: FileRetention | null;
  legalHold?: 'on' | 'off' | null;
  sourceSse?: SseInput | null;
  destinationSse?: SseInput | null;
  extra?: Record<string, unknown>;
}

export interface CopyPartInput {
  sourceFileId: string;
  largeFileId: string;
  partNumber: number;
  range?: string;
  sourceSse?: SseInput | null;
  destinationSse?: SseInput | null;
}

export interface ListFilesInput {
  bucketId: string;
  startFileName?: string;
  startFileId?: string;
  maxFileCount?: number;
  prefix?: string;
  delimiter?: string;
}

export interface ListFilesResult {
  files: (FileRecord | FolderEntry)[];
  nextFileName: string | null;
  nextFileId: string | null;
}

export interface CreateBucketInput {
  bucketName: string;
  bucketType: string;
  bucketInfo?: Record<string, string>;
  corsRules?: unknown;
  lifecycleRules?: unknown;
  fileLockEnabled?: boolean;
  defaultServerSideEncryption?: unknown;
  defaultRetention?: unknown;
  replicationConfiguration?: unknown;
}

export interface UpdateBucketInput {
  bucketId: string;
  bucketType?: string;
  bucketInfo?: unknown;
  corsRules?: unknown;
  lifecycleRules?: unknown;
  fileLockEnabled?: boolean;
  defaultServerSideEncryption?: unknown;
  defaultRetention?: unknown;
  replicationConfiguration?: unknown;
  ifRevisionIs?: number;
}

export interface CreateKeyInput {
  keyName: string;
  capabilities: string[];
  validDurationInSeconds?: number;
  bucketIds?: string[] | null;
  namePrefix?: string | null;
}

/** Query-string overrides of download response headers (docs/b2-api.md §2.3). */
export interface DownloadOverrides {
  b2ContentDisposition?: string;
  b2ContentLanguage?: string;
  b2Expires?: string;
  b2CacheControl?: string;
  b2ContentEncoding?: string;
  b2ContentType?: string;
}

export interface DownloadTokenRecord {
  accountId: string;
  /** The key that issued it: the authorization dies with the key (deleted or expired). */
  keyId: string;
  bucketId: string;
  fileNamePrefix: string;
  expiresAt: number;
  overrides: DownloadOverrides;
}

/** Who asks for a download: an account token's context, a download token, or nobody (public). */
export type DownloadCredential =
  | { kind: 'account'; auth: AuthContext }
  | { kind: 'download'; token: DownloadTokenRecord }
  | { kind: 'none' };

export interface DownloadPlan {
  file: FileRecord;
  bucket: BucketRecord;
  /** Inclusive byte range served; null = whole file (200). */
  range: { start: number; end: number } | null;
  /** Bytes the response body carries. */
  length: number;
  open(): Readable;
}

export interface EngineOptions {
  region: string;
  store: Store;
  clock: Clock;
  /** Fixed master credentials (B2_LOCAL_KEY_ID / B2_LOCAL_APPLICATION_KEY). */
  masterKeyId?: string;
  masterKey?: string;
  /** Whether a bucket name is taken in ANY account of this emulator (names are global). */
  isBucketNameTaken?: (lowerName: string) => boolean;
}
