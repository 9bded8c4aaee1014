/**
 * Accounts, application keys and tokens: the master key, key create/delete/list, authorization
 * (account tokens), and the upload-URL and download-authorization tokens the other modules issue.
 * Tokens live in memory only: a restart makes clients re-authorize, as B2 allows (docs/b2-api.md §1.4).
 */
import { createHash, timingSafeEqual } from 'crypto';
import { B2Error, errors } from '../errors';
import { newAccountId, newApplicationKey, newKeyId, newToken } from '../ids';
import { ALL_CAPABILITIES, BUCKET_KEY_CAPABILITIES, type AuthContext, type KeyRecord } from '../types';
import type { Store } from '../../store/types';
import { EngineCore, TOKEN_TTL_MS, requireBucketScope, requireCap, systemAuthFor } from './base';
import type { CreateKeyInput, DownloadTokenRecord } from './types';

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

/** Constant-time comparison of two secrets (their SHA-256 digests, so lengths may differ). */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** The account id of a store, created on first open. */
export function accountIdOf(store: Store): string {
  let accountId = store.getMeta('accountId');
  if (!accountId) {
    accountId = newAccountId();
    store.setMeta('accountId', accountId);
  }
  return accountId;
}

export class Accounts {
  private master: KeyRecord;
  private tokens = new Map<string, TokenRecord>();
  private uploadTokens = new Map<string, UploadTokenRecord>();
  private downloadTokens = new Map<string, DownloadTokenRecord>();

  constructor(
    private readonly core: EngineCore,
    fixed: { masterKeyId?: string; masterKey?: string },
  ) {
    const { store, accountId } = core;
    const stored = store.getMeta('masterKey');
    const prev = stored ? (JSON.parse(stored) as { id: string; key: string }) : null;
    const id = fixed.masterKeyId ?? prev?.id ?? accountId;
    const key = fixed.masterKey ?? prev?.key ?? newApplicationKey();
    if (!prev || prev.id !== id || prev.key !== key) store.setMeta('masterKey', JSON.stringify({ id, key }));
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

  private get accountId(): string {
    return this.core.accountId;
  }

  /** Master credentials for the ready line. */
  masterCredentials(): { keyId: string; applicationKey: string } {
    return { keyId: this.master.applicationKeyId, applicationKey: this.master.applicationKey };
  }

  /** The key with this id (the master key also under the account id), if it exists. */
  findKey(keyId: string): KeyRecord | undefined {
    if (keyId === this.master.applicationKeyId || keyId === this.accountId) return { ...this.master };
    return this.core.store.getKey(keyId);
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
    return systemAuthFor(this.accountId);
  }

  /** Key check for S3 SigV4 and native authorize: the key if id+secret match and it is live. */
  verifyKey(keyId: string, secret: string): KeyRecord {
    const key = this.findKey(keyId);
    if (!key || !secretsEqual(key.applicationKey, secret))
      throw errors.unauthorized('Invalid application key id or key');
    if (key.expirationTimestamp !== null && key.expirationTimestamp <= this.core.clock.now())
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
    let expiresAt = this.core.clock.now() + TOKEN_TTL_MS;
    if (key.expirationTimestamp !== null) expiresAt = Math.min(expiresAt, key.expirationTimestamp);
    this.tokens.set(token, { keyId: key.applicationKeyId, expiresAt });
    this.core.prune(this.tokens);
    return { token, key, expiresAt };
  }

  /** The context behind an account authorization token. */
  authenticate(token: string, apiVersion: number): AuthContext {
    const rec = this.tokens.get(token);
    if (!rec) throw errors.badAuthToken();
    if (rec.expiresAt <= this.core.clock.now()) throw errors.expiredAuthToken();
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
        if (typeof id !== 'string' || !this.core.store.getBucket(id)) throw errors.badBucketId(String(id));
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
      expirationTimestamp = this.core.clock.now() + d * 1000;
    }
    const namePrefix = input.namePrefix ?? null;
    if (namePrefix !== null && typeof namePrefix !== 'string')
      throw errors.badRequest('namePrefix must be a string');
    // a key never mints a key wider than itself: a prefix-restricted creator's key lives inside
    // its own prefix (docs/b2-key-scope.md)
    if (auth.namePrefix && !auth.system && !(namePrefix ?? '').startsWith(auth.namePrefix))
      throw errors.unauthorized(
        `a key restricted to names starting with "${auth.namePrefix}" can only create keys whose namePrefix starts with it`,
      );
    const counter = Number(this.core.store.getMeta('keyCounter') ?? '0') + 1;
    this.core.store.setMeta('keyCounter', String(counter));
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
      createdAt: this.core.clock.now(),
    };
    this.core.store.putKey(key);
    return key;
  }

  deleteKey(auth: AuthContext, applicationKeyId: string): KeyRecord {
    requireCap(auth, 'deleteKeys');
    const key = this.core.store.getKey(applicationKeyId);
    if (!key) throw errors.badRequest(`applicationKeyId ${applicationKeyId} does not exist`);
    this.core.store.deleteKey(applicationKeyId);
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
    const all = this.core.store
      .listKeys(opts.startApplicationKeyId ?? null, Number.MAX_SAFE_INTEGER)
      .filter((k) => auth.apiVersion >= 4 || !(k.bucketIds && k.bucketIds.length > 1));
    const keys = all.slice(0, max);
    return { keys, nextApplicationKeyId: all.length > max ? all[max]!.applicationKeyId : null };
  }

  /**
   * Bound the in-memory token tables of a long-running emulator: past MAX_TOKENS, drop expired

  // ---------------------------------------------------------------- upload and download tokens

  /** A token for b2_upload_file (fileId null) or b2_upload_part (fileId of the large file). */
  issueUploadToken(auth: AuthContext, bucketId: string, fileId: string | null): string {
    const token = newToken('4', this.accountId) + (fileId ? '_part' : '_upload');
    this.core.prune(this.uploadTokens);
    this.uploadTokens.set(token, {
      keyId: auth.keyId,
      auth,
      bucketId,
      fileId,
      expiresAt: this.core.clock.now() + TOKEN_TTL_MS,
      busy: false,
    });
    return token;
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
    if (rec.expiresAt <= this.core.clock.now()) throw errors.expiredAuthToken();
    this.requireLiveKey(rec.keyId);
    if (rec.busy)
      throw new B2Error(400, 'auth_token_limit', `more than one upload using auth token ${token}`);
    rec.busy = true;
    return { auth: rec.auth, bucketId: rec.bucketId, fileId: rec.fileId, release: () => (rec.busy = false) };
  }

  /** Remember a download authorization (b2_get_download_authorization); returns its token. */
  issueDownloadToken(rec: DownloadTokenRecord): string {
    const token = newToken('3', this.accountId) + '_dl';
    this.core.prune(this.downloadTokens);
    this.downloadTokens.set(token, rec);
    return token;
  }

  /** The download authorization behind a token, if it is one (expired, or its key gone → 401). */
  downloadToken(token: string): DownloadTokenRecord | undefined {
    const dl = this.downloadTokens.get(token);
    if (!dl) return undefined;
    if (dl.expiresAt <= this.core.clock.now()) throw errors.expiredAuthToken();
    this.requireLiveKey(dl.keyId);
    return dl;
  }

  /**
   * Tokens derived from a key (upload URLs, download authorizations) live no longer than the key:
   * deleted → 401 `bad_auth_token`, expired → 401 `expired_auth_token`.
   */
  private requireLiveKey(keyId: string): void {
    const key = this.findKey(keyId);
    if (!key) throw errors.badAuthToken('The application key behind this token was deleted');
    if (key.expirationTimestamp !== null && key.expirationTimestamp <= this.core.clock.now())
      throw errors.expiredAuthToken('The application key behind this token has expired');
  }
}
