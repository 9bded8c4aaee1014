/**
 * In-memory store (`--memory`): the same semantics as the fs store, nothing survives the process.
 * Blobs are kept as the chunk list they arrived in, so a large upload is never copied into one
 * contiguous Buffer.
 */
import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import type { BucketRecord, FileRecord, KeyRecord, PartRecord } from '../core/types';
import { compareUtf8, type PendingBlob, type Store } from './types';

interface BucketIndex {
  names: string[]; // sorted, UTF-8 order
  versions: Map<string, FileRecord[]>; // newest (highest seq) first
}

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private meta = new Map<string, string>();
  private keys = new Map<string, KeyRecord>();
  private buckets = new Map<string, BucketRecord>();
  private files = new Map<string, FileRecord>();
  private index = new Map<string, BucketIndex>();
  private parts = new Map<string, Map<number, PartRecord>>();
  private blobs = new Map<string, Buffer[]>();
  private refs = new Map<string, number>();
  private seq = 0;

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }
  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }

  putKey(key: KeyRecord): void {
    this.keys.set(key.applicationKeyId, clone(key));
  }
  getKey(id: string): KeyRecord | undefined {
    const k = this.keys.get(id);
    return k && clone(k);
  }
  deleteKey(id: string): void {
    this.keys.delete(id);
  }
  listKeys(startId: string | null, limit: number): KeyRecord[] {
    return [...this.keys.values()]
      .filter((k) => startId === null || k.applicationKeyId >= startId)
      .sort((a, b) => (a.applicationKeyId < b.applicationKeyId ? -1 : 1))
      .slice(0, limit)
      .map(clone);
  }

  putBucket(bucket: BucketRecord): void {
    this.buckets.set(bucket.bucketId, clone(bucket));
  }
  getBucket(id: string): BucketRecord | undefined {
    const b = this.buckets.get(id);
    return b && clone(b);
  }
  getBucketByName(name: string): BucketRecord | undefined {
    for (const b of this.buckets.values()) if (b.bucketName === name) return clone(b);
    return undefined;
  }
  deleteBucket(id: string): void {
    this.buckets.delete(id);
    this.index.delete(id);
  }
  listBuckets(): BucketRecord[] {
    return [...this.buckets.values()].map(clone);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  private bucketIndex(bucketId: string): BucketIndex {
    let idx = this.index.get(bucketId);
    if (!idx) {
      idx = { names: [], versions: new Map() };
      this.index.set(bucketId, idx);
    }
    return idx;
  }

  /** First position in `names` whose name is >= `name`. */
  private lowerBound(names: string[], name: string): number {
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareUtf8(names[mid]!, name) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  putFile(file: FileRecord, dropPartsOf?: string): void {
    const copy = clone(file);
    const old = this.files.get(file.fileId);
    for (const c of copy.chunks) this.ref(c.blobId, 1);
    if (old) {
      this.unlinkFromIndex(old);
      for (const c of old.chunks) this.ref(c.blobId, -1);
    }
    if (dropPartsOf) this.dropParts(dropPartsOf);
    this.files.set(copy.fileId, copy);
    const idx = this.bucketIndex(copy.bucketId);
    let list = idx.versions.get(copy.fileName);
    if (!list) {
      list = [];
      idx.versions.set(copy.fileName, list);
      idx.names.splice(this.lowerBound(idx.names, copy.fileName), 0, copy.fileName);
    }
    list.push(copy);
    list.sort((a, b) => b.seq - a.seq);
  }

  private unlinkFromIndex(file: FileRecord): void {
    const idx = this.index.get(file.bucketId);
    const list = idx?.versions.get(file.fileName);
    if (!idx || !list) return;
    const i = list.findIndex((f) => f.fileId === file.fileId);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) {
      idx.versions.delete(file.fileName);
      const p = this.lowerBound(idx.names, file.fileName);
      if (idx.names[p] === file.fileName) idx.names.splice(p, 1);
    }
  }

  getFile(fileId: string): FileRecord | undefined {
    const f = this.files.get(fileId);
    return f && clone(f);
  }

  async deleteFile(fileId: string): Promise<void> {
    const f = this.files.get(fileId);
    if (!f) return;
    this.files.delete(fileId);
    this.unlinkFromIndex(f);
    for (const c of f.chunks) this.ref(c.blobId, -1);
    this.dropParts(fileId);
  }

  listVersions(bucketId: string, startName: string, startSeq: number | null, limit: number): FileRecord[] {
    const idx = this.index.get(bucketId);
    if (!idx) return [];
    const out: FileRecord[] = [];
    for (let i = this.lowerBound(idx.names, startName); i < idx.names.length && out.length < limit; i++) {
      const name = idx.names[i]!;
      for (const v of idx.versions.get(name)!) {
        if (out.length >= limit) break;
        if (startSeq !== null && name === startName && v.seq > startSeq) continue;
        out.push(clone(v));
      }
    }
    return out;
  }

  versionsOf(bucketId: string, fileName: string): FileRecord[] {
    return (this.index.get(bucketId)?.versions.get(fileName) ?? []).map(clone);
  }

  listStarted(bucketId: string, startFileId: string | null, limit: number): FileRecord[] {
    return [...this.files.values()]
      .filter(
        (f) => f.bucketId === bucketId && f.action === 'start' && (!startFileId || f.fileId >= startFileId),
      )
      .sort((a, b) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0))
      .slice(0, limit)
      .map(clone);
  }

  bucketHasFiles(bucketId: string): boolean {
    return (this.index.get(bucketId)?.names.length ?? 0) > 0;
  }

  async putPart(part: PartRecord): Promise<boolean> {
    if (this.files.get(part.fileId)?.action !== 'start') {
      this.ref(part.chunk.blobId, 0); // frees the blob unless something references it
      return false;
    }
    let m = this.parts.get(part.fileId);
    if (!m) {
      m = new Map();
      this.parts.set(part.fileId, m);
    }
    const old = m.get(part.partNumber);
    this.ref(part.chunk.blobId, 1);
    if (old) this.ref(old.chunk.blobId, -1);
    m.set(part.partNumber, clone(part));
    return true;
  }

  listParts(fileId: string, startPartNumber: number, limit: number): PartRecord[] {
    return [...(this.parts.get(fileId)?.values() ?? [])]
      .filter((p) => p.partNumber >= startPartNumber)
      .sort((a, b) => a.partNumber - b.partNumber)
      .slice(0, limit)
      .map(clone);
  }

  private dropParts(fileId: string): void {
    const m = this.parts.get(fileId);
    if (!m) return;
    this.parts.delete(fileId);
    for (const p of m.values()) this.ref(p.chunk.blobId, -1);
  }

  private ref(blobId: string, delta: number): void {
    const n = (this.refs.get(blobId) ?? 0) + delta;
    if (n <= 0) {
      this.refs.delete(blobId);
      this.blobs.delete(blobId);
    } else this.refs.set(blobId, n);
  }

  async writeBlob(source: AsyncIterable<Buffer>): Promise<PendingBlob> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of source) {
      chunks.push(c);
      size += c.length;
    }
    const blobId = randomBytes(12).toString('hex');
    return {
      blobId,
      size,
      commit: async () => {
        this.blobs.set(blobId, chunks);
      },
      abort: async () => {
        chunks.length = 0;
      },
    };
  }

  readBlob(blobId: string, start: number, endInclusive: number): Readable {
    const chunks = this.blobs.get(blobId);
    if (!chunks) throw new Error(`blob ${blobId} is missing`);
    function* slices(): Generator<Buffer> {
      let pos = 0;
      for (const c of chunks!) {
        const cStart = pos;
        const cEnd = pos + c.length - 1;
        pos += c.length;
        if (cEnd < start) continue;
        if (cStart > endInclusive) break;
        yield c.subarray(Math.max(0, start - cStart), Math.min(c.length, endInclusive - cStart + 1));
      }
    }
    return Readable.from(slices(), { objectMode: false });
  }

  async reset(): Promise<void> {
    this.keys.clear();
    this.buckets.clear();
    this.files.clear();
    this.index.clear();
    this.parts.clear();
    this.blobs.clear();
    this.refs.clear();
    // meta (account id, master key) survives a reset so the ready line stays valid
  }

  close(): void {}
}
