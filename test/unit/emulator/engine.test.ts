/**
 * Engine rules without HTTP: Range parsing, and list paging checked against a naive model over
 * random names, versions, hide markers and delimiters (docs/b2-api.md §2.4).
 */
import { Readable } from 'stream';
import { Clock } from '../../../emulator/core/clock';
import { Engine, parseRange } from '../../../emulator/core/engine';
import type { FileRecord, FolderEntry } from '../../../emulator/core/types';
import { MemoryStore } from '../../../emulator/store/memory';
import { compareUtf8 } from '../../../emulator/store/types';

test('parseRange: forms, clamping, 416, malformed ignored', () => {
  expect(parseRange('bytes=0-4', 10)).toEqual({ start: 0, end: 4 });
  expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
  expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
  expect(parseRange('bytes=8-100', 10)).toEqual({ start: 8, end: 9 });
  expect(parseRange('bytes=-100', 10)).toEqual({ start: 0, end: 9 });
  expect(parseRange(undefined, 10)).toBeNull();
  expect(parseRange('items=1-2', 10)).toBeNull();
  expect(() => parseRange('bytes=10-12', 10)).toThrow(expect.objectContaining({ status: 416 }));
  expect(() => parseRange('bytes=0-0', 0)).toThrow(
    expect.objectContaining({ code: 'range_not_satisfiable' }),
  );
});

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
}

describe('listing matches a naive model', () => {
  const engine = new Engine({ region: 'us-west-004', store: new MemoryStore(), clock: new Clock() });
  const auth = engine.systemAuth();
  const bucket = engine.createBucket(auth, { bucketName: 'model-bucket', bucketType: 'allPrivate' });
  const rand = rng(42);
  const alphabet = ['a', 'b', '/', 'é', '\u{1F600}', '-'];
  const history: FileRecord[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 300; i++) {
      let name = '';
      const len = 1 + Math.floor(rand() * 5);
      for (let j = 0; j < len; j++) name += alphabet[Math.floor(rand() * alphabet.length)];
      const newest = engine.newestVersion(bucket.bucketId, name);
      if (newest && newest.action === 'upload' && rand() < 0.2) {
        history.push(engine.hideFile(auth, bucket.bucketId, name));
        continue;
      }
      history.push(
        await engine.uploadFile(auth, {
          bucketId: bucket.bucketId,
          fileName: name,
          contentType: 'b2/x-auto',
          contentLength: 1,
          sha1: undefined,
          body: Readable.from([Buffer.from('x')]),
          fileInfo: {},
        }),
      );
    }
  });

  /** What B2 returns, computed the slow way. */
  function model(versions: boolean, prefix: string, delimiter: string | undefined): string[] {
    const sorted = [...history].sort((a, b) => compareUtf8(a.fileName, b.fileName) || b.seq - a.seq);
    const out: string[] = [];
    const seenNames = new Set<string>();
    const folders = new Set<string>();
    for (const f of sorted) {
      if (!f.fileName.startsWith(prefix)) continue;
      if (delimiter) {
        const i = f.fileName.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          const folder = f.fileName.slice(0, i + delimiter.length);
          if (!versions) {
            const newestIsUpload = (nm: string) => sorted.find((x) => x.fileName === nm)!.action === 'upload';
            if (!newestIsUpload(f.fileName)) continue;
          }
          if (!folders.has(folder)) out.push(`${folder}:folder`);
          folders.add(folder);
          continue;
        }
      }
      if (!versions) {
        if (seenNames.has(f.fileName)) continue;
        seenNames.add(f.fileName);
        if (f.action !== 'upload') continue;
      }
      out.push(`${f.fileName}:${versions ? f.fileId : f.action}`);
    }
    return out;
  }

  function paged(
    versions: boolean,
    prefix: string,
    delimiter: string | undefined,
    pageSize: number,
  ): string[] {
    const out: string[] = [];
    let startFileName: string | undefined;
    let startFileId: string | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const input = {
        bucketId: bucket.bucketId,
        prefix,
        delimiter,
        maxFileCount: pageSize,
        startFileName,
        startFileId,
      };
      const r = versions ? engine.listFileVersions(auth, input) : engine.listFileNames(auth, input);
      expect(r.files.length).toBeLessThanOrEqual(pageSize);
      for (const f of r.files as (FileRecord | FolderEntry)[])
        out.push(
          f.action === 'folder' ? `${f.fileName}:folder` : `${f.fileName}:${versions ? f.fileId : f.action}`,
        );
      if (r.nextFileName === null) return out;
      startFileName = r.nextFileName;
      startFileId = r.nextFileId ?? undefined;
    }
    throw new Error('paging did not terminate');
  }

  test.each([
    [false, '', undefined],
    [true, '', undefined],
    [false, '', '/'],
    [true, '', '/'],
    [false, 'a', '/'],
    [true, 'a/', '/'],
    [false, 'b', '-'],
  ] as [boolean, string, string | undefined][])(
    'versions=%s prefix=%j delimiter=%j',
    (versions, prefix, delimiter) => {
      const expected = model(versions, prefix, delimiter);
      expect(paged(versions, prefix, delimiter, 10000)).toEqual(expected);
      for (const size of [1, 3, 7]) expect(paged(versions, prefix, delimiter, size)).toEqual(expected);
    },
  );
});
