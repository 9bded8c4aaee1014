/**
 * Streaming multipart uploader with bounded memory (docs/architecture.md §5, §6: ≤ 256 MiB RSS while
 * streaming a 5 GiB dump).
 *
 * Why not lib-storage `Upload`: it holds every queued part in memory (queueSize × partSize, i.e.
 * 400 MB with B2's recommended 100 MB parts and 4 in flight), it cannot attach our checksum per
 * part, and it has no gate between "stream ended" and "complete" — which a dump needs, because a
 * killed `pg_dump` closes its stdout normally and only its exit status says the dump is truncated.
 *
 * A part must be complete before it is sent, because its checksum goes in the request header
 * (`x-amz-checksum-crc32`, or Content-MD5 where the endpoint refuses checksum headers:
 * partChecksum.ts).
 * Parts are therefore buffered:
 * - in memory, in a small pool of reusable buffers, when `concurrency + 1` parts fit what is
 *   left of the process-wide MEMORY_BUDGET (the default 16 MiB parts × 5 = 80 MiB; concurrent
 *   uploads, e.g. audit-logs' large files, share the budget and the later ones spool). Against
 *   temp files this cut the client's CPU from 7.1 to 4.4 s per GiB in the 2 GiB benchmark: no
 *   write and re-read of every byte, no large short-lived buffers for the garbage collector
 *   (bench/README.md, cli section);
 * - in a file in a private temp dir otherwise (large `--part-size`, or the bigger parts of a stream
 *   that grew past ~31 GiB, see partSize.ts): disk then holds at most `concurrency + 1` parts.
 * The CRC32 of each part and the object's SHA-256 are computed in 1 MiB slices as the part fills
 * (cache-warm, few calls into the hash). A retry re-sends the same buffer or re-opens the file.
 * CRC32 instead of MD5 cut the client's CPU per GiB by ~1.2 s (bench/README.md, cli section).
 *
 * An object that fits one part is sent as one PutObject whose metadata carries its SHA-256. A
 * multipart object's SHA-256 is only known at the end, so it goes in the run's manifest (B2's own
 * large files have the same limit: `large_file_sha1` must be known at start).
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
import { createHash, Hash, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import {
  Crc32,
  integrityFor,
  isChecksumHeaderRefusal,
  markChecksumRefused,
  PartIntegrity,
  Updatable,
} from './partChecksum';
import { MAX_PARTS, MiB, partSizeFor } from './partSize';
import { RetryPolicy } from './retry';

export interface UploadRequest {
  s3: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  /** `x-amz-meta-*` without the prefix; `sha256` is added when it is known before sending. */
  metadata: Record<string, string>;
  contentType?: string;
  /** Size of the first parts; later parts grow on the `partSizeFor` schedule. */
  partSize: number;
  /** Parts uploading at once while the next one fills. */
  concurrency?: number;
  policy: RetryPolicy;
  /** Parent of the private spool dir for parts too big for memory (default os.tmpdir()). */
  spoolDir?: string;
  /**
   * Bytes of part buffers all uploads in this process may hold together (default MEMORY_BUDGET).
   * An upload reserves `(concurrency + 1) × partSize` at start if that much is left, else spools.
   */
  memoryBudget?: number;
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

/** A filled part, ready to send (and re-send on retry). */
interface ReadyPart {
  number: number;
  size: number;
  /** `x-amz-checksum-crc32` value, when the part was hashed for it. */
  crc32?: string;
  /** Content-MD5 (base64): hashed while filling, or computed on first use after a refusal. */
  md5(): string;
  /** A fresh request body per attempt. */
  body(): Buffer | Readable;
  /** Returns the buffer to the pool / deletes the spool file. */
  release(): Promise<void>;
}

/** Accumulates one part; `write` never receives more than `capacity - size` bytes. */
interface PartBuilder {
  readonly number: number;
  readonly capacity: number;
  readonly size: number;
  write(chunk: Buffer): void | Promise<void>;
  close(): Promise<ReadyPart>;
  discard(): Promise<void>;
}

/** Output chunk size for gzip streams feeding the uploader (zlib's default is 16 KiB). */
export const GZIP_CHUNK = 1 * MiB;

/** Parts on the wire at once: B2 throughput scales with parallel parts. */
export const DEFAULT_CONCURRENCY = 4;
/**
 * Part buffers held in memory at most, across all uploads of the process. With the ~90 MiB a Node
 * process with the AWS SDK needs, 128 MiB keeps the uploader well under the 256 MiB target.
 */
export const MEMORY_BUDGET = 128 * MiB;
/** Bytes of MEMORY_BUDGET reserved by uploads in progress. */
let reservedMemory = 0;
/** Hash granularity: big enough to make calls into OpenSSL rare, small enough to stay in cache. */
const HASH_SLICE = 1 * MiB;
const WRITE_BATCH = 4 * MiB;
/** Larger reads than the 64 KiB default: fewer syscalls and socket writes per big part. */
const READ_CHUNK = 1 * MiB;

/**
 * Reusable part buffers of one size. Buffers come back after their part is acknowledged, so the
 * steady state allocates nothing (large short-lived buffers are what made the garbage collector
 * the second-biggest CPU cost of the temp-file design). A size change (parts grow) drops the
 * old buffers. The uploader's backpressure bounds how many buffers exist at once.
 */
class BufferPool {
  private size = 0;
  private free: Buffer[] = [];

  /** A recycled buffer of exactly `size` bytes, if one is free. */
  take(size: number): Buffer | undefined {
    if (size !== this.size) {
      this.size = size;
      this.free = [];
    }
    return this.free.pop();
  }

  release(buf: Buffer): void {
    if (buf.length === this.size) this.free.push(buf);
  }
}

/** First allocation of a part that has no recycled buffer: small objects stay small. */
const FIRST_ALLOCATION = 256 * 1024;

/** Hashes a growing buffer in slices: each byte once, while it is still in cache. */
class SliceHasher {
  private hashed = 0;
  constructor(private readonly hashes: Updatable[]) {}

  /** Hashes `buf[hashed, filled)` when a full slice is waiting, or everything when `final`. */
  advance(buf: Buffer, filled: number, final = false): void {
    if (filled - this.hashed < HASH_SLICE && !(final && filled > this.hashed)) return;
    const slice = buf.subarray(this.hashed, filled);
    for (const h of this.hashes) h.update(slice);
    this.hashed = filled;
  }
}

/**
 * A part filled into a pooled buffer. Without a recycled buffer it starts small and grows ×4 up
 * to the part size, so a 1 KB audit log does not allocate 16 MiB; once full-size buffers are
 * recycled (from the second round of parts on) nothing is allocated or copied twice.
 */
class MemoryPart implements PartBuilder {
  size = 0;
  private buf: Buffer;
  /** One per-part checksum, the one the client currently sends (MD5 only after a refusal). */
  private readonly crc?: Crc32;
  private readonly md5?: Hash;
  private readonly hasher: SliceHasher;

  constructor(
    readonly number: number,
    readonly capacity: number,
    private readonly pool: BufferPool,
    objectSha256: Hash,
    integrity: PartIntegrity,
  ) {
    this.buf = pool.take(capacity) ?? Buffer.allocUnsafeSlow(Math.min(capacity, FIRST_ALLOCATION));
    if (integrity === 'crc32') this.crc = new Crc32();
    else this.md5 = createHash('md5');
    this.hasher = new SliceHasher([(this.crc ?? this.md5)!, objectSha256]);
  }

  write(chunk: Buffer): void {
    const need = this.size + chunk.length;
    if (need > this.buf.length) {
      let grown = this.buf.length;
      while (grown < need) grown *= 4;
      const next = Buffer.allocUnsafeSlow(Math.min(this.capacity, grown));
      this.buf.copy(next, 0, 0, this.size);
      this.buf = next;
    }
    chunk.copy(this.buf, this.size);
    this.size = need;
    this.hasher.advance(this.buf, this.size);
  }

  async close(): Promise<ReadyPart> {
    this.hasher.advance(this.buf, this.size, true);
    const buf = this.buf;
    const data = buf.subarray(0, this.size);
    let md5 = this.md5?.digest('base64');
    return {
      number: this.number,
      size: this.size,
      crc32: this.crc?.digest(),
      md5: () => (md5 ??= createHash('md5').update(data).digest('base64')),
      body: () => data,
      release: async () => this.pool.release(buf),
    };
  }

  async discard(): Promise<void> {
    this.pool.release(this.buf);
  }
}

/** A part spooled to a file, small pipe chunks batched into large writes. */
class SpoolPart implements PartBuilder {
  size = 0;
  private fh?: fsp.FileHandle;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  // Both checksums: re-reading a spooled part to hash it after a refusal would cost more.
  private readonly md5 = createHash('md5');
  private readonly crc = new Crc32();

  constructor(
    readonly number: number,
    readonly capacity: number,
    private readonly file: string,
    private readonly objectSha256: Hash,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.md5.update(chunk);
    this.crc.update(chunk);
    this.objectSha256.update(chunk);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.fh) this.fh = await fsp.open(this.file, 'w');
    if (this.pendingBytes === 0) return;
    const bufs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.writev(bufs);
  }

  async close(): Promise<ReadyPart> {
    await this.flush();
    await this.fh!.close();
    const file = this.file;
    const md5 = this.md5.digest('base64');
    return {
      number: this.number,
      size: this.size,
      crc32: this.crc.digest(),
      md5: () => md5,
      body: () =>
        this.size === 0 ? Buffer.alloc(0) : fs.createReadStream(file, { highWaterMark: READ_CHUNK }),
      release: () => fsp.rm(file, { force: true }),
    };
  }

  async discard(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
  }
}

export async function uploadStream(req: UploadRequest): Promise<UploadResult> {
  const concurrency = Math.max(1, req.concurrency ?? DEFAULT_CONCURRENCY);
  // Reserved synchronously, before the first await: concurrent callers see each other's share.
  const reserved = reserveMemory(req, concurrency);
  const sha256 = createHash('sha256');
  const partMaker = new PartMaker(req, concurrency, reserved, sha256);
  const runId = randomUUID();
  const internal = new AbortController();
  const onOuterAbort = (): void => internal.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = internal.signal;

  let uploadId: string | undefined;
  let part: PartBuilder | undefined;
  const inflight = new Map<number, Promise<void>>();
  const etags = new Map<number, string>();
  let firstFailure: unknown;
  let total = 0;

  const enqueue = async (ready: ReadyPart): Promise<void> => {
    uploadId ??= await startMultipart(req, runId, signal);
    const p = sendPart(req, ready, uploadId, etags, signal).catch((err) => {
      firstFailure ??= err;
      internal.abort(err);
    });
    inflight.set(ready.number, p);
    void p.finally(() => inflight.delete(ready.number));
    // Backpressure: stop reading the source while `concurrency` parts are on the wire.
    while (inflight.size >= concurrency) await Promise.race(inflight.values());
    if (firstFailure) throw firstFailure;
  };

  // A full part is held back until the next byte arrives: if the stream ends exactly on the part
  // boundary it is the whole object and goes out as one PutObject (a one-part multipart upload
  // would be refused by B2 — EntityTooSmall — and the job would fail).
  let held: ReadyPart | undefined;
  try {
    part = await partMaker.next();
    for await (const raw of req.body) {
      if (firstFailure) throw firstFailure;
      if (signal.aborted) throw signal.reason ?? new Error('upload aborted');
      let chunk: Buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as string);
      total += chunk.length;
      while (chunk.length > 0) {
        if (held) {
          const full = held;
          held = undefined; // enqueue owns it now
          await enqueue(full);
        }
        part ??= await partMaker.next();
        const room = part.capacity - part.size;
        const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
        const wrote = part.write(piece);
        if (wrote) await wrote;
        chunk = chunk.subarray(piece.length);
        if (part.size === part.capacity) {
          const full = part;
          part = undefined; // not ours to discard once closed
          held = await full.close();
        }
      }
      req.onProgress?.(total);
    }
    let last: ReadyPart;
    if (held) {
      last = held;
      held = undefined;
    } else {
      last = await part!.close();
      part = undefined;
    }
    const digest = sha256.digest('hex');

    // Whole object fits one part: a single PutObject with the SHA-256 in its metadata.
    if (!uploadId) return await putWhole(req, last, digest, total, signal);

    if (last.size > 0) await enqueue(last);
    else await last.release();
    await Promise.all(inflight.values());
    if (firstFailure) throw firstFailure;
    return await finishMultipart(req, uploadId, etags, runId, total, digest, signal);
  } catch (err) {
    // Recorded first, so the AbortErrors the abort provokes in parts on the wire do not mask it.
    firstFailure ??= err;
    internal.abort(err);
    await cleanUpAfterFailure(req, part, held, inflight, uploadId);
    // An outside abort (SIGTERM) is the cause; the AbortErrors it provoked are not.
    throw req.signal?.aborted ? req.signal.reason : firstFailure;
  } finally {
    reservedMemory -= reserved;
    req.signal?.removeEventListener('abort', onOuterAbort);
    await partMaker.dispose();
  }
}

/**
 * Makes the parts of one upload in order: in memory while this upload's reservation covers
 * `concurrency + 1` parts of the size, else spooled to files in a temporary folder of its own.
 */
class PartMaker {
  private partNo = 0;
  private spoolRoot: string | undefined;
  private readonly pool = new BufferPool();

  constructor(
    private readonly req: UploadRequest,
    private readonly concurrency: number,
    private readonly reserved: number,
    private readonly sha256: Hash,
  ) {}

  async next(): Promise<PartBuilder> {
    const partNo = ++this.partNo;
    if (partNo > MAX_PARTS) {
      throw new Error(
        `the stream needs more than ${MAX_PARTS} parts; pass a larger --part-size or an expected size`,
      );
    }
    const size = partSizeFor(partNo, this.req.partSize);
    if (size * (this.concurrency + 1) <= this.reserved)
      return new MemoryPart(partNo, size, this.pool, this.sha256, integrityFor(this.req.s3));
    this.spoolRoot ??= await fsp.mkdtemp(path.join(this.req.spoolDir ?? os.tmpdir(), 'ifb-upload-'));
    return new SpoolPart(partNo, size, path.join(this.spoolRoot, `part-${partNo}`), this.sha256);
  }

  /** Removes the spool folder, if any part needed one. */
  async dispose(): Promise<void> {
    if (this.spoolRoot) await fsp.rm(this.spoolRoot, { recursive: true, force: true });
  }
}

/**
 * Reserves this upload's share of MEMORY_BUDGET (`concurrency + 1` parts), or nothing when it does
 * not fit: the upload then spools its parts to disk. Synchronous, so concurrent callers see each
 * other's share; the caller gives it back with `reservedMemory -= reserved`.
 */
function reserveMemory(req: UploadRequest, concurrency: number): number {
  const wanted = req.partSize * (concurrency + 1);
  const reserved = reservedMemory + wanted <= (req.memoryBudget ?? MEMORY_BUDGET) ? wanted : 0;
  reservedMemory += reserved;
  return reserved;
}

/** Bucket, key and server-side encryption, common to PutObject and CreateMultipartUpload. */
function objectTarget(req: UploadRequest): {
  Bucket: string;
  Key: string;
  ServerSideEncryption?: 'AES256';
} {
  return {
    Bucket: req.bucket,
    Key: req.key,
    ...(req.sse === false ? {} : { ServerSideEncryption: 'AES256' as const }),
  };
}

async function startMultipart(req: UploadRequest, runId: string, signal: AbortSignal): Promise<string> {
  const out = await req.s3.send(
    new CreateMultipartUploadCommand({
      ...objectTarget(req),
      ContentType: req.contentType,
      // run-id lets a retried Complete whose first answer was lost recognise its own object.
      Metadata: { ...req.metadata, 'run-id': runId },
    }),
    { abortSignal: signal },
  );
  if (!out.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  return out.UploadId;
}

/** Uploads one part (retried by the policy), records its ETag, and releases the part either way. */
function sendPart(
  req: UploadRequest,
  ready: ReadyPart,
  uploadId: string,
  etags: Map<number, string>,
  signal: AbortSignal,
): Promise<void> {
  return req.policy
    .run(
      async () => {
        const out = await sendWithIntegrity(req.s3, ready, (integrity) =>
          req.s3.send(
            new UploadPartCommand({
              Bucket: req.bucket,
              Key: req.key,
              UploadId: uploadId,
              PartNumber: ready.number,
              Body: ready.body(),
              ContentLength: ready.size,
              ...integrity,
            }),
            { abortSignal: signal },
          ),
        );
        if (!out.ETag) throw new Error(`UploadPart ${ready.number} returned no ETag`);
        etags.set(ready.number, out.ETag);
      },
      { signal, operation: `UploadPart ${req.key} #${ready.number}` },
    )
    .finally(() => ready.release());
}

/** The whole object in one PutObject, its SHA-256 in the metadata; releases the part either way. */
async function putWhole(
  req: UploadRequest,
  last: ReadyPart,
  digest: string,
  total: number,
  signal: AbortSignal,
): Promise<UploadResult> {
  try {
    await untilAborted(req.beforeComplete?.(), signal);
    const out = await req.policy.run(
      () =>
        sendWithIntegrity(req.s3, last, (integrity) =>
          req.s3.send(
            new PutObjectCommand({
              ...objectTarget(req),
              ContentType: req.contentType,
              Body: last.body(),
              ContentLength: last.size,
              Metadata: { ...req.metadata, sha256: digest },
              ...integrity,
            }),
            { abortSignal: signal },
          ),
        ),
      { signal, operation: `PutObject ${req.key}` },
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
  } finally {
    await last.release();
  }
}

/** Every part is stored: completes the multipart upload from the recorded ETags, in part order. */
async function finishMultipart(
  req: UploadRequest,
  uploadId: string,
  etags: Map<number, string>,
  runId: string,
  total: number,
  digest: string,
  signal: AbortSignal,
): Promise<UploadResult> {
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
}

/**
 * After a failure (the internal signal already aborted): drops the part being filled and the one
 * held back, waits for the parts on the wire to settle, aborts the multipart upload if one was
 * started, and stops the source.
 */
async function cleanUpAfterFailure(
  req: UploadRequest,
  part: PartBuilder | undefined,
  held: ReadyPart | undefined,
  inflight: Map<number, Promise<void>>,
  uploadId: string | undefined,
): Promise<void> {
  await part?.discard();
  await held?.release();
  await Promise.allSettled(inflight.values());
  if (uploadId) await abortQuietly(req, uploadId);
  req.body.destroy();
}

type IntegrityFields = { ChecksumCRC32: string } | { ContentMD5: string };

/**
 * Sends one part or PUT with the client's integrity header (partChecksum.ts): CRC32 while the
 * endpoint takes it, else Content-MD5. A refusal of the checksum header re-sends at once with
 * Content-MD5 and switches the client to MD5 for later parts; it is not counted as a retry.
 */
async function sendWithIntegrity<T>(
  s3: S3Client,
  part: ReadyPart,
  send: (integrity: IntegrityFields) => Promise<T>,
): Promise<T> {
  if (part.crc32 !== undefined && integrityFor(s3) === 'crc32') {
    try {
      return await send({ ChecksumCRC32: part.crc32 });
    } catch (err) {
      if (!isChecksumHeaderRefusal(err)) throw err;
      markChecksumRefused(s3);
    }
  }
  return send({ ContentMD5: part.md5() });
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
    // The lifecycle rule cancels unfinished large files after 7 days (docs/architecture.md §1); the
    // original error is the one worth reporting.
  }
}
