/**
 * One method per `b2_*` endpoint (b2sdk `raw_api.py`, docs/conventions.md §2). Each takes the API URL and
 * token explicitly and only shapes the request; transport, error mapping and retries live in
 * `http.ts`, tokens and re-authorization in `session.ts`.
 *
 * JSON calls use the v3 shapes (`/b2api/v3`); `createKey` with `bucketIds` and the v4 key listing
 * go to `/b2api/v4`, the only version that knows multi-bucket keys (docs/b2-api.md §1.1).
 */
import { RequestContext } from './errors';
import { HttpClient, DownloadResponse } from './http';
import { SecretString } from './secret';
import * as w from './wire';

export type ApiVersion = 'v3' | 'v4';

/** Values a raw upload needs besides the body. */
export interface UploadFileArgs {
  fileName: string;
  contentType: string;
  contentSha1: string;
  fileInfo?: Record<string, string>;
  /** Extra B2 headers (SSE, retention, legal hold), already named per `wire.Header`. */
  extraHeaders?: Record<string, string>;
  body: Uint8Array;
}

export interface UploadPartArgs {
  partNumber: number;
  contentSha1: string;
  extraHeaders?: Record<string, string>;
  body: Uint8Array;
}

export interface DownloadArgs {
  /** Inclusive byte range. */
  range?: [number, number];
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
}

export class RawApi {
  constructor(private readonly http: HttpClient) {}

  // --- authorize --------------------------------------------------------------------------

  authorizeAccount(
    realmUrl: string,
    applicationKeyId: string,
    applicationKey: SecretString,
    version: 'v3',
  ): Promise<w.AuthorizeAccountResponseV3>;
  authorizeAccount(
    realmUrl: string,
    applicationKeyId: string,
    applicationKey: SecretString,
    version: 'v4',
  ): Promise<w.AuthorizeAccountResponseV4>;
  authorizeAccount(
    realmUrl: string,
    applicationKeyId: string,
    applicationKey: SecretString,
    version: ApiVersion,
  ): Promise<w.AuthorizeAccountResponseV3 | w.AuthorizeAccountResponseV4> {
    const basic = Buffer.from(`${applicationKeyId}:${applicationKey.reveal()}`).toString('base64');
    return this.http.json({
      url: `${trimSlash(realmUrl)}/b2api/${version}/b2_authorize_account`,
      method: 'GET',
      authorization: `Basic ${basic}`,
      context: {
        operation: 'b2_authorize_account',
        applicationKeyId,
        secrets: [applicationKey.reveal(), basic],
      },
    });
  }

  // --- buckets ----------------------------------------------------------------------------

  createBucket(apiUrl: string, token: string, req: w.CreateBucketRequest): Promise<w.Bucket> {
    return this.call(apiUrl, token, 'b2_create_bucket', req, { bucketName: req.bucketName });
  }

  updateBucket(apiUrl: string, token: string, req: w.UpdateBucketRequest): Promise<w.Bucket> {
    return this.call(apiUrl, token, 'b2_update_bucket', req, { bucketId: req.bucketId });
  }

  deleteBucket(apiUrl: string, token: string, req: w.DeleteBucketRequest): Promise<w.Bucket> {
    return this.call(apiUrl, token, 'b2_delete_bucket', req, { bucketId: req.bucketId });
  }

  listBuckets(apiUrl: string, token: string, req: w.ListBucketsRequest): Promise<w.ListBucketsResponse> {
    return this.call(apiUrl, token, 'b2_list_buckets', req, {
      bucketId: req.bucketId,
      bucketName: req.bucketName,
    });
  }

  // --- keys -------------------------------------------------------------------------------

  /** v4 when `bucketIds` is given (multi-bucket keys exist only there), else v3. */
  createKey(apiUrl: string, token: string, req: w.CreateKeyRequest): Promise<w.KeyWithSecretWire> {
    const version: ApiVersion = req.bucketIds !== undefined ? 'v4' : 'v3';
    return this.call(apiUrl, token, 'b2_create_key', req, {}, version);
  }

  deleteKey(apiUrl: string, token: string, req: w.DeleteKeyRequest): Promise<w.Key> {
    return this.call(apiUrl, token, 'b2_delete_key', req, { applicationKeyId: req.applicationKeyId });
  }

  listKeys(
    apiUrl: string,
    token: string,
    req: w.ListKeysRequest,
    version: ApiVersion = 'v3',
  ): Promise<w.ListKeysResponse> {
    return this.call(apiUrl, token, 'b2_list_keys', req, {}, version);
  }

  // --- uploads ----------------------------------------------------------------------------

  getUploadUrl(apiUrl: string, token: string, req: w.GetUploadUrlRequest): Promise<w.GetUploadUrlResponse> {
    return this.call(apiUrl, token, 'b2_get_upload_url', req, { bucketId: req.bucketId });
  }

  /** One attempt; on any failure the caller must discard this upload URL. */
  uploadFile(uploadUrl: string, uploadToken: string, args: UploadFileArgs): Promise<w.FileVersion> {
    const headers: Record<string, string> = {
      ...args.extraHeaders,
      [w.Header.fileName]: w.encodeB2String(args.fileName),
      [w.Header.contentType]: args.contentType,
      [w.Header.contentSha1]: args.contentSha1,
    };
    for (const [k, v] of Object.entries(args.fileInfo ?? {}))
      headers[w.Header.infoPrefix + k] = w.encodeB2String(v);
    return this.http.sendUploadOnce({
      url: uploadUrl,
      authorization: uploadToken,
      headers,
      body: args.body,
      context: { operation: 'b2_upload_file', fileName: args.fileName, secrets: [uploadToken] },
    });
  }

  startLargeFile(apiUrl: string, token: string, req: w.StartLargeFileRequest): Promise<w.FileVersion> {
    return this.call(apiUrl, token, 'b2_start_large_file', req, {
      bucketId: req.bucketId,
      fileName: req.fileName,
    });
  }

  getUploadPartUrl(
    apiUrl: string,
    token: string,
    req: w.GetUploadPartUrlRequest,
  ): Promise<w.GetUploadPartUrlResponse> {
    return this.call(apiUrl, token, 'b2_get_upload_part_url', req, { fileId: req.fileId });
  }

  /** One attempt; on any failure the caller must discard this part URL. */
  uploadPart(uploadUrl: string, uploadToken: string, fileId: string, args: UploadPartArgs): Promise<w.Part> {
    return this.http.sendUploadOnce({
      url: uploadUrl,
      authorization: uploadToken,
      headers: {
        ...args.extraHeaders,
        [w.Header.partNumber]: String(args.partNumber),
        [w.Header.contentSha1]: args.contentSha1,
      },
      body: args.body,
      context: { operation: 'b2_upload_part', fileId, secrets: [uploadToken] },
    });
  }

  finishLargeFile(apiUrl: string, token: string, req: w.FinishLargeFileRequest): Promise<w.FileVersion> {
    return this.call(apiUrl, token, 'b2_finish_large_file', req, { fileId: req.fileId });
  }

  cancelLargeFile(
    apiUrl: string,
    token: string,
    req: w.CancelLargeFileRequest,
  ): Promise<w.CancelLargeFileResponse> {
    return this.call(apiUrl, token, 'b2_cancel_large_file', req, { fileId: req.fileId });
  }

  listUnfinishedLargeFiles(
    apiUrl: string,
    token: string,
    req: w.ListUnfinishedLargeFilesRequest,
  ): Promise<w.ListUnfinishedLargeFilesResponse> {
    return this.call(apiUrl, token, 'b2_list_unfinished_large_files', req, { bucketId: req.bucketId });
  }

  listParts(apiUrl: string, token: string, req: w.ListPartsRequest): Promise<w.ListPartsResponse> {
    return this.call(apiUrl, token, 'b2_list_parts', req, { fileId: req.fileId });
  }

  copyFile(apiUrl: string, token: string, req: w.CopyFileRequest): Promise<w.FileVersion> {
    return this.call(apiUrl, token, 'b2_copy_file', req, {
      fileId: req.sourceFileId,
      fileName: req.fileName,
    });
  }

  copyPart(apiUrl: string, token: string, req: w.CopyPartRequest): Promise<w.Part> {
    return this.call(apiUrl, token, 'b2_copy_part', req, { fileId: req.largeFileId });
  }

  // --- listing and file state ---------------------------------------------------------------

  listFileNames(
    apiUrl: string,
    token: string,
    req: w.ListFileNamesRequest,
  ): Promise<w.ListFileNamesResponse> {
    return this.call(apiUrl, token, 'b2_list_file_names', req, { bucketId: req.bucketId });
  }

  listFileVersions(
    apiUrl: string,
    token: string,
    req: w.ListFileVersionsRequest,
  ): Promise<w.ListFileVersionsResponse> {
    return this.call(apiUrl, token, 'b2_list_file_versions', req, { bucketId: req.bucketId });
  }

  getFileInfo(apiUrl: string, token: string, req: w.GetFileInfoRequest): Promise<w.FileVersion> {
    return this.call(apiUrl, token, 'b2_get_file_info', req, { fileId: req.fileId });
  }

  hideFile(apiUrl: string, token: string, req: w.HideFileRequest): Promise<w.FileVersion> {
    return this.call(apiUrl, token, 'b2_hide_file', req, { bucketId: req.bucketId, fileName: req.fileName });
  }

  deleteFileVersion(
    apiUrl: string,
    token: string,
    req: w.DeleteFileVersionRequest,
  ): Promise<w.DeleteFileVersionResponse> {
    return this.call(apiUrl, token, 'b2_delete_file_version', req, {
      fileId: req.fileId,
      fileName: req.fileName,
    });
  }

  updateFileRetention(
    apiUrl: string,
    token: string,
    req: w.UpdateFileRetentionRequest,
  ): Promise<w.UpdateFileRetentionResponse> {
    return this.call(apiUrl, token, 'b2_update_file_retention', req, {
      fileId: req.fileId,
      fileName: req.fileName,
    });
  }

  updateFileLegalHold(
    apiUrl: string,
    token: string,
    req: w.UpdateFileLegalHoldRequest,
  ): Promise<w.UpdateFileLegalHoldResponse> {
    return this.call(apiUrl, token, 'b2_update_file_legal_hold', req, {
      fileId: req.fileId,
      fileName: req.fileName,
    });
  }

  getDownloadAuthorization(
    apiUrl: string,
    token: string,
    req: w.GetDownloadAuthorizationRequest,
  ): Promise<w.GetDownloadAuthorizationResponse> {
    return this.call(apiUrl, token, 'b2_get_download_authorization', req, { bucketId: req.bucketId });
  }

  // --- downloads --------------------------------------------------------------------------

  downloadFileById(
    downloadUrl: string,
    token: string | undefined,
    fileId: string,
    args: DownloadArgs = {},
  ): Promise<DownloadResponse> {
    const url = `${trimSlash(downloadUrl)}/b2api/v3/b2_download_file_by_id?fileId=${encodeURIComponent(fileId)}`;
    return this.download(url, token, args, { operation: 'b2_download_file_by_id', fileId });
  }

  downloadFileByName(
    downloadUrl: string,
    token: string | undefined,
    bucketName: string,
    fileName: string,
    args: DownloadArgs = {},
  ): Promise<DownloadResponse> {
    const url = `${trimSlash(downloadUrl)}/file/${encodeURIComponent(bucketName)}/${fileNamePath(fileName)}`;
    return this.download(url, token, args, { operation: 'b2_download_file_by_name', bucketName, fileName });
  }

  // --- helpers ----------------------------------------------------------------------------

  private download(
    url: string,
    token: string | undefined,
    args: DownloadArgs,
    context: RequestContext,
  ): Promise<DownloadResponse> {
    const headers: Record<string, string> = { ...args.headers };
    if (args.range) headers[w.Header.range] = `bytes=${args.range[0]}-${args.range[1]}`;
    return this.http.download({
      url,
      authorization: token,
      headers,
      method: args.method,
      context: { ...context, secrets: token ? [token] : [] },
    });
  }

  private call<T>(
    apiUrl: string,
    token: string,
    operation: string,
    body: object,
    names: Omit<RequestContext, 'operation' | 'secrets'>,
    version: ApiVersion = 'v3',
  ): Promise<T> {
    return this.http.json<T>({
      url: `${trimSlash(apiUrl)}/b2api/${version}/${operation}`,
      authorization: token,
      body,
      context: { operation, ...dropUndefined(names), secrets: [token] },
      // Repeating these is not harmless (a second key, a "duplicate" bucket, a second copy or hide
      // marker): a failure that may have reached B2 ends in OutcomeUnknown, and the client
      // reconciles (client.ts) instead of sending the request again blindly.
      idempotent: !NOT_IDEMPOTENT.has(operation),
    });
  }
}

/** Calls whose blind repeat is not harmless (issue 10 item 5). */
export const NOT_IDEMPOTENT: ReadonlySet<string> = new Set([
  'b2_create_bucket',
  'b2_create_key',
  'b2_copy_file',
  'b2_finish_large_file',
  'b2_hide_file',
]);

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The `/file/<bucket>/` path of a file name. B2 names are opaque: `d/../b.txt` is its own file,
 * but a URL parser resolves `.` and `..` path segments (`%2E` spellings included), so the request
 * would name `b.txt`. When any `/`-separated segment is only dots of that kind, every `/` is sent
 * as `%2F` (B2 decodes it back to `/`), leaving no segment to resolve. A name that is itself `.`
 * or `..` cannot be sent by name at all: refused rather than redirected.
 */
export function fileNamePath(fileName: string): string {
  const dotSegment = (seg: string): boolean => seg === '.' || seg === '..';
  if (dotSegment(fileName))
    throw new TypeError(
      `downloadFileByName: fileName "${fileName}" cannot be sent in a URL path (it would be resolved as a dot segment); download it with downloadFileById`,
    );
  if (!fileName.split('/').some(dotSegment)) return w.encodeB2String(fileName);
  return encodeURIComponent(fileName);
}
