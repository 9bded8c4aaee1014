/**
 * The B2 engine of one region (= one account): every B2 rule that does not depend on HTTP.
 * Protocol layers (native JSON, S3 XML) authenticate the caller into an `AuthContext`, call these
 * methods, and render the records they return or the `B2Error` they throw.
 *
 * Rules come from b2-api.md; section numbers are cited where a rule is not obvious.
 */
import { createHash } from 'crypto';
import { Readable } from 'stream';
import type { PendingBlob, Store } from '../store/types';
import { compareUtf8 } from '../store/types';
import type { Clock } from './clock';
import { md5Stream } from './hasher';
import { B2Error, errors } from './errors';
import {
  FILE_ID_RE,
  newAccountId,
  newApplicationKey,
  newBucketId,
  newFileId,
  newKeyId,
  newToken,
} from './ids';
import {
  ALL_CAPABILITIES,
  BUCKET_KEY_CAPABILITIES,
  type AuthContext,
  type BucketRecord,
  type Chunk,
  type DefaultRetention,
  type FileRecord,
  type FileRetention,
  type FolderEntry,
  type KeyRecord,
  type NotificationRule,
  type PartRecord,
  type ReplicationConfiguration,
  type SseSetting,
} from './types';
import * as v from './validate';

const DAY_MS = 86_400_000;
/** Account authorization tokens and upload tokens live at most 24 h (b2-api.md §1.4). */
export const TOKEN_TTL_MS = DAY_MS;
/** Most live tokens of each kind kept in memory (see `prune`). */
const MAX_TOKENS = 50_000;

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

/** Query-string overrides of download response headers (b2-api.md §2.3). */
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

interface TokenRecord {
  keyId: string;
  expiresAt: number;
}

interface UploadTokenRecord {
  keyId: string;
  auth: AuthContext;
  bucketId: string;
  /** Set for part-upload tokens. */
  fileId: string | null;
  expiresAt: number;
  busy: boolean;
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

const SYSTEM_AUTH = (accountId: string): AuthContext => ({
  accountId,
  keyId: 'system',
  capabilities: new Set(ALL_CAPABILITIES),
  bucketIds: null,
  namePrefix: null,
  isMaster: true,
  apiVersion: 4,
  system: true,
});

export class Engine {
  readonly region: string;
  readonly accountId: string;
  readonly store: Store;
  readonly clock: Clock;
  private master: KeyRecord;
  private tokens = new Map<string, TokenRecord>();
  private uploadTokens = new Map<string, UploadTokenRecord>();
  private downloadTokens = new Map<string, DownloadTokenRecord>();
  private readonly isBucketNameTaken: (lowerName: string) => boolean;

  constructor(opts: EngineOptions) {
    this.region = opts.region;
    this.store = opts.store;
    this.clock = opts.clock;
    this.isBucketNameTaken = opts.isBucketNameTaken ?? ((n) => this.hasBucketNamed(n));
    let accountId = this.store.getMeta('accountId');
    if (!accountId) {
      accountId = newAccountId();
      this.store.setMeta('accountId', accountId);
    }
    this.accountId = accountId;
    const stored = this.store.getMeta('masterKey');
    const prev = stored ? (JSON.parse(stored) as { id: string; key: string }) : null;
    const id = opts.masterKeyId ?? prev?.id ?? accountId;
    const key = opts.masterKey ?? prev?.key ?? newApplicationKey();
    if (!prev || prev.id !== id || prev.key !== key)
      this.store.setMeta('masterKey', JSON.stringify({ id, key }));
    this.master = {
      applicationKeyId: id,
      applicationKey: key,
      accountId,
      keyName: 'master',
      capabilities: [...ALL_CAPABILITIES],
      bucketIds: null,
      namePrefix: null,
      expirationTimestamp: null,
      isMaster: true,
      createdAt: 0,
    };
  }

  /** Master credentials for the ready line. */
  masterCredentials(): { keyId: string; applicationKey: string } {
    return { keyId: this.master.applicationKeyId, applicationKey: this.master.applicationKey };
  }

  /** True if this account owns a bucket with this (lower-cased) name. */
  hasBucketNamed(lowerName: string): boolean {
    return this.store.listBuckets().some((b) => b.bucketName.toLowerCase() === lowerName);
  }

  // ---------------------------------------------------------------- keys & authorization

  /** The key with this id (the master key also under the account id), if it exists. */
  findKey(keyId: string): KeyRecord | undefined {
    if (keyId === this.master.applicationKeyId || keyId === this.accountId) return { ...this.master };
    return this.store.getKey(keyId);
  }

  authContextForKey(key: KeyRecord, apiVersion: number): AuthContext {
    return {
      accountId: this.accountId,
      keyId: key.applicationKeyId,
      capabilities: new Set(key.capabilities),
      bucketIds: key.bucketIds,
      namePrefix: key.namePrefix,
      isMaster: key.isMaster,
      apiVersion,
    };
  }

  /** An all-powerful context for the emulator's own jobs (lifecycle, replication). */
  systemAuth(): AuthContext {
    return SYSTEM_AUTH(this.accountId);
  }

  /** Key check for S3 SigV4 and native authorize: the key if id+secret match and it is live. */
  verifyKey(keyId: string, secret: string): KeyRecord {
    const key = this.findKey(keyId);
    if (!key || key.applicationKey !== secret) throw errors.unauthorized('Invalid application key id or key');
    if (key.expirationTimestamp !== null && key.expirationTimestamp <= this.clock.now())
      throw errors.unauthorized('The application key has expired');
    return key;
  }

  /** b2_authorize_account: a 24 h token for the key. Multi-bucket keys only on v4. */
  authorize(
    keyId: string,
    secret: string,
    apiVersion: number,
  ): { token: string; key: KeyRecord; expiresAt: number } {
    const key = this.verifyKey(keyId, secret);
    if (key.bucketIds && key.bucketIds.length > 1 && apiVersion < 4)
      throw errors.unsupported(
        'This application key has access to several buckets; use b2api/v4 to authorize it',
      );
    const token = newToken('4', this.accountId);
    let expiresAt = this.clock.now() + TOKEN_TTL_MS;
    if (key.expirationTimestamp !== null) expiresAt = Math.min(expiresAt, key.expirationTimestamp);
    this.tokens.set(token, { keyId: key.applicationKeyId, expiresAt });
    this.prune(this.tokens);
    return { token, key, expiresAt };
  }

  /** The context behind an account authorization token. */
  authenticate(token: string, apiVersion: number): AuthContext {
    const rec = this.tokens.get(token);
    if (!rec) throw errors.badAuthToken();
    if (rec.expiresAt <= this.clock.now()) throw errors.expiredAuthToken();
    const key = this.findKey(rec.keyId);
    if (!key) throw errors.badAuthToken('The application key behind this token was deleted');
    return this.authContextForKey(key, apiVersion);
  }

  /** Invalidate every account token (tests: `X-Bz-Test-Mode: expire_some_account_authorization_tokens`). */
  expireToken(token: string): void {
    const rec = this.tokens.get(token);
    if (rec) rec.expiresAt = 0;
  }

  /** Test-mode helper: whether the token is an account token. */
  isAccountToken(token: string): boolean {
    return this.tokens.has(token);
  }

  createKey(auth: AuthContext, input: CreateKeyInput): KeyRecord {
    requireCap(auth, 'writeKeys');
    if (typeof input.keyName !== 'string' || !/^[A-Za-z0-9-]{1,100}$/.test(input.keyName))
      throw errors.badRequest('Invalid keyName: 1-100 letters, digits or "-"');
    if (!Array.isArray(input.capabilities) || input.capabilities.length === 0)
      throw errors.badRequest('capabilities must be a non-empty array');
    const known = new Set<string>(ALL_CAPABILITIES);
    for (const c of input.capabilities) {
      if (typeof c !== 'string' || !known.has(c))
        throw errors.badRequest(`capabilities: unknown capability "${String(c)}"`);
      if (!auth.capabilities.has(c))
        throw errors.unauthorized(`the calling key lacks capability "${c}" so cannot grant it`);
    }
    const bucketIds = input.bucketIds && input.bucketIds.length ? [...new Set(input.bucketIds)] : null;
    if (bucketIds) {
      if (bucketIds.length > 100) throw errors.badRequest('bucketIds: at most 100 buckets per key');
      for (const id of bucketIds) {
        if (typeof id !== 'string' || !this.store.getBucket(id)) throw errors.badBucketId(String(id));
        requireBucketScope(auth, id);
      }
      for (const c of input.capabilities)
        if (!BUCKET_KEY_CAPABILITIES.has(c))
          throw errors.badRequest(`capabilities: "${c}" is not allowed for a bucket-restricted key`);
    } else if (auth.bucketIds) {
      throw errors.unauthorized('a bucket-restricted key cannot create an unrestricted key');
    }
    let expirationTimestamp: number | null = null;
    if (input.validDurationInSeconds !== undefined && input.validDurationInSeconds !== null) {
      const d = input.validDurationInSeconds;
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 86_400_000)
        throw errors.badRequest('validDurationInSeconds must be an integer 1-86400000 (1000 days)');
      expirationTimestamp = this.clock.now() + d * 1000;
    }
    const namePrefix = input.namePrefix ?? null;
    if (namePrefix !== null && typeof namePrefix !== 'string')
      throw errors.badRequest('namePrefix must be a string');
    const counter = Number(this.store.getMeta('keyCounter') ?? '0') + 1;
    this.store.setMeta('keyCounter', String(counter));
    const key: KeyRecord = {
      applicationKeyId: newKeyId(this.accountId, counter),
      applicationKey: newApplicationKey(),
      accountId: this.accountId,
      keyName: input.keyName,
      capabilities: [...input.capabilities],
      bucketIds,
      namePrefix: namePrefix === '' ? null : namePrefix,
      expirationTimestamp,
      isMaster: false,
      createdAt: this.clock.now(),
    };
    this.store.putKey(key);
    return key;
  }

  deleteKey(auth: AuthContext, applicationKeyId: string): KeyRecord {
    requireCap(auth, 'deleteKeys');
    const key = this.store.getKey(applicationKeyId);
    if (!key) throw errors.badRequest(`applicationKeyId ${applicationKeyId} does not exist`);
    this.store.deleteKey(applicationKeyId);
    for (const [t, rec] of this.tokens) if (rec.keyId === applicationKeyId) this.tokens.delete(t);
    return key;
  }

  /**
   * b2_list_keys. v1–v3 cannot represent multi-bucket keys, so they are left out there; v4 lists
   * every key (deviation from the docs' "v4 lists only multi-bucket keys", which would hide every
   * classic key from v4 clients).
   */
  listKeys(
    auth: AuthContext,
    opts: { maxKeyCount?: number; startApplicationKeyId?: string },
  ): { keys: KeyRecord[]; nextApplicationKeyId: string | null } {
    requireCap(auth, 'listKeys');
    const max = opts.maxKeyCount ?? 100;
    if (!Number.isInteger(max) || max < 1 || max > 10000)
      throw errors.badRequest('maxKeyCount must be 1-10000');
    const all = this.store
      .listKeys(opts.startApplicationKeyId ?? null, Number.MAX_SAFE_INTEGER)
      .filter((k) => auth.apiVersion >= 4 || !(k.bucketIds && k.bucketIds.length > 1));
    const keys = all.slice(0, max);
    return { keys, nextApplicationKeyId: all.length > max ? all[max]!.applicationKeyId : null };
  }

  /**
   * Bound the in-memory token tables of a long-running emulator: past MAX_TOKENS, drop expired
   * tokens, then the oldest idle ones (a dropped token answers 401 and clients re-authorize).
   */
  private prune<T extends { expiresAt: number; busy?: boolean }>(table: Map<string, T>): void {
    if (table.size < MAX_TOKENS) return;
    const now = this.clock.now();
    for (const [t, rec] of table) if (rec.expiresAt <= now && !rec.busy) table.delete(t);
    for (const [t, rec] of table) {
      if (table.size < MAX_TOKENS * 0.9) break;
      if (!rec.busy) table.delete(t);
    }
  }

  // ---------------------------------------------------------------- buckets

  /** A bucket of this account the caller may address, else the given "missing" error. */
  bucketFor(
    auth: AuthContext,
    bucketId: unknown,
    missing: (id: string) => B2Error = errors.badBucketId,
  ): BucketRecord {
    if (typeof bucketId !== 'string' || !bucketId) throw errors.badRequest('bucketId is required');
    requireBucketScope(auth, bucketId);
    const b = this.store.getBucket(bucketId);
    if (!b) throw missing(bucketId);
    return b;
  }

  getBucketByName(name: string): BucketRecord | undefined {
    return this.store.getBucketByName(name);
  }

  createBucket(auth: AuthContext, input: CreateBucketInput): BucketRecord {
    requireCap(auth, 'writeBuckets');
    if (auth.bucketIds) throw errors.unauthorized('a bucket-restricted key cannot create buckets');
    const name = v.validateBucketName(input.bucketName);
    const bucketType = v.validateBucketType(input.bucketType);
    if (this.store.listBuckets().length >= v.MAX_BUCKETS)
      throw new B2Error(400, 'too_many_buckets', `Account already has ${v.MAX_BUCKETS} buckets`);
    if (this.isBucketNameTaken(name.toLowerCase()))
      throw new B2Error(400, 'duplicate_bucket_name', 'Bucket name is already in use.');
    const now = this.clock.now();
    const bucket: BucketRecord = {
      bucketId: newBucketId(),
      accountId: this.accountId,
      bucketName: name,
      bucketType,
      bucketInfo: input.bucketInfo === undefined ? {} : v.validateBucketInfo(input.bucketInfo),
      corsRules:
        input.corsRules === undefined || input.corsRules === null ? [] : v.validateCorsRules(input.corsRules),
      lifecycleRules:
        input.lifecycleRules === undefined || input.lifecycleRules === null
          ? []
          : v.validateLifecycleRules(input.lifecycleRules),
      defaultServerSideEncryption: null,
      fileLockEnabled: false,
      defaultRetention: { mode: null, period: null },
      replicationConfiguration: null,
      notificationRules: [],
      revision: 2, // a fresh bucket already reports revision 2 [wire]
      options: ['s3'],
      createdAt: now,
    };
    this.applyGuardedSettings(auth, bucket, input, true);
    this.store.putBucket(bucket);
    return bucket;
  }

  /** SSE, Object Lock and replication settings, each behind its own capability. */
  private applyGuardedSettings(
    auth: AuthContext,
    bucket: BucketRecord,
    input: CreateBucketInput | UpdateBucketInput,
    creating: boolean,
  ): void {
    if (input.defaultServerSideEncryption !== undefined) {
      requireCap(auth, 'writeBucketEncryption');
      bucket.defaultServerSideEncryption = v.validateDefaultSse(input.defaultServerSideEncryption);
    }
    if (input.replicationConfiguration !== undefined) {
      requireCap(auth, 'writeBucketReplications');
      const cfg = v.validateReplication(input.replicationConfiguration);
      if (cfg) this.checkReplicationKeys(cfg);
      bucket.replicationConfiguration = cfg;
    }
    if (input.fileLockEnabled !== undefined) {
      if (typeof input.fileLockEnabled !== 'boolean')
        throw errors.badRequest('fileLockEnabled must be a boolean');
      requireCap(auth, 'writeBucketRetentions');
      if (!input.fileLockEnabled && bucket.fileLockEnabled)
        throw new B2Error(400, 'file_lock_conflict', 'Object Lock cannot be disabled once enabled');
      if (input.fileLockEnabled && !bucket.fileLockEnabled) {
        if (bucket.replicationConfiguration?.asReplicationSource && !creating)
          throw new B2Error(
            400,
            'source_replication_conflict',
            'Object Lock cannot be enabled on a replication source bucket',
          );
        bucket.fileLockEnabled = true;
      }
    }
    if (input.defaultRetention !== undefined) {
      requireCap(auth, 'writeBucketRetentions');
      const r: DefaultRetention = v.validateDefaultRetention(input.defaultRetention);
      if (r.mode && !bucket.fileLockEnabled)
        throw new B2Error(
          400,
          'bucket_missing_file_lock',
          'defaultRetention needs a bucket with Object Lock enabled',
        );
      bucket.defaultRetention = r;
    }
  }

  private checkReplicationKeys(cfg: ReplicationConfiguration): void {
    const src = cfg.asReplicationSource;
    if (src && !this.findKey(src.sourceApplicationKeyId))
      throw errors.badRequest(
        `replicationConfiguration.asReplicationSource.sourceApplicationKeyId ${src.sourceApplicationKeyId} does not exist`,
      );
    const dst = cfg.asReplicationDestination;
    if (dst)
      for (const [s, d] of Object.entries(dst.sourceToDestinationKeyMapping))
        if (!this.findKey(d))
          throw errors.badRequest(
            `replicationConfiguration.asReplicationDestination: destination key ${d} (for ${s}) does not exist`,
          );
  }

  updateBucket(auth: AuthContext, input: UpdateBucketInput): BucketRecord {
    const bucket = this.bucketFor(auth, input.bucketId);
    if (input.ifRevisionIs !== undefined && input.ifRevisionIs !== null) {
      if (!Number.isInteger(input.ifRevisionIs)) throw errors.badRequest('ifRevisionIs must be an integer');
      if (input.ifRevisionIs !== bucket.revision) throw errors.conflict();
    }
    const plain =
      input.bucketType !== undefined ||
      input.bucketInfo !== undefined ||
      input.corsRules !== undefined ||
      input.lifecycleRules !== undefined;
    if (plain) {
      requireCap(auth, 'writeBuckets');
      if (auth.bucketIds) throw errors.unauthorized('a bucket-restricted key cannot change bucket settings');
    }
    if (input.bucketType !== undefined) bucket.bucketType = v.validateBucketType(input.bucketType);
    if (input.bucketInfo !== undefined) bucket.bucketInfo = v.validateBucketInfo(input.bucketInfo);
    if (input.corsRules !== undefined) bucket.corsRules = v.validateCorsRules(input.corsRules);
    if (input.lifecycleRules !== undefined)
      bucket.lifecycleRules = v.validateLifecycleRules(input.lifecycleRules);
    this.applyGuardedSettings(auth, bucket, input, false);
    bucket.revision += 1;
    this.store.putBucket(bucket);
    return bucket;
  }

  deleteBucket(auth: AuthContext, bucketId: string): BucketRecord {
    requireCap(auth, 'deleteBuckets');
    if (auth.bucketIds) throw errors.unauthorized('a bucket-restricted key cannot delete buckets');
    const bucket = this.bucketFor(auth, bucketId);
    if (this.store.bucketHasFiles(bucketId))
      throw new B2Error(400, 'cannot_delete_non_empty_bucket', `Bucket ${bucket.bucketName} is not empty`);
    this.store.deleteBucket(bucketId);
    return bucket;
  }

  /** b2_list_buckets with B2's rules for restricted keys and `bucketTypes` (b2-api.md §2). */
  listBuckets(
    auth: AuthContext,
    filter: { bucketId?: string; bucketName?: string; bucketTypes?: unknown },
  ): BucketRecord[] {
    requireCap(auth, 'listBuckets');
    const types = parseBucketTypes(filter.bucketTypes);
    const named = filter.bucketId !== undefined || filter.bucketName !== undefined;
    if (auth.bucketIds && !named && auth.apiVersion >= 2 && auth.bucketIds.length === 1)
      throw errors.unauthorized(
        'a bucket-restricted key must name its bucket (bucketId or bucketName) to list buckets',
      );
    let buckets = this.store.listBuckets();
    if (filter.bucketId !== undefined) buckets = buckets.filter((b) => b.bucketId === filter.bucketId);
    if (filter.bucketName !== undefined) buckets = buckets.filter((b) => b.bucketName === filter.bucketName);
    if (auth.bucketIds) {
      const allowed = auth.bucketIds;
      if (named && auth.apiVersion >= 2) {
        for (const b of buckets)
          if (!allowed.includes(b.bucketId)) throw errors.unauthorized("bucket is outside the key's scope");
        if (filter.bucketId !== undefined && !allowed.includes(filter.bucketId))
          throw errors.unauthorized("bucket is outside the key's scope");
      }
      buckets = buckets.filter((b) => allowed.includes(b.bucketId));
    }
    if (types) buckets = buckets.filter((b) => types.has(b.bucketType));
    return buckets.sort((a, b) => compareUtf8(a.bucketName, b.bucketName));
  }

  /** Whether guarded bucket settings are visible to this caller (else `{isClientAuthorizedToRead:false}`). */
  canRead(auth: AuthContext, capability: string): boolean {
    return auth.system === true || auth.capabilities.has(capability);
  }

  getNotificationRules(auth: AuthContext, bucketId: string): NotificationRule[] {
    requireCap(auth, 'readBucketNotifications');
    return this.bucketFor(auth, bucketId).notificationRules;
  }

  setNotificationRules(auth: AuthContext, bucketId: string, rules: unknown): NotificationRule[] {
    requireCap(auth, 'writeBucketNotifications');
    const bucket = this.bucketFor(auth, bucketId);
    bucket.notificationRules = validateNotificationRules(rules);
    bucket.revision += 1;
    this.store.putBucket(bucket);
    return bucket.notificationRules;
  }

  // ---------------------------------------------------------------- files: helpers

  /** A file version the caller may address (bucket scope + name prefix). */
  fileFor(
    auth: AuthContext,
    fileId: unknown,
    missing: (id: string) => B2Error = errors.notFound.bind(null, 'File not found'),
  ): FileRecord {
    if (typeof fileId !== 'string' || !fileId) throw errors.badRequest('fileId is required');
    if (!FILE_ID_RE.test(fileId)) throw errors.badFileId(fileId);
    // file ids embed their bucket id: refuse other buckets before saying whether the file exists
    requireBucketScope(auth, fileId.slice(3, 27));
    const f = this.store.getFile(fileId);
    if (!f) throw missing(fileId);
    requireBucketScope(auth, f.bucketId);
    requireNameScope(auth, f.fileName);
    return f;
  }

  private newVersion(
    bucket: BucketRecord,
    fileName: string,
    action: FileRecord['action'],
    now: number,
  ): FileRecord {
    const seq = this.store.nextSeq();
    return {
      fileId: newFileId(bucket.bucketId, now, seq),
      accountId: this.accountId,
      bucketId: bucket.bucketId,
      fileName,
      action,
      seq,
      contentLength: 0,
      contentSha1: 'none',
      contentMd5: null,
      contentType: 'application/octet-stream',
      fileInfo: {},
      uploadTimestamp: now,
      serverSideEncryption: null,
      fileRetention: null,
      legalHold: null,
      replicationStatus: null,
      chunks: [],
    };
  }

  /** SSE of a new file: explicit setting, else the bucket default. */
  private resolveSse(bucket: BucketRecord, sse: SseInput | null | undefined): SseSetting | null {
    if (sse?.mode === 'SSE-C') {
      checkSseCKey(sse);
      return { mode: 'SSE-C', algorithm: 'AES256', customerKeyMd5: sse.customerKeyMd5 };
    }
    if (sse?.mode === 'SSE-B2') return { mode: 'SSE-B2', algorithm: 'AES256' };
    return bucket.defaultServerSideEncryption ? { ...bucket.defaultServerSideEncryption } : null;
  }

  /** Object Lock settings of a new file: explicit (needs capability + lock bucket), else the default. */
  private resolveLock(
    auth: AuthContext,
    bucket: BucketRecord,
    retention: FileRetention | null | undefined,
    legalHold: 'on' | 'off' | null | undefined,
    now: number,
  ): { fileRetention: FileRetention | null; legalHold: 'on' | 'off' | null } {
    if ((retention && retention.mode) || legalHold) {
      if (!bucket.fileLockEnabled)
        throw new B2Error(
          400,
          'bucket_missing_file_lock',
          `Bucket ${bucket.bucketName} does not have Object Lock enabled`,
        );
    }
    if (retention && retention.mode) requireCap(auth, 'writeFileRetentions');
    if (legalHold) requireCap(auth, 'writeFileLegalHolds');
    let fileRetention: FileRetention | null = retention && retention.mode ? retention : null;
    if (
      !fileRetention &&
      bucket.fileLockEnabled &&
      bucket.defaultRetention.mode &&
      bucket.defaultRetention.period
    ) {
      const p = bucket.defaultRetention.period;
      const days = p.unit === 'years' ? p.duration * 365 : p.duration;
      fileRetention = { mode: bucket.defaultRetention.mode, retainUntilTimestamp: now + days * DAY_MS };
    }
    if (!fileRetention && bucket.fileLockEnabled) fileRetention = { mode: null, retainUntilTimestamp: null };
    return { fileRetention, legalHold: legalHold ?? (bucket.fileLockEnabled ? 'off' : null) };
  }

  /** `PENDING` when an enabled replication rule of the bucket covers the name (jobs use upper case). */
  private replicationStatusFor(
    bucket: BucketRecord,
    fileName: string,
    sse: SseSetting | null,
  ): string | null {
    const rules = bucket.replicationConfiguration?.asReplicationSource?.replicationRules ?? [];
    if (sse?.mode === 'SSE-C') return null;
    return rules.some((r) => r.isEnabled && fileName.startsWith(r.fileNamePrefix)) ? 'PENDING' : null;
  }

  private checkWrite(
    auth: AuthContext,
    bucketId: string,
    fileName: unknown,
  ): { bucket: BucketRecord; fileName: string } {
    requireCap(auth, 'writeFiles');
    const bucket = this.bucketFor(auth, bucketId);
    const name = v.validateFileName(fileName);
    requireNameScope(auth, name);
    return { bucket, fileName: name };
  }

  /**
   * Stream a body into a pending blob while hashing it. `hex_digits_at_end` withholds the
   * trailing 40 hex characters from the data; the caller verifies and commits.
   */
  private async ingest(
    body: AsyncIterable<Buffer>,
    declaredLength: number | undefined,
    sha1Mode: Sha1Mode,
    maxLength: number,
  ): Promise<{
    blob: PendingBlob;
    sha1: string;
    md5: string;
    trailer: string | null;
  }> {
    const sha = createHash('sha1');
    const md5 = md5Stream();
    const atEnd = sha1Mode === 'hex_digits_at_end';
    let received = 0;
    let tail = Buffer.alloc(0);
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const raw of body) {
        const c = raw as Buffer;
        received += c.length;
        if (declaredLength !== undefined && received > declaredLength)
          throw errors.badRequest(`body is longer than Content-Length ${declaredLength}`);
        if (received > maxLength + (atEnd ? 40 : 0))
          throw errors.badRequest(`body is larger than the ${maxLength}-byte limit`);
        let out: Buffer;
        if (!atEnd) out = c;
        else if (c.length >= 40) {
          out = tail.length
            ? Buffer.concat([tail, c.subarray(0, c.length - 40)])
            : c.subarray(0, c.length - 40);
          tail = Buffer.from(c.subarray(c.length - 40));
        } else {
          const all = Buffer.concat([tail, c]);
          out = all.subarray(0, Math.max(0, all.length - 40));
          tail = Buffer.from(all.subarray(Math.max(0, all.length - 40)));
        }
        if (out.length) {
          sha.update(out);
          const wait = md5.update(out);
          if (wait) await wait;
          yield out;
        }
      }
    }
    let blob: PendingBlob;
    try {
      blob = await this.store.writeBlob(hashed());
    } catch (e) {
      md5.abort();
      throw e;
    }
    if (declaredLength !== undefined && received !== declaredLength) {
      md5.abort();
      await blob.abort();
      throw errors.badRequest(`Content-Length is ${declaredLength} but ${received} bytes were received`);
    }
    return {
      blob,
      sha1: sha.digest('hex'),
      md5: await md5.digest(),
      trailer: atEnd ? tail.toString('latin1') : null,
    };
  }

  /** Verify the SHA-1 of ingested data against the client's claim; returns the stored value. */
  private async verifySha1(
    got: { blob: PendingBlob; sha1: string; md5: string; trailer: string | null },
    mode: Sha1Mode,
    md5?: string,
  ): Promise<string> {
    if (md5 !== undefined && md5.toLowerCase() !== got.md5) {
      await got.blob.abort();
      throw new B2Error(400, 'bad_digest', `Content-MD5 did not match data received (computed ${got.md5})`);
    }
    let expected: string | null;
    if (mode === undefined) expected = null;
    else if (mode === 'do_not_verify') expected = null;
    else if (mode === 'hex_digits_at_end') expected = (got.trailer ?? '').toLowerCase();
    else expected = mode.toLowerCase();
    if (expected !== null && expected !== got.sha1) {
      await got.blob.abort();
      throw errors.badRequest(
        `Sha1 did not match data received (expected ${expected}, computed ${got.sha1})`,
      );
    }
    return mode === 'do_not_verify' ? `unverified:${got.sha1}` : got.sha1;
  }

  private static checkSha1Header(mode: Sha1Mode, field: string): void {
    if (mode === undefined || mode === 'hex_digits_at_end' || mode === 'do_not_verify') return;
    if (!/^[0-9a-fA-F]{40}$/.test(mode))
      throw errors.badRequest(`${field} must be 40 hex digits, "hex_digits_at_end" or "do_not_verify"`);
  }

  // ---------------------------------------------------------------- uploads

  getUploadUrl(auth: AuthContext, bucketId: string): { token: string; bucketId: string } {
    requireCap(auth, 'writeFiles');
    this.bucketFor(auth, bucketId);
    const token = newToken('4', this.accountId) + '_upload';
    this.prune(this.uploadTokens);
    this.uploadTokens.set(token, {
      keyId: auth.keyId,
      auth,
      bucketId,
      fileId: null,
      expiresAt: this.clock.now() + TOKEN_TTL_MS,
      busy: false,
    });
    return { token, bucketId };
  }

  getUploadPartUrl(auth: AuthContext, fileId: string): { token: string; fileId: string } {
    requireCap(auth, 'writeFiles');
    const f = this.startedFile(auth, fileId);
    const token = newToken('4', this.accountId) + '_part';
    this.prune(this.uploadTokens);
    this.uploadTokens.set(token, {
      keyId: auth.keyId,
      auth,
      bucketId: f.bucketId,
      fileId,
      expiresAt: this.clock.now() + TOKEN_TTL_MS,
      busy: false,
    });
    return { token, fileId };
  }

  /**
   * Claim an upload token for one upload (B2 allows one at a time per token: 400
   * `auth_token_limit`). Call the returned `release` when the upload ends, success or not.
   */
  claimUploadToken(
    token: string | undefined,
    kind: 'file' | 'part',
  ): { auth: AuthContext; bucketId: string; fileId: string | null; release(): void } {
    if (!token) throw errors.missingAuthToken();
    const rec = this.uploadTokens.get(token);
    if (!rec) {
      if (this.tokens.has(token))
        throw errors.badAuthToken(
          'Use the authorizationToken returned with the upload URL, not the account token',
        );
      throw errors.badAuthToken('Invalid upload authorization token');
    }
    if ((kind === 'part') !== (rec.fileId !== null))
      throw errors.badAuthToken(`This token is for ${rec.fileId ? 'b2_upload_part' : 'b2_upload_file'}`);
    if (rec.expiresAt <= this.clock.now()) throw errors.expiredAuthToken();
    if (!this.findKey(rec.keyId))
      throw errors.badAuthToken('The application key behind this token was deleted');
    if (rec.busy)
      throw new B2Error(400, 'auth_token_limit', `more than one upload using auth token ${token}`);
    rec.busy = true;
    return { auth: rec.auth, bucketId: rec.bucketId, fileId: rec.fileId, release: () => (rec.busy = false) };
  }

  /** Check everything that does not need the body, so a refused upload fails before streaming. */
  precheckUpload(auth: AuthContext, input: Omit<UploadInput, 'body'>): void {
    const { bucket, fileName } = this.checkWrite(auth, input.bucketId, input.fileName);
    Engine.checkSha1Header(input.sha1, 'X-Bz-Content-Sha1');
    const cl = input.contentLength ?? 0; // unknown length (S3 streaming): checked while streaming
    const dataLength = input.sha1 === 'hex_digits_at_end' ? cl - 40 : cl;
    if (!Number.isInteger(cl) || dataLength < 0)
      throw errors.badRequest(
        'Content-Length is required and must cover the data (plus 40 with hex_digits_at_end)',
      );
    if (dataLength > v.MAX_SIMPLE_UPLOAD)
      throw errors.badRequest(
        `Content-Length ${dataLength} exceeds the ${v.MAX_SIMPLE_UPLOAD}-byte limit of a simple upload; use a large file`,
      );
    v.validateContentType(input.contentType);
    const info = v.validateFileInfo(input.fileInfo, 'X-Bz-Info');
    v.checkHeaderBudget(fileName, info, !!input.sse || bucket.fileLockEnabled);
    if (input.uploadTimestamp !== undefined && input.uploadTimestamp > this.clock.now())
      throw errors.badRequest('X-Bz-Custom-Upload-Timestamp must not be in the future');
    if (input.sse?.mode === 'SSE-C') checkSseCKey(input.sse);
    this.resolveLock(auth, bucket, input.fileRetention, input.legalHold, this.clock.now());
  }

  async uploadFile(auth: AuthContext, input: UploadInput): Promise<FileRecord> {
    this.precheckUpload(auth, input);
    const got = await this.ingest(input.body, input.contentLength, input.sha1, v.MAX_SIMPLE_UPLOAD);
    const sha1 = await this.verifySha1(got, input.sha1, input.md5);
    // the bucket may have gone while the body streamed
    const bucket = this.store.getBucket(input.bucketId);
    if (!bucket) {
      await got.blob.abort();
      throw errors.badBucketId(input.bucketId);
    }
    // an empty file references no blob: drop the empty one instead of leaving it unreferenced
    if (got.blob.size) await got.blob.commit();
    else await got.blob.abort();
    const now = this.clock.now();
    const f = this.newVersion(bucket, input.fileName, 'upload', now);
    const sse = this.resolveSse(bucket, input.sse);
    Object.assign(f, this.resolveLock(auth, bucket, input.fileRetention, input.legalHold, now));
    f.uploadTimestamp = input.uploadTimestamp ?? now;
    f.contentLength = got.blob.size;
    f.contentSha1 = sha1;
    f.contentMd5 = got.md5;
    f.contentType = v.resolveContentType(v.validateContentType(input.contentType), input.fileName);
    f.fileInfo = v.validateFileInfo(input.fileInfo, 'X-Bz-Info');
    f.serverSideEncryption = sse;
    f.replicationStatus = this.replicationStatusFor(bucket, input.fileName, sse);
    f.chunks = got.blob.size ? [{ blobId: got.blob.blobId, offset: 0, size: got.blob.size }] : [];
    if (input.extra) f.extra = input.extra;
    this.store.putFile(f);
    return f;
  }

  startLargeFile(auth: AuthContext, input: StartLargeFileInput): FileRecord {
    const { bucket, fileName } = this.checkWrite(auth, input.bucketId, input.fileName);
    const ct = v.validateContentType(input.contentType);
    const info = v.validateFileInfo(input.fileInfo);
    v.checkHeaderBudget(fileName, info, !!input.sse || bucket.fileLockEnabled);
    const now = this.clock.now();
    const f = this.newVersion(bucket, fileName, 'start', now);
    Object.assign(f, this.resolveLock(auth, bucket, input.fileRetention, input.legalHold, now));
    f.contentType = v.resolveContentType(ct, fileName);
    f.fileInfo = info;
    f.serverSideEncryption = this.resolveSse(bucket, input.sse);
    if (input.extra) f.extra = input.extra;
    this.store.putFile(f);
    return f;
  }

  /** An unfinished large file the caller may address. */
  private startedFile(auth: AuthContext, fileId: unknown): FileRecord {
    if (typeof fileId !== 'string' || !fileId) throw errors.badRequest('fileId is required');
    if (!FILE_ID_RE.test(fileId)) throw errors.badFileId(fileId);
    const f = this.store.getFile(fileId);
    if (!f || f.action !== 'start') throw errors.badRequest(`No active upload for: ${fileId}`);
    requireBucketScope(auth, f.bucketId);
    requireNameScope(auth, f.fileName);
    return f;
  }

  precheckUploadPart(auth: AuthContext, input: Omit<UploadPartInput, 'body'>): FileRecord {
    requireCap(auth, 'writeFiles');
    const f = this.startedFile(auth, input.fileId);
    if (!Number.isInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > v.MAX_PART_NUMBER)
      throw errors.badRequest(`X-Bz-Part-Number must be an integer 1-${v.MAX_PART_NUMBER}`);
    Engine.checkSha1Header(input.sha1, 'X-Bz-Content-Sha1');
    const cl = input.contentLength ?? 0; // unknown length (S3 streaming): checked while streaming
    const dataLength = input.sha1 === 'hex_digits_at_end' ? cl - 40 : cl;
    if (!Number.isInteger(cl) || dataLength < 0) throw errors.badRequest('Content-Length is required');
    if (dataLength > v.MAX_PART_SIZE)
      throw errors.badRequest(`part is ${dataLength} bytes; at most ${v.MAX_PART_SIZE} are allowed`);
    this.checkPartSse(f, input.sse);
    return f;
  }

  private checkPartSse(f: FileRecord, sse: SseInput | null | undefined): void {
    if (f.serverSideEncryption?.mode === 'SSE-C') {
      if (sse?.mode !== 'SSE-C')
        throw errors.badRequest('this large file uses SSE-C: send the SSE-C headers with every part');
      checkSseCKey(sse);
      if (sse.customerKeyMd5 !== f.serverSideEncryption.customerKeyMd5)
        throw errors.badRequest('the SSE-C key does not match the one the large file was started with');
    }
  }

  async uploadPart(auth: AuthContext, input: UploadPartInput): Promise<PartRecord> {
    const f = this.precheckUploadPart(auth, input);
    const got = await this.ingest(input.body, input.contentLength, input.sha1, v.MAX_PART_SIZE);
    const sha1 = await this.verifySha1(got, input.sha1, input.md5);
    if (!this.store.getFile(f.fileId)) {
      await got.blob.abort();
      throw errors.badRequest(`No active upload for: ${f.fileId}`);
    }
    await got.blob.commit();
    const part: PartRecord = {
      fileId: f.fileId,
      partNumber: input.partNumber,
      contentLength: got.blob.size,
      contentSha1: sha1.replace(/^unverified:/, ''),
      contentMd5: got.md5,
      uploadTimestamp: this.clock.now(),
      serverSideEncryption: f.serverSideEncryption
        ? { mode: f.serverSideEncryption.mode, algorithm: 'AES256' }
        : null,
      chunk: { blobId: got.blob.blobId, offset: 0, size: got.blob.size },
    };
    await this.store.putPart(part);
    return part;
  }

  listParts(
    auth: AuthContext,
    opts: { fileId: string; startPartNumber?: number; maxPartCount?: number },
  ): { parts: PartRecord[]; nextPartNumber: number | null } {
    requireCap(auth, 'writeFiles');
    const f = this.startedFile(auth, opts.fileId);
    const start = opts.startPartNumber ?? 1;
    if (!Number.isInteger(start) || start < 1 || start > v.MAX_PART_NUMBER)
      throw errors.badRequest(`startPartNumber must be 1-${v.MAX_PART_NUMBER}`);
    const max = opts.maxPartCount ?? 100;
    if (!Number.isInteger(max) || max < 1 || max > 1000)
      throw errors.badRequest('maxPartCount must be 1-1000');
    const parts = this.store.listParts(f.fileId, start, max + 1);
    return { parts: parts.slice(0, max), nextPartNumber: parts.length > max ? parts[max]!.partNumber : null };
  }

  finishLargeFile(auth: AuthContext, fileId: string, partSha1Array: unknown): FileRecord {
    requireCap(auth, 'writeFiles');
    const f = this.startedFile(auth, fileId);
    if (!Array.isArray(partSha1Array) || partSha1Array.some((s) => typeof s !== 'string'))
      throw errors.badRequest('partSha1Array must be an array of SHA-1 hex strings');
    const parts = this.store.listParts(fileId, 1, v.MAX_PART_NUMBER + 1);
    if (partSha1Array.length < 2 || parts.length < 2)
      throw errors.badRequest('large files must have at least 2 parts');
    if (partSha1Array.length !== parts.length)
      throw new B2Error(
        400,
        'missing_part',
        `partSha1Array has ${partSha1Array.length} entries but ${parts.length} parts were uploaded`,
      );
    // every part 1..N must be present before SHA-1s are compared
    parts.forEach((p, i) => {
      if (p.partNumber !== i + 1)
        throw new B2Error(400, 'missing_part', `Part number ${i + 1} has not been uploaded`);
    });
    let total = 0;
    parts.forEach((p, i) => {
      const claimed = String(partSha1Array[i]).toLowerCase();
      if (claimed !== p.contentSha1)
        throw new B2Error(
          400,
          'part_sha1_mismatch',
          `Part number ${i + 1} has wrong SHA1: ${claimed} (uploaded ${p.contentSha1})`,
        );
      if (i < parts.length - 1 && p.contentLength < v.MIN_PART_SIZE)
        throw errors.badRequest(
          `Part number ${i + 1} is smaller than the minimum part size (${v.MIN_PART_SIZE} bytes)`,
        );
      total += p.contentLength;
    });
    if (total > v.MAX_LARGE_FILE_SIZE) throw errors.badRequest('large file exceeds 10 TB');
    const done: FileRecord = {
      ...f,
      action: 'upload',
      seq: this.store.nextSeq(), // a finished file is a new version at finish time
      contentLength: total,
      contentSha1: 'none',
      contentMd5: null,
      uploadTimestamp: f.uploadTimestamp,
      chunks: parts.map((p) => p.chunk).filter((c) => c.size > 0),
    };
    const bucket = this.store.getBucket(f.bucketId);
    if (bucket)
      done.replicationStatus = this.replicationStatusFor(bucket, f.fileName, f.serverSideEncryption);
    if (done.extra === undefined) delete done.extra;
    this.store.putFile(done, fileId);
    return done;
  }

  async cancelLargeFile(auth: AuthContext, fileId: string): Promise<FileRecord> {
    requireCap(auth, 'writeFiles');
    const f = this.startedFile(auth, fileId);
    await this.store.deleteFile(fileId);
    return f;
  }

  listUnfinishedLargeFiles(
    auth: AuthContext,
    opts: { bucketId: string; namePrefix?: string; startFileId?: string; maxFileCount?: number },
  ): { files: FileRecord[]; nextFileId: string | null } {
    requireCap(auth, 'listFiles');
    this.bucketFor(auth, opts.bucketId, errors.badBucketId);
    const max = opts.maxFileCount ?? 100;
    if (!Number.isInteger(max) || max < 1 || max > 100) throw errors.outOfRange('maxFileCount must be 1-100');
    const prefix = this.effectivePrefix(auth, opts.namePrefix ?? '');
    const out: FileRecord[] = [];
    let start = opts.startFileId ?? null;
    for (;;) {
      const batch = this.store.listStarted(opts.bucketId, start, 1000);
      for (const f of batch) {
        if (!f.fileName.startsWith(prefix.prefix) || (prefix.filter && !f.fileName.startsWith(prefix.filter)))
          continue;
        if (out.length === max) return { files: out, nextFileId: f.fileId };
        out.push(f);
      }
      if (batch.length < 1000) return { files: out, nextFileId: null };
      start = batch[batch.length - 1]!.fileId + '\u0000';
    }
  }

  // ---------------------------------------------------------------- copy

  /** Parse `bytes=a-b` of a copy source. */
  private static copyRange(range: string | undefined, size: number): { start: number; end: number } | null {
    if (range === undefined || range === null || range === '') return null;
    const m = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!m) throw errors.badRequest(`range must look like "bytes=0-999", got ${JSON.stringify(range)}`);
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (end < start || end >= size)
      throw errors.rangeNotSatisfiable(`range ${range} is outside the source (${size} bytes)`);
    return { start, end };
  }

  private sliceChunks(chunks: Chunk[], start: number, end: number): Chunk[] {
    const out: Chunk[] = [];
    let pos = 0;
    for (const c of chunks) {
      const cs = pos;
      const ce = pos + c.size - 1;
      pos += c.size;
      if (ce < start || cs > end) continue;
      const from = Math.max(start, cs);
      const to = Math.min(end, ce);
      out.push({ blobId: c.blobId, offset: c.offset + (from - cs), size: to - from + 1 });
    }
    return out;
  }

  private async hashChunks(chunks: Chunk[]): Promise<{ sha1: string; md5: string }> {
    const sha = createHash('sha1');
    const md5 = createHash('md5');
    for await (const b of this.readChunks(chunks, 0, chunks.reduce((n, c) => n + c.size, 0) - 1)) {
      sha.update(b as Buffer);
      md5.update(b as Buffer);
    }
    return { sha1: sha.digest('hex'), md5: md5.digest('hex') };
  }

  private copySource(
    auth: AuthContext,
    sourceFileId: string,
    sourceSse: SseInput | null | undefined,
  ): FileRecord {
    requireCap(auth, 'readFiles');
    const src = this.fileFor(auth, sourceFileId, (id) =>
      errors.badRequest(`Source file ${id} does not exist`),
    );
    if (src.action !== 'upload')
      throw errors.badRequest(`Source file ${sourceFileId} is not an uploaded file (${src.action})`);
    if (src.serverSideEncryption?.mode === 'SSE-C') {
      if (sourceSse?.mode !== 'SSE-C' || sourceSse.customerKeyMd5 !== src.serverSideEncryption.customerKeyMd5)
        throw errors.accessDenied(
          'the source file uses SSE-C: sourceServerSideEncryption must carry its key',
        );
      checkSseCKey(sourceSse);
    }
    return src;
  }

  async copyFile(auth: AuthContext, input: CopyFileInput): Promise<FileRecord> {
    requireCap(auth, 'writeFiles');
    const src = this.copySource(auth, input.sourceFileId, input.sourceSse);
    const destBucketId = input.destinationBucketId ?? src.bucketId;
    const { bucket, fileName } = this.checkWrite(auth, destBucketId, input.fileName);
    const range = Engine.copyRange(input.range, src.contentLength);
    const size = range ? range.end - range.start + 1 : src.contentLength;
    if (size > v.MAX_COPY_SIZE) throw new B2Error(400, 'source_too_large', `Copy source too big: ${size}`);
    const directive = input.metadataDirective ?? 'COPY';
    if (directive !== 'COPY' && directive !== 'REPLACE')
      throw errors.badRequest('metadataDirective must be COPY or REPLACE');
    if (directive === 'COPY' && (input.contentType !== undefined || input.fileInfo !== undefined))
      throw errors.badRequest('contentType and fileInfo must not be set when metadataDirective is COPY');
    if (directive === 'REPLACE' && !input.contentType)
      throw errors.badRequest('contentType is required when metadataDirective is REPLACE');
    const fileInfo = directive === 'COPY' ? { ...src.fileInfo } : v.validateFileInfo(input.fileInfo);
    const contentType =
      directive === 'COPY'
        ? src.contentType
        : v.resolveContentType(v.validateContentType(input.contentType), fileName);
    const sse = this.resolveSse(bucket, input.destinationSse);
    v.checkHeaderBudget(fileName, fileInfo, !!sse || bucket.fileLockEnabled);
    const now = this.clock.now();
    const lock = this.resolveLock(auth, bucket, input.fileRetention, input.legalHold, now);
    const chunks = range
      ? this.sliceChunks(src.chunks, range.start, range.end)
      : src.chunks.map((c) => ({ ...c }));
    let sha1 = src.contentSha1;
    let md5 = src.contentMd5;
    if (range && size > 0) ({ sha1, md5 } = await this.hashChunks(chunks));
    else if (range)
      ({ sha1, md5 } = {
        sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
        md5: 'd41d8cd98f00b204e9800998ecf8427e',
      });
    const f = this.newVersion(bucket, fileName, 'upload', now);
    Object.assign(f, lock);
    f.contentLength = size;
    f.contentSha1 = sha1;
    f.contentMd5 = md5;
    f.contentType = contentType;
    f.fileInfo = fileInfo;
    f.serverSideEncryption = sse;
    f.replicationStatus = this.replicationStatusFor(bucket, fileName, sse);
    f.chunks = chunks;
    if (input.extra) f.extra = input.extra;
    this.store.putFile(f);
    return f;
  }

  async copyPart(auth: AuthContext, input: CopyPartInput): Promise<PartRecord> {
    requireCap(auth, 'writeFiles');
    const src = this.copySource(auth, input.sourceFileId, input.sourceSse);
    const large = this.startedFile(auth, input.largeFileId);
    if (!Number.isInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > v.MAX_PART_NUMBER)
      throw errors.badRequest(`partNumber must be an integer 1-${v.MAX_PART_NUMBER}`);
    this.checkPartSse(large, input.destinationSse);
    const range = Engine.copyRange(input.range, src.contentLength) ?? {
      start: 0,
      end: src.contentLength - 1,
    };
    const size = range.end - range.start + 1;
    if (size > v.MAX_PART_SIZE) throw new B2Error(400, 'source_too_large', `Copy source too big: ${size}`);
    const chunks = this.sliceChunks(src.chunks, range.start, range.end);
    // a part references exactly one blob slice: copy multi-chunk sources into a new blob
    let chunk: Chunk;
    if (chunks.length === 1) chunk = chunks[0]!;
    else {
      const pending = await this.store.writeBlob(
        this.readChunks(chunks, 0, size - 1) as AsyncIterable<Buffer>,
      );
      await pending.commit();
      chunk = { blobId: pending.blobId, offset: 0, size: pending.size };
    }
    const { sha1, md5 } =
      size > 0
        ? await this.hashChunks([chunk])
        : { sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', md5: 'd41d8cd98f00b204e9800998ecf8427e' };
    const part: PartRecord = {
      fileId: large.fileId,
      partNumber: input.partNumber,
      contentLength: size,
      contentSha1: sha1,
      contentMd5: md5,
      uploadTimestamp: this.clock.now(),
      serverSideEncryption: large.serverSideEncryption
        ? { mode: large.serverSideEncryption.mode, algorithm: 'AES256' }
        : null,
      chunk,
    };
    await this.store.putPart(part);
    return part;
  }

  // ---------------------------------------------------------------- listing

  /**
   * The listing prefix after the key's namePrefix: v2+ refuse a prefix outside it (401), v1
   * silently filters (b2-api.md §1.1).
   */
  private effectivePrefix(auth: AuthContext, prefix: string): { prefix: string; filter: string | null } {
    const np = auth.namePrefix;
    if (!np) return { prefix, filter: null };
    if (prefix.startsWith(np)) return { prefix, filter: null };
    if (auth.apiVersion >= 2)
      throw errors.unauthorized(`the key may only list names starting with "${np}"; pass prefix="${np}"`);
    return { prefix, filter: np };
  }

  listFileNames(auth: AuthContext, input: ListFilesInput): ListFilesResult {
    return this.listFiles(auth, input, false);
  }

  listFileVersions(auth: AuthContext, input: ListFilesInput): ListFilesResult {
    return this.listFiles(auth, input, true);
  }

  /** One engine for both list calls, with B2's paging (b2-api.md §2.4). */
  private listFiles(auth: AuthContext, input: ListFilesInput, versions: boolean): ListFilesResult {
    requireCap(auth, 'listFiles');
    const bucket = this.bucketFor(auth, input.bucketId, errors.invalidBucketId);
    let max = input.maxFileCount ?? 100;
    if (max === 0) max = 100;
    if (!Number.isInteger(max) || max < 1 || max > 10000)
      throw errors.outOfRange(`maxFileCount must be 1-10000, got ${max}`);
    const rawPrefix = input.prefix ?? '';
    const delimiter = input.delimiter || null;
    const { prefix, filter } = this.effectivePrefix(auth, rawPrefix);
    if (input.startFileId !== undefined && input.startFileName === undefined)
      throw errors.badRequest('startFileId requires startFileName');
    let startName = input.startFileName ?? '';
    let startSeq: number | null = null;
    if (versions && input.startFileId !== undefined) {
      if (!FILE_ID_RE.test(input.startFileId)) throw errors.invalidFileId(input.startFileId);
      const f = this.store.getFile(input.startFileId);
      if (f && f.fileName === startName && f.bucketId === bucket.bucketId) startSeq = f.seq;
    }
    if (compareUtf8(startName, prefix) < 0) {
      startName = prefix;
      startSeq = null;
    }
    const out: (FileRecord | FolderEntry)[] = [];
    let lastFolder: string | null = null;
    let decidedName: string | null = null; // names mode: the name whose newest version was seen
    let cursorName = startName;
    let cursorSeq = startSeq;
    const batchSize = Math.min(max * 2 + 10, 5000);
    for (;;) {
      const batch = this.store.listVersions(bucket.bucketId, cursorName, cursorSeq, batchSize);
      let jumped = false;
      for (const f of batch) {
        cursorName = f.fileName;
        cursorSeq = f.seq - 1;
        if (!f.fileName.startsWith(prefix)) {
          if (compareUtf8(f.fileName, prefix) > 0)
            return { files: out, nextFileName: null, nextFileId: null };
          continue;
        }
        if (filter && !f.fileName.startsWith(filter)) continue;
        if (delimiter) {
          const i = f.fileName.indexOf(delimiter, prefix.length);
          if (i >= 0) {
            const folder = f.fileName.slice(0, i + delimiter.length);
            if (folder === lastFolder) continue;
            if (!versions && !this.folderHasVisible(bucket.bucketId, folder)) {
              ({ cursorName, cursorSeq } = skipPast(folder));
              jumped = true;
              break;
            }
            if (out.length === max) return { files: out, nextFileName: folder, nextFileId: null };
            out.push({
              action: 'folder',
              fileName: folder,
              bucketId: bucket.bucketId,
              accountId: this.accountId,
            });
            lastFolder = folder;
            ({ cursorName, cursorSeq } = skipPast(folder));
            jumped = true;
            break;
          }
        }
        if (!versions) {
          if (f.action === 'start') continue;
          if (f.fileName === decidedName) continue;
          decidedName = f.fileName;
          if (f.action !== 'upload') continue;
        }
        if (out.length === max)
          return { files: out, nextFileName: f.fileName, nextFileId: versions ? f.fileId : null };
        out.push(f);
      }
      if (!jumped && batch.length < batchSize) return { files: out, nextFileName: null, nextFileId: null };
    }
  }

  /** Whether a folder holds at least one name whose newest finished version is an upload. */
  private folderHasVisible(bucketId: string, folder: string): boolean {
    let cursorName = folder;
    let cursorSeq: number | null = null;
    let decided: string | null = null;
    for (;;) {
      const batch = this.store.listVersions(bucketId, cursorName, cursorSeq, 500);
      for (const f of batch) {
        if (!f.fileName.startsWith(folder)) return false;
        cursorName = f.fileName;
        cursorSeq = f.seq - 1;
        if (f.action === 'start' || f.fileName === decided) continue;
        decided = f.fileName;
        if (f.action === 'upload') return true;
      }
      if (batch.length < 500) return false;
    }
  }

  getFileInfo(auth: AuthContext, fileId: string): FileRecord {
    requireCap(auth, 'readFiles');
    return this.fileFor(auth, fileId);
  }

  /** The newest finished version of a name (hide markers included), if any. */
  newestVersion(bucketId: string, fileName: string): FileRecord | undefined {
    return this.store.versionsOf(bucketId, fileName).find((f) => f.action !== 'start');
  }

  hideFile(auth: AuthContext, bucketId: string, fileName: unknown): FileRecord {
    const { bucket, fileName: name } = this.checkWrite(auth, bucketId, fileName);
    const newest = this.newestVersion(bucket.bucketId, name);
    if (!newest) throw new B2Error(400, 'no_such_file', `File not present: ${name}`);
    if (newest.action === 'hide') throw new B2Error(400, 'already_hidden', `File already hidden: ${name}`);
    const now = this.clock.now();
    const f = this.newVersion(bucket, name, 'hide', now);
    f.contentType = 'application/x-bz-hide-marker';
    f.contentSha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
    f.contentMd5 = 'd41d8cd98f00b204e9800998ecf8427e';
    this.store.putFile(f);
    return f;
  }

  async deleteFileVersion(
    auth: AuthContext,
    input: { fileId: string; fileName: string; bypassGovernance?: boolean },
  ): Promise<FileRecord> {
    requireCap(auth, 'deleteFiles');
    if (typeof input.fileName !== 'string' || !input.fileName)
      throw errors.badRequest('fileName is required');
    const f = this.fileFor(
      auth,
      input.fileId,
      (id) => new B2Error(400, 'file_not_present', `File not present: ${input.fileName} ${id}`),
    );
    if (f.fileName !== input.fileName)
      throw new B2Error(400, 'file_not_present', `File not present: ${input.fileName} ${input.fileId}`);
    this.checkDeletable(auth, f, input.bypassGovernance === true);
    await this.store.deleteFile(f.fileId);
    return f;
  }

  /** Object Lock: legal hold and unexpired retention protect a version (b2-api.md §9). */
  private checkDeletable(auth: AuthContext, f: FileRecord, bypass: boolean): void {
    if (auth.system) return;
    if (f.legalHold === 'on') throw errors.accessDenied(`file ${f.fileName} is under legal hold`);
    const r = f.fileRetention;
    if (r?.mode && r.retainUntilTimestamp && r.retainUntilTimestamp > this.clock.now()) {
      if (r.mode === 'compliance')
        throw errors.accessDenied(`file ${f.fileName} is under compliance retention`);
      if (!bypass || !auth.capabilities.has('bypassGovernance'))
        throw errors.accessDenied(
          `file ${f.fileName} is under governance retention: needs bypassGovernance capability and bypassGovernance=true`,
        );
    }
  }

  updateFileRetention(
    auth: AuthContext,
    input: { fileId: string; fileName: string; fileRetention: unknown; bypassGovernance?: boolean },
  ): FileRecord {
    requireCap(auth, 'writeFileRetentions');
    const f = this.lockTarget(auth, input.fileId, input.fileName);
    const next = v.validateFileRetention(input.fileRetention, this.clock.now());
    const cur = f.fileRetention;
    const now = this.clock.now();
    const active = cur?.mode && cur.retainUntilTimestamp && cur.retainUntilTimestamp > now;
    const shortens =
      active &&
      (!next.mode ||
        (next.retainUntilTimestamp ?? 0) < (cur.retainUntilTimestamp ?? 0) ||
        next.mode !== cur.mode);
    if (shortens) {
      if (cur!.mode === 'compliance') throw errors.accessDenied('compliance retention can only be extended');
      if (input.bypassGovernance !== true || !auth.capabilities.has('bypassGovernance'))
        throw errors.accessDenied(
          'shortening governance retention needs bypassGovernance capability and bypassGovernance=true',
        );
    }
    f.fileRetention = next;
    this.store.putFile(f);
    return f;
  }

  updateFileLegalHold(
    auth: AuthContext,
    input: { fileId: string; fileName: string; legalHold: unknown },
  ): FileRecord {
    requireCap(auth, 'writeFileLegalHolds');
    const f = this.lockTarget(auth, input.fileId, input.fileName);
    f.legalHold = v.validateLegalHold(input.legalHold);
    this.store.putFile(f);
    return f;
  }

  private lockTarget(auth: AuthContext, fileId: string, fileName: string): FileRecord {
    const f = this.fileFor(
      auth,
      fileId,
      (id) => new B2Error(400, 'file_not_present', `File not present: ${id}`),
    );
    if (f.fileName !== fileName)
      throw new B2Error(400, 'file_not_present', `File not present: ${fileName} ${fileId}`);
    const bucket = this.store.getBucket(f.bucketId);
    if (!bucket?.fileLockEnabled)
      throw new B2Error(
        400,
        'bucket_missing_file_lock',
        `Bucket ${bucket?.bucketName ?? f.bucketId} does not have Object Lock enabled`,
      );
    if (f.action !== 'upload') throw errors.badRequest(`file ${fileId} is not an uploaded file`);
    return f;
  }

  // ---------------------------------------------------------------- downloads

  getDownloadAuthorization(
    auth: AuthContext,
    input: {
      bucketId: string;
      fileNamePrefix: unknown;
      validDurationInSeconds: unknown;
      overrides: DownloadOverrides;
    },
  ): { token: string; bucketId: string; fileNamePrefix: string } {
    requireCap(auth, 'shareFiles');
    const bucket = this.bucketFor(auth, input.bucketId);
    if (typeof input.fileNamePrefix !== 'string')
      throw errors.badRequest('fileNamePrefix is required (a string)');
    const d = input.validDurationInSeconds;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 604800)
      throw errors.badRequest('validDurationInSeconds must be an integer 1-604800');
    if (auth.namePrefix && !input.fileNamePrefix.startsWith(auth.namePrefix))
      throw errors.unauthorized(`fileNamePrefix must start with the key's namePrefix "${auth.namePrefix}"`);
    const token = newToken('3', this.accountId) + '_dl';
    this.prune(this.downloadTokens);
    this.downloadTokens.set(token, {
      accountId: this.accountId,
      bucketId: bucket.bucketId,
      fileNamePrefix: input.fileNamePrefix,
      expiresAt: this.clock.now() + d * 1000,
      overrides: input.overrides,
    });
    return { token, bucketId: bucket.bucketId, fileNamePrefix: input.fileNamePrefix };
  }

  /** Resolve a token presented on a download (account token or download authorization). */
  downloadCredential(token: string | undefined, apiVersion: number): DownloadCredential {
    if (!token) return { kind: 'none' };
    const dl = this.downloadTokens.get(token);
    if (dl) {
      if (dl.expiresAt <= this.clock.now()) throw errors.expiredAuthToken();
      return { kind: 'download', token: dl };
    }
    return { kind: 'account', auth: this.authenticate(token, apiVersion) };
  }

  private checkDownloadAllowed(
    cred: DownloadCredential,
    bucket: BucketRecord,
    fileName: string,
    overrides: DownloadOverrides,
  ): void {
    if (cred.kind === 'account') {
      requireCap(cred.auth, 'readFiles');
      requireBucketScope(cred.auth, bucket.bucketId);
      requireNameScope(cred.auth, fileName);
      return;
    }
    if (cred.kind === 'download') {
      const t = cred.token;
      if (t.bucketId !== bucket.bucketId || !fileName.startsWith(t.fileNamePrefix))
        throw errors.unauthorized('the download authorization does not cover this file');
      for (const [k, val] of Object.entries(overrides))
        if (val !== undefined && t.overrides[k as keyof DownloadOverrides] !== val)
          throw errors.unauthorized(`${k} does not match the value in the download authorization`);
      return;
    }
    if (bucket.bucketType !== 'allPublic')
      throw errors.unauthorized('Authorization is required to download from a private bucket');
  }

  openByName(
    cred: DownloadCredential,
    bucketName: string,
    fileName: string,
    opts: { range?: string; sseC?: SseInput | null; overrides?: DownloadOverrides },
  ): DownloadPlan {
    const bucket = this.store.getBucketByName(bucketName);
    if (!bucket) {
      if (cred.kind === 'none')
        throw errors.unauthorized(`Bucket ${bucketName} is not public or does not exist`);
      throw errors.notFound(`Bucket ${bucketName} does not exist`);
    }
    this.checkDownloadAllowed(cred, bucket, fileName, opts.overrides ?? {});
    const f = this.newestVersion(bucket.bucketId, fileName);
    if (!f || f.action !== 'upload') throw errors.notFound(`File with such name does not exist: ${fileName}`);
    return this.plan(bucket, f, opts);
  }

  openById(
    cred: DownloadCredential,
    fileId: string,
    opts: { range?: string; sseC?: SseInput | null },
  ): DownloadPlan {
    if (typeof fileId !== 'string' || !fileId) throw errors.badRequest('fileId is required');
    if (!FILE_ID_RE.test(fileId)) throw errors.badFileId(fileId);
    const f = this.store.getFile(fileId);
    const bucket = f && this.store.getBucket(f.bucketId);
    if (!f || !bucket || f.action !== 'upload') {
      if (cred.kind === 'account') requireCap(cred.auth, 'readFiles');
      throw errors.notFound(`File with such id does not exist: ${fileId}`);
    }
    if (cred.kind === 'download')
      throw errors.unauthorized('download authorizations only work for downloads by name');
    this.checkDownloadAllowed(cred, bucket, f.fileName, {});
    return this.plan(bucket, f, opts);
  }

  private plan(
    bucket: BucketRecord,
    f: FileRecord,
    opts: { range?: string; sseC?: SseInput | null },
  ): DownloadPlan {
    if (f.serverSideEncryption?.mode === 'SSE-C') {
      const k = opts.sseC;
      if (k?.mode !== 'SSE-C')
        throw errors.accessDenied('this file uses SSE-C: send the three SSE-C customer key headers');
      checkSseCKey(k);
      if (k.customerKeyMd5 !== f.serverSideEncryption.customerKeyMd5)
        throw errors.accessDenied('the SSE-C key does not match the key the file was written with');
    }
    const range = parseRange(opts.range, f.contentLength);
    const start = range ? range.start : 0;
    const end = range ? range.end : f.contentLength - 1;
    return {
      file: f,
      bucket,
      range,
      length: end - start + 1,
      open: () => Readable.from(this.readChunks(f.chunks, start, end)),
    };
  }

  /** Stream bytes [start, end] of a chunk list (a large file's parts, a copy's slice). */
  async *readChunks(chunks: Chunk[], start: number, end: number): AsyncGenerator<Buffer> {
    let pos = 0;
    for (const c of chunks) {
      const cs = pos;
      const ce = pos + c.size - 1;
      pos += c.size;
      if (ce < start) continue;
      if (cs > end) break;
      const from = Math.max(start, cs) - cs + c.offset;
      const to = Math.min(end, ce) - cs + c.offset;
      for await (const b of this.store.readBlob(c.blobId, from, to)) yield b as Buffer;
    }
  }

  // ---------------------------------------------------------------- jobs support

  /** Every bucket of the account (jobs iterate them without a key). */
  allBuckets(): BucketRecord[] {
    return this.store.listBuckets();
  }

  /** Delete a version without lock checks' caller scope (lifecycle: still honours Object Lock). */
  async systemDeleteVersion(fileId: string): Promise<boolean> {
    const f = this.store.getFile(fileId);
    if (!f) return false;
    if (f.legalHold === 'on') return false;
    const r = f.fileRetention;
    if (r?.mode && r.retainUntilTimestamp && r.retainUntilTimestamp > this.clock.now()) return false;
    await this.store.deleteFile(fileId);
    return true;
  }

  /** Store a replica or job-made version as is (replication): caller builds the record. */
  putSystemVersion(f: FileRecord): void {
    this.store.putFile(f);
  }

  /** A new, unsaved version record for jobs (fileId and seq allocated). */
  makeVersion(bucketId: string, fileName: string, action: FileRecord['action']): FileRecord {
    const bucket = this.store.getBucket(bucketId);
    if (!bucket) throw errors.badBucketId(bucketId);
    return this.newVersion(bucket, fileName, action, this.clock.now());
  }
}

// ------------------------------------------------------------------ helpers

export function requireCap(auth: AuthContext, capability: string): void {
  if (auth.system) return;
  if (!auth.capabilities.has(capability))
    throw errors.unauthorized(`the application key lacks the "${capability}" capability for this call`);
}

export function requireBucketScope(auth: AuthContext, bucketId: string): void {
  if (auth.system || !auth.bucketIds) return;
  if (!auth.bucketIds.includes(bucketId))
    throw errors.unauthorized(`the application key is not allowed to use bucket ${bucketId}`);
}

export function requireNameScope(auth: AuthContext, fileName: string): void {
  if (auth.system || !auth.namePrefix) return;
  if (!fileName.startsWith(auth.namePrefix))
    throw errors.unauthorized(
      `the application key may only use file names starting with "${auth.namePrefix}"`,
    );
}

function checkSseCKey(sse: SseInput): void {
  if (sse.mode !== 'SSE-C') return;
  const key = Buffer.from(sse.customerKey ?? '', 'base64');
  if (key.length !== 32) throw errors.badRequest('SSE-C customer key must be base64 of 32 bytes');
  const md5 = createHash('md5').update(key).digest('base64');
  if (md5 !== sse.customerKeyMd5) throw errors.badRequest('SSE-C customer key MD5 does not match the key');
}

const LISTABLE_TYPES = ['allPublic', 'allPrivate', 'snapshot', 'restricted', 'shared'];

function parseBucketTypes(t: unknown): Set<string> | null {
  if (t === undefined || t === null) return new Set(['allPublic', 'allPrivate', 'snapshot']);
  if (!Array.isArray(t) || t.some((x) => typeof x !== 'string'))
    throw errors.badRequest('bucketTypes must be an array of strings');
  if (t.length === 0) throw errors.badRequest('bucketTypes must not be empty');
  if (t.includes('all')) {
    if (t.length > 1) throw errors.badRequest('bucketTypes: "all" cannot be combined with other types');
    return null;
  }
  for (const x of t)
    if (!LISTABLE_TYPES.includes(x)) throw errors.badRequest(`bucketTypes: unknown bucket type "${x}"`);
  return new Set(t as string[]);
}

/** The cursor just past every name starting with `folder` (listing skips the folder's contents). */
function skipPast(folder: string): { cursorName: string; cursorSeq: number | null } {
  const last = folder.charCodeAt(folder.length - 1);
  if (last < 0xffff)
    return { cursorName: folder.slice(0, -1) + String.fromCharCode(last + 1), cursorSeq: null };
  return { cursorName: folder + '\uffff', cursorSeq: null };
}

/**
 * `Range: bytes=a-b | a- | -n` → inclusive range, null = whole file; unsatisfiable → 416.
 * Malformed headers are ignored (RFC 9110), as HTTP servers do.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw errors.rangeNotSatisfiable(`Range ${header} is not satisfiable for ${size} bytes`);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size || size === 0)
    throw errors.rangeNotSatisfiable(`Range ${header} is not satisfiable for ${size} bytes`);
  return { start, end };
}

function validateNotificationRules(rules: unknown): NotificationRule[] {
  if (!Array.isArray(rules)) throw errors.badRequest('eventNotificationRules must be an array');
  const eventRe =
    /^b2:(ObjectCreated:(\*|Upload|MultipartUpload|Copy|Replica|MultipartReplica)|ObjectDeleted:(\*|Delete|LifecycleRule)|HideMarkerCreated:(\*|Hide|LifecycleRule))$/;
  return rules.map((r, i): NotificationRule => {
    const f = `eventNotificationRules[${i}]`;
    const o = (r ?? {}) as Record<string, unknown>;
    if (typeof o.name !== 'string' || !/^[A-Za-z0-9-]{1,63}$/.test(o.name))
      throw errors.badRequest(`${f}.name is invalid`);
    if (!Array.isArray(o.eventTypes) || o.eventTypes.length === 0)
      throw new B2Error(400, 'event_types_empty', `${f}.eventTypes must not be empty`);
    for (const e of o.eventTypes)
      if (typeof e !== 'string' || !eventRe.test(e))
        throw new B2Error(400, 'event_type_invalid', `${f}.eventTypes: invalid "${String(e)}"`);
    const t = (o.targetConfiguration ?? {}) as Record<string, unknown>;
    if (t.targetType !== 'webhook')
      throw errors.badRequest(`${f}.targetConfiguration.targetType must be "webhook"`);
    if (typeof t.url !== 'string' || !t.url.startsWith('https://'))
      throw errors.badRequest(`${f}.targetConfiguration.url must be an https URL`);
    if (
      t.hmacSha256SigningSecret !== undefined &&
      t.hmacSha256SigningSecret !== null &&
      (typeof t.hmacSha256SigningSecret !== 'string' || !/^[A-Za-z0-9]{32}$/.test(t.hmacSha256SigningSecret))
    )
      throw errors.badRequest(
        `${f}.targetConfiguration.hmacSha256SigningSecret must be 32 letters or digits`,
      );
    return {
      name: o.name,
      eventTypes: o.eventTypes as string[],
      isEnabled: o.isEnabled !== false,
      objectNamePrefix: typeof o.objectNamePrefix === 'string' ? o.objectNamePrefix : '',
      targetConfiguration: t,
      isSuspended: false,
      suspensionReason: '',
    };
  });
}
