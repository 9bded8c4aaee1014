/**
 * Downloads: download authorizations, resolving the credential a download presents, the access
 * rules for account tokens, download tokens and anonymous (public bucket) reads, SSE-C checks and
 * Range handling. Returns a plan the protocol layer streams.
 */
import { Readable } from 'stream';
import { errors } from '../errors';
import { FILE_ID_RE } from '../ids';
import type { AuthContext, BucketRecord, FileRecord } from '../types';
import type { Accounts } from './accounts';
import { EngineCore, checkSseCKey, requireBucketScope, requireCap, requireNameScope } from './base';
import type { DownloadCredential, DownloadOverrides, DownloadPlan, SseInput } from './types';

export class Downloads {
  constructor(
    private readonly core: EngineCore,
    private readonly accounts: Accounts,
  ) {}

  getDownloadAuthorization(
    auth: AuthContext,
    input: {
      bucketId: string;
      fileNamePrefix: unknown;
      validDurationInSeconds: unknown;
      overrides: DownloadOverrides;
    },
  ): { token: string; bucketId: string; fileNamePrefix: string } {
    requireCap(auth, 'shareFiles');
    const bucket = this.core.bucketFor(auth, input.bucketId);
    if (typeof input.fileNamePrefix !== 'string')
      throw errors.badRequest('fileNamePrefix is required (a string)');
    const d = input.validDurationInSeconds;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 604800)
      throw errors.badRequest('validDurationInSeconds must be an integer 1-604800');
    if (auth.namePrefix && !input.fileNamePrefix.startsWith(auth.namePrefix))
      throw errors.unauthorized(`fileNamePrefix must start with the key's namePrefix "${auth.namePrefix}"`);
    const token = this.accounts.issueDownloadToken({
      accountId: this.core.accountId,
      keyId: auth.keyId,
      bucketId: bucket.bucketId,
      fileNamePrefix: input.fileNamePrefix,
      expiresAt: this.core.clock.now() + d * 1000,
      overrides: input.overrides,
    });
    return { token, bucketId: bucket.bucketId, fileNamePrefix: input.fileNamePrefix };
  }

  /** Resolve a token presented on a download (account token or download authorization). */
  downloadCredential(token: string | undefined, apiVersion: number): DownloadCredential {
    if (!token) return { kind: 'none' };
    const dl = this.accounts.downloadToken(token);
    if (dl) return { kind: 'download', token: dl };
    return { kind: 'account', auth: this.accounts.authenticate(token, apiVersion) };
  }

  private checkDownloadAllowed(
    cred: DownloadCredential,
    bucket: BucketRecord,
    fileName: string,
    overrides: DownloadOverrides,
  ): void {
    if (cred.kind === 'account') {
      requireCap(cred.auth, 'readFiles');
      requireBucketScope(cred.auth, bucket.bucketId);
      requireNameScope(cred.auth, fileName);
      return;
    }
    if (cred.kind === 'download') {
      const t = cred.token;
      if (t.bucketId !== bucket.bucketId || !fileName.startsWith(t.fileNamePrefix))
        throw errors.unauthorized('the download authorization does not cover this file');
      for (const [k, val] of Object.entries(overrides))
        if (val !== undefined && t.overrides[k as keyof DownloadOverrides] !== val)
          throw errors.unauthorized(`${k} does not match the value in the download authorization`);
      return;
    }
    if (bucket.bucketType !== 'allPublic')
      throw errors.unauthorized('Authorization is required to download from a private bucket');
  }

  openByName(
    cred: DownloadCredential,
    bucketName: string,
    fileName: string,
    opts: { range?: string; sseC?: SseInput | null; overrides?: DownloadOverrides },
  ): DownloadPlan {
    const bucket = this.core.store.getBucketByName(bucketName);
    if (!bucket) {
      if (cred.kind === 'none')
        throw errors.unauthorized(`Bucket ${bucketName} is not public or does not exist`);
      throw errors.notFound(`Bucket ${bucketName} does not exist`);
    }
    this.checkDownloadAllowed(cred, bucket, fileName, opts.overrides ?? {});
    const f = this.core.newestVersion(bucket.bucketId, fileName);
    if (!f || f.action !== 'upload') throw errors.notFound(`File with such name does not exist: ${fileName}`);
    return this.plan(bucket, f, opts);
  }

  openById(
    cred: DownloadCredential,
    fileId: string,
    opts: { range?: string; sseC?: SseInput | null },
  ): DownloadPlan {
    if (typeof fileId !== 'string' || !fileId) throw errors.badRequest('fileId is required');
    if (!FILE_ID_RE.test(fileId)) throw errors.badFileId(fileId);
    const f = this.core.store.getFile(fileId);
    const bucket = f && this.core.store.getBucket(f.bucketId);
    if (!f || !bucket || f.action !== 'upload') {
      if (cred.kind === 'account') requireCap(cred.auth, 'readFiles');
      throw errors.notFound(`File with such id does not exist: ${fileId}`);
    }
    if (cred.kind === 'download')
      throw errors.unauthorized('download authorizations only work for downloads by name');
    this.checkDownloadAllowed(cred, bucket, f.fileName, {});
    return this.plan(bucket, f, opts);
  }

  private plan(
    bucket: BucketRecord,
    f: FileRecord,
    opts: { range?: string; sseC?: SseInput | null },
  ): DownloadPlan {
    if (f.serverSideEncryption?.mode === 'SSE-C') {
      const k = opts.sseC;
      if (k?.mode !== 'SSE-C')
        throw errors.accessDenied('this file uses SSE-C: send the three SSE-C customer key headers');
      checkSseCKey(k);
      if (k.customerKeyMd5 !== f.serverSideEncryption.customerKeyMd5)
        throw errors.accessDenied('the SSE-C key does not match the key the file was written with');
    }
    const range = parseRange(opts.range, f.contentLength);
    const start = range ? range.start : 0;
    const end = range ? range.end : f.contentLength - 1;
    return {
      file: f,
      bucket,
      range,
      length: end - start + 1,
      open: () => Readable.from(this.core.readChunks(f.chunks, start, end)),
    };
  }
}

/**
 * `Range: bytes=a-b | a- | -n` → inclusive range, null = whole file; unsatisfiable → 416.
 * Malformed headers are ignored (RFC 9110), as HTTP servers do.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw errors.rangeNotSatisfiable(`Range ${header} is not satisfiable for ${size} bytes`);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size || size === 0)
    throw errors.rangeNotSatisfiable(`Range ${header} is not satisfiable for ${size} bytes`);
  return { start, end };
}
