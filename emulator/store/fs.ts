/**
 * Durable store (`--data DIR`): metadata in SQLite (WAL, synchronous=FULL), blobs as files.
 *
 * Write protocol, so that kill -9 at any instant leaves only acknowledged data visible:
 *   1. stream the body to `tmp/<id>`, fsync it;
 *   2. (after the engine verified the hashes) rename it to `blobs/<id>` and fsync `blobs/`;
 *   3. commit the metadata row that references it (synchronous=FULL: durable on return);
 *   4. only then does the HTTP layer answer.
 * On open, `tmp/` is emptied and blobs no metadata row references (crash between 2 and 3, or
 * between a delete's commit and its unlink) are removed.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import type { BucketRecord, FileRecord, KeyRecord, PartRecord } from '../core/types';
import { lockDataDir, type DataDirLock } from './lock';
import type { PendingBlob, Store } from './types';

/** Write to disk in batches of about this many bytes (one writev per batch). */
const WRITE_BATCH = 1 << 20;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys(id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(id TEXT PRIMARY KEY, bucket TEXT NOT NULL, name TEXT NOT NULL,
  seq INTEGER NOT NULL, action TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_by_name ON files(bucket, name, seq DESC);
CREATE INDEX IF NOT EXISTS files_by_action ON files(bucket, action, id);
CREATE TABLE IF NOT EXISTS parts(file TEXT NOT NULL, num INTEGER NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY(file, num));
CREATE TABLE IF NOT EXISTS refs(owner TEXT NOT NULL, blob TEXT NOT NULL, PRIMARY KEY(owner, blob));
CREATE INDEX IF NOT EXISTS refs_by_blob ON refs(blob);
`;

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const partOwner = (fileId: string, n: number): string => `${fileId}#${n}`;

export class FsStore implements Store {
  readonly kind = 'fs' as const;
  private db: Database.Database;
  private readonly blobDir: string;
  private readonly tmpDir: string;
  private seq: number;

  private readonly lock: DataDirLock;

  /** Throws DataDirLockedError if another process (or another open store) holds `dir`. */
  constructor(readonly dir: string) {
    // before recovery touches tmp/: another server's in-flight uploads live there
    this.lock = lockDataDir(dir);
    this.blobDir = path.join(dir, 'blobs');
    this.tmpDir = path.join(dir, 'tmp');
    try {
      fs.mkdirSync(this.blobDir, { recursive: true });
      fs.mkdirSync(this.tmpDir, { recursive: true });
      this.db = new Database(path.join(dir, 'meta.sqlite'));
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
      this.seq = (this.db.prepare('SELECT MAX(seq) AS m FROM files').get() as { m: number | null }).m ?? 0;
      this.recover();
    } catch (e) {
      this.lock.release();
      throw e;
    }
  }

  /** Remove partial uploads and blobs nothing references (see the write protocol above). */
  private recover(): void {
    for (const f of fs.readdirSync(this.tmpDir)) fs.rmSync(path.join(this.tmpDir, f), { force: true });
    const referenced = new Set(
      (this.db.prepare('SELECT DISTINCT blob FROM refs').all() as { blob: string }[]).map((r) => r.blob),
    );
    for (const f of fs.readdirSync(this.blobDir)) {
      if (!referenced.has(f)) fs.rmSync(path.join(this.blobDir, f), { force: true });
    }
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT v FROM meta WHERE k = ?').get(key) as { v: string } | undefined)?.v;
  }
  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta(k, v) VALUES (?, ?)').run(key, value);
  }

  putKey(key: KeyRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO keys(id, json) VALUES (?, ?)')
      .run(key.applicationKeyId, JSON.stringify(key));
  }
  getKey(id: string): KeyRecord | undefined {
    const r = this.db.prepare('SELECT json FROM keys WHERE id = ?').get(id) as { json: string } | undefined;
    return r && (JSON.parse(r.json) as KeyRecord);
  }
  deleteKey(id: string): void {
    this.db.prepare('DELETE FROM keys WHERE id = ?').run(id);
  }
  listKeys(startId: string | null, limit: number): KeyRecord[] {
    const rows = this.db
      .prepare('SELECT json FROM keys WHERE id >= ? ORDER BY id LIMIT ?')
      .all(startId ?? '', limit) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as KeyRecord);
  }

  putBucket(bucket: BucketRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO buckets(id, name, json) VALUES (?, ?, ?)')
      .run(bucket.bucketId, bucket.bucketName, JSON.stringify(bucket));
  }
  getBucket(id: string): BucketRecord | undefined {
    const r = this.db.prepare('SELECT json FROM buckets WHERE id = ?').get(id) as
      { json: string } | undefined;
    return r && (JSON.parse(r.json) as BucketRecord);
  }
  getBucketByName(name: string): BucketRecord | undefined {
    const r = this.db.prepare('SELECT json FROM buckets WHERE name = ?').get(name) as
      { json: string } | undefined;
    return r && (JSON.parse(r.json) as BucketRecord);
  }
  deleteBucket(id: string): void {
    this.db.prepare('DELETE FROM buckets WHERE id = ?').run(id);
  }
  listBuckets(): BucketRecord[] {
    return (this.db.prepare('SELECT json FROM buckets').all() as { json: string }[]).map(
      (r) => JSON.parse(r.json) as BucketRecord,
    );
  }

  nextSeq(): number {
    return ++this.seq;
  }

  putFile(file: FileRecord, dropPartsOf?: string): void {
    const freed: string[] = [];
    this.db.transaction(() => {
      freed.push(...this.dropRefs(file.fileId));
      this.db
        .prepare(
          'INSERT OR REPLACE INTO files(id, bucket, name, seq, action, json) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(file.fileId, file.bucketId, file.fileName, file.seq, file.action, JSON.stringify(file));
      const ins = this.db.prepare('INSERT OR IGNORE INTO refs(owner, blob) VALUES (?, ?)');
      for (const c of file.chunks) ins.run(file.fileId, c.blobId);
      if (dropPartsOf) freed.push(...this.dropPartsTx(dropPartsOf));
    })();
    this.collect(freed);
  }

  getFile(fileId: string): FileRecord | undefined {
    const r = this.db.prepare('SELECT json FROM files WHERE id = ?').get(fileId) as
      { json: string } | undefined;
    return r && (JSON.parse(r.json) as FileRecord);
  }

  async deleteFile(fileId: string): Promise<void> {
    const freed: string[] = [];
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM files WHERE id = ?').run(fileId);
      freed.push(...this.dropRefs(fileId));
      freed.push(...this.dropPartsTx(fileId));
    })();
    this.collect(freed);
  }

  private dropRefs(owner: string): string[] {
    const blobs = (
      this.db.prepare('SELECT blob FROM refs WHERE owner = ?').all(owner) as { blob: string }[]
    ).map((r) => r.blob);
    this.db.prepare('DELETE FROM refs WHERE owner = ?').run(owner);
    return blobs;
  }

  private dropPartsTx(fileId: string): string[] {
    const nums = this.db.prepare('SELECT num FROM parts WHERE file = ?').all(fileId) as { num: number }[];
    const freed: string[] = [];
    for (const { num } of nums) freed.push(...this.dropRefs(partOwner(fileId, num)));
    this.db.prepare('DELETE FROM parts WHERE file = ?').run(fileId);
    return freed;
  }

  /** Unlink blobs that lost their last reference (after the metadata commit). */
  private collect(candidates: string[]): void {
    const still = this.db.prepare('SELECT 1 FROM refs WHERE blob = ? LIMIT 1');
    for (const b of new Set(candidates)) {
      if (!still.get(b)) fs.rmSync(path.join(this.blobDir, b), { force: true });
    }
  }

  listVersions(bucketId: string, startName: string, startSeq: number | null, limit: number): FileRecord[] {
    const rows =
      startSeq === null
        ? this.db
            .prepare('SELECT json FROM files WHERE bucket = ? AND name >= ? ORDER BY name, seq DESC LIMIT ?')
            .all(bucketId, startName, limit)
        : this.db
            .prepare(
              'SELECT json FROM files WHERE bucket = ? AND (name > ? OR (name = ? AND seq <= ?)) ORDER BY name, seq DESC LIMIT ?',
            )
            .all(bucketId, startName, startName, startSeq, limit);
    return (rows as { json: string }[]).map((r) => JSON.parse(r.json) as FileRecord);
  }

  versionsOf(bucketId: string, fileName: string): FileRecord[] {
    const rows = this.db
      .prepare('SELECT json FROM files WHERE bucket = ? AND name = ? ORDER BY seq DESC')
      .all(bucketId, fileName) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as FileRecord);
  }

  listStarted(bucketId: string, startFileId: string | null, limit: number): FileRecord[] {
    const rows = this.db
      .prepare("SELECT json FROM files WHERE bucket = ? AND action = 'start' AND id >= ? ORDER BY id LIMIT ?")
      .all(bucketId, startFileId ?? '', limit) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as FileRecord);
  }

  bucketHasFiles(bucketId: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM files WHERE bucket = ? LIMIT 1').get(bucketId);
  }

  async putPart(part: PartRecord): Promise<boolean> {
    const freed: string[] = [];
    const owner = partOwner(part.fileId, part.partNumber);
    let stored = false;
    this.db.transaction(() => {
      const f = this.db.prepare('SELECT action FROM files WHERE id = ?').get(part.fileId) as
        { action: string } | undefined;
      if (f?.action !== 'start') {
        freed.push(part.chunk.blobId); // finished or cancelled meanwhile: keep nothing
        return;
      }
      stored = true;
      freed.push(...this.dropRefs(owner));
      this.db
        .prepare('INSERT OR REPLACE INTO parts(file, num, json) VALUES (?, ?, ?)')
        .run(part.fileId, part.partNumber, JSON.stringify(part));
      this.db.prepare('INSERT OR IGNORE INTO refs(owner, blob) VALUES (?, ?)').run(owner, part.chunk.blobId);
    })();
    this.collect(freed);
    return stored;
  }

  listParts(fileId: string, startPartNumber: number, limit: number): PartRecord[] {
    const rows = this.db
      .prepare('SELECT json FROM parts WHERE file = ? AND num >= ? ORDER BY num LIMIT ?')
      .all(fileId, startPartNumber, limit) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as PartRecord);
  }

  async writeBlob(source: AsyncIterable<Buffer>): Promise<PendingBlob> {
    const blobId = randomBytes(12).toString('hex');
    const tmp = path.join(this.tmpDir, blobId);
    const fh = await fs.promises.open(tmp, 'w');
    let size = 0;
    try {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      for await (const c of source) {
        batch.push(c);
        batchBytes += c.length;
        size += c.length;
        if (batchBytes >= WRITE_BATCH) {
          await writeAll(fh, batch);
          batch = [];
          batchBytes = 0;
        }
      }
      if (batch.length) await writeAll(fh, batch);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    const final = path.join(this.blobDir, blobId);
    return {
      blobId,
      size,
      commit: async () => {
        await fs.promises.rename(tmp, final);
        fsyncDir(this.blobDir);
      },
      abort: async () => {
        await fs.promises.rm(tmp, { force: true });
      },
    };
  }

  readBlob(blobId: string, start: number, endInclusive: number): Readable {
    return fs.createReadStream(path.join(this.blobDir, blobId), {
      start,
      end: endInclusive,
      highWaterMark: 1 << 20,
    });
  }

  async reset(): Promise<void> {
    this.db.exec(
      'DELETE FROM keys; DELETE FROM buckets; DELETE FROM files; DELETE FROM parts; DELETE FROM refs;',
    );
    for (const f of fs.readdirSync(this.blobDir)) fs.rmSync(path.join(this.blobDir, f), { force: true });
  }

  close(): void {
    this.db.close();
    this.lock.release();
  }
}

/** writev everything in `bufs`, looping on short writes. */
async function writeAll(fh: fs.promises.FileHandle, bufs: Buffer[]): Promise<void> {
  let pending = bufs;
  while (pending.length) {
    const { bytesWritten } = await fh.writev(pending);
    let n = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (n >= b.length) n -= b.length;
      else {
        rest.push(n > 0 ? b.subarray(n) : b);
        n = 0;
      }
    }
    pending = rest;
  }
}
