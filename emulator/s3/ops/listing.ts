/**
 * ListObjects (v1), ListObjectsV2 and ListObjectVersions over B2's list_file_names /
 * list_file_versions. B2 pages with an inclusive start name (and file id); S3 pages with
 * exclusive markers or opaque tokens. The translation:
 *
 * - a marker naming a key resumes just after it (`name + "\0"`: B2 names cannot contain NUL);
 * - a marker naming a common prefix resumes after everything under it;
 * - key-marker + version-id-marker resumes at that version (B2 inclusive) and drops it.
 *
 * Unfinished large files (`start`) never appear in S3 listings.
 */
import type { FileRecord, FolderEntry } from '../../core/types';
import { authOf, b2, bucketNamed, etagOf, ownerOf, quote, S3Call, S3Reply } from '../call';
import { S3Error } from '../errors';
import { uriEncode } from '../sigv4';
import { isoTime, renderElement, renderXmlRaw } from '../xml';

type Entry = FileRecord | FolderEntry;

interface Start {
  name: string;
  fileId?: string;
  /** Drop this exact version if it comes first (exclusive version marker). */
  skipFileId?: string;
}

/** The smallest start name after everything beginning with `folder`. */
export function pastFolder(folder: string): string {
  const last = folder.charCodeAt(folder.length - 1);
  return last < 0xffff ? folder.slice(0, -1) + String.fromCharCode(last + 1) : folder + '\uffff';
}

/** Exclusive start after a client marker (a key, or a common prefix when it ends in the delimiter). */
export function startAfter(marker: string, delimiter: string): string {
  if (marker === '') return '';
  if (delimiter && marker.endsWith(delimiter)) return pastFolder(marker);
  return marker + '\u0000';
}

function collect(
  c: S3Call,
  bucketId: string,
  versions: boolean,
  prefix: string,
  delimiter: string,
  start: Start,
  want: number,
): { items: Entry[]; more: boolean } {
  const auth = authOf(c);
  const items: Entry[] = [];
  let startFileName = start.name;
  let startFileId = start.fileId;
  let skip = start.skipFileId;
  for (let round = 0; round < 10_000; round++) {
    const page = b2(() =>
      (versions ? c.engine.listFileVersions : c.engine.listFileNames).call(c.engine, auth, {
        bucketId,
        prefix,
        delimiter: delimiter || undefined,
        startFileName: startFileName || undefined,
        startFileId: startFileName ? startFileId : undefined,
        maxFileCount: Math.min(1000, want + 1),
      }),
    );
    for (const f of page.files) {
      if (skip !== undefined) {
        const isSkipped = f.action !== 'folder' && f.fileId === skip;
        skip = undefined;
        if (isSkipped) continue;
      }
      if (f.action === 'start') continue;
      items.push(f);
      if (items.length > want) return { items: items.slice(0, want), more: true };
    }
    if (page.nextFileName === null) return { items, more: false };
    startFileName = page.nextFileName;
    startFileId = page.nextFileId ?? undefined;
  }
  throw new S3Error('InternalError', 'Listing did not converge.');
}

function maxKeysOf(c: S3Call): number {
  const raw = c.query.get('max-keys');
  if (raw === undefined) return 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new S3Error('InvalidArgument', `max-keys must be a non-negative integer, got "${raw}".`);
  return Math.min(n, 1000);
}

function encoder(c: S3Call): (s: string) => string {
  const et = c.query.get('encoding-type');
  if (et === undefined) return (s) => s;
  if (et !== 'url') throw new S3Error('InvalidArgument', `encoding-type must be "url", got "${et}".`);
  return (s) => uriEncode(s, true);
}

function contents(c: S3Call, f: FileRecord, enc: (s: string) => string, withOwner: boolean): string {
  return renderElement('Contents', {
    Key: enc(f.fileName),
    LastModified: isoTime(f.uploadTimestamp),
    ETag: quote(etagOf(f)),
    Size: f.contentLength,
    StorageClass: 'STANDARD',
    Owner: withOwner ? ownerOf(c) : undefined,
  });
}

function commonPrefix(p: string, enc: (s: string) => string): string {
  return renderElement('CommonPrefixes', { Prefix: enc(p) });
}

function listingParams(c: S3Call): { prefix: string; delimiter: string } {
  return { prefix: c.query.get('prefix') ?? '', delimiter: c.query.get('delimiter') ?? '' };
}

interface V2Token {
  n: string;
}

function decodeToken(token: string): V2Token {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as V2Token;
    if (typeof t.n !== 'string') throw new Error('bad');
    return t;
  } catch {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect.');
  }
}

export async function listObjectsV2(c: S3Call): Promise<S3Reply> {
  const bucket = bucketNamed(c);
  const { prefix, delimiter } = listingParams(c);
  const maxKeys = maxKeysOf(c);
  const enc = encoder(c);
  const token = c.query.get('continuation-token');
  const after = c.query.get('start-after') ?? '';
  const resume = token !== undefined ? decodeToken(token).n : after;
  const { items, more } =
    maxKeys === 0
      ? { items: [], more: false }
      : collect(
          c,
          bucket.bucketId,
          false,
          prefix,
          delimiter,
          { name: startAfter(resume, delimiter) },
          maxKeys,
        );
  const last = items[items.length - 1];
  const withOwner = c.query.get('fetch-owner') === 'true';
  let inner =
    renderElement('Name', bucket.bucketName) +
    renderElement('Prefix', enc(prefix)) +
    (delimiter ? renderElement('Delimiter', enc(delimiter)) : '') +
    renderElement('MaxKeys', maxKeys) +
    renderElement('KeyCount', items.length) +
    renderElement('IsTruncated', more) +
    (token !== undefined ? renderElement('ContinuationToken', token) : '') +
    (more && last
      ? renderElement(
          'NextContinuationToken',
          Buffer.from(JSON.stringify({ n: last.fileName })).toString('base64url'),
        )
      : '') +
    (after ? renderElement('StartAfter', enc(after)) : '') +
    (c.query.has('encoding-type') ? renderElement('EncodingType', 'url') : '');
  for (const f of items)
    inner +=
      f.action === 'folder' ? commonPrefix(f.fileName, enc) : contents(c, f as FileRecord, enc, withOwner);
  return { xml: renderXmlRaw('ListBucketResult', inner) };
}

export async function listObjectsV1(c: S3Call): Promise<S3Reply> {
  const bucket = bucketNamed(c);
  const { prefix, delimiter } = listingParams(c);
  const maxKeys = maxKeysOf(c);
  const enc = encoder(c);
  const marker = c.query.get('marker') ?? '';
  const { items, more } =
    maxKeys === 0
      ? { items: [], more: false }
      : collect(
          c,
          bucket.bucketId,
          false,
          prefix,
          delimiter,
          { name: startAfter(marker, delimiter) },
          maxKeys,
        );
  const last = items[items.length - 1];
  let inner =
    renderElement('Name', bucket.bucketName) +
    renderElement('Prefix', enc(prefix)) +
    renderElement('Marker', enc(marker)) +
    (more && last ? renderElement('NextMarker', enc(last.fileName)) : '') +
    renderElement('MaxKeys', maxKeys) +
    (delimiter ? renderElement('Delimiter', enc(delimiter)) : '') +
    renderElement('IsTruncated', more) +
    (c.query.has('encoding-type') ? renderElement('EncodingType', 'url') : '');
  for (const f of items)
    inner += f.action === 'folder' ? commonPrefix(f.fileName, enc) : contents(c, f as FileRecord, enc, true);
  return { xml: renderXmlRaw('ListBucketResult', inner) };
}

export async function listObjectVersions(c: S3Call): Promise<S3Reply> {
  const bucket = bucketNamed(c);
  const { prefix, delimiter } = listingParams(c);
  const maxKeys = maxKeysOf(c);
  const enc = encoder(c);
  const keyMarker = c.query.get('key-marker') ?? '';
  const versionMarker = c.query.get('version-id-marker') ?? '';
  if (versionMarker && !keyMarker)
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.');
  const start: Start = versionMarker
    ? { name: keyMarker, fileId: versionMarker, skipFileId: versionMarker }
    : { name: startAfter(keyMarker, delimiter) };
  const { items, more } =
    maxKeys === 0
      ? { items: [], more: false }
      : collect(c, bucket.bucketId, true, prefix, delimiter, start, maxKeys);
  const last = items[items.length - 1];
  const latest = new Map<string, string | undefined>();
  const isLatest = (f: FileRecord): boolean => {
    if (!latest.has(f.fileName))
      latest.set(f.fileName, c.engine.newestVersion(bucket.bucketId, f.fileName)?.fileId);
    return latest.get(f.fileName) === f.fileId;
  };
  let inner =
    renderElement('Name', bucket.bucketName) +
    renderElement('Prefix', enc(prefix)) +
    renderElement('KeyMarker', enc(keyMarker)) +
    renderElement('VersionIdMarker', versionMarker) +
    (more && last ? renderElement('NextKeyMarker', enc(last.fileName)) : '') +
    (more && last && last.action !== 'folder'
      ? renderElement('NextVersionIdMarker', (last as FileRecord).fileId)
      : '') +
    renderElement('MaxKeys', maxKeys) +
    (delimiter ? renderElement('Delimiter', enc(delimiter)) : '') +
    renderElement('IsTruncated', more) +
    (c.query.has('encoding-type') ? renderElement('EncodingType', 'url') : '');
  const owner = ownerOf(c);
  for (const e of items) {
    if (e.action === 'folder') {
      inner += commonPrefix(e.fileName, enc);
      continue;
    }
    const f = e as FileRecord;
    if (f.action === 'hide') {
      inner += renderElement('DeleteMarker', {
        Owner: owner,
        Key: enc(f.fileName),
        VersionId: f.fileId,
        IsLatest: isLatest(f),
        LastModified: isoTime(f.uploadTimestamp),
      });
    } else {
      inner += renderElement('Version', {
        Owner: owner,
        Key: enc(f.fileName),
        VersionId: f.fileId,
        IsLatest: isLatest(f),
        LastModified: isoTime(f.uploadTimestamp),
        ETag: quote(etagOf(f)),
        Size: f.contentLength,
        StorageClass: 'STANDARD',
      });
    }
  }
  return { xml: renderXmlRaw('ListVersionsResult', inner) };
}
