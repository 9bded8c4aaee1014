/**
 * Engine records → native JSON, per API version (docs/b2-api.md §1.2 and §3).
 */
import type {
  AuthContext,
  BucketRecord,
  FileRecord,
  FolderEntry,
  KeyRecord,
  PartRecord,
} from '../core/types';
import type { Engine } from '../core/engine';
import { MIN_PART_SIZE, RECOMMENDED_PART_SIZE } from '../core/validate';

type Json = Record<string, unknown>;

const guarded = (allowed: boolean, value: unknown): Json =>
  allowed ? { isClientAuthorizedToRead: true, value } : { isClientAuthorizedToRead: false, value: null };

export function renderBucket(engine: Engine, b: BucketRecord, auth: AuthContext): Json {
  const sse = b.defaultServerSideEncryption;
  return {
    accountId: b.accountId,
    bucketId: b.bucketId,
    bucketName: b.bucketName,
    bucketType: b.bucketType,
    bucketInfo: b.bucketInfo,
    corsRules: b.corsRules,
    lifecycleRules: b.lifecycleRules.map((r) => {
      const out: Json = {
        daysFromHidingToDeleting: r.daysFromHidingToDeleting,
        daysFromUploadingToHiding: r.daysFromUploadingToHiding,
        fileNamePrefix: r.fileNamePrefix,
      };
      if (r.daysFromStartingToCancelingUnfinishedLargeFiles)
        out.daysFromStartingToCancelingUnfinishedLargeFiles =
          r.daysFromStartingToCancelingUnfinishedLargeFiles;
      return out;
    }),
    defaultServerSideEncryption: guarded(
      engine.canRead(auth, 'readBucketEncryption'),
      sse ? { mode: sse.mode, algorithm: sse.algorithm } : { algorithm: null, mode: null },
    ),
    fileLockConfiguration: guarded(engine.canRead(auth, 'readBucketRetentions'), {
      defaultRetention: b.defaultRetention,
      isFileLockEnabled: b.fileLockEnabled,
    }),
    replicationConfiguration: guarded(
      engine.canRead(auth, 'readBucketReplications'),
      b.replicationConfiguration ?? { asReplicationSource: null, asReplicationDestination: null },
    ),
    options: b.options,
    revision: b.revision,
  };
}

function renderSse(f: FileRecord): Json {
  const s = f.serverSideEncryption;
  return s ? { mode: s.mode, algorithm: s.algorithm } : { algorithm: null, mode: null };
}

export function renderFile(
  f: FileRecord | FolderEntry,
  auth: AuthContext,
  version: number,
  actionOverride?: string,
): Json {
  if (f.action === 'folder') {
    const out: Json = {
      accountId: f.accountId,
      action: 'folder',
      bucketId: f.bucketId,
      contentLength: 0,
      contentMd5: null,
      contentSha1: null,
      contentType: null,
      fileId: null,
      fileInfo: {},
      fileName: f.fileName,
      uploadTimestamp: 0,
    };
    if (version === 1) out.size = 0;
    return out;
  }
  const out: Json = {
    accountId: f.accountId,
    action: actionOverride ?? f.action,
    bucketId: f.bucketId,
    contentLength: f.contentLength,
    contentMd5: f.contentMd5,
    contentSha1: f.contentSha1,
    contentType: f.contentType,
    fileId: f.fileId,
    fileInfo: f.fileInfo,
    fileName: f.fileName,
    uploadTimestamp: f.uploadTimestamp,
  };
  if (f.action !== 'hide') {
    const canRet = auth.system === true || auth.capabilities.has('readFileRetentions');
    const canHold = auth.system === true || auth.capabilities.has('readFileLegalHolds');
    out.fileRetention = guarded(canRet, f.fileRetention ?? { mode: null, retainUntilTimestamp: null });
    out.legalHold = guarded(canHold, f.legalHold);
    out.serverSideEncryption = renderSse(f);
  }
  if (f.replicationStatus) out.replicationStatus = f.replicationStatus.toUpperCase();
  if (version === 1) out.size = f.contentLength;
  return out;
}

export function renderPart(p: PartRecord): Json {
  return {
    fileId: p.fileId,
    partNumber: p.partNumber,
    contentLength: p.contentLength,
    contentSha1: p.contentSha1,
    contentMd5: p.contentMd5,
    serverSideEncryption: p.serverSideEncryption
      ? { mode: p.serverSideEncryption.mode, algorithm: p.serverSideEncryption.algorithm }
      : { algorithm: null, mode: null },
    uploadTimestamp: p.uploadTimestamp,
  };
}

export function renderKey(k: KeyRecord, version: number, withSecret: boolean): Json {
  const out: Json = {
    accountId: k.accountId,
    applicationKeyId: k.applicationKeyId,
    capabilities: k.capabilities,
    expirationTimestamp: k.expirationTimestamp,
    keyName: k.keyName,
    namePrefix: k.namePrefix,
    options: ['s3'],
  };
  if (version >= 4) out.bucketIds = k.bucketIds;
  else out.bucketId = k.bucketIds?.[0] ?? null;
  if (withSecret) out.applicationKey = k.applicationKey;
  return out;
}

/** b2_authorize_account's body for each version (docs/b2-api.md §1.2). */
export function renderAuthorize(
  engine: Engine,
  url: string,
  token: string,
  key: KeyRecord,
  version: number,
): Json {
  const bucketName = (id: string): string | null => engine.store.getBucket(id)?.bucketName ?? null;
  const urls = {
    apiUrl: url,
    downloadUrl: url,
    s3ApiUrl: url,
    recommendedPartSize: RECOMMENDED_PART_SIZE,
    absoluteMinimumPartSize: MIN_PART_SIZE,
  };
  const firstBucket = key.bucketIds?.[0] ?? null;
  const classic = {
    capabilities: key.capabilities,
    bucketId: firstBucket,
    bucketName: firstBucket ? bucketName(firstBucket) : null,
    namePrefix: key.namePrefix,
  };
  if (version <= 2) {
    const out: Json = { accountId: engine.accountId, authorizationToken: token, ...urls, allowed: classic };
    if (version === 1) out.minimumPartSize = RECOMMENDED_PART_SIZE;
    return out;
  }
  const storageApi: Json =
    version === 3
      ? { ...urls, ...classic, infoType: 'storageApi' }
      : {
          ...urls,
          allowed: {
            buckets: key.bucketIds ? key.bucketIds.map((id) => ({ id, name: bucketName(id) })) : null,
            capabilities: key.capabilities,
            namePrefix: key.namePrefix,
          },
        };
  return {
    accountId: engine.accountId,
    authorizationToken: token,
    apiInfo: { storageApi },
    applicationKeyExpirationTimestamp: key.expirationTimestamp,
  };
}
