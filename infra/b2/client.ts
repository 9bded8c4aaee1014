/**
 * `B2Client`: the public face of the B2 native API client (b2sdk `api.py`).
 *
 * It adds the account id and tokens to requests, turns B2's paging into async iterators, wraps
 * secrets in `SecretString`, and delegates everything else: tokens/re-auth/upload URLs to
 * `Session`, endpoint shapes to `RawApi`, transport/errors/retries to `HttpClient`.
 * It knows nothing of Pulumi (docs/architecture.md §2).
 */
import { Readable } from 'stream';
import { BucketNotFound } from './errors';
import { HttpClient, DownloadResponse } from './http';
import {
  DEFAULT_CONCURRENCY,
  finishLargeFileReconciled,
  LargeUploadProgress,
  UploadLargeFileRequest,
  sha1Hex,
  uploadLargeFile,
} from './largeFile';
import { RawApi } from './raw';
import { Clock, OutcomeUnknown, RetryOptions, RetryPolicy, RunOptions, systemClock } from './retry';
import { SecretString } from './secret';
import { AuthInfo, AuthRecord, Session } from './session';
import * as w from './wire';

export const DEFAULT_REALM_URL = 'https://api.backblazeb2.com';

export interface B2ClientOptions {
  applicationKeyId: string;
  applicationKey: string | SecretString;
  /** Default: `B2_REALM_URL` from the environment, else https://api.backblazeb2.com. */
  realmUrl?: string;
  retry?: Partial<RetryOptions>;
  /** Injected for tests (retry waits and deadlines). */
  clock?: Clock;
  /** Injected for tests (retry jitter); returns [0, 1). */
  random?: () => number;
  /** Default `infrafabric-backup/<package version>`. */
  userAgent?: string;
  /** Per-attempt limit for JSON calls and download starts (default 128 s). */
  requestTimeoutMs?: number;
  /** Per-attempt limit for one upload or part (default 20 min). */
  uploadTimeoutMs?: number;
  /** Called before each retry wait, e.g. to print progress. Never receives secrets. */
  onRetry?: RunOptions['onRetry'];
  /**
   * B2's `X-Bz-Test-Mode` on every request: `fail_some_uploads`,
   * `expire_some_account_authorization_tokens` or `force_cap_exceeded` (docs/b2-api.md §1.4).
   */
  testMode?: string;
}

/** A key as returned by B2, with both scope fields normalised (v3 `bucketId`, v4 `bucketIds`). */
export interface Key extends w.Key {
  bucketId: string | null;
  bucketIds: string[] | null;
}

/** `createKey` result: the secret exists only here, wrapped so it cannot be printed. */
export interface KeyWithSecret extends Key {
  applicationKey: SecretString;
}

export type Bucket = w.Bucket;
export type FileVersion = w.FileVersion;
export type Part = w.Part;

export interface CreateBucketInput {
  bucketName: string;
  bucketType: 'allPublic' | 'allPrivate';
  bucketInfo?: Record<string, string>;
  corsRules?: w.CorsRule[];
  lifecycleRules?: w.LifecycleRule[];
  fileLockEnabled?: boolean;
  defaultServerSideEncryption?: w.ServerSideEncryptionRequest;
  replicationConfiguration?: w.ReplicationConfiguration;
}

export type UpdateBucketInput = Omit<w.UpdateBucketRequest, 'accountId'>;

export interface ListBucketsFilter {
  bucketId?: string;
  bucketName?: string;
  bucketTypes?: string[];
}

export interface CreateKeyInput {
  keyName: string;
  capabilities: string[];
  bucketId?: string;
  /** Several buckets make a v4 multi-bucket key; one bucket is the same as `bucketId`. */
  bucketIds?: string[];
  namePrefix?: string;
  validDurationInSeconds?: number;
}

export interface ListKeysOptions {
  /** Keys per request (B2 default 100, max 10000). */
  pageSize?: number;
  startApplicationKeyId?: string;
}

export interface UploadFileInput {
  bucketId: string;
  fileName: string;
  body: Buffer | Uint8Array | string;
  /** Default `b2/x-auto` (B2 picks by extension). */
  contentType?: string;
  fileInfo?: Record<string, string>;
  serverSideEncryption?: w.ServerSideEncryptionRequest;
  fileRetention?: { mode: w.RetentionMode; retainUntilTimestamp: number };
  legalHold?: w.LegalHold;
}

export type UploadLargeFileInput = UploadLargeFileRequest;
export type { LargeUploadProgress };

export interface ListFilesInput {
  bucketId: string;
  prefix?: string;
  delimiter?: string;
  startFileName?: string;
  /** Files per request (maxFileCount; default 1000, max 10000). */
  pageSize?: number;
}

export interface ListFileVersionsInput extends ListFilesInput {
  startFileId?: string;
}

export interface DownloadOptions {
  /** Inclusive byte range [first, last]. */
  range?: [number, number];
  /** A download authorization token (from `getDownloadAuthorization`) instead of the account token. */
  authorization?: string | SecretString;
  /** SSE-C key for files stored with customer keys. */
  sseCustomer?: { key: SecretString; keyMd5: string };
}

export interface Download {
  /** 200, or 206 for a Range. */
  status: number;
  /**
   * The live body. Consume it (or `destroy()` it): an unread body keeps its connection busy.
   * A connection lost mid-body is an `error` event here, not retried; resume with `range`.
   */
  stream: Readable;
  contentLength: number;
  contentType: string;
  /** 40 hex digits, or `none` for large files. */
  contentSha1: string | null;
  contentRange: string | null;
  fileId: string;
  fileName: string;
  fileInfo: Record<string, string>;
  uploadTimestamp: number | null;
  /** All response headers, lower-case names. */
  headers: Record<string, string>;
  /** Reads the whole stream into memory. */
  buffer(): Promise<Buffer>;
}

export interface CopyFileInput {
  sourceFileId: string;
  fileName: string;
  destinationBucketId?: string;
  /** Inclusive byte range [first, last]. */
  range?: [number, number];
  metadataDirective?: w.MetadataDirective;
  contentType?: string;
  fileInfo?: Record<string, string>;
  fileRetention?: w.FileRetention;
  legalHold?: w.LegalHold;
  sourceServerSideEncryption?: w.ServerSideEncryptionRequest;
  destinationServerSideEncryption?: w.ServerSideEncryptionRequest;
}

export type DownloadAuthorizationInput = w.GetDownloadAuthorizationRequest;

export interface DownloadAuthorization {
  bucketId: string;
  fileNamePrefix: string;
  authorizationToken: SecretString;
}

export interface StartLargeFileInput {
  bucketId: string;
  fileName: string;
  contentType?: string;
  fileInfo?: Record<string, string>;
  serverSideEncryption?: w.ServerSideEncryptionRequest;
  fileRetention?: w.FileRetention;
  legalHold?: w.LegalHold;
}

export class B2Client {
  readonly realmUrl: string;
  readonly applicationKeyId: string;
  private readonly http: HttpClient;
  private readonly raw: RawApi;
  private readonly session: Session;

  constructor(opts: B2ClientOptions) {
    if (typeof opts.applicationKeyId !== 'string' || opts.applicationKeyId.trim() === '') {
      throw new TypeError(
        'B2Client: [applicationKeyId] is required (the key id, e.g. from B2_APPLICATION_KEY_ID)',
      );
    }
    const key = SecretString.from(opts.applicationKey ?? '');
    if (key.isEmpty()) {
      throw new TypeError(
        'B2Client: [applicationKey] is required (the secret key, e.g. from B2_APPLICATION_KEY)',
      );
    }
    this.realmUrl = validateRealm(opts.realmUrl ?? process.env.B2_REALM_URL ?? DEFAULT_REALM_URL);
    this.applicationKeyId = opts.applicationKeyId.trim();
    const policy = new RetryPolicy(opts.retry ?? {}, {
      clock: opts.clock ?? systemClock,
      random: opts.random,
      onRetry: opts.onRetry,
    });
    this.http = new HttpClient({
      policy,
      userAgent: opts.userAgent,
      requestTimeoutMs: opts.requestTimeoutMs,
      uploadTimeoutMs: opts.uploadTimeoutMs,
      testMode: opts.testMode,
    });
    this.raw = new RawApi(this.http);
    this.session = new Session({
      raw: this.raw,
      policy,
      realmUrl: this.realmUrl,
      applicationKeyId: this.applicationKeyId,
      applicationKey: key,
    });
  }

  /**
   * Builds a client from `B2_APPLICATION_KEY_ID`, `B2_APPLICATION_KEY` and optional
   * `B2_REALM_URL`. Throws naming the missing variable.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, extra: Partial<B2ClientOptions> = {}): B2Client {
    const missing = ['B2_APPLICATION_KEY_ID', 'B2_APPLICATION_KEY'].filter(
      (n) => !env[n] || env[n]!.trim() === '',
    );
    if (missing.length > 0) {
      throw new Error(`B2 credentials missing: set ${missing.join(' and ')} in the environment`);
    }
    return new B2Client({
      ...extra,
      applicationKeyId: env.B2_APPLICATION_KEY_ID!,
      applicationKey: new SecretString(env.B2_APPLICATION_KEY!),
      realmUrl: extra.realmUrl ?? (env.B2_REALM_URL || undefined) ?? DEFAULT_REALM_URL,
    });
  }

  /** The retry policy in use (read-only options). */
  get retryPolicy(): RetryPolicy {
    return this.http.policy;
  }

  // --- account ----------------------------------------------------------------------------

  /** Authorizes (once per realm + key per process) and returns what the key may do. */
  async authorize(): Promise<AuthInfo> {
    return publicAuth(await this.session.authorize());
  }

  async accountId(): Promise<string> {
    return (await this.session.authorize()).accountId;
  }

  // --- buckets ----------------------------------------------------------------------------

  /**
   * Not retried blindly (raw.ts NOT_IDEMPOTENT). After a lost answer the bucket is looked up by
   * name: present with exactly the requested type and bucketInfo (the providers put an ownership
   * marker in it, infra/providers/ownership.ts) → the create took effect and that bucket is
   * returned; absent → it did not, and the create is sent again; present but different → not ours
   * to claim: the OutcomeUnknown is thrown.
   */
  async createBucket(req: CreateBucketInput): Promise<Bucket> {
    const send = () =>
      this.session.withAuth((a) =>
        this.raw.createBucket(a.apiUrl, tok(a), { accountId: a.accountId, ...req }),
      );
    for (let round = 1; ; round++) {
      try {
        return await send();
      } catch (err) {
        if (!(err instanceof OutcomeUnknown) || round >= MAX_RECONCILE_ROUNDS) throw err;
        const live = await this.getBucketByName(req.bucketName);
        if (!live) continue;
        if (live.bucketType === req.bucketType && sameStringMap(live.bucketInfo, req.bucketInfo ?? {})) {
          return live;
        }
        throw err;
      }
    }
  }

  /** Omitted fields stay unchanged; pass `ifRevisionIs` to fail with `Conflict` on a concurrent change. */
  updateBucket(req: UpdateBucketInput): Promise<Bucket> {
    return this.session.withAuth((a) =>
      this.raw.updateBucket(a.apiUrl, tok(a), { accountId: a.accountId, ...req }),
    );
  }

  /** Fails with `BucketNotEmpty` while any file version remains. */
  deleteBucket(bucketId: string): Promise<Bucket> {
    return this.session.withAuth((a) =>
      this.raw.deleteBucket(a.apiUrl, tok(a), { accountId: a.accountId, bucketId }),
    );
  }

  /**
   * Buckets of the account, by name. A key restricted to one bucket must name it (B2 answers
   * 401 otherwise), so without a filter such a key lists its own bucket.
   */
  async listBuckets(filter: ListBucketsFilter = {}): Promise<Bucket[]> {
    const res = await this.session.withAuth((a) => {
      const scoped =
        filter.bucketId === undefined && filter.bucketName === undefined && a.allowed.bucketId !== null
          ? { bucketId: a.allowed.bucketId }
          : {};
      return this.raw.listBuckets(a.apiUrl, tok(a), { accountId: a.accountId, ...filter, ...scoped });
    });
    return res.buckets;
  }

  async getBucketByName(bucketName: string): Promise<Bucket | undefined> {
    const buckets = await this.listBuckets({ bucketName, bucketTypes: ['all'] });
    return buckets.find((b) => b.bucketName === bucketName);
  }

  async getBucketById(bucketId: string): Promise<Bucket | undefined> {
    try {
      const buckets = await this.listBuckets({ bucketId, bucketTypes: ['all'] });
      return buckets.find((b) => b.bucketId === bucketId);
    } catch (err) {
      if (err instanceof BucketNotFound) return undefined;
      throw err;
    }
  }

  // --- keys -------------------------------------------------------------------------------

  /**
   * Creates a key; several `bucketIds` make a multi-bucket key through the v4 API.
   *
   * Not retried blindly (raw.ts NOT_IDEMPOTENT): a key created by a request whose answer was lost
   * is live but its secret is gone. So after a lost answer the keys of the account are listed; a key
   * with this name and definition that was not there before the call (`knownKeyIds`: the ids the
   * caller listed before; without it the client lists them itself first) is that orphan: it is
   * deleted, and the create is sent again (up to 3 rounds).
   */
  async createKey(
    req: CreateKeyInput,
    opts: { knownKeyIds?: Iterable<string> } = {},
  ): Promise<KeyWithSecret> {
    if (req.bucketId !== undefined && req.bucketIds !== undefined) {
      throw new TypeError('createKey: give either [bucketId] or [bucketIds], not both');
    }
    if (req.bucketIds !== undefined && req.bucketIds.length === 0) {
      throw new TypeError('createKey: [bucketIds] must not be empty (omit it for an account-wide key)');
    }
    const { bucketIds, ...rest } = req;
    const scope =
      bucketIds === undefined ? {} : bucketIds.length === 1 ? { bucketId: bucketIds[0] } : { bucketIds };
    const before = new Set<string>();
    if (opts.knownKeyIds) for (const id of opts.knownKeyIds) before.add(id);
    else for await (const k of this.listKeys()) before.add(k.applicationKeyId);
    const wanted = normalizeScope(bucketIds ?? (req.bucketId ? [req.bucketId] : []));
    for (let round = 1; ; round++) {
      try {
        const created = await this.session.withAuth((a) =>
          this.raw.createKey(a.apiUrl, tok(a), { accountId: a.accountId, ...rest, ...scope }),
        );
        const { applicationKey, ...key } = created;
        return { ...normalizeKey(key), applicationKey: new SecretString(applicationKey) };
      } catch (err) {
        if (!(err instanceof OutcomeUnknown) || round >= MAX_RECONCILE_ROUNDS) throw err;
        for await (const k of this.listKeys()) {
          if (before.has(k.applicationKeyId) || k.keyName !== req.keyName) continue;
          const sameDefinition =
            sameSet(k.capabilities, req.capabilities) &&
            sameSet(normalizeScope(k.bucketIds ?? (k.bucketId ? [k.bucketId] : [])), wanted) &&
            (k.namePrefix ?? null) === (req.namePrefix ?? null);
          // A new key of another definition under this name is someone else's: left alone.
          if (sameDefinition) await this.deleteKey(k.applicationKeyId);
        }
      }
    }
  }

  async deleteKey(applicationKeyId: string): Promise<Key> {
    const key = await this.session.withAuth((a) =>
      this.raw.deleteKey(a.apiUrl, tok(a), { applicationKeyId }),
    );
    return normalizeKey(key);
  }

  /**
   * Every key of the account. v1–v3 `b2_list_keys` omits multi-bucket keys and v4 may list only
   * those (docs/b2-api.md §1.1), so both are walked and each key is yielded once.
   */
  async *listKeys(opts: ListKeysOptions = {}): AsyncIterable<Key> {
    const seen = new Set<string>();
    for (const version of ['v3', 'v4'] as const) {
      let start = opts.startApplicationKeyId;
      for (;;) {
        const page = await this.session.withAuth((a) =>
          this.raw.listKeys(
            a.apiUrl,
            tok(a),
            { accountId: a.accountId, maxKeyCount: opts.pageSize, startApplicationKeyId: start },
            version,
          ),
        );
        for (const k of page.keys) {
          if (seen.has(k.applicationKeyId)) continue;
          seen.add(k.applicationKeyId);
          yield normalizeKey(k);
        }
        if (!page.nextApplicationKeyId) break;
        start = page.nextApplicationKeyId;
      }
    }
  }

  // --- uploads ----------------------------------------------------------------------------

  /** A single-request upload (≤ 5 GB; use `uploadLargeFile` above ~200 MB). */
  uploadFile(req: UploadFileInput): Promise<FileVersion> {
    const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
    return this.session.uploadFile(req.bucketId, {
      fileName: req.fileName,
      contentType: req.contentType ?? w.AUTO_CONTENT_TYPE,
      contentSha1: sha1Hex(body),
      fileInfo: req.fileInfo,
      extraHeaders: uploadHeaders(req),
      body,
    });
  }

  /**
   * Uploads a Buffer or stream as a large file: parts of `partSize` (default recommendedPartSize),
   * `concurrency` (default 4) in parallel, SHA-1 per part, each part retried on a fresh part URL.
   * A fatal failure cancels the large file. Inputs of one part use `uploadFile`.
   */
  uploadLargeFile(req: UploadLargeFileInput): Promise<FileVersion> {
    return uploadLargeFile(
      {
        session: this.session,
        raw: this.raw,
        uploadSmall: (body) =>
          this.uploadFile({
            bucketId: req.bucketId,
            fileName: req.fileName,
            body,
            contentType: req.contentType,
            fileInfo: req.fileInfo,
            serverSideEncryption: req.serverSideEncryption,
            fileRetention:
              req.fileRetention?.mode && req.fileRetention.retainUntilTimestamp !== null
                ? {
                    mode: req.fileRetention.mode,
                    retainUntilTimestamp: req.fileRetention.retainUntilTimestamp,
                  }
                : undefined,
            legalHold: req.legalHold,
          }),
      },
      { concurrency: DEFAULT_CONCURRENCY, ...req },
    );
  }

  startLargeFile(req: StartLargeFileInput): Promise<FileVersion> {
    return this.session.withAuth((a) =>
      this.raw.startLargeFile(a.apiUrl, tok(a), {
        ...req,
        contentType: req.contentType ?? w.AUTO_CONTENT_TYPE,
      }),
    );
  }

  /** Uploads one part (retried on fresh part URLs). SHA-1 computed when not given. */
  uploadPart(
    fileId: string,
    partNumber: number,
    body: Buffer | Uint8Array,
    contentSha1?: string,
  ): Promise<Part> {
    return this.session.uploadPart(fileId, { partNumber, contentSha1: contentSha1 ?? sha1Hex(body), body });
  }

  /** Server-side copy of (a range of) an existing file into part `partNumber` of a large file. */
  copyPart(req: {
    sourceFileId: string;
    largeFileId: string;
    partNumber: number;
    range?: [number, number];
  }): Promise<Part> {
    const { range, ...rest } = req;
    return this.session.withAuth((a) =>
      this.raw.copyPart(a.apiUrl, tok(a), {
        ...rest,
        range: range ? `bytes=${range[0]}-${range[1]}` : undefined,
      }),
    );
  }

  /** Not retried blindly: after a lost answer, a file found finished is success (largeFile.ts). */
  async finishLargeFile(fileId: string, partSha1Array: string[]): Promise<FileVersion> {
    const file = await finishLargeFileReconciled(this.session, this.raw, fileId, partSha1Array);
    this.session.forgetLargeFile(fileId);
    return file;
  }

  async cancelLargeFile(fileId: string): Promise<w.CancelLargeFileResponse> {
    const res = await this.session.withAuth((a) => this.raw.cancelLargeFile(a.apiUrl, tok(a), { fileId }));
    this.session.forgetLargeFile(fileId);
    return res;
  }

  async *listUnfinishedLargeFiles(
    bucketId: string,
    opts: { namePrefix?: string; pageSize?: number } = {},
  ): AsyncIterable<FileVersion> {
    let startFileId: string | undefined;
    for (;;) {
      const page = await this.session.withAuth((a) =>
        this.raw.listUnfinishedLargeFiles(a.apiUrl, tok(a), {
          bucketId,
          namePrefix: opts.namePrefix,
          startFileId,
          maxFileCount: opts.pageSize,
        }),
      );
      yield* page.files;
      if (!page.nextFileId) return;
      startFileId = page.nextFileId;
    }
  }

  async *listParts(fileId: string, opts: { pageSize?: number } = {}): AsyncIterable<Part> {
    let startPartNumber: number | undefined;
    for (;;) {
      const page = await this.session.withAuth((a) =>
        this.raw.listParts(a.apiUrl, tok(a), { fileId, startPartNumber, maxPartCount: opts.pageSize }),
      );
      yield* page.parts;
      if (!page.nextPartNumber) return;
      startPartNumber = page.nextPartNumber;
    }
  }

  // --- listing and file state ---------------------------------------------------------------

  /** Newest upload of each name (and `folder` entries with a delimiter), in name order. */
  async *listFileNames(req: ListFilesInput): AsyncIterable<FileVersion> {
    let startFileName = req.startFileName;
    for (;;) {
      const page = await this.session.withAuth((a) =>
        this.raw.listFileNames(a.apiUrl, tok(a), {
          bucketId: req.bucketId,
          prefix: req.prefix,
          delimiter: req.delimiter,
          startFileName,
          maxFileCount: req.pageSize ?? 1000,
        }),
      );
      yield* page.files;
      if (page.nextFileName === null || page.nextFileName === undefined) return;
      startFileName = page.nextFileName;
    }
  }

  /** Every version (uploads, hide markers, unfinished `start`s): by name, newest first. */
  async *listFileVersions(req: ListFileVersionsInput): AsyncIterable<FileVersion> {
    let startFileName = req.startFileName;
    let startFileId = req.startFileId;
    for (;;) {
      const page = await this.session.withAuth((a) =>
        this.raw.listFileVersions(a.apiUrl, tok(a), {
          bucketId: req.bucketId,
          prefix: req.prefix,
          delimiter: req.delimiter,
          startFileName,
          startFileId,
          maxFileCount: req.pageSize ?? 1000,
        }),
      );
      yield* page.files;
      if (page.nextFileName === null || page.nextFileName === undefined) return;
      startFileName = page.nextFileName;
      startFileId = page.nextFileId ?? undefined;
    }
  }

  getFileInfo(fileId: string): Promise<FileVersion> {
    return this.session.withAuth((a) => this.raw.getFileInfo(a.apiUrl, tok(a), { fileId }));
  }

  /**
   * Adds a hide marker: the name disappears from `listFileNames`; versions remain. Not retried
   * blindly: after a lost answer, a hide marker as the newest version of the name means the hide
   * took effect (it is returned); otherwise it is sent again.
   */
  async hideFile(bucketId: string, fileName: string): Promise<FileVersion> {
    for (let round = 1; ; round++) {
      try {
        return await this.session.withAuth((a) =>
          this.raw.hideFile(a.apiUrl, tok(a), { bucketId, fileName }),
        );
      } catch (err) {
        if (!(err instanceof OutcomeUnknown) || round >= MAX_RECONCILE_ROUNDS) throw err;
        const newest = await this.newestVersionOf(bucketId, fileName);
        if (newest?.action === 'hide') return newest;
      }
    }
  }

  /** The newest version (upload or hide marker) of exactly `fileName`, or undefined. */
  private async newestVersionOf(bucketId: string, fileName: string): Promise<FileVersion | undefined> {
    const page = await this.session.withAuth((a) =>
      this.raw.listFileVersions(a.apiUrl, tok(a), {
        bucketId,
        prefix: fileName,
        startFileName: fileName,
        maxFileCount: 1,
      }),
    );
    const v = page.files[0];
    return v && v.fileName === fileName ? v : undefined;
  }

  async deleteFileVersion(
    fileId: string,
    fileName: string,
    opts: { bypassGovernance?: boolean } = {},
  ): Promise<void> {
    await this.session.withAuth((a) =>
      this.raw.deleteFileVersion(a.apiUrl, tok(a), {
        fileId,
        fileName,
        bypassGovernance: opts.bypassGovernance,
      }),
    );
  }

  updateFileRetention(req: w.UpdateFileRetentionRequest): Promise<w.UpdateFileRetentionResponse> {
    return this.session.withAuth((a) => this.raw.updateFileRetention(a.apiUrl, tok(a), req));
  }

  updateFileLegalHold(req: w.UpdateFileLegalHoldRequest): Promise<w.UpdateFileLegalHoldResponse> {
    return this.session.withAuth((a) => this.raw.updateFileLegalHold(a.apiUrl, tok(a), req));
  }

  // --- downloads and copies ---------------------------------------------------------------

  async downloadFileById(fileId: string, opts: DownloadOptions = {}): Promise<Download> {
    const res = await this.withDownloadAuth(opts, (a) =>
      this.raw.downloadFileById(a.downloadUrl, downloadToken(a, opts), fileId, downloadArgs(opts)),
    );
    return toDownload(res);
  }

  async downloadFileByName(
    bucketName: string,
    fileName: string,
    opts: DownloadOptions = {},
  ): Promise<Download> {
    const res = await this.withDownloadAuth(opts, (a) =>
      this.raw.downloadFileByName(
        a.downloadUrl,
        downloadToken(a, opts),
        bucketName,
        fileName,
        downloadArgs(opts),
      ),
    );
    return toDownload(res);
  }

  /**
   * Downloads with the account token re-authorize on expiry like any call; with a caller's
   * download-authorization token there is nothing to refresh, so its errors surface as they are.
   */
  private withDownloadAuth<T>(opts: DownloadOptions, fn: (a: AuthRecord) => Promise<T>): Promise<T> {
    if (opts.authorization !== undefined) return this.session.authorize().then(fn);
    return this.session.withAuth(fn);
  }

  /**
   * Server-side copy (≤ 5 GB). `range` copies part of the source. Not retried blindly: after a
   * lost answer, the newest version of the destination name holding the source's bytes (same
   * length and SHA-1; whole-file copies of files with a known SHA-1) is the copy, and is returned;
   * otherwise the copy is sent again (at worst an extra identical version).
   */
  async copyFile(req: CopyFileInput): Promise<FileVersion> {
    const { range, ...rest } = req;
    const send = () =>
      this.session.withAuth((a) =>
        this.raw.copyFile(a.apiUrl, tok(a), {
          ...rest,
          range: range ? `bytes=${range[0]}-${range[1]}` : undefined,
        }),
      );
    for (let round = 1; ; round++) {
      try {
        return await send();
      } catch (err) {
        if (!(err instanceof OutcomeUnknown) || round >= MAX_RECONCILE_ROUNDS) throw err;
        if (range) continue;
        const source = await this.getFileInfo(req.sourceFileId);
        const newest = await this.newestVersionOf(req.destinationBucketId ?? source.bucketId, req.fileName);
        if (
          newest &&
          newest.action === 'upload' &&
          newest.fileId !== source.fileId &&
          newest.contentLength === source.contentLength &&
          !!source.contentSha1 &&
          source.contentSha1 !== 'none' &&
          newest.contentSha1 === source.contentSha1
        ) {
          return newest;
        }
      }
    }
  }

  /** A token granting downloads by name under `fileNamePrefix` for a while (shareFiles). */
  async getDownloadAuthorization(req: DownloadAuthorizationInput): Promise<DownloadAuthorization> {
    const res = await this.session.withAuth((a) => this.raw.getDownloadAuthorization(a.apiUrl, tok(a), req));
    return {
      bucketId: res.bucketId,
      fileNamePrefix: res.fileNamePrefix,
      authorizationToken: new SecretString(res.authorizationToken),
    };
  }
}

// --- helpers ---------------------------------------------------------------------------------

/** Rounds of "send, lose the answer, reconcile" before the OutcomeUnknown is thrown. */
const MAX_RECONCILE_ROUNDS = 3;

function sameStringMap(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a![k] === b[k]);
}

function sameSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const sa = [...new Set(a ?? [])].sort();
  const sb = [...new Set(b ?? [])].sort();
  return sa.length === sb.length && sa.every((x, i) => x === sb[i]);
}

function normalizeScope(ids: readonly string[]): string[] {
  return [...new Set(ids)].sort();
}

function tok(a: AuthRecord): string {
  return a.token.reveal();
}

function validateRealm(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`B2Client: [realmUrl] must be an http(s) URL, got "${url}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`B2Client: [realmUrl] must be an http(s) URL, got "${url}"`);
  }
  return url.replace(/\/+$/, '');
}

function publicAuth(a: AuthRecord): AuthInfo {
  return {
    accountId: a.accountId,
    apiUrl: a.apiUrl,
    downloadUrl: a.downloadUrl,
    s3ApiUrl: a.s3ApiUrl,
    recommendedPartSize: a.recommendedPartSize,
    absoluteMinimumPartSize: a.absoluteMinimumPartSize,
    allowed: a.allowed,
    applicationKeyExpirationTimestamp: a.applicationKeyExpirationTimestamp,
    apiVersion: a.apiVersion,
  };
}

function normalizeKey(k: w.Key): Key {
  const bucketIds = k.bucketIds ?? (k.bucketId ? [k.bucketId] : null);
  const bucketId = k.bucketId ?? (bucketIds && bucketIds.length === 1 ? bucketIds[0] : null);
  return { ...k, bucketId, bucketIds };
}

function uploadHeaders(req: UploadFileInput): Record<string, string> {
  const h: Record<string, string> = {};
  const sse = req.serverSideEncryption;
  if (sse?.mode === 'SSE-B2') h[w.Header.serverSideEncryption] = sse.algorithm ?? 'AES256';
  if (sse?.mode === 'SSE-C') {
    if (!sse.customerKey || !sse.customerKeyMd5) {
      throw new TypeError('uploadFile: [serverSideEncryption] SSE-C needs customerKey and customerKeyMd5');
    }
    h[w.Header.sseCustomerAlgorithm] = sse.algorithm ?? 'AES256';
    h[w.Header.sseCustomerKey] = sse.customerKey;
    h[w.Header.sseCustomerKeyMd5] = sse.customerKeyMd5;
  }
  if (req.fileRetention) {
    h[w.Header.fileRetentionMode] = req.fileRetention.mode;
    h[w.Header.fileRetentionRetainUntil] = String(req.fileRetention.retainUntilTimestamp);
  }
  if (req.legalHold) h[w.Header.fileLegalHold] = req.legalHold;
  return h;
}

function downloadToken(a: AuthRecord, opts: DownloadOptions): string {
  if (opts.authorization === undefined) return tok(a);
  return typeof opts.authorization === 'string' ? opts.authorization : opts.authorization.reveal();
}

function downloadArgs(opts: DownloadOptions): { range?: [number, number]; headers?: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (opts.sseCustomer) {
    headers[w.Header.sseCustomerAlgorithm] = 'AES256';
    headers[w.Header.sseCustomerKey] = opts.sseCustomer.key.reveal();
    headers[w.Header.sseCustomerKeyMd5] = opts.sseCustomer.keyMd5;
  }
  return { range: opts.range, headers };
}

function toDownload(res: DownloadResponse): Download {
  const h = res.headers;
  const fileInfo: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(w.Header.infoPrefix)) fileInfo[k.slice(w.Header.infoPrefix.length)] = safeDecode(v);
  }
  const stream = res.body;
  return {
    status: res.status,
    stream,
    contentLength: Number(h[w.Header.contentLength] ?? 0),
    contentType: h[w.Header.contentType] ?? 'application/octet-stream',
    contentSha1: h[w.Header.contentSha1] ?? null,
    contentRange: h[w.Header.contentRange] ?? null,
    fileId: h[w.Header.fileId] ?? '',
    fileName: safeDecode(h[w.Header.fileName] ?? ''),
    fileInfo,
    uploadTimestamp: h[w.Header.uploadTimestamp] ? Number(h[w.Header.uploadTimestamp]) : null,
    headers: h,
    async buffer() {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
      return Buffer.concat(chunks);
    },
  };
}

function safeDecode(v: string): string {
  try {
    return w.decodeB2String(v);
  } catch {
    return v; // malformed percent-encoding: keep what the server sent
  }
}
