/**
 * Server-side copies: b2_copy_file (and S3 CopyObject) and b2_copy_part (and UploadPartCopy).
 * A copy references the source's blob slices instead of copying bytes, except a part made of
 * several source chunks, which is written as one new blob.
 */
import { createHash } from 'crypto';
import { B2Error, errors } from '../errors';
import type { PendingBlob } from '../../store/types';
import type { AuthContext, Chunk, FileRecord, PartRecord } from '../types';
import * as v from '../validate';
import { EMPTY_MD5, EMPTY_SHA1, EngineCore, checkSseCKey, requireCap } from './base';
import type { LargeFiles } from './large-files';
import type { CopyFileInput, CopyPartInput, SseInput } from './types';

export class Copies {
  constructor(
    private readonly core: EngineCore,
    private readonly largeFiles: LargeFiles,
  ) {}

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
    for await (const b of this.core.readChunks(chunks, 0, chunks.reduce((n, c) => n + c.size, 0) - 1)) {
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
    const src = this.core.fileFor(auth, sourceFileId, (id) =>
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
    const { bucket, fileName } = this.core.checkWrite(auth, destBucketId, input.fileName);
    const range = Copies.copyRange(input.range, src.contentLength);
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
    const sse = this.core.resolveSse(bucket, input.destinationSse);
    v.checkHeaderBudget(fileName, fileInfo, !!sse || bucket.fileLockEnabled);
    const now = this.core.clock.now();
    const lock = this.core.resolveLock(auth, bucket, input.fileRetention, input.legalHold, now);
    const chunks = range
      ? this.sliceChunks(src.chunks, range.start, range.end)
      : src.chunks.map((c) => ({ ...c }));
    let sha1 = src.contentSha1;
    let md5 = src.contentMd5;
    if (range && size > 0) ({ sha1, md5 } = await this.readingSource(src, () => this.hashChunks(chunks)));
    else if (range)
      ({ sha1, md5 } = {
        sha1: EMPTY_SHA1,
        md5: EMPTY_MD5,
      });
    const f = this.core.newVersion(bucket, fileName, 'upload', now);
    Object.assign(f, lock);
    f.contentLength = size;
    f.contentSha1 = sha1;
    f.contentMd5 = md5;
    f.contentType = contentType;
    f.fileInfo = fileInfo;
    f.serverSideEncryption = sse;
    f.replicationStatus = this.core.replicationStatusFor(bucket, fileName, sse);
    f.chunks = chunks;
    if (input.extra) f.extra = input.extra;
    // from these checks to putFile nothing awaits: the source's blobs are referenced by the copy
    // before any delete can free them
    this.sourceStillThere(src);
    if (!this.core.store.getBucket(bucket.bucketId)) throw errors.badBucketId(bucket.bucketId);
    this.core.store.putFile(f);
    return f;
  }

  /**
   * After an await: a source deleted meanwhile may have had its blobs freed, so the copy is
   * refused rather than stored pointing at missing bytes (never 200 for an unreadable copy).
   */
  private sourceStillThere(src: FileRecord): void {
    if (!this.core.store.getFile(src.fileId))
      throw errors.badRequest(
        `Source file ${src.fileId} was deleted while it was being copied; nothing was copied`,
      );
  }

  /** Run a read of the source's bytes; a failure because the source went away is a clean 400. */
  private async readingSource<T>(src: FileRecord, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      this.sourceStillThere(src);
      throw e;
    }
  }

  async copyPart(auth: AuthContext, input: CopyPartInput): Promise<PartRecord> {
    requireCap(auth, 'writeFiles');
    const src = this.copySource(auth, input.sourceFileId, input.sourceSse);
    const large = this.core.startedFile(auth, input.largeFileId);
    if (!Number.isInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > v.MAX_PART_NUMBER)
      throw errors.badRequest(`partNumber must be an integer 1-${v.MAX_PART_NUMBER}`);
    this.largeFiles.checkPartSse(large, input.destinationSse);
    const range = Copies.copyRange(input.range, src.contentLength) ?? {
      start: 0,
      end: src.contentLength - 1,
    };
    const size = range.end - range.start + 1;
    if (size > v.MAX_PART_SIZE) throw new B2Error(400, 'source_too_large', `Copy source too big: ${size}`);
    const chunks = this.sliceChunks(src.chunks, range.start, range.end);
    // a part references exactly one blob slice: copy multi-chunk sources into a new blob
    let chunk: Chunk;
    let sums: { sha1: string; md5: string };
    let pending: PendingBlob | null = null;
    if (chunks.length === 1) {
      chunk = chunks[0]!;
      sums = await this.readingSource(src, () => this.hashChunks([chunk]));
    } else {
      const sha = createHash('sha1');
      const md5 = createHash('md5');
      const bytes = this.core.readChunks(chunks, 0, size - 1);
      async function* hashed(): AsyncGenerator<Buffer> {
        for await (const b of bytes) {
          sha.update(b);
          md5.update(b);
          yield b;
        }
      }
      const written = await this.readingSource(src, () => this.core.store.writeBlob(hashed()));
      pending = written;
      sums = { sha1: sha.digest('hex'), md5: md5.digest('hex') };
      chunk = { blobId: written.blobId, offset: 0, size: written.size };
      try {
        await written.commit(); // the part now has its own bytes: the source may go
      } catch (e) {
        await written.abort();
        throw e;
      }
    }
    // a part that references the source's blob needs the source alive up to putPart (no await between)
    if (!pending) this.sourceStillThere(src);
    const part: PartRecord = {
      fileId: large.fileId,
      partNumber: input.partNumber,
      contentLength: size,
      contentSha1: sums.sha1,
      contentMd5: sums.md5,
      uploadTimestamp: this.core.clock.now(),
      serverSideEncryption: large.serverSideEncryption
        ? { mode: large.serverSideEncryption.mode, algorithm: 'AES256' }
        : null,
      chunk,
    };
    // refused (and a new blob freed) if the large file was finished or cancelled meanwhile
    if (!(await this.core.store.putPart(part)))
      throw errors.badRequest(`No active upload for: ${large.fileId}`);
    return part;
  }
}
