/**
 * MD5 off the event loop. SHA-1 runs on the main thread (SHA-NI makes it cheap), but MD5 has no
 * hardware help and would cap a single upload near its ~500 MB/s; a small worker pool hashes
 * copies of the body while the main thread parses HTTP, computes SHA-1 and writes the blob.
 * Bodies are copied into 1 MiB batches and transferred (zero-copy) to the worker; at most
 * MAX_INFLIGHT bytes per stream wait in the worker before `update` applies backpressure.
 */
import { createHash, type Hash } from 'crypto';
import * as os from 'os';
import { Worker } from 'worker_threads';

const BATCH = 4 << 20;
const MAX_INFLIGHT = 32 << 20;
/** Bodies smaller than this are hashed inline: a worker round trip would cost more. */
const INLINE_BELOW = 256 << 10;

const WORKER_SOURCE = `
const { parentPort } = require('worker_threads');
const { createHash } = require('crypto');
const states = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'u') {
    let h = states.get(m.id);
    if (!h) states.set(m.id, (h = createHash('md5')));
    h.update(new Uint8Array(m.buf, 0, m.n));
    // hand the batch buffer back for reuse (no page faults, no garbage)
    parentPort.postMessage({ t: 'a', id: m.id, n: m.n, buf: m.buf }, [m.buf]);
  } else if (m.t === 'd') {
    const h = states.get(m.id) || createHash('md5');
    states.delete(m.id);
    parentPort.postMessage({ t: 'd', id: m.id, hex: h.digest('hex') });
  } else if (m.t === 'x') {
    states.delete(m.id);
  }
});
`;

interface Pending {
  onAck(n: number): void;
  onDigest(hex: string): void;
  onError(e: Error): void;
}

class HashWorker {
  private worker: Worker | null = null;
  readonly streams = new Map<number, Pending>();

  get(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (m: { t: string; id: number; n?: number; hex?: string; buf?: ArrayBuffer }) => {
      if (m.buf && freeBatches.length < MAX_FREE) freeBatches.push(m.buf);
      const s = this.streams.get(m.id);
      if (!s) return;
      if (m.t === 'a') s.onAck(m.n!);
      else if (m.t === 'd') {
        this.streams.delete(m.id);
        s.onDigest(m.hex!);
      }
    });
    const fail = (e: Error): void => {
      this.worker = null;
      for (const s of this.streams.values()) s.onError(e);
      this.streams.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => code !== 0 && fail(new Error(`md5 worker exited with code ${code}`)));
    // after the listeners: adding a 'message' listener refs the port again
    w.unref();
    this.worker = w;
    return w;
  }
}

/** Batch buffers returned by the workers, reused for the next batches. */
const freeBatches: ArrayBuffer[] = [];
const MAX_FREE = 16;
const takeBatch = (): Buffer => {
  const ab = freeBatches.pop();
  return ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(BATCH);
};

const POOL_SIZE = Math.max(1, Math.min(2, os.cpus().length - 1));
const pool: HashWorker[] = [];
let nextWorker = 0;
let nextId = 1;

export interface Md5Stream {
  /** Feed bytes; returns a promise only when the caller must wait (backpressure). */
  update(buf: Buffer): Promise<void> | undefined;
  /** Hex digest of everything fed. */
  digest(): Promise<string>;
  /** Drop the state (upload failed). */
  abort(): void;
}

/**
 * Whether another core is idle enough for the worker to help. On a saturated machine the
 * copy + message passing only adds CPU per byte, so MD5 stays inline (checked once a second).
 */
let spare = { at: 0, value: true };
function spareCore(): boolean {
  // B2_LOCAL_MD5_WORKER=0: always inline; =1: always the worker; unset: adaptive
  const forced = process.env.B2_LOCAL_MD5_WORKER;
  if (forced === '0' || forced === '1') return forced === '1';
  const now = Date.now();
  if (now - spare.at > 1000) spare = { at: now, value: os.loadavg()[0]! < os.cpus().length - 0.5 };
  return spare.value;
}

/**
 * An MD5 that decides where to run once the body passes INLINE_BELOW: in a worker if a core is
 * spare, else inline. Until then it keeps references to the (never mutated) chunks.
 */
export function md5Stream(): Md5Stream {
  let pending: Buffer[] | null = [];
  let pendingBytes = 0;
  let local: Hash | null = null;
  let remote: RemoteMd5 | null = null;
  return {
    update(buf) {
      if (remote) return remote.update(buf);
      if (local) {
        local.update(buf);
        return undefined;
      }
      pending!.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes < INLINE_BELOW) return undefined;
      const seen = pending!;
      pending = null;
      if (spareCore()) {
        remote = new RemoteMd5();
        let wait: Promise<void> | undefined;
        for (const b of seen) wait = remote.update(b) ?? wait;
        return wait;
      }
      local = createHash('md5');
      for (const b of seen) local.update(b);
      return undefined;
    },
    digest() {
      if (remote) return remote.digest();
      if (!local) {
        local = createHash('md5');
        for (const b of pending!) local.update(b);
      }
      return Promise.resolve(local.digest('hex'));
    },
    abort() {
      remote?.abort();
    },
  };
}

class RemoteMd5 {
  private readonly id = nextId++;
  private readonly host: HashWorker;
  private batch: Buffer = takeBatch();
  private fill = 0;
  private inflight = 0;
  private waiter: (() => void) | null = null;
  private result: Promise<string>;
  private resolve!: (hex: string) => void;
  private reject!: (e: Error) => void;
  private failed: Error | null = null;

  constructor() {
    if (pool.length < POOL_SIZE) pool.push(new HashWorker());
    this.host = pool[nextWorker++ % pool.length]!;
    this.result = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.result.catch(() => undefined);
    this.host.streams.set(this.id, {
      onAck: (n) => {
        this.inflight -= n;
        if (this.waiter && this.inflight <= MAX_INFLIGHT / 2) {
          const w = this.waiter;
          this.waiter = null;
          w();
        }
      },
      onDigest: (hex) => this.resolve(hex),
      onError: (e) => {
        this.failed = e;
        this.reject(e);
        this.waiter?.();
      },
    });
  }

  update(buf: Buffer): Promise<void> | undefined {
    if (this.failed) return Promise.reject(this.failed);
    let off = 0;
    while (off < buf.length) {
      const n = Math.min(BATCH - this.fill, buf.length - off);
      buf.copy(this.batch, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === BATCH) this.flush();
    }
    if (this.inflight > MAX_INFLIGHT) return new Promise((r) => (this.waiter = r));
    return undefined;
  }

  private flush(): void {
    if (!this.fill) return;
    const ab = this.batch.buffer as ArrayBuffer;
    this.host.get().postMessage({ t: 'u', id: this.id, buf: ab, n: this.fill }, [ab]);
    this.inflight += this.fill;
    this.batch = takeBatch();
    this.fill = 0;
  }

  digest(): Promise<string> {
    this.flush();
    this.host.get().postMessage({ t: 'd', id: this.id });
    return this.result;
  }

  abort(): void {
    this.host.streams.delete(this.id);
    this.worker()?.postMessage({ t: 'x', id: this.id });
  }

  private worker(): Worker | null {
    try {
      return this.host.get();
    } catch {
      return null;
    }
  }
}
