/**
 * Store parity: the memory and fs stores order versions in UTF-8 byte order, newest first, page
 * from (name, seq) inclusive, and free a blob only when nothing references it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import type { FileRecord } from '../../../emulator/core/types';
import { FsStore } from '../../../emulator/store/fs';
import { MemoryStore } from '../../../emulator/store/memory';
import { compareUtf8, type Store } from '../../../emulator/store/types';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'b2-store-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const stores: [string, () => Store][] = [
  ['memory', () => new MemoryStore()],
  ['fs', () => new FsStore(path.join(tmp, `s${n++}`))],
];

function version(
  store: Store,
  fileName: string,
  chunks: FileRecord['chunks'] = [],
  action: FileRecord['action'] = 'upload',
): FileRecord {
  const seq = store.nextSeq();
  return {
    fileId: `f${seq}`,
    accountId: 'acc',
    bucketId: 'b1',
    fileName,
    action,
    seq,
    contentLength: chunks.reduce((a, c) => a + c.size, 0),
    contentSha1: 'none',
    contentMd5: null,
    contentType: 'text/plain',
    fileInfo: {},
    uploadTimestamp: 0,
    serverSideEncryption: null,
    fileRetention: null,
    legalHold: null,
    replicationStatus: null,
    chunks,
  };
}

async function blob(store: Store, text: string): Promise<FileRecord['chunks'][number]> {
  const p = await store.writeBlob(Readable.from([Buffer.from(text)]));
  await p.commit();
  return { blobId: p.blobId, offset: 0, size: p.size };
}

async function read(store: Store, c: FileRecord['chunks'][number]): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of store.readBlob(c.blobId, c.offset, c.offset + c.size - 1)) parts.push(b as Buffer);
  return Buffer.concat(parts).toString();
}

test('compareUtf8 matches byte order of UTF-8', () => {
  const words = ['a', 'b', 'ab', '\uffff', '\u{10000}', '\ue000', 'é', 'z', '~', '\u007f'];
  const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  expect([...words].sort(compareUtf8)).toEqual(byBytes);
});

describe.each(stores)('%s store', (_kind, make) => {
  test('versions: name order (UTF-8 bytes), newest first, paging from (name, seq)', () => {
    const s = make();
    const names = ['b', 'a', '\u{10000}x', '\ue000y', 'a'];
    const recs = names.map((nm) => version(s, nm));
    for (const r of recs) s.putFile(r);
    const all = s.listVersions('b1', '', null, 100);
    expect(all.map((f) => f.fileName)).toEqual(['a', 'a', 'b', '\ue000y', '\u{10000}x']);
    expect(all[0]!.seq).toBeGreaterThan(all[1]!.seq);
    const fromSecondA = s.listVersions('b1', 'a', all[1]!.seq, 2);
    expect(fromSecondA.map((f) => f.fileId)).toEqual([all[1]!.fileId, all[2]!.fileId]);
    expect(s.versionsOf('b1', 'a').map((f) => f.fileId)).toEqual([all[0]!.fileId, all[1]!.fileId]);
    expect(s.bucketHasFiles('b1')).toBe(true);
    expect(s.bucketHasFiles('b2')).toBe(false);
    s.close();
  });

  test('blobs live while referenced: copies share, parts move to the finished file', async () => {
    const s = make();
    const c = await blob(s, 'shared bytes');
    const a = version(s, 'a', [c]);
    const copy = version(s, 'copy', [{ ...c, offset: 7, size: 5 }]);
    s.putFile(a);
    s.putFile(copy);
    await s.deleteFile(a.fileId);
    expect(await read(s, copy.chunks[0]!)).toBe('bytes');
    await s.deleteFile(copy.fileId);
    await expect(read(s, c)).rejects.toThrow();

    const start = version(s, 'large', [], 'start');
    s.putFile(start);
    const p1 = await blob(s, 'part one ');
    const p2 = await blob(s, 'part two');
    await s.putPart({
      fileId: start.fileId,
      partNumber: 1,
      contentLength: p1.size,
      contentSha1: 'x',
      contentMd5: 'y',
      uploadTimestamp: 0,
      serverSideEncryption: null,
      chunk: p1,
    });
    await s.putPart({
      fileId: start.fileId,
      partNumber: 2,
      contentLength: p2.size,
      contentSha1: 'x',
      contentMd5: 'y',
      uploadTimestamp: 0,
      serverSideEncryption: null,
      chunk: p2,
    });
    expect(s.listParts(start.fileId, 2, 10).map((p) => p.partNumber)).toEqual([2]);
    s.putFile({ ...start, action: 'upload', chunks: [p1, p2] }, start.fileId);
    expect(s.listParts(start.fileId, 1, 10)).toEqual([]);
    expect(await read(s, p1)).toBe('part one ');
    expect(await read(s, p2)).toBe('part two');
    s.close();
  });

  test('putPart: only while the large file is unfinished; a refused part frees its own blob only', async () => {
    const s = make();
    const part = (fileId: string, n: number, chunk: FileRecord['chunks'][number]) => ({
      fileId,
      partNumber: n,
      contentLength: chunk.size,
      contentSha1: 'x',
      contentMd5: 'y',
      uploadTimestamp: 0,
      serverSideEncryption: null,
      chunk,
    });
    const start = version(s, 'large', [], 'start');
    s.putFile(start);
    const p1 = await blob(s, 'part one');
    expect(await s.putPart(part(start.fileId, 1, p1))).toBe(true);
    s.putFile({ ...start, action: 'upload', chunks: [p1] }, start.fileId); // finished
    const late = await blob(s, 'too late');
    expect(await s.putPart(part(start.fileId, 2, late))).toBe(false);
    expect(s.listParts(start.fileId, 1, 10)).toEqual([]);
    await expect(read(s, late)).rejects.toThrow(); // nothing references it: freed
    // a refused part that points at another file's blob (b2_copy_part) leaves that blob alone
    const shared = await blob(s, 'shared source');
    const src = version(s, 'src', [shared]);
    s.putFile(src);
    expect(await s.putPart(part('no-such-file', 1, shared))).toBe(false);
    expect(await read(s, shared)).toBe('shared source');
    s.close();
  });

  test('reset empties data but keeps meta', async () => {
    const s = make();
    s.setMeta('accountId', 'keep');
    s.putFile(version(s, 'x'));
    await s.reset();
    expect(s.listVersions('b1', '', null, 10)).toEqual([]);
    expect(s.getMeta('accountId')).toBe('keep');
    s.close();
  });
});

test('fs store: reopening removes temp files and unreferenced blobs', async () => {
  const dir = path.join(tmp, 'reopen');
  const s = new FsStore(dir);
  const kept = await blob(s, 'kept');
  s.putFile(version(s, 'k', [kept]));
  await blob(s, 'orphan'); // committed but never referenced: a crash between rename and metadata
  const pending = await s.writeBlob(Readable.from([Buffer.from('partial')])); // never committed
  expect(pending.size).toBe(7);
  s.close();
  const again = new FsStore(dir);
  expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  expect(fs.readdirSync(path.join(dir, 'blobs'))).toEqual([kept.blobId]);
  expect(await read(again, kept)).toBe('kept');
  again.close();
});
