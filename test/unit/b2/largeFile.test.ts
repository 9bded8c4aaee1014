import { Readable } from 'stream';
import { choosePartSize, splitParts, MAX_PARTS } from '../../../infra/b2/largeFile';
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
