/** Reads over the S3 API: listings with versions and hide markers, HEAD, resumable downloads. */
import {
  GetObjectCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import { Readable, Writable } from 'stream';
import { finished } from 'stream/promises';
import { JobError } from './errors';
import { JobRetryPolicy, RetryPolicy } from './retry';

export interface VersionEntry {
  key: string;
  versionId: string;
  isLatest: boolean;
  /** B2 hide marker, shown by S3 as a delete marker (docs/b2-api.md §11). */
  deleteMarker: boolean;
  lastModified: number;
  size: number;
  etag?: string;
}

/** Every version and hide marker under `prefix`, following key/version-id markers. */
export async function listVersions(
  s3: S3Client,
  bucket: string,
  prefix = '',
  maxPages = 100_000,
): Promise<VersionEntry[]> {
  const out: VersionEntry[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const res = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix || undefined,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
        MaxKeys: 1000,
      }),
    );
    for (const v of res.Versions ?? []) {
      out.push({
        key: v.Key!,
        versionId: v.VersionId!,
        isLatest: !!v.IsLatest,
        deleteMarker: false,
        lastModified: v.LastModified?.getTime() ?? 0,
        size: v.Size ?? 0,
        etag: v.ETag,
      });
    }
    for (const d of res.DeleteMarkers ?? []) {
      out.push({
        key: d.Key!,
        versionId: d.VersionId!,
        isLatest: !!d.IsLatest,
        deleteMarker: true,
        lastModified: d.LastModified?.getTime() ?? 0,
        size: 0,
      });
    }
    if (!res.IsTruncated) return out;
    keyMarker = res.NextKeyMarker;
    versionIdMarker = res.NextVersionIdMarker;
    if (!keyMarker) return out;
  }
  throw new JobError(`listing ${prefix} did not finish within ${maxPages} pages`);
}

/** Current objects only (no versions), for "what is there now" questions. */
export async function listKeys(
  s3: S3Client,
  bucket: string,
  prefix = '',
): Promise<{ key: string; size: number; lastModified: number }[]> {
  const out: { key: string; size: number; lastModified: number }[] = [];
  let token: string | undefined;
  for (let page = 0; page < 100_000; page++) {
    const res = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix || undefined,
        ContinuationToken: token,
        MaxKeys: 1000,
      }),
    );
    for (const o of res.Contents ?? [])
      out.push({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
    if (!res.IsTruncated || !res.NextContinuationToken) return out;
    token = res.NextContinuationToken;
  }
  return out;
}

/** Versions sorted newest first, ties broken by listing order (B2 lists newest first). */
export function newestFirst(versions: VersionEntry[]): VersionEntry[] {
  return versions
    .map((v, i) => ({ v, i }))
    .sort((a, b) => b.v.lastModified - a.v.lastModified || a.i - b.i)
    .map((x) => x.v);
}

/**
 * Point in time: the newest version of `key` uploaded at or before `atMs`. If the newest entry at
 * that time is a hide marker, the object did not exist then and this fails.
 */
export function versionAt(versions: VersionEntry[], key: string, atMs: number): VersionEntry {
  const candidates = newestFirst(versions.filter((v) => v.key === key && v.lastModified <= atMs));
  const top = candidates[0];
  if (!top) throw new JobError(`no version of ${key} exists at or before ${new Date(atMs).toISOString()}`);
  if (top.deleteMarker)
    throw new JobError(
      `${key} was hidden at ${new Date(top.lastModified).toISOString()} (hide marker); choose an earlier --at or a --version-id`,
    );
  return top;
}

export async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404)
      return undefined;
    throw err;
  }
}

export interface DownloadResult {
  size: number;
  sha256: string;
  metadata: Record<string, string>;
  versionId?: string;
}

/**
 * Streams one version into `sink`, resuming with a Range request after a mid-body reset (the
 * policy decides whether and when), and hashes what was written.
 */
export async function downloadTo(
  s3: S3Client,
  policy: RetryPolicy,
  bucket: string,
  key: string,
  versionId: string | undefined,
  sink: Writable,
  onProgress?: (n: number) => void,
): Promise<DownloadResult> {
  const hash = createHash('sha256');
  const dl = await streamVersion(
    s3,
    policy,
    bucket,
    key,
    versionId,
    (b) => {
      hash.update(b);
      if (!sink.write(b)) return new Promise<void>((r) => sink.once('drain', r));
      return undefined;
    },
    onProgress,
  );
  return { ...dl, sha256: hash.digest('hex') };
}

/**
 * Hands every body chunk of one version to `onChunk` in order, exactly once, resuming after a
 * mid-body reset with `Range: bytes=<received>-` and `If-Match: <first ETag>` (so the resumed bytes
 * are the same version's). `onChunk` may return a promise (back-pressure) and may throw (the
 * download stops; an error the retry policy calls fatal is not retried).
 */
export async function streamVersion(
  s3: S3Client,
  policy: RetryPolicy,
  bucket: string,
  key: string,
  versionId: string | undefined,
  onChunk: (chunk: Buffer) => Promise<void> | undefined,
  onProgress?: (n: number) => void,
): Promise<Omit<DownloadResult, 'sha256'>> {
  let offset = 0;
  let metadata: Record<string, string> = {};
  let resolvedVersion = versionId;
  let etag: string | undefined;
  // The job's SIGINT/SIGTERM signal also cancels a GET that is waiting for bytes.
  const signal = policy instanceof JobRetryPolicy ? policy.signal : undefined;
  await policy.run(
    async () => {
      const res = await s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: resolvedVersion,
          Range: offset > 0 ? `bytes=${offset}-` : undefined,
          IfMatch: offset > 0 ? etag : undefined,
        }),
        { abortSignal: signal },
      );
      if (offset === 0) {
        metadata = res.Metadata ?? {};
        resolvedVersion ??= res.VersionId;
        etag = res.ETag;
      }
      await pump(res.Body as Readable, signal, (b) => {
        offset += b.length;
        const wait = onChunk(b);
        if (!wait) return void onProgress?.(offset);
        return wait.then(() => onProgress?.(offset));
      });
    },
    { operation: `GetObject ${key}` },
  );
  return { size: offset, metadata, versionId: resolvedVersion };
}

/**
 * Feeds every chunk of `body` to `onChunk` in order with 'data' events (cheaper per chunk than
 * `for await`: no promise per 64 KiB), pausing the body while a returned promise is pending.
 * Resolves after the end of the body and the last pending chunk; rejects with the body's error
 * (a reset mid-body: the same errors `for await` throws), `onChunk`'s error or the signal's reason.
 */
function pump(
  body: Readable,
  signal: AbortSignal | undefined,
  onChunk: (chunk: Buffer) => Promise<void> | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    let pending: Promise<void> | undefined;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      body.off('data', onData);
      body.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      if (failed) return;
      if (signal?.aborted) return fail(signal.reason);
      let wait: Promise<void> | undefined;
      try {
        wait = onChunk(chunk);
      } catch (err) {
        return fail(err);
      }
      if (!wait) return;
      body.pause();
      pending = wait.then(
        () => {
          pending = undefined;
          if (!failed) body.resume();
        },
        (err: unknown) => fail(err),
      );
    };
    body.on('data', onData);
    finished(body).then(
      async () => {
        await pending;
        if (!failed) resolve();
      },
      (err: unknown) => fail(err),
    );
  });
}

/** Whole object in memory; for small things (manifests, state, encrypted Terraform state). */
export async function getBuffer(
  s3: S3Client,
  policy: RetryPolicy,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<{ body: Buffer; metadata: Record<string, string>; versionId?: string; lastModified?: number }> {
  return policy.run(
    async () => {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
      const body = Buffer.from(await res.Body!.transformToByteArray());
      return {
        body,
        metadata: res.Metadata ?? {},
        versionId: res.VersionId,
        lastModified: res.LastModified?.getTime(),
      };
    },
    { operation: `GetObject ${key}` },
  );
}

export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
