/**
 * Large files: start, part upload URLs, part uploads, part listing, finish, cancel, and the
 * listing of unfinished large files (docs/b2-api.md §2.2).
 */
import { B2Error, errors } from '../errors';
import type { AuthContext, FileRecord, PartRecord } from '../types';
import * as v from '../validate';
import type { Accounts } from './accounts';
import { EngineCore, checkSseCKey, requireCap } from './base';
import { checkSha1Header, ingest, verifySha1 } from './ingest';
import type { SseInput, StartLargeFileInput, UploadPartInput } from './types';

export class LargeFiles {
  constructor(
    private readonly core: EngineCore,
    private readonly accounts: Accounts,
  ) {}

  getUploadPartUrl(auth: AuthContext, fileId: string): { token: string; fileId: string } {
    requireCap(auth, 'writeFiles');
    const f = this.core.startedFile(auth, fileId);
    return { token: this.accounts.issueUploadToken(auth, f.bucketId, fileId), fileId };
  }

  startLargeFile(auth: AuthContext, input: StartLargeFileInput): FileRecord {
    const { bucket, fileName } = this.core.checkWrite(auth, input.bucketId, input.fileName);
    const ct = v.validateContentType(input.contentType);
    const info = v.validateFileInfo(input.fileInfo);
    v.checkHeaderBudget(fileName, info, !!input.sse || bucket.fileLockEnabled);
    const now = this.core.clock.now();
    const f = this.core.newVersion(bucket, fileName, 'start', now);
    Object.assign(f, this.core.resolveLock(auth, bucket, input.fileRetention, input.legalHold, now));
    f.contentType = v.resolveContentType(ct, fileName);
    f.fileInfo = info;
    f.serverSideEncryption = this.core.resolveSse(bucket, input.sse);
    if (input.extra) f.extra = input.extra;
    this.core.store.putFile(f);
    return f;
  }

  precheckUploadPart(auth: AuthContext, input: Omit<UploadPartInput, 'body'>): FileRecord {
    requireCap(auth, 'writeFiles');
    const f = this.core.startedFile(auth, input.fileId);
    if (!Number.isInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > v.MAX_PART_NUMBER)
      throw errors.badRequest(`X-Bz-Part-Number must be an integer 1-${v.MAX_PART_NUMBER}`);
    checkSha1Header(input.sha1, 'X-Bz-Content-Sha1');
    const cl = input.contentLength ?? 0; // unknown length (S3 streaming): checked while streaming
    const dataLength = input.sha1 === 'hex_digits_at_end' ? cl - 40 : cl;
    if (!Number.isInteger(cl) || dataLength < 0) throw errors.badRequest('Content-Length is required');
    if (dataLength > v.MAX_PART_SIZE)
      throw errors.badRequest(`part is ${dataLength} bytes; at most ${v.MAX_PART_SIZE} are allowed`);
    this.checkPartSse(f, input.sse);
    return f;
  }

  checkPartSse(f: FileRecord, sse: SseInput | null | undefined): void {
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
    const got = await ingest(this.core.store, input.body, input.contentLength, input.sha1, v.MAX_PART_SIZE);
    const sha1 = await verifySha1(got, input.sha1, input.md5);
    if (this.core.store.getFile(f.fileId)?.action !== 'start') {
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
      uploadTimestamp: this.core.clock.now(),
      serverSideEncryption: f.serverSideEncryption
        ? { mode: f.serverSideEncryption.mode, algorithm: 'AES256' }
        : null,
      chunk: { blobId: got.blob.blobId, offset: 0, size: got.blob.size },
    };
    // finished or cancelled while the blob was committed: refused, and the blob is freed
    if (!(await this.core.store.putPart(part))) throw errors.badRequest(`No active upload for: ${f.fileId}`);
    return part;
  }

  listParts(
    auth: AuthContext,
    opts: { fileId: string; startPartNumber?: number; maxPartCount?: number },
  ): { parts: PartRecord[]; nextPartNumber: number | null } {
    requireCap(auth, 'writeFiles');
    const f = this.core.startedFile(auth, opts.fileId);
    const start = opts.startPartNumber ?? 1;
    if (!Number.isInteger(start) || start < 1 || start > v.MAX_PART_NUMBER)
      throw errors.badRequest(`startPartNumber must be 1-${v.MAX_PART_NUMBER}`);
    const max = opts.maxPartCount ?? 100;
    if (!Number.isInteger(max) || max < 1 || max > 1000)
      throw errors.badRequest('maxPartCount must be 1-1000');
    const parts = this.core.store.listParts(f.fileId, start, max + 1);
    return { parts: parts.slice(0, max), nextPartNumber: parts.length > max ? parts[max]!.partNumber : null };
  }

  /**
   * Finish a large file from all its parts. `extra` (protocol-private data, e.g. the S3 multipart
   * ETag) is merged into the record in the same store write, so the finished file never exists
   * without it.
   */
  finishLargeFile(
    auth: AuthContext,
    fileId: string,
    partSha1Array: unknown,
    extra?: Record<string, unknown>,
  ): FileRecord {
    requireCap(auth, 'writeFiles');
    const f = this.core.startedFile(auth, fileId);
    if (!Array.isArray(partSha1Array) || partSha1Array.some((s) => typeof s !== 'string'))
      throw errors.badRequest('partSha1Array must be an array of SHA-1 hex strings');
    const parts = this.core.store.listParts(fileId, 1, v.MAX_PART_NUMBER + 1);
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
      seq: this.core.store.nextSeq(), // a finished file is a new version at finish time
      contentLength: total,
      contentSha1: 'none',
      contentMd5: null,
      uploadTimestamp: f.uploadTimestamp,
      chunks: parts.map((p) => p.chunk).filter((c) => c.size > 0),
    };
    const bucket = this.core.store.getBucket(f.bucketId);
    if (bucket)
      done.replicationStatus = this.core.replicationStatusFor(bucket, f.fileName, f.serverSideEncryption);
    if (extra) done.extra = { ...(done.extra ?? {}), ...extra };
    if (done.extra === undefined) delete done.extra;
    this.core.store.putFile(done, fileId);
    return done;
  }

  async cancelLargeFile(auth: AuthContext, fileId: string): Promise<FileRecord> {
    requireCap(auth, 'writeFiles');
    const f = this.core.startedFile(auth, fileId);
    await this.core.store.deleteFile(fileId);
    return f;
  }

  listUnfinishedLargeFiles(
    auth: AuthContext,
    opts: { bucketId: string; namePrefix?: string; startFileId?: string; maxFileCount?: number },
  ): { files: FileRecord[]; nextFileId: string | null } {
    requireCap(auth, 'listFiles');
    this.core.bucketFor(auth, opts.bucketId, errors.badBucketId);
    const max = opts.maxFileCount ?? 100;
    if (!Number.isInteger(max) || max < 1 || max > 100) throw errors.outOfRange('maxFileCount must be 1-100');
    const prefix = this.core.effectivePrefix(auth, opts.namePrefix ?? '');
    const out: FileRecord[] = [];
    let start = opts.startFileId ?? null;
    for (;;) {
      const batch = this.core.store.listStarted(opts.bucketId, start, 1000);
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
}
