/**
 * The part checksum (`x-amz-checksum-crc32`) comes from @node-rs/crc32 where its prebuilt binary is
 * installed, else from zlib: both must give the same value for any bytes, however a part is sliced
 * as it fills (scripts/lib/partChecksum.ts). The server refuses a part whose checksum is wrong, so a
 * divergence would fail every upload; this pins it down before any request is sent.
 */
import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'zlib';
import { Crc32, loadCrc32 } from '../../../scripts/lib/partChecksum';

const b64 = (v: number): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(v >>> 0);
  return out.toString('base64');
};

describe('part CRC32', () => {
  it('uses the native implementation on this machine (the one the benchmark measured)', () => {
    expect(loadCrc32().native).toBe(true);
  });

  it('falls back to zlib when the native module cannot load or computes a wrong check value', () => {
    const missing = loadCrc32(() => {
      throw new Error('Cannot find module @node-rs/crc32-linux-x64-gnu');
    });
    expect(missing).toEqual({ crc32: zlibCrc32, native: false });
    expect(loadCrc32(() => ({ crc32: () => 42 })).native).toBe(false);
  });

  it('Crc32 sliced at any points equals zlib over the whole buffer (both implementations)', () => {
    const native = loadCrc32().crc32;
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 70_000 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (bytes, cuts) => {
          const buf = Buffer.from(bytes);
          const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
          const sliced = new Crc32();
          let nativeValue = 0;
          let prev = 0;
          for (const p of [...points, buf.length]) {
            sliced.update(buf.subarray(prev, p));
            nativeValue = native(buf.subarray(prev, p), nativeValue);
            prev = p;
          }
          const want = zlibCrc32(buf);
          expect(nativeValue >>> 0).toBe(want >>> 0);
          expect(sliced.digest()).toBe(b64(want));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('matches the CRC-32/ISO-HDLC check value and a 16 MiB part', () => {
    expect(new Crc32().update(Buffer.from('123456789')).digest()).toBe(b64(0xcbf43926));
    const part = Buffer.alloc(16 * 1024 * 1024, 0xa5);
    expect(new Crc32().update(part).digest()).toBe(b64(zlibCrc32(part)));
  });
});
