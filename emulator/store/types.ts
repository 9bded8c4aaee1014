/**
 * The storage interface under every region's engine. Metadata calls are synchronous (SQLite via
 * better-sqlite3 is synchronous; the memory store trivially so); blob calls are asynchronous and
 * streamed. A method returning means the change is durable (fs store: committed with
 * synchronous=FULL; blobs fsynced and renamed before any metadata points at them).
 */
import type { Readable } from 'stream';
import type { BucketRecord, FileRecord, KeyRecord, PartRecord } from '../core/types';

/** A blob written but not yet visible: the engine verifies its hashes, then commits or aborts. */
export interface PendingBlob {
  readonly blobId: string;
  readonly size: number;
  /** Make the bytes durable and addressable; only then may metadata reference `blobId`. */
  commit(): Promise<void>;
  /** Throw the bytes away (hash mismatch, short body, client gone). */
  abort(): Promise<void>;
}

export interface Store {
  readonly kind: 'memory' | 'fs';

  /** Small persistent settings (account id, master key) keyed by name. */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;

  putKey(key: KeyRecord): void;
  getKey(applicationKeyId: string): KeyRecord | undefined;
  deleteKey(applicationKeyId: string): void;
  /** Keys ordered by applicationKeyId, starting at `startId` inclusive. */
  listKeys(startId: string | null, limit: number): KeyRecord[];

  putBucket(bucket: BucketRecord): void;
  getBucket(bucketId: string): BucketRecord | undefined;
  getBucketByName(bucketName: string): BucketRecord | undefined;
  deleteBucket(bucketId: string): void;
  listBuckets(): BucketRecord[];

  /** Next value of the store-wide monotonic version sequence. */
  nextSeq(): number;
  /**
   * Insert or replace a file version; its chunks become references that keep their blobs alive.
   * When `dropPartsOf` is given, that large file's parts are removed in the same transaction
   * (finish_large_file moves the part blobs to the finished file atomically).
   */
  putFile(file: FileRecord, dropPartsOf?: string): void;
  getFile(fileId: string): FileRecord | undefined;
  /** Remove a version (and its parts, for a `start`), freeing blobs nothing references anymore. */
  deleteFile(fileId: string): Promise<void>;
  /**
   * Versions of one bucket ordered by fileName (UTF-8 byte order) then newest first (seq desc),
   * starting at (startName, startSeq) inclusive; startSeq null = all versions of startName.
   */
  listVersions(bucketId: string, startName: string, startSeq: number | null, limit: number): FileRecord[];
  /** Versions of one name, newest first. */
  versionsOf(bucketId: string, fileName: string): FileRecord[];
  /** Unfinished large files (`start`) of a bucket ordered by fileId from `startFileId` inclusive. */
  listStarted(bucketId: string, startFileId: string | null, limit: number): FileRecord[];
  /** Whether any version (incl. hide markers and unfinished large files) exists in the bucket. */
  bucketHasFiles(bucketId: string): boolean;

  /**
   * Insert or replace a part (a replaced part's blob is freed) — only while `part.fileId` is an
   * unfinished large file, checked in the same step: otherwise nothing is stored, the part's blob
   * is freed unless something else references it, and the result is false.
   */
  putPart(part: PartRecord): Promise<boolean>;
  listParts(fileId: string, startPartNumber: number, limit: number): PartRecord[];

  /** Stream `source` into a new pending blob. Rejects if the source errors. */
  writeBlob(source: AsyncIterable<Buffer>): Promise<PendingBlob>;
  /** Read bytes [start, endInclusive] of a committed blob. */
  readBlob(blobId: string, start: number, endInclusive: number): Readable;

  /** Drop everything (tests). */
  reset(): Promise<void>;
  close(): void;
}

/** UTF-8 byte order for JS strings (what B2 and SQLite's BINARY collation use). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800–DFFF) encode code points above U+FFFF, which sort after U+E000–FFFF in
    // UTF-8; lift them above the BMP so UTF-16 order matches UTF-8 byte order.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
