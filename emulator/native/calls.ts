/**
 * One handler per JSON call of the native API (docs/b2-api.md §2). Handlers return the JSON body;
 * `index.ts` authenticates, counts, injects faults and renders errors.
 * Docs: https://www.backblaze.com/apidocs/<call name>
 */
import type { AuthContext, BucketRecord, FileRetention } from '../core/types';
import type { DownloadOverrides, Engine, ListFilesInput, SseInput } from '../core/engine';
import { errors } from '../core/errors';
import type { Params } from './http';
import { renderBucket, renderFile, renderKey, renderPart } from './render';

export interface CallContext {
  engine: Engine;
  auth: AuthContext;
  p: Params;
  version: number;
  url: string;
}

export type CallHandler = (c: CallContext) => Promise<unknown> | unknown;

/** Calls that carry `accountId`: it must be the caller's account. */
function checkAccount(c: CallContext): void {
  const id = c.p.str('accountId');
  if (id !== c.engine.accountId)
    throw errors.unauthorized(`accountId ${id} does not match the authorization token`);
}

function sseFromJson(v: unknown, field: string): SseInput | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') throw errors.badRequest(`${field} must be an object`);
  const o = v as Record<string, unknown>;
  if (o.mode === 'SSE-B2') {
    if (o.algorithm !== undefined && o.algorithm !== 'AES256')
      throw errors.badRequest(`${field}.algorithm must be "AES256"`);
    return { mode: 'SSE-B2' };
  }
  if (o.mode === 'SSE-C') {
    if (typeof o.customerKey !== 'string' || typeof o.customerKeyMd5 !== 'string')
      throw errors.badRequest(`${field} with mode SSE-C needs customerKey and customerKeyMd5`);
    return { mode: 'SSE-C', customerKey: o.customerKey, customerKeyMd5: o.customerKeyMd5 };
  }
  if (o.mode === null || o.mode === undefined || o.mode === 'none') return null;
  throw errors.badRequest(`${field}.mode must be "SSE-B2" or "SSE-C"`);
}

function retentionFromJson(c: CallContext): FileRetention | null {
  const r = c.p.any('fileRetention');
  if (r === undefined || r === null) return null;
  if (typeof r !== 'object') throw errors.badRequest('fileRetention must be an object');
  const o = r as Record<string, unknown>;
  if (o.mode === null || o.mode === undefined) return null;
  if (o.mode !== 'governance' && o.mode !== 'compliance')
    throw errors.badRequest('fileRetention.mode must be "governance" or "compliance"');
  if (typeof o.retainUntilTimestamp !== 'number')
    throw errors.badRequest('fileRetention.retainUntilTimestamp must be milliseconds');
  if (o.retainUntilTimestamp <= c.engine.clock.now())
    throw errors.badRequest('fileRetention.retainUntilTimestamp must be in the future');
  return { mode: o.mode, retainUntilTimestamp: o.retainUntilTimestamp };
}

function legalHoldFromJson(c: CallContext): 'on' | 'off' | null {
  const v = c.p.any('legalHold');
  if (v === undefined || v === null) return null;
  if (v !== 'on' && v !== 'off') throw errors.badRequest('legalHold must be "on" or "off"');
  return v;
}

const OVERRIDE_FIELDS = [
  'b2ContentDisposition',
  'b2ContentLanguage',
  'b2Expires',
  'b2CacheControl',
  'b2ContentEncoding',
  'b2ContentType',
] as const;

const bucket = (c: CallContext, b: BucketRecord) => renderBucket(c.engine, b, c.auth);

export const CALLS: Record<string, CallHandler> = {
  b2_create_bucket(c) {
    checkAccount(c);
    const p = c.p;
    return bucket(
      c,
      c.engine.createBucket(c.auth, {
        bucketName: p.str('bucketName'),
        bucketType: p.str('bucketType'),
        bucketInfo: p.any('bucketInfo') as Record<string, string> | undefined,
        corsRules: p.any('corsRules'),
        lifecycleRules: p.any('lifecycleRules'),
        fileLockEnabled: p.optBool('fileLockEnabled'),
        defaultServerSideEncryption: p.any('defaultServerSideEncryption'),
        defaultRetention: p.any('defaultRetention'),
        replicationConfiguration: p.any('replicationConfiguration'),
      }),
    );
  },

  b2_update_bucket(c) {
    checkAccount(c);
    const p = c.p;
    return bucket(
      c,
      c.engine.updateBucket(c.auth, {
        bucketId: p.str('bucketId'),
        bucketType: p.optStr('bucketType'),
        bucketInfo: p.any('bucketInfo'),
        corsRules: p.any('corsRules'),
        lifecycleRules: p.any('lifecycleRules'),
        fileLockEnabled: p.optBool('fileLockEnabled'),
        defaultServerSideEncryption: p.any('defaultServerSideEncryption'),
        defaultRetention: p.any('defaultRetention'),
        replicationConfiguration: p.any('replicationConfiguration'),
        ifRevisionIs: p.optInt('ifRevisionIs'),
      }),
    );
  },

  b2_delete_bucket(c) {
    checkAccount(c);
    return bucket(c, c.engine.deleteBucket(c.auth, c.p.str('bucketId')));
  },

  b2_list_buckets(c) {
    checkAccount(c);
    const buckets = c.engine.listBuckets(c.auth, {
      bucketId: c.p.optStr('bucketId'),
      bucketName: c.p.optStr('bucketName'),
      bucketTypes: c.p.any('bucketTypes'),
    });
    return { buckets: buckets.map((b) => bucket(c, b)) };
  },

  b2_create_key(c) {
    checkAccount(c);
    const p = c.p;
    let bucketIds: string[] | null = null;
    if (c.version >= 4) bucketIds = p.optStrArray('bucketIds') ?? null;
    else if (p.has('bucketIds'))
      throw errors.badRequest('bucketIds needs b2api/v4; use bucketId on this version');
    const single = p.optStr('bucketId');
    if (single) {
      if (bucketIds) throw errors.badRequest('send either bucketId or bucketIds, not both');
      bucketIds = [single];
    }
    const capabilities = p.optStrArray('capabilities');
    if (!capabilities) throw errors.badRequest('Missing required field: capabilities');
    const key = c.engine.createKey(c.auth, {
      keyName: p.str('keyName'),
      capabilities,
      validDurationInSeconds: p.optInt('validDurationInSeconds'),
      bucketIds,
      namePrefix: p.optStr('namePrefix') ?? null,
    });
    return renderKey(key, c.version, true);
  },

  b2_delete_key(c) {
    return renderKey(c.engine.deleteKey(c.auth, c.p.str('applicationKeyId')), c.version, false);
  },

  b2_list_keys(c) {
    checkAccount(c);
    const r = c.engine.listKeys(c.auth, {
      maxKeyCount: c.p.optInt('maxKeyCount'),
      startApplicationKeyId: c.p.optStr('startApplicationKeyId'),
    });
    return {
      keys: r.keys.map((k) => renderKey(k, c.version, false)),
      nextApplicationKeyId: r.nextApplicationKeyId,
    };
  },

  b2_get_upload_url(c) {
    const bucketId = c.p.str('bucketId');
    const { token } = c.engine.getUploadUrl(c.auth, bucketId);
    return {
      bucketId,
      uploadUrl: `${c.url}/b2api/v${c.version}/b2_upload_file/${bucketId}/${token.slice(-12)}`,
      authorizationToken: token,
    };
  },

  b2_get_upload_part_url(c) {
    const fileId = c.p.str('fileId');
    const { token } = c.engine.getUploadPartUrl(c.auth, fileId);
    return {
      fileId,
      uploadUrl: `${c.url}/b2api/v${c.version}/b2_upload_part/${fileId}/${token.slice(-12)}`,
      authorizationToken: token,
    };
  },

  b2_start_large_file(c) {
    const p = c.p;
    const f = c.engine.startLargeFile(c.auth, {
      bucketId: p.str('bucketId'),
      fileName: p.str('fileName'),
      contentType: p.str('contentType'),
      fileInfo: (p.any('fileInfo') ?? {}) as Record<string, string>,
      sse: sseFromJson(p.any('serverSideEncryption'), 'serverSideEncryption'),
      fileRetention: retentionFromJson(c),
      legalHold: legalHoldFromJson(c),
    });
    return renderFile(f, c.auth, c.version);
  },

  b2_finish_large_file(c) {
    const f = c.engine.finishLargeFile(c.auth, c.p.str('fileId'), c.p.any('partSha1Array'));
    return renderFile(f, c.auth, c.version);
  },

  async b2_cancel_large_file(c) {
    const f = await c.engine.cancelLargeFile(c.auth, c.p.str('fileId'));
    return { accountId: f.accountId, bucketId: f.bucketId, fileId: f.fileId, fileName: f.fileName };
  },

  b2_list_unfinished_large_files(c) {
    const r = c.engine.listUnfinishedLargeFiles(c.auth, {
      bucketId: c.p.str('bucketId'),
      namePrefix: c.p.optStr('namePrefix'),
      startFileId: c.p.optStr('startFileId'),
      maxFileCount: c.p.optInt('maxFileCount'),
    });
    const next = r.nextFileId ? c.engine.store.getFile(r.nextFileId) : undefined;
    return {
      files: r.files.map((f) => renderFile(f, c.auth, c.version)),
      nextFileId: r.nextFileId,
      nextFileName: next?.fileName ?? null,
    };
  },

  b2_list_parts(c) {
    const r = c.engine.listParts(c.auth, {
      fileId: c.p.str('fileId'),
      startPartNumber: c.p.optInt('startPartNumber'),
      maxPartCount: c.p.optInt('maxPartCount'),
    });
    return { parts: r.parts.map(renderPart), nextPartNumber: r.nextPartNumber };
  },

  async b2_copy_file(c) {
    const p = c.p;
    const directive = p.optStr('metadataDirective');
    if (directive !== undefined && directive !== 'COPY' && directive !== 'REPLACE')
      throw errors.badRequest('metadataDirective must be "COPY" or "REPLACE"');
    const f = await c.engine.copyFile(c.auth, {
      sourceFileId: p.str('sourceFileId'),
      fileName: p.str('fileName'),
      destinationBucketId: p.optStr('destinationBucketId'),
      range: p.optStr('range'),
      metadataDirective: directive as 'COPY' | 'REPLACE' | undefined,
      contentType: p.optStr('contentType'),
      fileInfo: p.any('fileInfo') as Record<string, string> | undefined,
      fileRetention: retentionFromJson(c),
      legalHold: legalHoldFromJson(c),
      sourceSse: sseFromJson(p.any('sourceServerSideEncryption'), 'sourceServerSideEncryption'),
      destinationSse: sseFromJson(
        p.any('destinationServerSideEncryption'),
        'destinationServerSideEncryption',
      ),
    });
    return renderFile(f, c.auth, c.version, 'copy');
  },

  async b2_copy_part(c) {
    const p = c.p;
    const part = await c.engine.copyPart(c.auth, {
      sourceFileId: p.str('sourceFileId'),
      largeFileId: p.str('largeFileId'),
      partNumber: p.int('partNumber'),
      range: p.optStr('range'),
      sourceSse: sseFromJson(p.any('sourceServerSideEncryption'), 'sourceServerSideEncryption'),
      destinationSse: sseFromJson(
        p.any('destinationServerSideEncryption'),
        'destinationServerSideEncryption',
      ),
    });
    return renderPart(part);
  },

  b2_list_file_names(c) {
    const r = c.engine.listFileNames(c.auth, listInput(c, false));
    return { files: r.files.map((f) => renderFile(f, c.auth, c.version)), nextFileName: r.nextFileName };
  },

  b2_list_file_versions(c) {
    const r = c.engine.listFileVersions(c.auth, listInput(c, true));
    return {
      files: r.files.map((f) => renderFile(f, c.auth, c.version)),
      nextFileName: r.nextFileName,
      nextFileId: r.nextFileId,
    };
  },

  b2_get_file_info(c) {
    return renderFile(c.engine.getFileInfo(c.auth, c.p.str('fileId')), c.auth, c.version);
  },

  b2_hide_file(c) {
    return renderFile(c.engine.hideFile(c.auth, c.p.str('bucketId'), c.p.str('fileName')), c.auth, c.version);
  },

  async b2_delete_file_version(c) {
    const f = await c.engine.deleteFileVersion(c.auth, {
      fileId: c.p.str('fileId'),
      fileName: c.p.str('fileName'),
      bypassGovernance: c.p.optBool('bypassGovernance'),
    });
    return { fileId: f.fileId, fileName: f.fileName };
  },

  b2_get_download_authorization(c) {
    const overrides: DownloadOverrides = {};
    for (const k of OVERRIDE_FIELDS) {
      const v = c.p.optStr(k);
      if (v !== undefined) overrides[k] = v;
    }
    const r = c.engine.getDownloadAuthorization(c.auth, {
      bucketId: c.p.str('bucketId'),
      fileNamePrefix: c.p.any('fileNamePrefix'),
      validDurationInSeconds: c.p.any('validDurationInSeconds'),
      overrides,
    });
    return { bucketId: r.bucketId, fileNamePrefix: r.fileNamePrefix, authorizationToken: r.token };
  },

  b2_update_file_retention(c) {
    const f = c.engine.updateFileRetention(c.auth, {
      fileId: c.p.str('fileId'),
      fileName: c.p.str('fileName'),
      fileRetention: c.p.any('fileRetention'),
      bypassGovernance: c.p.optBool('bypassGovernance'),
    });
    return { fileId: f.fileId, fileName: f.fileName, fileRetention: f.fileRetention };
  },

  b2_update_file_legal_hold(c) {
    const f = c.engine.updateFileLegalHold(c.auth, {
      fileId: c.p.str('fileId'),
      fileName: c.p.str('fileName'),
      legalHold: c.p.any('legalHold'),
    });
    return { fileId: f.fileId, fileName: f.fileName, legalHold: f.legalHold };
  },

  b2_set_bucket_notification_rules(c) {
    const bucketId = c.p.str('bucketId');
    const rules = c.engine.setNotificationRules(c.auth, bucketId, c.p.any('eventNotificationRules'));
    return { bucketId, eventNotificationRules: rules };
  },

  b2_get_bucket_notification_rules(c) {
    const bucketId = c.p.str('bucketId');
    return { bucketId, eventNotificationRules: c.engine.getNotificationRules(c.auth, bucketId) };
  },
};

function listInput(c: CallContext, versions: boolean): ListFilesInput {
  const p = c.p;
  return {
    bucketId: p.str('bucketId'),
    startFileName: p.optStr('startFileName'),
    startFileId: versions ? p.optStr('startFileId') : undefined,
    maxFileCount: p.optInt('maxFileCount'),
    prefix: p.optStr('prefix'),
    delimiter: p.optStr('delimiter'),
  };
}
