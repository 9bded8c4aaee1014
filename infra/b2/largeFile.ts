/**
 * Large-file upload: split a Buffer or stream into parts, upload up to `concurrency` parts at a
 * time (each with its SHA-1, each retried by the session on a fresh part URL), then finish.
 *
 * Contract:
 * - Memory: at most `concurrency + 1` parts are buffered (a retried part must be re-sendable,
 *   docs/conventions.md §4, so parts are held in memory until acknowledged).
 * - Anything fatal (a part out of retries, the source stream failing, a size mismatch) cancels
 *   the large file, so no partial file is ever visible as finished, then rethrows.
 * - Inputs of at most one part go through `b2_upload_file` instead (B2 needs ≥ 2 parts).
 */
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { Session, AuthRecord } from './session';
import { RawApi } from './raw';
import { OutcomeUnknown } from './retry';
import { AUTO_CONTENT_TYPE } from './wire/headers';
import type { FileVersion, StartLargeFileRequest } from './wire/types';

export const MAX_PARTS = 10_000;
export const DEFAULT_CONCURRENCY = 4;

export interface LargeUploadProgress {
  bytesUploaded: number;
  totalBytes: number | undefined;
  partsUploaded: number;
}

export interface UploadLargeFileRequest {
  bucketId: string;
  fileName: string;
  source: Readable | Buffer | Uint8Array;
  /** Expected total size. Required to size parts for > 10,000 × partSize; checked when given. */
  size?: number;
  /** Bytes per part (default: the account's recommendedPartSize). */
  partSize?: number;
  /** Parts uploaded in parallel (default 4). */
  concurrency?: number;
  contentType?: string;
  fileInfo?: Record<string, string>;
  serverSideEncryption?: StartLargeFileRequest['serverSideEncryption'];
  fileRetention?: StartLargeFileRequest['fileRetention'];
  legalHold?: StartLargeFileRequest['legalHold'];
  onProgress?: (p: LargeUploadProgress) => void;
}

export interface LargeUploadDeps {
  session: Session;
  raw: RawApi;
  /** Simple upload for inputs of a single part. */
  uploadSmall: (body: Buffer) => Promise<FileVersion>;
}

export function sha1Hex(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** Slice hashed between event-loop turns (see `sha1HexYielding`). */
const HASH_SLICE = 4 << 20;

/**
 * SHA-1 of a part, yielding to the event loop every 4 MiB. Hashing a 100 MB part in one go
 * blocks the loop for ~50 ms, during which the other parts' sockets stop being fed; slicing
 * keeps them streaming while this part is hashed (measured in bench/emulator-native).
 */
export async function sha1HexYielding(data: Uint8Array): Promise<string> {
  const hash = createHash('sha1');
  for (let off = 0; off < data.length; off += HASH_SLICE) {
    hash.update(data.subarray(off, Math.min(off + HASH_SLICE, data.length)));
    if (off + HASH_SLICE < data.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest('hex');
}

export function choosePartSize(req: UploadLargeFileRequest, auth: AuthRecord): number {
  const min = auth.absoluteMinimumPartSize;
  let partSize = req.partSize ?? auth.recommendedPartSize;
  if (!Number.isInteger(partSize) || partSize < min) {
    throw new RangeError(
      `uploadLargeFile [partSize] must be an integer >= ${min} (absoluteMinimumPartSize), got ${partSize}`,
    );
  }
  if (req.size !== undefined) {
    if (!Number.isInteger(req.size) || req.size < 0) {
      throw new RangeError(`uploadLargeFile [size] must be a non-negative integer, got ${req.size}`);
    }
    // Grow parts so the file fits in B2's 10,000-part limit.
    partSize = Math.max(partSize, Math.ceil(req.size / MAX_PARTS));
  }
  return partSize;
}

/** Yields `partSize`-byte parts (the last may be shorter) from a Buffer or a stream. */
export async function* splitParts(source: Readable | Uint8Array, partSize: number): AsyncGenerator<Buffer> {
  if (!(source instanceof Readable)) {
    const buf = Buffer.isBuffer(source)
      ? source
      : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    for (let off = 0; off < buf.length; off += partSize)
      yield buf.subarray(off, Math.min(off + partSize, buf.length));
    return;
  }
  let chunks: Buffer[] = [];
  let held = 0;
  for await (const chunk of source) {
    let c: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    while (held + c.length >= partSize) {
      const take = partSize - held;
      chunks.push(c.subarray(0, take));
      yield Buffer.concat(chunks, partSize);
      chunks = [];
      held = 0;
      c = c.subarray(take);
    }
    if (c.length > 0) {
      chunks.push(c);
      held += c.length;
    }
  }
  if (held > 0) yield Buffer.concat(chunks, held);
}

export async function uploadLargeFile(
  deps: LargeUploadDeps,
  req: UploadLargeFileRequest,
): Promise<FileVersion> {
  const concurrency = req.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`uploadLargeFile [concurrency] must be an integer >= 1, got ${concurrency}`);
  }
  const auth = await deps.session.authorize();
  const partSize = choosePartSize(req, auth);
  const parts = splitParts(req.source, partSize)[Symbol.asyncIterator]();

  // Peek two parts: one part (or none) is a simple upload.
  const first = await parts.next();
  const second = first.done ? first : await parts.next();
  if (second.done) {
    const body = first.done ? Buffer.alloc(0) : first.value;
    checkSize(req, body.length);
    return deps.uploadSmall(body);
  }

  const started = await deps.session.withAuth((a) =>
    deps.raw.startLargeFile(a.apiUrl, a.token.reveal(), {
      bucketId: req.bucketId,
      fileName: req.fileName,
      contentType: req.contentType ?? AUTO_CONTENT_TYPE,
      fileInfo: req.fileInfo,
      serverSideEncryption: req.serverSideEncryption,
      fileRetention: req.fileRetention,
      legalHold: req.legalHold,
    }),
  );
  const fileId = started.fileId as string;
  try {
    const sha1s = await uploadParts(deps, req, fileId, concurrency, [first.value, second.value], parts);
    return await finishLargeFileReconciled(deps.session, deps.raw, fileId, sha1s);
  } catch (err) {
    await deps.session
      .withAuth((a) => deps.raw.cancelLargeFile(a.apiUrl, a.token.reveal(), { fileId }))
      .catch(() => undefined); // the original failure is what the caller needs to see
    throw err;
  } finally {
    deps.session.forgetLargeFile(fileId);
  }
}

/**
 * b2_finish_large_file is not idempotent (raw.ts NOT_IDEMPOTENT): after a lost answer
 * (OutcomeUnknown) the file is looked up — finished (`action: upload`) means the finish took
 * effect and is success; still `start` means it did not, and the finish is sent again (3 rounds).
 */
export async function finishLargeFileReconciled(
  session: Session,
  raw: RawApi,
  fileId: string,
  partSha1Array: string[],
): Promise<FileVersion> {
  for (let round = 1; ; round++) {
    try {
      return await session.withAuth((a) =>
        raw.finishLargeFile(a.apiUrl, a.token.reveal(), { fileId, partSha1Array }),
      );
    } catch (err) {
      if (!(err instanceof OutcomeUnknown) || round >= 3) throw err;
      const info = await session.withAuth((a) => raw.getFileInfo(a.apiUrl, a.token.reveal(), { fileId }));
      if (info.action === 'upload') return info;
    }
  }
}

/** Uploads every part with bounded parallelism; returns SHA-1s in part order. */
async function uploadParts(
  deps: LargeUploadDeps,
  req: UploadLargeFileRequest,
  fileId: string,
  concurrency: number,
  head: Buffer[],
  rest: AsyncIterator<Buffer>,
): Promise<string[]> {
  const sha1s: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let bytesUploaded = 0;
  let bytesRead = 0;
  let partsUploaded = 0;
  let partNumber = 0;

  const launch = (body: Buffer): void => {
    const n = ++partNumber;
    if (n > MAX_PARTS)
      throw new RangeError(
        `uploadLargeFile: more than ${MAX_PARTS} parts; pass [size] or a larger [partSize]`,
      );
    bytesRead += body.length;
    const upload = async (): Promise<void> => {
      const sha1 = await sha1HexYielding(body);
      sha1s[n - 1] = sha1;
      await deps.session.uploadPart(fileId, { partNumber: n, contentSha1: sha1, body });
      bytesUploaded += body.length;
      partsUploaded++;
      req.onProgress?.({ bytesUploaded, totalBytes: req.size, partsUploaded });
    };
    const p: Promise<void> = upload()
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const waitForSlot = async (): Promise<void> => {
    while (inFlight.size >= concurrency && !failure) await Promise.race(inFlight);
  };

  try {
    for (const body of head) {
      await waitForSlot();
      if (failure) break;
      launch(body);
    }
    while (!failure) {
      await waitForSlot();
      if (failure) break;
      const next = await rest.next();
      if (next.done) break;
      launch(next.value);
    }
  } catch (error) {
    failure ??= { error }; // the source stream failed, or too many parts
  }
  await Promise.all(inFlight);
  if (failure) {
    await rest.return?.(undefined); // stop reading the source
    throw failure.error;
  }
  checkSize(req, bytesRead);
  return sha1s;
}

function checkSize(req: UploadLargeFileRequest, actual: number): void {
  if (req.size !== undefined && req.size !== actual) {
    throw new RangeError(
      `uploadLargeFile [size] says ${req.size} bytes but the source produced ${actual}; nothing was finished`,
    );
  }
}
