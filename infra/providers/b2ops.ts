/**
 * Small helpers the providers share over the `infra/b2` client: look-ups that answer `null` for
 * "not there" instead of throwing, error classification by the client's typed errors (never by
 * message text), and bucket emptying for delete.
 */
import type { B2Client } from '../b2';
import { B2Error, BucketNotFound, Conflict, DuplicateBucketName, FileNotFound, NotFound } from '../b2/errors';

export type LiveBucket = Awaited<ReturnType<B2Client['getBucketById']>> & object;

export const isConflict = (e: unknown): boolean =>
  e instanceof Conflict || (e instanceof B2Error && e.status === 409);
export const isDuplicateBucketName = (e: unknown): boolean =>
  e instanceof DuplicateBucketName || (e instanceof B2Error && e.code === 'duplicate_bucket_name');
export const isNotFound = (e: unknown): boolean =>
  e instanceof NotFound || e instanceof BucketNotFound || e instanceof FileNotFound;

/** A one-line description of an error (B2 errors carry no secret; the client scrubs messages). */
export function describeError(e: unknown): string {
  if (e instanceof B2Error) return `${e.operation}: ${e.status} ${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export async function findBucketById(client: B2Client, bucketId: string): Promise<LiveBucket | null> {
  try {
    return ((await client.getBucketById(bucketId)) as LiveBucket | null | undefined) ?? null;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

export async function findBucketByName(client: B2Client, bucketName: string): Promise<LiveBucket | null> {
  try {
    return ((await client.getBucketByName(bucketName)) as LiveBucket | null | undefined) ?? null;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/** The account's S3-compatible endpoint, from the (cached) authorization. */
export async function s3EndpointOf(client: B2Client): Promise<string> {
  return (await client.authorize()).s3ApiUrl;
}

const COUNT_CAP = 10_000;

/** Counts file versions (uploads, hide markers, unfinished large files), stopping at 10 000. */
export async function countVersions(
  client: B2Client,
  bucketId: string,
): Promise<{ count: number; capped: boolean }> {
  let count = 0;
  for await (const _v of client.listFileVersions({ bucketId })) {
    if (++count >= COUNT_CAP) return { count, capped: true };
  }
  return { count, capped: false };
}

/**
 * Deletes every file version of a bucket (forceDestroy). Works in batches from a fresh listing, so
 * deleting never disturbs a paging cursor. Governance retention is bypassed only when the caller asks
 * (`bypassGovernance`: an Object Lock bucket of an explicitly disposable stack; the key then needs the
 * bypassGovernance capability); otherwise, and always for compliance retention, a locked version
 * makes this fail, as it should.
 */
export async function deleteAllVersions(
  client: B2Client,
  bucketId: string,
  bypassGovernance: boolean,
  progress: (done: number) => void,
): Promise<number> {
  let done = 0;
  for (let round = 0; round < 1_000_000; round++) {
    const batch: Array<{ fileId: string; fileName: string; action: string }> = [];
    for await (const v of client.listFileVersions({ bucketId })) {
      if (v.fileId) batch.push({ fileId: v.fileId, fileName: v.fileName, action: v.action });
      if (batch.length >= 1000) break;
    }
    if (batch.length === 0) break;
    for (const v of batch) {
      try {
        // An unfinished large file is cancelled (with its parts) rather than deleted.
        if (v.action === 'start') await client.cancelLargeFile(v.fileId);
        else
          await client.deleteFileVersion(
            v.fileId,
            v.fileName,
            bypassGovernance ? { bypassGovernance: true } : {},
          );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      done++;
      if (done % 100 === 0) progress(done);
    }
  }
  progress(done);
  return done;
}

const MAX_UPDATE_ATTEMPTS = 5;

/**
 * Read-modify-write of a bucket with `ifRevisionIs`: `patch(live)` returns the fields to send (or
 * null for "nothing to do"); on a 409 revision conflict the bucket is re-read and `patch` asked
 * again, up to 5 attempts. Returns the bucket as B2 left it.
 */
export async function updateBucketWithRetry(
  client: B2Client,
  bucketId: string,
  what: string,
  patch: (live: LiveBucket) => Record<string, unknown> | null,
  log: (line: string) => void,
): Promise<LiveBucket> {
  for (let attempt = 1; ; attempt++) {
    const live = await findBucketById(client, bucketId);
    if (!live) throw new Error(`${what}: bucket ${bucketId} does not exist (run \`pulumi refresh\`)`);
    const fields = patch(live);
    if (!fields) return live;
    try {
      return (await client.updateBucket({ bucketId, ifRevisionIs: live.revision, ...fields } as Parameters<
        B2Client['updateBucket']
      >[0])) as LiveBucket;
    } catch (e) {
      if (!isConflict(e) || attempt >= MAX_UPDATE_ATTEMPTS) throw e;
      log(
        `${what}: bucket ${live.bucketName} changed meanwhile (revision ${live.revision}, 409); re-reading and re-applying`,
      );
    }
  }
}
