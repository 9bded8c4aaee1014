/**
 * Tokens for the raw API (b2sdk `session.py`, docs/conventions.md §2).
 *
 * - One authorization per (realm, key id) per process: a module-level cache lets every
 *   `B2Client` built for the same key share it (a Pulumi provider process builds one client per
 *   resource operation; docs/architecture.md §6 wants one authorize per process). The cache key also holds a
 *   SHA-256 of the application key, so a wrong key never borrows another client's token.
 * - On `expired_auth_token` / `bad_auth_token` for an account-token call the session
 *   re-authorizes once and repeats the call once. Concurrent failures share one re-authorize.
 * - Upload URLs are pooled per bucket (part URLs per large file). A URL serves one upload at a
 *   time (B2 answers `auth_token_limit` otherwise); it goes back to the pool only after a
 *   success, so every retry after a failure uses a fresh URL (docs/b2-api.md §12).
 */
import { createHash } from 'crypto';
import {
  AuthTokenLimit,
  B2Error,
  BadAuthToken,
  BadRequest,
  ExpiredAuthToken,
  UnsupportedByApiVersion,
} from './errors';
import { RawApi, UploadFileArgs, UploadPartArgs } from './raw';
import { RetryPolicy } from './retry';
import { SecretString } from './secret';
import type * as w from './wire';

/** What an authorization allows: v3 flat fields and v4 `buckets`, both filled in. */
export interface AllowedScope {
  capabilities: string[];
  /** Single-bucket keys (v3); for a v4 key restricted to exactly one bucket, that bucket. */
  bucketId: string | null;
  bucketName: string | null;
  /** v4 multi-bucket scope; null = all buckets. Filled from bucketId for v3 answers. */
  buckets: { id: string; name: string | null }[] | null;
  namePrefix: string | null;
}

/** Public result of `authorize()`: everything but the token. */
export interface AuthInfo {
  accountId: string;
  apiUrl: string;
  downloadUrl: string;
  s3ApiUrl: string;
  recommendedPartSize: number;
  absoluteMinimumPartSize: number;
  allowed: AllowedScope;
  applicationKeyExpirationTimestamp: number | null;
  /** Which authorize version answered (v4 only for multi-bucket keys). */
  apiVersion: 'v3' | 'v4';
}

/** An authorization with its token; internal to the client. */
export interface AuthRecord extends AuthInfo {
  token: SecretString;
  /** Increases with every re-authorize of the same cache entry. */
  generation: number;
}

interface CacheEntry {
  promise: Promise<AuthRecord>;
  generation: number;
}

const AUTH_CACHE = new Map<string, CacheEntry>();

/** Forgets every cached authorization in this process (tests; key rotation). */
export function clearAuthorizationCache(): void {
  AUTH_CACHE.clear();
}

interface UploadTarget {
  uploadUrl: string;
  authorizationToken: string;
}

const UPLOAD_OPERATIONS = new Set(['b2_upload_file', 'b2_upload_part']);

/**
 * Upload retry rule: the general one, plus an upload token B2 refused (expired, bad, or busy),
 * which a fresh upload URL fixes. Account-token failures are the session's re-auth concern.
 */
export function isUploadRetryable(err: unknown): boolean {
  if (!(err instanceof B2Error)) return false;
  if (err.retryable) return true;
  if (!UPLOAD_OPERATIONS.has(err.operation)) return false;
  return err instanceof ExpiredAuthToken || err instanceof BadAuthToken || err instanceof AuthTokenLimit;
}

function needsReauth(err: unknown): boolean {
  return (
    (err instanceof ExpiredAuthToken || err instanceof BadAuthToken) &&
    !UPLOAD_OPERATIONS.has(err.operation) &&
    err.operation !== 'b2_authorize_account'
  );
}

export interface SessionOptions {
  raw: RawApi;
  policy: RetryPolicy;
  realmUrl: string;
  applicationKeyId: string;
  applicationKey: SecretString;
}

export class Session {
  readonly realmUrl: string;
  readonly applicationKeyId: string;
  private readonly raw: RawApi;
  private readonly policy: RetryPolicy;
  private readonly applicationKey: SecretString;
  private readonly cacheKey: string;
  private readonly uploadUrls = new Map<string, UploadTarget[]>();
  private readonly partUrls = new Map<string, UploadTarget[]>();

  constructor(opts: SessionOptions) {
    this.raw = opts.raw;
    this.policy = opts.policy;
    this.realmUrl = opts.realmUrl.replace(/\/+$/, '');
    this.applicationKeyId = opts.applicationKeyId;
    this.applicationKey = opts.applicationKey;
    const keyHash = createHash('sha256').update(opts.applicationKey.reveal()).digest('hex');
    this.cacheKey = `${this.realmUrl}\n${opts.applicationKeyId}\n${keyHash}`;
  }

  /** The cached authorization, authorizing on first use. */
  authorize(): Promise<AuthRecord> {
    const entry = AUTH_CACHE.get(this.cacheKey);
    if (entry) return entry.promise;
    return this.startAuthorize(1);
  }

  /**
   * Runs `fn` with the account token; on an expired/bad token re-authorizes (once, shared with
   * concurrent callers) and runs `fn` exactly once more.
   */
  async withAuth<T>(fn: (auth: AuthRecord) => Promise<T>): Promise<T> {
    const auth = await this.authorize();
    try {
      return await fn(auth);
    } catch (err) {
      if (!needsReauth(err)) throw err;
      const fresh = await this.reauthorize(auth);
      return fn(fresh);
    }
  }

  /** Replaces `stale` unless someone already did; concurrent callers share one authorize. */
  reauthorize(stale: AuthRecord): Promise<AuthRecord> {
    const entry = AUTH_CACHE.get(this.cacheKey);
    if (entry && entry.generation > stale.generation) return entry.promise;
    return this.startAuthorize(stale.generation + 1);
  }

  private startAuthorize(generation: number): Promise<AuthRecord> {
    const promise = this.fetchAuthorization(generation);
    const entry: CacheEntry = { promise, generation };
    AUTH_CACHE.set(this.cacheKey, entry);
    // A failed authorize is not cached: the next call tries again.
    promise.catch(() => {
      if (AUTH_CACHE.get(this.cacheKey) === entry) AUTH_CACHE.delete(this.cacheKey);
    });
    return promise;
  }

  private async fetchAuthorization(generation: number): Promise<AuthRecord> {
    try {
      const v3 = await this.raw.authorizeAccount(
        this.realmUrl,
        this.applicationKeyId,
        this.applicationKey,
        'v3',
      );
      return fromV3(v3, generation);
    } catch (err) {
      // Multi-bucket keys authorize only on v4 (docs/b2-api.md §1.1). The docs say older versions
      // answer 401 `unsupported`; rclone saw a 400 on v1 (PR #8978), so both fall through to v4.
      if (!(err instanceof UnsupportedByApiVersion) && !(err instanceof BadRequest)) throw err;
      const v4 = await this.raw.authorizeAccount(
        this.realmUrl,
        this.applicationKeyId,
        this.applicationKey,
        'v4',
      );
      return fromV4(v4, generation);
    }
  }

  // --- uploads ----------------------------------------------------------------------------

  /** Uploads one small file, each attempt on a pooled or fresh upload URL. */
  uploadFile(bucketId: string, args: UploadFileArgs): Promise<w.FileVersion> {
    return this.policy.run(
      async () => {
        const target = await this.takeTarget(this.uploadUrls, bucketId, (auth) =>
          this.raw.getUploadUrl(auth.apiUrl, auth.token.reveal(), { bucketId }),
        );
        const file = await this.raw.uploadFile(target.uploadUrl, target.authorizationToken, args);
        give(this.uploadUrls, bucketId, target);
        return file;
      },
      { operation: 'b2_upload_file', isRetryable: isUploadRetryable },
    );
  }

  /** Uploads one part of a large file, each attempt on a pooled or fresh part URL. */
  uploadPart(fileId: string, args: UploadPartArgs): Promise<w.Part> {
    return this.policy.run(
      async () => {
        const target = await this.takeTarget(this.partUrls, fileId, (auth) =>
          this.raw.getUploadPartUrl(auth.apiUrl, auth.token.reveal(), { fileId }),
        );
        const part = await this.raw.uploadPart(target.uploadUrl, target.authorizationToken, fileId, args);
        give(this.partUrls, fileId, target);
        return part;
      },
      { operation: 'b2_upload_part', isRetryable: isUploadRetryable },
    );
  }

  /** Drops pooled part URLs of a finished or cancelled large file. */
  forgetLargeFile(fileId: string): void {
    this.partUrls.delete(fileId);
  }

  private async takeTarget(
    pool: Map<string, UploadTarget[]>,
    key: string,
    fetchNew: (auth: AuthRecord) => Promise<UploadTarget>,
  ): Promise<UploadTarget> {
    const free = pool.get(key);
    const pooled = free?.pop();
    if (pooled) return pooled;
    const fresh = await this.withAuth(fetchNew);
    return { uploadUrl: fresh.uploadUrl, authorizationToken: fresh.authorizationToken };
  }
}

function give(pool: Map<string, UploadTarget[]>, key: string, target: UploadTarget): void {
  const free = pool.get(key);
  if (free) free.push(target);
  else pool.set(key, [target]);
}

/** The fields v3 and v4 answers share: the token and the endpoints under `apiInfo.storageApi`. */
function endpointsOf(
  r: w.AuthorizeAccountResponseV3 | w.AuthorizeAccountResponseV4,
  generation: number,
): Omit<AuthRecord, 'apiVersion' | 'allowed'> {
  const s = r.apiInfo.storageApi;
  return {
    accountId: r.accountId,
    token: new SecretString(r.authorizationToken),
    generation,
    apiUrl: s.apiUrl,
    downloadUrl: s.downloadUrl,
    s3ApiUrl: s.s3ApiUrl,
    recommendedPartSize: s.recommendedPartSize,
    absoluteMinimumPartSize: s.absoluteMinimumPartSize,
    applicationKeyExpirationTimestamp: r.applicationKeyExpirationTimestamp ?? null,
  };
}

function fromV3(r: w.AuthorizeAccountResponseV3, generation: number): AuthRecord {
  const s = r.apiInfo.storageApi;
  return {
    ...endpointsOf(r, generation),
    apiVersion: 'v3',
    allowed: {
      capabilities: s.capabilities ?? [],
      bucketId: s.bucketId ?? null,
      bucketName: s.bucketName ?? null,
      buckets: s.bucketId ? [{ id: s.bucketId, name: s.bucketName ?? null }] : null,
      namePrefix: s.namePrefix ?? null,
    },
  };
}

function fromV4(r: w.AuthorizeAccountResponseV4, generation: number): AuthRecord {
  const s = r.apiInfo.storageApi;
  const buckets = s.allowed.buckets;
  const single = buckets && buckets.length === 1 ? buckets[0] : undefined;
  return {
    ...endpointsOf(r, generation),
    apiVersion: 'v4',
    allowed: {
      capabilities: s.allowed.capabilities ?? [],
      bucketId: single?.id ?? null,
      bucketName: single?.name ?? null,
      buckets: buckets ?? null,
      namePrefix: s.allowed.namePrefix ?? null,
    },
  };
}
