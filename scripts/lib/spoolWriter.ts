/**
 * Writes a download into an open spool file from a second thread: the main thread only copies each
 * socket chunk into a ring of 1 MiB slots in a SharedArrayBuffer; a worker thread hashes every
 * full slot (SHA-256, in order) and writes it with positional `write(2)`, then hands the slot back.
 * Receiving (HTTP parsing, the SDK) and hashing + writing then run on two cores instead of one,
 * and the hash runs at 1 MiB granularity (cheaper per byte than the socket's 64 KiB chunks).
 * bench/README.md ("cli", restore) has the measurements.
 *
 * The worker is started from a self-contained CommonJS string (`eval: true`, only `crypto`, `fs` and
 * `worker_threads`), so it works the same from the CLI's esbuild bundle and through tsx.
 *
 * Shared control words (Int32, all accessed with Atomics):
 *   PRODUCED  slots filled by the main thread (monotonic)
 *   CONSUMED  slots hashed and written by the worker (monotonic); the main thread waits on it
 *   STATE     0 running, 1 end of data (drain and report), 2 abort
 *   EPOCH     bumped after every change the worker must see; the worker waits on it
 *   LEN+i     bytes in slot i
 * The worker reports `{ sha256, bytes }` or `{ error: { message, code } }` by message and exits.
 */
import { Worker } from 'worker_threads';
import { JobError } from './errors';

const PRODUCED = 0;
const CONSUMED = 1;
const STATE = 2;
const EPOCH = 3;
const LEN = 4;

/** `Atomics.waitAsync` (V8, Node ≥ 16), not yet in this project's TypeScript lib. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
      timeoutMs: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** Slot size and count: 8 MiB of ring; 1 MiB updates keep the SHA-256 at its cheap granularity. */
export const SLOT_BYTES = 1024 * 1024;
export const SLOTS = 8;
/**
 * Bytes per write(2): 1 MiB writes into the page cache cost 0.2–1.7 s of system time per GiB here
 * (half the runs spike), 256 KiB writes a steady 0.17 s (bench/README.md, "cli").
 */
const WRITE_BYTES = 256 * 1024;
/**
 * Socket chunks kept referenced after they were copied (~2 MiB of 64 KiB chunks), as a write
 * stream keeps its queue: dropping each chunk at once let glibc trim and regrow the heap after
 * every GC here — 60k–360k page faults and +0.3–0.7 s system time per GiB instead of 30k–40k
 * (bench/README.md, "cli").
 */
const RECENT_CHUNKS = 32;
/** Longest single wait for a free slot before `failure` is checked again. */
const WAIT_MS = 200;

const WORKER_SOURCE = `'use strict';
const { workerData, parentPort } = require('worker_threads');
const { createHash } = require('crypto');
const fs = require('fs');
const { sab, slots, slotBytes, fd, ctlWords } = workerData;
const ctl = new Int32Array(sab, 0, ctlWords);
const data = Buffer.from(sab, ctlWords * 4, slots * slotBytes);
const hash = createHash('sha256');
let consumed = 0;
let position = 0;
try {
  for (;;) {
    const epoch = Atomics.load(ctl, ${EPOCH});
    const produced = Atomics.load(ctl, ${PRODUCED});
    const state = Atomics.load(ctl, ${STATE});
    if (state === 2) process.exit(0);
    if (produced === consumed) {
      if (state === 1) break;
      Atomics.wait(ctl, ${EPOCH}, epoch);
      continue;
    }
    const slot = consumed % slots;
    const len = Atomics.load(ctl, ${LEN} + slot);
    const start = slot * slotBytes;
    const bytes = data.subarray(start, start + len);
    hash.update(bytes);
    let done = 0;
    while (done < len) {
      done += fs.writeSync(fd, bytes, done, Math.min(len - done, ${WRITE_BYTES}), position + done);
    }
    position += len;
    consumed++;
    Atomics.store(ctl, ${CONSUMED}, consumed);
    Atomics.notify(ctl, ${CONSUMED});
  }
  parentPort.postMessage({ sha256: hash.digest('hex'), bytes: position });
} catch (err) {
  parentPort.postMessage({ error: { message: String((err && err.message) || err), code: err && err.code } });
  Atomics.notify(ctl, ${CONSUMED});
}
`;

interface WorkerReport {
  sha256?: string;
  bytes?: number;
  error?: { message: string; code?: string };
}

/**
 * One spool file's writer thread. `write` accepts chunks in order (returns a promise only when the
 * ring is full); `finish` resolves with the SHA-256 of exactly the bytes written; `abort` stops the
 * thread. Any failure of the thread (write error, crash, early exit) is a named JobError, thrown by
 * the next `write` or by `finish`. The caller owns `fd` (opens and closes it).
 */
export class SpoolWriter {
  private readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly data: Buffer;
  private readonly worker: Worker;
  private readonly result: Promise<WorkerReport>;
  private failure: JobError | undefined;
  private produced = 0;
  private fill = 0;
  private received = 0;
  private exited = false;
  private readonly recent = new Array<Buffer>(RECENT_CHUNKS);
  private recentAt = 0;
  private reported = false;

  constructor(
    fd: number,
    private readonly file: string,
    private readonly slotBytes = SLOT_BYTES,
    private readonly slots = SLOTS,
  ) {
    const ctlWords = LEN + slots;
    this.sab = new SharedArrayBuffer(ctlWords * 4 + slots * slotBytes);
    this.ctl = new Int32Array(this.sab, 0, ctlWords);
    this.data = Buffer.from(this.sab, ctlWords * 4, slots * slotBytes);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sab: this.sab, slots, slotBytes, fd, ctlWords },
      stdout: false,
      stderr: false,
    });
    this.result = new Promise<WorkerReport>((resolve, reject) => {
      this.worker.once('message', (m: WorkerReport) => {
        this.reported = true;
        if (m.error) reject(this.fail(`writing the restore spool ${this.file} failed: ${m.error.message}`));
        else resolve(m);
      });
      this.worker.once('error', (err) =>
        reject(this.fail(`the restore spool writer thread crashed: ${err.message}`)),
      );
      this.worker.once('exit', (code) => {
        this.exited = true;
        if (this.reported) return;
        reject(
          this.fail(`the restore spool writer thread exited (code ${code}) before finishing ${this.file}`),
        );
      });
    });
    this.result.catch(() => undefined);
  }

  /** The first failure wins; later ones (the exit after an error message) keep it. */
  private fail(message: string): JobError {
    this.failure ??= new JobError(message);
    return this.failure;
  }

  private bump(): void {
    Atomics.add(this.ctl, EPOCH, 1);
    Atomics.notify(this.ctl, EPOCH);
  }

  private dispatch(): void {
    const slot = this.produced % this.slots;
    Atomics.store(this.ctl, LEN + slot, this.fill);
    this.produced++;
    Atomics.store(this.ctl, PRODUCED, this.produced);
    this.fill = 0;
    this.bump();
  }

  /** Resolves once the slot the next byte goes into is free (the worker consumed it). */
  private async slotFree(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      const consumed = Atomics.load(this.ctl, CONSUMED);
      if (this.produced - consumed < this.slots) return;
      // The worker notifies CONSUMED after every slot and when it fails; the timeout only bounds
      // the wait if it dies without a word (a crash: `failure` is set by the 'exit' event).
      const w = waitAsync(this.ctl, CONSUMED, consumed, WAIT_MS);
      if (w.async) await w.value;
    }
  }

  /** Copies `chunk` into the ring; a promise only when it has to wait for a free slot. */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.recent[this.recentAt] = chunk;
    this.recentAt = (this.recentAt + 1) % RECENT_CHUNKS;
    let off = 0;
    while (off < chunk.length) {
      if (this.fill === 0 && this.produced - Atomics.load(this.ctl, CONSUMED) >= this.slots) {
        const rest = chunk.subarray(off);
        return this.slotFree().then(() => this.write(rest));
      }
      const n = Math.min(chunk.length - off, this.slotBytes - this.fill);
      chunk.copy(this.data, (this.produced % this.slots) * this.slotBytes + this.fill, off, off + n);
      this.fill += n;
      off += n;
      this.received += n;
      if (this.fill === this.slotBytes) this.dispatch();
    }
    return undefined;
  }

  /** Flushes the last partial slot, waits for the thread and returns what it wrote. */
  async finish(): Promise<{ sha256: string; size: number }> {
    if (this.failure) throw this.failure;
    if (this.fill > 0) {
      await this.slotFree();
      this.dispatch();
    }
    Atomics.store(this.ctl, STATE, 1);
    this.bump();
    const r = await this.result;
    if (r.bytes !== this.received)
      throw this.fail(`the restore spool writer wrote ${r.bytes} bytes of ${this.received} to ${this.file}`);
    return { sha256: r.sha256!, size: r.bytes };
  }

  /** Stops the thread (after an error or an interrupt); safe to call at any time, twice. */
  async abort(): Promise<void> {
    Atomics.store(this.ctl, STATE, 2);
    this.bump();
    if (!this.exited) await this.worker.terminate();
  }
}
