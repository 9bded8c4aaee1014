/**
 * File versions: simple uploads, file info, hide, delete (Object Lock enforced), retention and
 * legal hold updates, and the unchecked helpers the lifecycle and replication jobs use.
 */
import { B2Error, errors } from '../errors';
import type { AuthContext, FileRecord } from '../types';
import * as v from '../validate';
import type { Accounts } from './accounts';
import { EMPTY_MD5, EMPTY_SHA1, EngineCore, checkSseCKey, requireCap, requireNameScope } from './base';
import { checkSha1Header, ingest, verifySha1 } from './ingest';
import type { UploadInput } from './types';

export class Files {
  constructor(
    private readonly core: EngineCore,
    private readonly accounts: Accounts,
  ) {}

  getUploadUrl(auth: AuthContext, bucketId: string): { token: string; bucketId: string } {
    requireCap(auth, 'writeFiles');
    this.core.bucketFor(auth, bucketId);
    return { token: this.accounts.issueUploadToken(auth, bucketId, null), bucketId };
  }

  /** Check everything that does not need the body, so a refused upload fails before streaming. */
  precheckUpload(auth: AuthContext, input: Omit<UploadInput, 'body'>): void {
    const { bucket, fileName } = this.core.checkWrite(auth, input.bucketId, input.fileName);
    checkSha1Header(input.sha1, 'X-Bz-Content-Sha1');
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
    if (input.uploadTimestamp !== undefined && input.uploadTimestamp > this.core.clock.now())
      throw errors.badRequest('X-Bz-Custom-Upload-Timestamp must not be in the future');
    if (input.sse?.mode === 'SSE-C') checkSseCKey(input.sse);
    this.core.resolveLock(auth, bucket, input.fileRetention, input.legalHold, this.core.clock.now());
  }

  async uploadFile(auth: AuthContext, input: UploadInput): Promise<FileRecord> {
    this.precheckUpload(auth, input);
    const got = await ingest(
      this.core.store,
      input.body,
      input.contentLength,
      input.sha1,
      v.MAX_SIMPLE_UPLOAD,
    );
    const sha1 = await verifySha1(got, input.sha1, input.md5);
    // the bucket may have gone while the body streamed
    const bucket = this.core.store.getBucket(input.bucketId);
    if (!bucket) {
      await got.blob.abort();
      throw errors.badBucketId(input.bucketId);
    }
    // an empty file references no blob: drop the empty one instead of leaving it unreferenced
    if (got.blob.size) await got.blob.commit();
    else await got.blob.abort();
    const now = this.core.clock.now();
    const f = this.core.newVersion(bucket, input.fileName, 'upload', now);
    const sse = this.core.resolveSse(bucket, input.sse);
    Object.assign(f, this.core.resolveLock(auth, bucket, input.fileRetention, input.legalHold, now));
    f.uploadTimestamp = input.uploadTimestamp ?? now;
    f.contentLength = got.blob.size;
    f.contentSha1 = sha1;
    f.contentMd5 = got.md5;
    f.contentType = v.resolveContentType(v.validateContentType(input.contentType), input.fileName);
    f.fileInfo = v.validateFileInfo(input.fileInfo, 'X-Bz-Info');
    f.serverSideEncryption = sse;
    f.replicationStatus = this.core.replicationStatusFor(bucket, input.fileName, sse);
    f.chunks = got.blob.size ? [{ blobId: got.blob.blobId, offset: 0, size: got.blob.size }] : [];
    if (input.extra) f.extra = input.extra;
    this.core.store.putFile(f);
    return f;
  }

  getFileInfo(auth: AuthContext, fileId: string): FileRecord {
    requireCap(auth, 'readFiles');
    return this.core.fileFor(auth, fileId);
  }

  hideFile(auth: AuthContext, bucketId: string, fileName: unknown): FileRecord {
    const { bucket, fileName: name } = this.core.checkWrite(auth, bucketId, fileName);
    const newest = this.core.newestVersion(bucket.bucketId, name);
    if (!newest) throw new B2Error(400, 'no_such_file', `File not present: ${name}`);
    if (newest.action === 'hide') throw new B2Error(400, 'already_hidden', `File already hidden: ${name}`);
    const now = this.core.clock.now();
    const f = this.core.newVersion(bucket, name, 'hide', now);
    f.contentType = 'application/x-bz-hide-marker';
    f.contentSha1 = EMPTY_SHA1;
    f.contentMd5 = EMPTY_MD5;
    this.core.store.putFile(f);
    return f;
  }

  async deleteFileVersion(
    auth: AuthContext,
    input: { fileId: string; fileName: string; bypassGovernance?: boolean },
  ): Promise<FileRecord> {
    requireCap(auth, 'deleteFiles');
    if (typeof input.fileName !== 'string' || !input.fileName)
      throw errors.badRequest('fileName is required');
    requireNameScope(auth, input.fileName); // before saying whether the version exists
    const f = this.core.fileFor(
      auth,
      input.fileId,
      (id) => new B2Error(400, 'file_not_present', `File not present: ${input.fileName} ${id}`),
    );
    if (f.fileName !== input.fileName)
      throw new B2Error(400, 'file_not_present', `File not present: ${input.fileName} ${input.fileId}`);
    this.checkDeletable(auth, f, input.bypassGovernance === true);
    await this.core.store.deleteFile(f.fileId);
    return f;
  }

  /** Object Lock: legal hold and unexpired retention protect a version (docs/b2-api.md §9). */
  private checkDeletable(auth: AuthContext, f: FileRecord, bypass: boolean): void {
    if (auth.system) return;
    if (f.legalHold === 'on') throw errors.accessDenied(`file ${f.fileName} is under legal hold`);
    const r = f.fileRetention;
    if (r?.mode && r.retainUntilTimestamp && r.retainUntilTimestamp > this.core.clock.now()) {
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
    const next = v.validateFileRetention(input.fileRetention, this.core.clock.now());
    const cur = f.fileRetention;
    const now = this.core.clock.now();
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
    this.core.store.putFile(f);
    return f;
  }

  updateFileLegalHold(
    auth: AuthContext,
    input: { fileId: string; fileName: string; legalHold: unknown },
  ): FileRecord {
    requireCap(auth, 'writeFileLegalHolds');
    const f = this.lockTarget(auth, input.fileId, input.fileName);
    f.legalHold = v.validateLegalHold(input.legalHold);
    this.core.store.putFile(f);
    return f;
  }

  private lockTarget(auth: AuthContext, fileId: string, fileName: string): FileRecord {
    if (typeof fileName === 'string') requireNameScope(auth, fileName); // before existence
    const f = this.core.fileFor(
      auth,
      fileId,
      (id) => new B2Error(400, 'file_not_present', `File not present: ${id}`),
    );
    if (f.fileName !== fileName)
      throw new B2Error(400, 'file_not_present', `File not present: ${fileName} ${fileId}`);
    const bucket = this.core.store.getBucket(f.bucketId);
    if (!bucket?.fileLockEnabled)
      throw new B2Error(
        400,
        'bucket_missing_file_lock',
        `Bucket ${bucket?.bucketName ?? f.bucketId} does not have Object Lock enabled`,
      );
    if (f.action !== 'upload') throw errors.badRequest(`file ${fileId} is not an uploaded file`);
    return f;
  }

  // ---------------------------------------------------------------- jobs support

  /** Delete a version without lock checks' caller scope (lifecycle: still honours Object Lock). */
  async systemDeleteVersion(fileId: string): Promise<boolean> {
    const f = this.core.store.getFile(fileId);
    if (!f) return false;
    if (f.legalHold === 'on') return false;
    const r = f.fileRetention;
    if (r?.mode && r.retainUntilTimestamp && r.retainUntilTimestamp > this.core.clock.now()) return false;
    await this.core.store.deleteFile(fileId);
    return true;
  }

  /** Store a replica or job-made version as is (replication): caller builds the record. */
  putSystemVersion(f: FileRecord): void {
    this.core.store.putFile(f);
  }

  /** A new, unsaved version record for jobs (fileId and seq allocated). */
  makeVersion(bucketId: string, fileName: string, action: FileRecord['action']): FileRecord {
    const bucket = this.core.store.getBucket(bucketId);
    if (!bucket) throw errors.badBucketId(bucketId);
    return this.core.newVersion(bucket, fileName, action, this.core.clock.now());
  }
}
