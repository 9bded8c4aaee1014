import { Readable } from 'stream';
import {
  choosePartSize,
  splitParts,
  MAX_PARTS,
  sha1Hex,
  sha1HexYielding,
  uploadLargeFile,
  type LargeUploadDeps,
} from '../../../infra/b2/largeFile';
import type { AuthRecord } from '../../../infra/b2/session';

async function collect(src: Readable | Buffer, size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of splitParts(src, size)) out.push(Buffer.from(p));
  return out;
}

describe('splitParts', () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

  it('splits a Buffer into full parts and a shorter last part', async () => {
    const parts = await collect(data, 300);
    expect(parts.map((p) => p.length)).toEqual([300, 300, 300, 100]);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('re-chunks a stream of odd-sized chunks into exact parts', async () => {
    const chunks: Buffer[] = [];
    for (let off = 0, n = 1; off < data.length; off += n, n = ((n * 7) % 97) + 1)
      chunks.push(data.subarray(off, off + n));
    const parts = await collect(Readable.from(chunks), 256);
    expect(parts.map((p) => p.length)).toEqual([256, 256, 256, 232]);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('yields nothing for an empty source and exactly one part for a part-sized one', async () => {
    expect(await collect(Readable.from([]), 10)).toEqual([]);
    expect((await collect(data.subarray(0, 10), 10)).length).toBe(1);
  });
});

describe('sha1HexYielding', () => {
  it('equals a one-shot SHA-1 across 4 MiB slice boundaries', async () => {
    for (const n of [0, 1, (4 << 20) - 1, 4 << 20, (4 << 20) + 1, 9 << 20]) {
      const buf = Buffer.alloc(n, n % 251);
      expect(await sha1HexYielding(buf)).toBe(sha1Hex(buf));
    }
  });
});

describe('choosePartSize', () => {
  const auth = { recommendedPartSize: 100_000_000, absoluteMinimumPartSize: 5_000_000 } as AuthRecord;
  it('defaults to recommendedPartSize and grows to fit 10,000 parts', () => {
    expect(choosePartSize({ bucketId: 'b', fileName: 'f', source: Buffer.alloc(0) }, auth)).toBe(100_000_000);
    const huge = 100_000_000 * MAX_PARTS + 1;
    expect(choosePartSize({ bucketId: 'b', fileName: 'f', source: Buffer.alloc(0), size: huge }, auth)).toBe(
      100_000_001,
    );
  });
  it('refuses parts below absoluteMinimumPartSize, naming the field', () => {
    expect(() =>
      choosePartSize({ bucketId: 'b', fileName: 'f', source: Buffer.alloc(0), partSize: 1000 }, auth),
    ).toThrow(/\[partSize\].*5000000/);
  });
});

/**
 * Orchestration of `uploadLargeFile` with the session and raw API replaced by recorders: the
 * emulator cannot show how many parts were in flight at once, this can.
 */
describe('uploadLargeFile orchestration', () => {
  const MIN = 10;
  const auth = {
    recommendedPartSize: MIN,
    absoluteMinimumPartSize: MIN,
    apiUrl: 'x',
    token: { reveal: () => 't' },
  };

  function harness(opts: { failPart?: number; partDelayMs?: number } = {}) {
    const log: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const parts = new Map<number, Buffer>();
    const session = {
      authorize: async () => auth,
      withAuth: async <T>(fn: (a: typeof auth) => Promise<T>) => fn(auth),
      uploadPart: async (_fileId: string, a: { partNumber: number; contentSha1: string; body: Buffer }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, opts.partDelayMs ?? 5));
        inFlight--;
        if (a.partNumber === opts.failPart) throw new Error(`part ${a.partNumber} failed for good`);
        parts.set(a.partNumber, Buffer.from(a.body));
        return { partNumber: a.partNumber };
      },
      forgetLargeFile: (id: string) => log.push(`forget ${id}`),
    };
    const raw = {
      startLargeFile: async () => {
        log.push('start');
        return { fileId: 'L1' };
      },
      finishLargeFile: async (_u: string, _t: string, r: { partSha1Array: string[] }) => {
        log.push(`finish ${r.partSha1Array.length}`);
        return { fileId: 'L1', action: 'upload', sha1s: r.partSha1Array };
      },
      cancelLargeFile: async () => {
        log.push('cancel');
        return {};
      },
    };
    const small: Buffer[] = [];
    const deps = {
      session,
      raw,
      uploadSmall: async (b: Buffer) => {
        small.push(b);
        return { action: 'upload', small: true };
      },
    } as unknown as LargeUploadDeps;
    return { deps, log, parts, small, maxInFlight: () => maxInFlight };
  }

  const data = Buffer.from(Array.from({ length: 95 }, (_, i) => i));

  it('keeps at most `concurrency` parts in flight and finishes with SHA-1s in part order', async () => {
    const h = harness();
    const res = (await uploadLargeFile(h.deps, {
      bucketId: 'b',
      fileName: 'f',
      source: Readable.from([data.subarray(0, 33), data.subarray(33)]),
      concurrency: 3,
    })) as unknown as { sha1s: string[] };
    expect(h.maxInFlight()).toBe(3);
    expect(h.log).toEqual(['start', 'finish 10', 'forget L1']);
    const expected = Array.from({ length: 10 }, (_, i) => sha1Hex(data.subarray(i * MIN, (i + 1) * MIN)));
    expect(res.sha1s).toEqual(expected);
    expect(
      Buffer.concat([...h.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b)).equals(data),
    ).toBe(true);
  });

  it('a part out of retries cancels the large file and rethrows; no finish', async () => {
    const h = harness({ failPart: 4 });
    await expect(
      uploadLargeFile(h.deps, { bucketId: 'b', fileName: 'f', source: data, concurrency: 2 }),
    ).rejects.toThrow('part 4 failed for good');
    expect(h.log).toEqual(['start', 'cancel', 'forget L1']);
  });

  it('a size mismatch cancels instead of finishing a truncated file', async () => {
    const h = harness();
    await expect(
      uploadLargeFile(h.deps, { bucketId: 'b', fileName: 'f', source: data, size: 100 }),
    ).rejects.toThrow(/\[size\] says 100 bytes but the source produced 95/);
    expect(h.log).toEqual(['start', 'cancel', 'forget L1']);
  });

  it('one part (or an empty source) goes through the simple upload', async () => {
    const h = harness();
    await uploadLargeFile(h.deps, { bucketId: 'b', fileName: 'f', source: data.subarray(0, MIN) });
    await uploadLargeFile(h.deps, { bucketId: 'b', fileName: 'f', source: Readable.from([]) });
    expect(h.small.map((b) => b.length)).toEqual([MIN, 0]);
    expect(h.log).toEqual([]);
  });

  it('rejects a bad concurrency naming the field', async () => {
    const h = harness();
    await expect(
      uploadLargeFile(h.deps, { bucketId: 'b', fileName: 'f', source: data, concurrency: 0 }),
    ).rejects.toThrow(/\[concurrency\]/);
  });
});
