/**
 * Cloud Replication execution (docs/b2-api.md §10) between the emulator's regions (each its own
 * account). The engine marks new uploads under an enabled rule `PENDING`; this job copies them to
 * the destination bucket and sets the source to `COMPLETED` or `FAILED`, the copy to `REPLICA`.
 * `includeExistingFiles` back-fills uploads that carry no status. Keys are checked as B2 does:
 * the source key must exist, be live, read the file (readFiles, bucket and prefix scope); the
 * destination bucket must map that source key to a live destination key that can write there
 * (writeFiles, bucket and prefix scope). Not replicated: hide markers, deletions, SSE-C files,
 * replicas (no chaining), files with name + info over 2048 bytes.
 */
import type { RegionRuntime } from '../core/context';
import type { BucketRecord, FileRecord, KeyRecord, ReplicationRule } from '../core/types';

export interface ReplicationReport {
  completed: number;
  failed: number;
  /** Reasons of the failures of this run, for logs and tests. */
  failures: Array<{ fileName: string; reason: string }>;
}

export const REPLICATION_METADATA_LIMIT = 2048;
const PAGE = 1000;

type Outcome = { ok: true } | { ok: false; reason: string };

function keyProblem(
  key: KeyRecord | undefined,
  now: number,
  capability: string,
  bucketId: string,
  fileName: string,
  role: string,
): string | null {
  if (!key) return `${role} key does not exist`;
  if (key.expirationTimestamp !== null && key.expirationTimestamp <= now)
    return `${role} key ${key.applicationKeyId} has expired`;
  if (!key.capabilities.includes(capability))
    return `${role} key ${key.applicationKeyId} lacks ${capability}`;
  if (key.bucketIds && !key.bucketIds.includes(bucketId))
    return `${role} key ${key.applicationKeyId} is restricted to another bucket`;
  if (key.namePrefix && !fileName.startsWith(key.namePrefix))
    return `${role} key ${key.applicationKeyId} is restricted to names starting with "${key.namePrefix}"`;
  return null;
}

function metadataBytes(f: FileRecord): number {
  let n = Buffer.byteLength(f.fileName, 'utf8');
  for (const [k, v] of Object.entries(f.fileInfo)) n += Buffer.byteLength(k) + 10 + Buffer.byteLength(v);
  return n;
}

function findBucket(
  regions: RegionRuntime[],
  bucketId: string,
): { region: RegionRuntime; bucket: BucketRecord } | null {
  for (const region of regions) {
    const bucket = region.store.getBucket(bucketId);
    if (bucket) return { region, bucket };
  }
  return null;
}

async function replicateOne(
  regions: RegionRuntime[],
  src: RegionRuntime,
  srcBucket: BucketRecord,
  sourceKeyId: string,
  rule: ReplicationRule,
  f: FileRecord,
): Promise<Outcome> {
  const now = src.engine.clock.now();
  if (f.serverSideEncryption?.mode === 'SSE-C')
    return { ok: false, reason: 'SSE-C files are not replicated' };
  if (metadataBytes(f) > REPLICATION_METADATA_LIMIT) {
    return { ok: false, reason: `file name and info exceed ${REPLICATION_METADATA_LIMIT} bytes` };
  }
  const srcProblem = keyProblem(
    src.engine.findKey(sourceKeyId),
    now,
    'readFiles',
    srcBucket.bucketId,
    f.fileName,
    'source',
  );
  if (srcProblem) return { ok: false, reason: srcProblem };
  const dest = findBucket(regions, rule.destinationBucketId);
  if (!dest) return { ok: false, reason: `destination bucket ${rule.destinationBucketId} does not exist` };
  const mapping =
    dest.bucket.replicationConfiguration?.asReplicationDestination?.sourceToDestinationKeyMapping ?? {};
  const destKeyId = mapping[sourceKeyId];
  if (!destKeyId)
    return { ok: false, reason: `destination bucket has no key mapping for source key ${sourceKeyId}` };
  const destProblem = keyProblem(
    dest.region.engine.findKey(destKeyId),
    now,
    'writeFiles',
    dest.bucket.bucketId,
    f.fileName,
    'destination',
  );
  if (destProblem) return { ok: false, reason: destProblem };

  const chunks = [];
  if (f.contentLength > 0) {
    const pending = await dest.region.store.writeBlob(
      src.engine.readChunks(f.chunks, 0, f.contentLength - 1),
    );
    await pending.commit();
    chunks.push({ blobId: pending.blobId, offset: 0, size: pending.size });
  }
  const replica = dest.region.engine.makeVersion(dest.bucket.bucketId, f.fileName, 'upload');
  replica.contentLength = f.contentLength;
  replica.contentSha1 = f.contentSha1;
  replica.contentMd5 = f.contentMd5;
  replica.contentType = f.contentType;
  replica.fileInfo = { ...f.fileInfo };
  // Replicas age from the original upload time (docs/b2-api.md §5).
  replica.uploadTimestamp = f.uploadTimestamp;
  replica.serverSideEncryption = f.serverSideEncryption
    ? { ...f.serverSideEncryption }
    : dest.bucket.defaultServerSideEncryption
      ? { ...dest.bucket.defaultServerSideEncryption }
      : null;
  if (dest.bucket.fileLockEnabled) {
    replica.fileRetention = { mode: null, retainUntilTimestamp: null };
    replica.legalHold = 'off';
  }
  replica.replicationStatus = 'REPLICA';
  replica.chunks = chunks;
  if (f.extra) replica.extra = { ...f.extra };
  dest.region.engine.putSystemVersion(replica);
  return { ok: true };
}

/** The highest-priority enabled rule covering `f`, honouring includeExistingFiles for unmarked files. */
function ruleFor(rules: ReplicationRule[], f: FileRecord): ReplicationRule | null {
  const pending = (f.replicationStatus ?? '').toUpperCase() === 'PENDING';
  const candidates = rules
    .filter(
      (r) => r.isEnabled && f.fileName.startsWith(r.fileNamePrefix) && (pending || r.includeExistingFiles),
    )
    .sort((a, b) => b.priority - a.priority);
  return candidates[0] ?? null;
}

export async function runReplication(regions: RegionRuntime[]): Promise<ReplicationReport> {
  const report: ReplicationReport = { completed: 0, failed: 0, failures: [] };
  for (const src of regions) {
    for (const bucket of src.engine.allBuckets()) {
      const source = bucket.replicationConfiguration?.asReplicationSource;
      if (!source || source.replicationRules.length === 0) continue;
      await runBucket(regions, src, bucket, source.sourceApplicationKeyId, source.replicationRules, report);
    }
  }
  return report;
}

async function runBucket(
  regions: RegionRuntime[],
  src: RegionRuntime,
  bucket: BucketRecord,
  sourceKeyId: string,
  rules: ReplicationRule[],
  report: ReplicationReport,
): Promise<void> {
  let cursorName = '';
  let cursorSeq: number | null = null;
  const todo: Array<{ f: FileRecord; rule: ReplicationRule }> = [];
  for (;;) {
    const batch = src.store.listVersions(bucket.bucketId, cursorName, cursorSeq, PAGE);
    for (const f of batch) {
      cursorName = f.fileName;
      cursorSeq = f.seq - 1;
      if (f.action !== 'upload') continue;
      const status = (f.replicationStatus ?? '').toUpperCase();
      if (status !== 'PENDING' && status !== '') continue;
      const rule = ruleFor(rules, f);
      if (rule) todo.push({ f, rule });
    }
    if (batch.length < PAGE) break;
  }
  for (const { f, rule } of todo) {
    let outcome: Outcome;
    try {
      outcome = await replicateOne(regions, src, bucket, sourceKeyId, rule, f);
    } catch (e) {
      outcome = { ok: false, reason: (e as Error).message };
    }
    // Re-read: the version may have been deleted while it was being copied.
    const fresh = src.store.getFile(f.fileId);
    if (!fresh) continue;
    fresh.replicationStatus = outcome.ok ? 'COMPLETED' : 'FAILED';
    src.engine.putSystemVersion(fresh);
    if (outcome.ok) report.completed++;
    else {
      report.failed++;
      report.failures.push({ fileName: f.fileName, reason: outcome.reason });
    }
  }
}
