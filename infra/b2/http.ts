/**
 * The only code that touches the network (b2sdk `b2http.py`, docs/conventions.md §2).
 *
 * It encodes requests, decodes responses, turns every failure into a typed `B2Error` through
 * `fromWire` / `fromTransport`, and runs the `RetryPolicy` for calls that can simply be sent
 * again (JSON calls, download starts). Uploads are sent once here: their retry needs a fresh
 * upload URL, which the session supplies around `sendUploadOnce`.
 *
 * Transport is node:http(s) with keep-alive agents rather than fetch: on loopback, undici's
 * fetch moved 100 MB bodies at about a third (uploads) and 60 % (downloads) of the speed of a
 * plain request (bench/emulator-native), and nothing of fetch's web streams is needed.
 *
 * Nothing here logs; `Authorization` values are never copied into errors.
 */
import * as http from 'http';
import * as https from 'https';
import type { Readable } from 'stream';
import { RequestContext, UnexpectedResponse, fromTransport, fromWire } from './errors';
import { RetryPolicy } from './retry';
import { Header, decodeErrorBody } from './wire';

const PACKAGE_VERSION: string = (require('../../package.json') as { version: string }).version;

export const DEFAULT_USER_AGENT = `infrafabric-backup/${PACKAGE_VERSION}`;

/** Cap on error / JSON bodies read into memory (B2 JSON answers are small; list pages < 10 MB). */
const MAX_TEXT_BODY = 64 << 20;

export interface HttpOptions {
  policy: RetryPolicy;
  userAgent?: string;
  /** Per-attempt limit for JSON calls and for a download to start (b2sdk: 128 s). */
  requestTimeoutMs?: number;
  /** Per-attempt limit for one upload (whole body sent and answered). */
  uploadTimeoutMs?: number;
  /** B2's `X-Bz-Test-Mode` sent on every request (real-B2 fault tests; the emulator honours it too). */
  testMode?: string;
}

/** One JSON call: POST `body` (or GET) to `url` with the given Authorization value. */
export interface JsonCall {
  url: string;
  /** Full Authorization header value (a token, or `Basic …` for authorize). */
  authorization?: string;
  method?: 'GET' | 'POST';
  body?: unknown;
  context: RequestContext;
  /**
   * False for a call whose repeat is not harmless (b2_create_key, b2_create_bucket): a failure
   * that may have reached B2 ends in `OutcomeUnknown` instead of a blind retry (infra/b2/retry.ts).
   */
  idempotent?: boolean;
}

/** One upload: raw body with B2 headers, answered with JSON. */
export interface UploadCall {
  url: string;
  authorization: string;
  headers: Record<string, string>;
  body: Uint8Array;
  context: RequestContext;
}

export interface DownloadCall {
  url: string;
  authorization?: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
  context: RequestContext;
}

export interface DownloadResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The live body (empty for HEAD). A failure mid-body is an `error` event on it. */
  body: Readable;
}

export class HttpClient {
  readonly policy: RetryPolicy;
  readonly userAgent: string;
  private readonly requestTimeoutMs: number;
  private readonly uploadTimeoutMs: number;
  private readonly baseHeaders: Record<string, string>;

  constructor(opts: HttpOptions) {
    this.policy = opts.policy;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 128_000;
    this.uploadTimeoutMs = opts.uploadTimeoutMs ?? 20 * 60_000;
    this.baseHeaders = { [Header.userAgent]: this.userAgent };
    if (opts.testMode) this.baseHeaders[Header.testMode] = opts.testMode;
  }

  /** A JSON call with the retry policy applied. */
  json<T>(call: JsonCall): Promise<T> {
    return this.policy.run(() => this.jsonOnce<T>(call), {
      operation: call.context.operation,
      idempotent: call.idempotent,
    });
  }

  /** A JSON call, one attempt. */
  async jsonOnce<T>(call: JsonCall): Promise<T> {
    const method = call.method ?? 'POST';
    const headers: Record<string, string> = { ...this.baseHeaders };
    if (call.authorization !== undefined) headers[Header.authorization] = call.authorization;
    let body: Buffer | undefined;
    if (method === 'POST' && call.body !== undefined) {
      body = Buffer.from(JSON.stringify(call.body), 'utf8');
      headers[Header.contentType] = 'application/json';
    }
    const res = await exchange(
      { method, url: call.url, headers, body },
      this.requestTimeoutMs,
      call.context,
      false,
    );
    return parseJson<T>(res.status, res.text, call.context);
  }

  /** One upload attempt (no retry: the caller must pick a fresh upload URL first). */
  async sendUploadOnce<T>(call: UploadCall): Promise<T> {
    const headers: Record<string, string> = {
      ...call.headers,
      ...this.baseHeaders,
      [Header.authorization]: call.authorization,
    };
    const res = await exchange(
      { method: 'POST', url: call.url, headers, body: call.body },
      this.uploadTimeoutMs,
      call.context,
      false,
    );
    return parseJson<T>(res.status, res.text, call.context);
  }

  /**
   * Starts a download, retrying until the response headers arrive. The body is then streamed to
   * the caller as-is; a failure mid-body surfaces as a stream error (not retried here: the caller
   * knows how much it already consumed and can ask for the rest with a Range).
   */
  download(call: DownloadCall): Promise<DownloadResponse> {
    return this.policy.run(
      async () => {
        const headers: Record<string, string> = { ...call.headers, ...this.baseHeaders };
        if (call.authorization !== undefined) headers[Header.authorization] = call.authorization;
        const res = await exchange(
          { method: call.method ?? 'GET', url: call.url, headers },
          this.requestTimeoutMs,
          call.context,
          true,
        );
        return { status: res.status, headers: res.headers, body: res.stream };
      },
      { operation: call.context.operation },
    );
  }
}

// --- transport -------------------------------------------------------------------------------

/** Keep-alive agents; Node unrefs idle sockets, so they never hold the process open. */
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

interface Outgoing {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

interface Incoming {
  status: number;
  headers: Record<string, string>;
  /** Whole body as text (when not streaming). */
  text: string;
  /** Live body (when streaming a 2xx). */
  stream: Readable;
}

/**
 * Sends one request. A non-2xx answer is read and thrown as the mapped `B2Error`; no answer is
 * thrown as a `ConnectionError`. For a 2xx the body is read as text, or — with `stream` — handed
 * over live once the headers are in. The attempt timeout covers connect, headers and whatever is
 * read here; a streamed body is the caller's and is never cut by this timer.
 */
function exchange(
  out: Outgoing,
  timeoutMs: number,
  context: RequestContext,
  stream: boolean,
): Promise<Incoming> {
  return new Promise<Incoming>((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(out.url);
    } catch {
      reject(new TypeError(`${context.operation}: invalid URL from B2 or configuration`));
      return;
    }
    const isHttps = target.protocol === 'https:';
    let timedOut = false;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (err: unknown) => finish(() => reject(fromTransport(err, context, timedOut)));

    const headers: Record<string, string> = { ...out.headers };
    if (out.body !== undefined) headers[Header.contentLength] = String(out.body.byteLength);
    const req = (isHttps ? https : http).request(
      target,
      { method: out.method, headers, agent: isHttps ? httpsAgent : httpAgent },
      (res) => {
        const status = res.statusCode ?? 0;
        const resHeaders = flatHeaders(res.headers);
        const ok = status >= 200 && status <= 299;
        if (ok && stream) {
          finish(() => resolve({ status, headers: resHeaders, text: '', stream: res }));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_TEXT_BODY)
            req.destroy(new Error(`response body larger than ${MAX_TEXT_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (ok) {
            finish(() => resolve({ status, headers: resHeaders, text, stream: res }));
            return;
          }
          const body = decodeErrorBody(text);
          const err = fromWire(status, body?.code, body?.message, context, {
            retryAfter: resHeaders[Header.retryAfter],
          });
          finish(() => reject(err));
        });
      },
    );
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(Object.assign(new Error('attempt timed out'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    req.on('error', fail);
    req.end(out.body);
  });
}

function parseJson<T>(status: number, text: string, context: RequestContext): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UnexpectedResponse(
      status,
      'bad_json_response',
      `${context.operation} failed: HTTP ${status} with a body that is not JSON (${text.length} bytes)`,
      context.operation,
    );
  }
}

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
