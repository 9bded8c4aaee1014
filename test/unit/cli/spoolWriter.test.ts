/**
 * The restore spool's writer thread (scripts/lib/spoolWriter.ts): whatever sizes the chunks come
 * in, the file holds exactly the bytes written, in order, and the SHA-256 is theirs; a write
 * error in the thread is a named JobError thrown by `finish` (or the next `write`), and `abort`
 * stops a thread that is waiting for data.
 */
import fc from 'fast-check';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JobError } from '../../../scripts/lib/errors';
import { SpoolWriter } from '../../../scripts/lib/spoolWriter';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-spool-writer-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function writeAll(w: SpoolWriter, chunks: Buffer[]): Promise<void> {
  for (const c of chunks) {
    const p = w.write(c);
    if (p) await p;
  }
}

it('file and SHA-256 match the chunks however they are sliced (small ring: many wraps and waits)', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 0, maxLength: 40 }),
      async (sizes) => {
        const chunks = sizes.map((s) => randomBytes(s));
        const file = path.join(tmp, `p${n++}`);
        const fd = fs.openSync(file, 'wx', 0o600);
        try {
          // 4 slots of 4 KiB: chunks straddle slots and the ring fills, so `write` has to wait.
          const w = new SpoolWriter(fd, file, 4096, 4);
          await writeAll(w, chunks);
          const r = await w.finish();
          const all = Buffer.concat(chunks);
          expect(r.size).toBe(all.length);
          expect(r.sha256).toBe(createHash('sha256').update(all).digest('hex'));
          expect(fs.readFileSync(file).equals(all)).toBe(true);
        } finally {
          fs.closeSync(fd);
          fs.rmSync(file);
        }
      },
    ),
    { numRuns: 25 },
  );
}, 60_000);

it('a write error in the thread is a named JobError, not a hang', async () => {
  const file = path.join(tmp, 'readonly');
  fs.writeFileSync(file, '');
  const fd = fs.openSync(file, 'r'); // writes fail with EBADF
  try {
    const w = new SpoolWriter(fd, file, 64 * 1024, 2);
    const done = (async () => {
      await writeAll(w, [randomBytes(1024 * 1024)]);
      return w.finish();
    })();
    await expect(done).rejects.toThrow(JobError);
    await expect(done).rejects.toThrow(/writing the restore spool .*readonly failed: EBADF/);
    await w.abort();
  } finally {
    fs.closeSync(fd);
  }
});

it('abort stops a thread that waits for data; the next write throws', async () => {
  const file = path.join(tmp, 'aborted');
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    const w = new SpoolWriter(fd, file);
    await writeAll(w, [randomBytes(3 * 1024 * 1024)]);
    const t0 = Date.now();
    await w.abort();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(() => w.write(Buffer.alloc(1))).toThrow(/writer thread exited/);
  } finally {
    fs.closeSync(fd);
  }
});
