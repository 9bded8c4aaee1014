/**
 * Streaming multipart uploader with bounded memory (design.md §5, §6: ≤ 256 MiB RSS while
 * streaming a 5 GiB dump).
 *
 * Why not lib-storage `Upload`: it holds every queued part in memory (queueSize × partSize, i.e.
 * 400 MB with B2's recommended 100 MB parts and 4 in flight), it cannot attach a Content-MD5 per
 * part, and it has no gate between "stream ended" and "complete" — which a dump needs, because a
 * killed `pg_dump` closes its stdout normally and only its exit status says the dump is truncated.
 *
 * Here each part is spooled to a file in a private temp dir while its MD5 and the object's
 * SHA-256 are computed; the part is sent from the file (a retry re-opens it), then deleted.
 * Memory stays at one write buffer; disk holds at most `concurrency + 1` parts. An object that
 * fits one part is sent as one PutObject whose metadata carries its SHA-256. A multipart object's
 * SHA-256 is only known at the end, so it goes in the run's manifest (B2's own large files have
 * the same limit: `large_file_sha1` must be known at start).
 *
 * Any failure — source stream error, `beforeComplete` veto, part upload giving up, abort signal —
 * aborts the multipart upload, so no partial object ever becomes visible.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { RetryPolicy } from './retry';

export interface UploadRequest {
  s3: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  /** `x-amz-meta-*` without the prefix; `sha256` is added when it is known before sending. */
  metadata: Record<string, string>;
  contentType?: string;
  partSize: number;
  /** Parts uploading at once while the next one is spooled. */
  concurrency?: number;
  policy: RetryPolicy;
  /** Parent of the private spool dir (default os.tmpdir()). */
  spoolDir?: string;
  /** SSE-B2 (`x-amz-server-side-encryption: AES256`); default true. */
  sse?: boolean;
  signal?: AbortSignal;
  onProgress?: (bytesRead: number) => void;
  /** Called after the source ended and before the object is completed; throw to abort. */
  beforeComplete?: () => Promise<void>;
}

export interface UploadResult {
  key: string;
  versionId?: string;
  etag?: string;
  size: number;
  sha256: string;
  parts: number;
  multipart: boolean;
  /** True when `metadata.sha256` was written onto the object. */
  sha256InMetadata: boolean;
}

interface SpooledPart {
  number: number;
  file: string;
  size: number;
  md5: string; // base64
}

/** Parts on the wire at once: B2 throughput scales with parallel parts; disk holds this + 1. */
export const DEFAULT_CONCURRENCY = 4;
const WRITE_BATCH = 4 * 1024 * 1024;
/** Larger reads than the 64 KiB default: fewer syscalls and socket writes per 100 MB part. */
const READ_CHUNK = 1024 * 1024;

/** Accumulates one part into a spool file, batching small pipe chunks into large writes. */
class PartSpool {
  private fh?: fsp.FileHandle;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private md5 = createHash('md5');
  size = 0;

  constructor(
    readonly number: number,
    readonly file: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.md5.update(chunk);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.fh) this.fh = await fsp.open(this.file, 'w');
    if (this.pendingBytes === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.write(buf);
  }

  async close(): Promise<SpooledPart> {
    await this.flush();
    await this.fh!.close();
    return { number: this.number, file: this.file, size: this.size, md5: this.md5.digest('base64') };
  }

  async discard(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
  }
}

export async function uploadStream(req: UploadRequest): Promise<UploadResult> {
  const concurrency = Math.max(1, req.concurrency ?? DEFAULT_CONCURRENCY);
  const spoolRoot = await fsp.mkdtemp(path.join(req.spoolDir ?? os.tmpdir(), 'ifb-upload-'));
  const sha256 = createHash('sha256');
  const runId = randomUUID();
  const internal = new AbortController();
  const onOuterAbort = (): void => internal.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = internal.signal;

  let uploadId: string | undefined;
  let spool: PartSpool | undefined;
  const inflight = new Map<number, Promise<void>>();
  const etags = new Map<number, string>();
  let firstFailure: unknown;
  let total = 0;
  let partNo = 0;

  const common = {
    Bucket: req.bucket,
    Key: req.key,
    ...(req.sse === false ? {} : { ServerSideEncryption: 'AES256' as const }),
  };

  const startMultipart = async (): Promise<string> => {
    const out = await req.s3.send(
      new CreateMultipartUploadCommand({
        ...common,
        ContentType: req.contentType,
        // run-id lets a retried Complete whose first answer was lost recognise its own object.
        Metadata: { ...req.metadata, 'run-id': runId },
      }),
      { abortSignal: signal },
    );
    if (!out.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    return out.UploadId;
  };

  const sendPart = (part: SpooledPart, id: string): Promise<void> =>
    req.policy
      .run(async () => {
        const out = await req.s3.send(
          new UploadPartCommand({
            Bucket: req.bucket,
            Key: req.key,
            UploadId: id,
            PartNumber: part.number,
            Body: fs.createReadStream(part.file, { highWaterMark: READ_CHUNK }),
            ContentLength: part.size,
            ContentMD5: part.md5,
          }),
          { abortSignal: signal },
        );
        if (!out.ETag) throw new Error(`UploadPart ${part.number} returned no ETag`);
        etags.set(part.number, out.ETag);
      }, signal)
      .finally(() => fsp.rm(part.file, { force: true }));

  const enqueue = async (part: SpooledPart): Promise<void> => {
    uploadId ??= await startMultipart();
    const p = sendPart(part, uploadId).catch((err) => {
      firstFailure ??= err;
      internal.abort(err);
    });
    inflight.set(part.number, p);
    void p.finally(() => inflight.delete(part.number));
    // Backpressure: stop reading the source while `concurrency` parts are on the wire.
    while (inflight.size >= concurrency) await Promise.race(inflight.values());
    if (firstFailure) throw firstFailure;
  };

  const newSpool = (): PartSpool => {
    partNo += 1;
    return new PartSpool(partNo, path.join(spoolRoot, `part-${partNo}`));
  };

  try {
    spool = newSpool();
    for await (const raw of req.body) {
      if (firstFailure) throw firstFailure;
      if (signal.aborted) throw signal.reason ?? new Error('upload aborted');
      let chunk: Buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as string);
      sha256.update(chunk);
      total += chunk.length;
      while (chunk.length > 0) {
        const room = req.partSize - spool.size;
        const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
        await spool.write(piece);
        chunk = chunk.subarray(piece.length);
        if (spool.size === req.partSize) {
          await enqueue(await spool.close());
          spool = newSpool();
        }
      }
      req.onProgress?.(total);
    }
    const digest = sha256.digest('hex');
    const last = await spool.close();
    spool = undefined;

    if (!uploadId) {
      // Whole object fits one part: a single PutObject with the SHA-256 in its metadata.
      await untilAborted(req.beforeComplete?.(), signal);
      const out = await req.policy.run(
        () =>
          req.s3.send(
            new PutObjectCommand({
              ...common,
              ContentType: req.contentType,
              Body:
                last.size === 0
                  ? Buffer.alloc(0)
                  : fs.createReadStream(last.file, { highWaterMark: READ_CHUNK }),
              ContentLength: last.size,
              ContentMD5: last.md5,
              Metadata: { ...req.metadata, sha256: digest },
            }),
            { abortSignal: signal },
          ),
        signal,
      );
      return {
        key: req.key,
        versionId: out.VersionId,
        etag: out.ETag,
        size: total,
        sha256: digest,
        parts: 1,
        multipart: false,
        sha256InMetadata: true,
      };
    }

    if (last.size > 0) await enqueue(last);
    await Promise.all(inflight.values());
    if (firstFailure) throw firstFailure;
    await untilAborted(req.beforeComplete?.(), signal);
    const parts = [...etags.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
    const out = await completeOrAdopt(req, uploadId, parts, runId, total, signal);
    return {
      key: req.key,
      versionId: out.versionId,
      etag: out.etag,
      size: total,
      sha256: digest,
      parts: parts.length,
      multipart: true,
      sha256InMetadata: false,
    };
  } catch (err) {
    internal.abort(err);
    await spool?.discard();
    await Promise.allSettled(inflight.values());
    if (uploadId) await abortQuietly(req, uploadId);
    req.body.destroy();
    // An outside abort (SIGTERM) is the cause; the AbortErrors it provoked are not.
    throw req.signal?.aborted ? req.signal.reason : (firstFailure ?? err);
  } finally {
    req.signal?.removeEventListener('abort', onOuterAbort);
    await fsp.rm(spoolRoot, { recursive: true, force: true });
  }
}

/** Waits for `p`, but rejects as soon as `signal` aborts. */
function untilAborted<T>(p: Promise<T> | undefined, signal: AbortSignal): Promise<T | undefined> {
  if (!p) return Promise.resolve(undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Completes the upload. If a retried Complete finds the upload gone (the first attempt succeeded
 * but its answer was lost), the object is adopted only when HEAD shows this run's `run-id`.
 */
async function completeOrAdopt(
  req: UploadRequest,
  uploadId: string,
  parts: { PartNumber: number; ETag: string }[],
  runId: string,
  size: number,
  signal: AbortSignal,
): Promise<{ versionId?: string; etag?: string }> {
  try {
    const out = await req.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: req.bucket,
        Key: req.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: signal },
    );
    return { versionId: out.VersionId, etag: out.ETag };
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchUpload') throw err;
    const head = await req.s3.send(new HeadObjectCommand({ Bucket: req.bucket, Key: req.key }));
    if (head.Metadata?.['run-id'] === runId && head.ContentLength === size) {
      return { versionId: head.VersionId, etag: head.ETag };
    }
    throw err;
  }
}

async function abortQuietly(req: UploadRequest, uploadId: string): Promise<void> {
  try {
    await req.s3.send(
      new AbortMultipartUploadCommand({ Bucket: req.bucket, Key: req.key, UploadId: uploadId }),
    );
  } catch {
    // The lifecycle rule cancels unfinished large files after 7 days (design.md §1); the
    // original error is the one worth reporting.
  }
}
