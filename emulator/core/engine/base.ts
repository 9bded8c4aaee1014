/**
 * The small core every engine module shares: one account's store and clock, the scope checks
 * (capability, bucket, name prefix), the lookups that apply them (bucket, file version, unfinished
 * large file), and the settings every new version resolves (SSE, Object Lock, replication status).
 *
 * Rules come from docs/b2-api.md; section numbers are cited where a rule is not obvious.
 */
import { createHash } from 'crypto';
import type { Store } from '../../store/types';
import type { Clock } from '../clock';
import { B2Error, errors } from '../errors';
import { FILE_ID_RE, newFileId } from '../ids';
import {
  ALL_CAPABILITIES,
  type AuthContext,
  type BucketRecord,
  type Chunk,
  type FileRecord,
  type FileRetention,
  type SseSetting,
} from '../types';
import * as v from '../validate';
import type { SseInput } from './types';

export const DAY_MS = 86_400_000;
/** Account authorization tokens and upload tokens live at most 24 h (docs/b2-api.md §1.4). */
export const TOKEN_TTL_MS = DAY_MS;
/** Most live tokens of each kind kept in memory (see `prune`). */
const MAX_TOKENS = 50_000;

export const EMPTY_SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
export const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

export const systemAuthFor = (accountId: string): AuthContext => ({
  accountId,
  keyId: 'system',
  capabilities: new Set(ALL_CAPABILITIES),
  bucketIds: null,
  namePrefix: null,
  isMaster: true,
  apiVersion: 4,
  system: true,
});

export class EngineCore {
  constructor(
    readonly region: string,
    readonly accountId: string,
    readonly store: Store,
    readonly clock: Clock,
  ) {}

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

  /** An unfinished large file the caller may address. */
  startedFile(auth: AuthContext, fileId: unknown): FileRecord {
    if (typeof fileId !== 'string' || !fileId) throw errors.badRequest('fileId is required');
    if (!FILE_ID_RE.test(fileId)) throw errors.badFileId(fileId);
    const f = this.store.getFile(fileId);
    if (!f || f.action !== 'start') throw errors.badRequest(`No active upload for: ${fileId}`);
    requireBucketScope(auth, f.bucketId);
    requireNameScope(auth, f.fileName);
    return f;
  }

  checkWrite(
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

  /** A new, unsaved version record (fileId and seq allocated). */
  newVersion(bucket: BucketRecord, fileName: string, action: FileRecord['action'], now: number): FileRecord {
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
  resolveSse(bucket: BucketRecord, sse: SseInput | null | undefined): SseSetting | null {
    if (sse?.mode === 'SSE-C') {
      checkSseCKey(sse);
      return { mode: 'SSE-C', algorithm: 'AES256', customerKeyMd5: sse.customerKeyMd5 };
    }
    if (sse?.mode === 'SSE-B2') return { mode: 'SSE-B2', algorithm: 'AES256' };
    return bucket.defaultServerSideEncryption ? { ...bucket.defaultServerSideEncryption } : null;
  }

  /** Object Lock settings of a new file: explicit (needs capability + lock bucket), else the default. */
  resolveLock(
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
  replicationStatusFor(bucket: BucketRecord, fileName: string, sse: SseSetting | null): string | null {
    const rules = bucket.replicationConfiguration?.asReplicationSource?.replicationRules ?? [];
    if (sse?.mode === 'SSE-C') return null;
    return rules.some((r) => r.isEnabled && fileName.startsWith(r.fileNamePrefix)) ? 'PENDING' : null;
  }

  /** The newest finished version of a name (hide markers included), if any. */
  newestVersion(bucketId: string, fileName: string): FileRecord | undefined {
    return this.store.versionsOf(bucketId, fileName).find((f) => f.action !== 'start');
  }

  // ---------------------------------------------------------------- listing

  /**
   * The listing prefix after the key's namePrefix: v2+ refuse a prefix outside it (401), v1
   * silently filters (docs/b2-api.md §1.1).
   */
  effectivePrefix(auth: AuthContext, prefix: string): { prefix: string; filter: string | null } {
    const np = auth.namePrefix;
    if (!np) return { prefix, filter: null };
    if (prefix.startsWith(np)) return { prefix, filter: null };
    if (auth.apiVersion >= 2)
      throw errors.unauthorized(`the key may only list names starting with "${np}"; pass prefix="${np}"`);
    return { prefix, filter: np };
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

  /**
   * Bound an in-memory token table of a long-running emulator: past MAX_TOKENS, drop expired
   * tokens, then the oldest idle ones (a dropped token answers 401 and clients re-authorize).
   */
  prune<T extends { expiresAt: number; busy?: boolean }>(table: Map<string, T>): void {
    if (table.size < MAX_TOKENS) return;
    const now = this.clock.now();
    for (const [t, rec] of table) if (rec.expiresAt <= now && !rec.busy) table.delete(t);
    for (const [t, rec] of table) {
      if (table.size < MAX_TOKENS * 0.9) break;
      if (!rec.busy) table.delete(t);
    }
  }
}

// ------------------------------------------------------------------ scope checks

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

export function checkSseCKey(sse: SseInput): void {
  if (sse.mode !== 'SSE-C') return;
  const key = Buffer.from(sse.customerKey ?? '', 'base64');
  if (key.length !== 32) throw errors.badRequest('SSE-C customer key must be base64 of 32 bytes');
  const md5 = createHash('md5').update(key).digest('base64');
  if (md5 !== sse.customerKeyMd5) throw errors.badRequest('SSE-C customer key MD5 does not match the key');
}
