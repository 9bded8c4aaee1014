/**
 * Multipart uploads over B2 large files: UploadId = the large file's fileId, parts are B2 parts
 * (same 5 MB minimum except the last, at least 2 parts, part numbers 1–10000 — docs/b2-api.md §4),
 * the completed object's ETag is S3's `md5(concatenated part MD5s)-N`.
 */
import { createHash } from 'crypto';
import { MIN_PART_SIZE } from '../../core/validate';
import type { FileRecord, PartRecord } from '../../core/types';
import { readSmallBody } from '../body';
import {
  authOf,
  b2,
  b2Async,
  bucketNamed,
  contentTypeFrom,
  fileInfoFrom,
  keyOf,
  lockFrom,
  ownerOf,
  quote,
  refuseUnsupportedWriteHeaders,
  S3Call,
  S3Reply,
  sseFrom,
} from '../call';
import { S3Error } from '../errors';
import { isoTime, parseCompleteMultipartUpload, renderXml } from '../xml';
import { copySource } from './objects';

/** The unfinished large file behind an UploadId, checked against bucket and key. */
function upload(c: S3Call): FileRecord {
  const bucket = bucketNamed(c);
  const key = keyOf(c);
  const id = c.query.get('uploadId') ?? '';
  const f = id ? c.engine.store.getFile(id) : undefined;
  if (!f || f.action !== 'start' || f.bucketId !== bucket.bucketId || f.fileName !== key) {
    throw new S3Error('NoSuchUpload', undefined, { UploadId: id });
  }
  return f;
}

function partNumberOf(c: S3Call): number {
  const raw = c.query.get('partNumber');
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10000) {
    throw new S3Error(
      'InvalidArgument',
      `partNumber must be an integer between 1 and 10000, got "${raw ?? ''}".`,
    );
  }
  return n;
}

export async function createMultipartUpload(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const bucket = bucketNamed(c);
  const key = keyOf(c);
  refuseUnsupportedWriteHeaders(c.headers);
  const lock = lockFrom(c.headers);
  const f = b2(() =>
    c.engine.startLargeFile(auth, {
      bucketId: bucket.bucketId,
      fileName: key,
      contentType: contentTypeFrom(c.headers),
      fileInfo: fileInfoFrom(c.headers),
      sse: sseFrom(c.headers),
      fileRetention: lock.fileRetention,
      legalHold: lock.legalHold,
    }),
  );
  const headers: Record<string, string> = {};
  if (f.serverSideEncryption?.mode === 'SSE-B2') headers['x-amz-server-side-encryption'] = 'AES256';
  const alg = c.headers['x-amz-checksum-algorithm'];
  if (typeof alg === 'string') headers['x-amz-checksum-algorithm'] = alg;
  return {
    headers,
    xml: renderXml('InitiateMultipartUploadResult', {
      Bucket: bucket.bucketName,
      Key: key,
      UploadId: f.fileId,
    }),
  };
}

export async function uploadPart(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const f = upload(c);
  const partNumber = partNumberOf(c);
  if (c.body.length === null) throw new S3Error('MissingContentLength');
  const part = await b2Async(() =>
    c.engine.uploadPart(auth, {
      fileId: f.fileId,
      partNumber,
      contentLength: c.body.length!,
      sha1: undefined,
      // The engine checks Content-MD5 while it hashes (bad_digest → BadDigest): one MD5 pass.
      md5: c.body.delegateMd5() ?? undefined,
      body: c.body.source,
      sse: sseFrom(c.headers),
    }),
  );
  const headers: Record<string, string> = { etag: quote(part.contentMd5) };
  const checksum = c.body.checksum();
  if (checksum) headers[`x-amz-checksum-${checksum.algorithm}`] = checksum.value;
  if (f.serverSideEncryption?.mode === 'SSE-B2') headers['x-amz-server-side-encryption'] = 'AES256';
  return { headers };
}

export async function uploadPartCopy(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const f = upload(c);
  const partNumber = partNumberOf(c);
  const src = copySource(c);
  const range = c.headers['x-amz-copy-source-range'];
  const part = await b2Async(() =>
    c.engine.copyPart(auth, {
      sourceFileId: src.fileId,
      largeFileId: f.fileId,
      partNumber,
      range: typeof range === 'string' ? range : undefined,
      sourceSse: sseFrom(c.headers, 'copy-source-'),
      destinationSse: sseFrom(c.headers),
    }),
  );
  return {
    headers: { 'x-amz-copy-source-version-id': src.fileId },
    xml: renderXml('CopyPartResult', {
      ETag: quote(part.contentMd5),
      LastModified: isoTime(part.uploadTimestamp),
    }),
  };
}

function allParts(c: S3Call, fileId: string): PartRecord[] {
  return c.engine.store.listParts(fileId, 1, 10001);
}

export async function completeMultipartUpload(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const f = upload(c);
  const listed = parseCompleteMultipartUpload(await readSmallBody(c.body));
  for (let i = 1; i < listed.length; i++) {
    if (listed[i].partNumber <= listed[i - 1].partNumber) throw new S3Error('InvalidPartOrder');
  }
  const stored = new Map(allParts(c, f.fileId).map((p) => [p.partNumber, p]));
  for (const p of listed) {
    const s = stored.get(p.partNumber);
    if (!s || s.contentMd5 !== p.etag.toLowerCase()) {
      throw new S3Error('InvalidPart', undefined, { PartNumber: String(p.partNumber), ETag: p.etag });
    }
  }
  // B2 finishes a large file from all of its parts, numbered 1..N without gaps: completing with a
  // subset or with gaps cannot be expressed, so it is refused rather than silently reshaped.
  if (listed.length !== stored.size || listed.some((p, i) => p.partNumber !== i + 1)) {
    throw new S3Error(
      'InvalidPart',
      'B2 completes a multipart upload from all uploaded parts, numbered from 1 without gaps.',
    );
  }
  if (listed.length < 2) {
    throw new S3Error(
      'EntityTooSmall',
      'B2 large files need at least 2 parts; upload objects of one part with PutObject.',
    );
  }
  listed.forEach((p, i) => {
    const size = stored.get(p.partNumber)!.contentLength;
    if (i < listed.length - 1 && size < MIN_PART_SIZE) {
      throw new S3Error('EntityTooSmall', undefined, {
        PartNumber: String(p.partNumber),
        ProposedSize: String(size),
        MinSizeAllowed: String(MIN_PART_SIZE),
      });
    }
  });
  const parts = listed.map((p) => stored.get(p.partNumber)!);
  const md5s = createHash('md5');
  for (const p of parts) md5s.update(Buffer.from(p.contentMd5, 'hex'));
  const etag = `${md5s.digest('hex')}-${parts.length}`;
  // one store write: the finished object carries its S3 ETag from the moment it exists
  const done = b2(() =>
    c.engine.finishLargeFile(
      auth,
      f.fileId,
      parts.map((p) => p.contentSha1),
      { s3ETag: etag },
    ),
  );
  const bucket = bucketNamed(c);
  return {
    headers: { 'x-amz-version-id': done.fileId },
    xml: renderXml('CompleteMultipartUploadResult', {
      Location: `${c.ctx.url}/${bucket.bucketName}/${encodeURIComponent(done.fileName)}`,
      Bucket: bucket.bucketName,
      Key: done.fileName,
      ETag: quote(etag),
    }),
  };
}

export async function abortMultipartUpload(c: S3Call): Promise<S3Reply> {
  const f = upload(c);
  await b2Async(() => c.engine.cancelLargeFile(authOf(c), f.fileId));
  return { status: 204 };
}

export async function listParts(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const f = upload(c);
  const marker = Number(c.query.get('part-number-marker') ?? '0');
  const maxParts = Math.min(Number(c.query.get('max-parts') ?? '1000'), 1000);
  if (!Number.isInteger(marker) || marker < 0)
    throw new S3Error('InvalidArgument', 'part-number-marker must be a non-negative integer.');
  if (!Number.isInteger(maxParts) || maxParts < 0)
    throw new S3Error('InvalidArgument', 'max-parts must be a non-negative integer.');
  const { parts, nextPartNumber } =
    maxParts === 0
      ? { parts: [] as PartRecord[], nextPartNumber: null }
      : b2(() =>
          c.engine.listParts(auth, { fileId: f.fileId, startPartNumber: marker + 1, maxPartCount: maxParts }),
        );
  const truncated = nextPartNumber !== null;
  return {
    xml: renderXml('ListPartsResult', {
      Bucket: c.route.bucket!,
      Key: f.fileName,
      UploadId: f.fileId,
      Initiator: ownerOf(c),
      Owner: ownerOf(c),
      StorageClass: 'STANDARD',
      PartNumberMarker: marker,
      NextPartNumberMarker: parts.length ? parts[parts.length - 1].partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: parts.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: isoTime(p.uploadTimestamp),
        ETag: quote(p.contentMd5),
        Size: p.contentLength,
      })),
    }),
  };
}

export async function listMultipartUploads(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const bucket = bucketNamed(c);
  const prefix = c.query.get('prefix') ?? '';
  const maxUploads = Math.min(Number(c.query.get('max-uploads') ?? '1000'), 1000);
  if (!Number.isInteger(maxUploads) || maxUploads < 1)
    throw new S3Error('InvalidArgument', 'max-uploads must be a positive integer.');
  const keyMarker = c.query.get('key-marker') ?? '';
  const idMarker = c.query.get('upload-id-marker') ?? '';
  // B2 lists unfinished large files by fileId; collect them all (bounded by B2's own limits) and
  // page in S3's (key, upload id) order.
  const all: FileRecord[] = [];
  let start: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = b2(() =>
      c.engine.listUnfinishedLargeFiles(auth, {
        bucketId: bucket.bucketId,
        namePrefix: prefix,
        startFileId: start,
        maxFileCount: 100,
      }),
    );
    all.push(...page.files);
    if (!page.nextFileId) break;
    start = page.nextFileId;
  }
  all.sort((a, b) =>
    a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : a.fileId < b.fileId ? -1 : 1,
  );
  const after = all.filter(
    (f) => f.fileName > keyMarker || (f.fileName === keyMarker && idMarker !== '' && f.fileId > idMarker),
  );
  const page = after.slice(0, maxUploads);
  const truncated = after.length > page.length;
  const last = page[page.length - 1];
  return {
    xml: renderXml('ListMultipartUploadsResult', {
      Bucket: bucket.bucketName,
      KeyMarker: keyMarker,
      UploadIdMarker: idMarker,
      NextKeyMarker: truncated && last ? last.fileName : undefined,
      NextUploadIdMarker: truncated && last ? last.fileId : undefined,
      Prefix: prefix,
      MaxUploads: maxUploads,
      IsTruncated: truncated,
      Upload: page.map((f) => ({
        Key: f.fileName,
        UploadId: f.fileId,
        Initiator: ownerOf(c),
        Owner: ownerOf(c),
        StorageClass: 'STANDARD',
        Initiated: isoTime(f.uploadTimestamp),
      })),
    }),
  };
}
