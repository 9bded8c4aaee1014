/**
 * Starts the emulator: one HTTP server per region (= account) on 127.0.0.1, dispatching
 * `/b2api/` and `/file/` to the native API, `/__admin/` to the admin API and everything else to
 * the S3-compatible API (`createS3Handler(ctx)` from emulator/s3).
 */
import { randomBytes } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Duplex } from 'stream';
import * as path from 'path';
import { createAdminHandler } from './admin';
import { Clock } from './core/clock';
import type { JobHooks, ProtocolContext, RegionRuntime } from './core/context';
import { Engine } from './core/engine';
import { FaultInjector, StatsCollector, TokenBucketLimiter } from './core/runtime';
import { answerNativeTimeout, createNativeHandler } from './native';
import { answerS3Timeout, createS3Handler } from './s3';
import { MemoryStore } from './store/memory';
import type { Store } from './store/types';
import type { ReadyLine, RegionReady } from '../infra/b2/wire/emulator';
import { requestTarget } from './core/target';
import { DEFAULT_TIMEOUTS, guardRequest, RequestTimeouts } from './timeouts';

export interface EmulatorOptions {
  /** First region's port (0 = ephemeral for every region; N = N, N+1, … per region). */
  port: number;
  /** Durable data directory (one subdirectory per region); undefined = memory. */
  dataDir?: string;
  regions: string[];
  rateLimit?: number;
  masterKeyId?: string;
  masterKey?: string;
  log?: (line: string) => void;
  /** Body time limits (emulator/timeouts.ts); default 60 s idle, 15 min total. */
  timeouts?: Partial<RequestTimeouts>;
}

export type { ReadyLine, RegionReady };

export interface RunningEmulator {
  ready: ReadyLine;
  regions: RegionRuntime[];
  close(): Promise<void>;
}

/** The fs store (and its native SQLite module) loads only when --data is used: faster --memory start. */
function openFsStore(dir: string): Store {
  const { FsStore } = require('./store/fs') as typeof import('./store/fs');
  return new FsStore(dir);
}

export async function startEmulator(opts: EmulatorOptions): Promise<RunningEmulator> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[b2-local] ${l}\n`));
  const clock = new Clock();
  const stats = new StatsCollector();
  const faults = new FaultInjector();
  const jobs: JobHooks = {};
  const adminToken = process.env.B2_LOCAL_ADMIN_TOKEN || randomBytes(24).toString('hex');
  const runtimes: RegionRuntime[] = [];
  const engines: Engine[] = [];
  const servers: http.Server[] = [];
  const stores: Store[] = [];

  const timeouts: RequestTimeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const admin = createAdminHandler({ adminToken, clock, faults, stats, jobs, regions: () => runtimes });

  for (const [i, region] of opts.regions.entries()) {
    let store: Store;
    try {
      // --data: each region directory is locked while open (store/lock.ts); a second server fails here
      store = opts.dataDir ? openFsStore(path.join(opts.dataDir, region)) : new MemoryStore();
    } catch (e) {
      for (const s of servers) s.close();
      for (const s of stores) s.close();
      throw e;
    }
    stores.push(store);
    const engine = new Engine({
      region,
      store,
      clock,
      // fixed credentials apply to the first region; other regions are other accounts
      masterKeyId: i === 0 ? opts.masterKeyId : undefined,
      masterKey: i === 0 ? opts.masterKey : undefined,
      isBucketNameTaken: (lower) => engines.some((e) => e.hasBucketNamed(lower)),
    });
    engines.push(engine);
    const runtime: RegionRuntime = { region, url: '', engine, store };
    runtimes.push(runtime);
    const ctx: ProtocolContext = {
      region,
      url: '',
      engine,
      store,
      clock,
      stats,
      faults,
      rateLimiter: new TokenBucketLimiter(opts.rateLimit ?? null),
      regions: runtimes,
      jobs,
      log,
    };
    const native = createNativeHandler(ctx);
    const s3 = createS3Handler(ctx);
    const server = http.createServer(
      { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
      (req, res) => {
        // the target as sent: dot segments are name characters, never resolved (core/target.ts)
        const url = requestTarget(req.url);
        if (!url) {
          res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('bad request target');
          return;
        }
        const p = url.pathname;
        const isNative = p.startsWith('/b2api/') || p.startsWith('/file/');
        guardRequest(req, res, timeouts, (s) =>
          isNative || p.startsWith('/__admin/')
            ? answerNativeTimeout(req, res, s)
            : answerS3Timeout(req, res, s),
        );
        const handler = isNative
          ? native(req, res, url)
          : p.startsWith('/__admin/')
            ? admin(req, res, url)
            : s3(req, res);
        handler.catch((e: unknown) => {
          log(`unhandled error on ${req.method} ${p}: ${(e as Error)?.stack ?? String(e)}`);
          if (res.writableEnded) return;
          if (!res.headersSent)
            res.writeHead(500, { 'content-type': 'text/plain' }).end('internal emulator error');
          else res.destroy();
        });
      },
    );
    server.keepAliveTimeout = 65_000;
    server.on('clientError', answerClientError);
    const port = opts.port === 0 ? 0 : opts.port + i;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ctx.url = url;
    runtime.url = url;
    servers.push(server);
  }

  const regions: RegionReady[] = runtimes.map((r) => ({
    region: r.region,
    url: r.url,
    accountId: r.engine.accountId,
    ...r.engine.masterCredentials(),
  }));
  const ready: ReadyLine = { ready: true, ...regions[0]!, adminToken, regions };
  return {
    ready,
    regions: runtimes,
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeIdleConnections();
            }),
        ),
      );
      for (const s of stores) s.close();
    },
  };
}

/**
 * Requests Node's HTTP parser refuses (bad framing, oversized headers, bytes after a closing
 * request) get a named answer instead of Node's bare `400 Bad Request`: B2 JSON for native paths,
 * S3 XML otherwise, then the connection closes.
 */
function answerClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, text] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const message = `malformed HTTP request (${err.code ?? 'parse error'}): ${err.message}`;
  const path = /^[A-Z]+ (\S+)/.exec(err.rawPacket?.toString('latin1') ?? '')?.[1] ?? '';
  const native = path.startsWith('/b2api/') || path.startsWith('/file/');
  const body = native
    ? JSON.stringify({ status, code: status === 408 ? 'request_timeout' : 'bad_request', message })
    : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${status === 408 ? 'RequestTimeout' : 'InvalidRequest'}</Code><Message>${message.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</Message></Error>`;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: ${native ? 'application/json;charset=UTF-8' : 'application/xml'}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
