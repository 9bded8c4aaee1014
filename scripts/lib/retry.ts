/**
 * The backup jobs' settings and error classifier for the one retry policy type
 * (`infra/b2/retry.ts`), shaped for B2's S3-compatible API (docs/b2-api.md §6, §12):
 *
 * - 503 SlowDown and 429 are throttles: long exponential backoff with equal jitter (1 s doubling
 *   to a 2 min cap per wait); a `Retry-After` header wins over the computed wait.
 * - 500/502/504/408 and connection resets/timeouts are transient: same backoff.
 * - 403 with a cap-exceeded code stops at once (nothing changes until a human raises the cap) and
 *   surfaces as `CapExceededError`; every other 4xx is final.
 * - All waits of one call fit a total budget (default 10 min): a wait that would overrun the
 *   budget is not taken and the last error surfaces.
 * - Connection failures (refused, DNS, unreachable, connect timeout) have a much shorter budget of
 *   their own (default 60 s, `BACKUP_RETRY_CONNECT_BUDGET_MS`): a wrong endpoint fails within a
 *   minute, not after 10 silent minutes. It counts from the first attempt of the current run of
 *   connection failures (whose backoff starts again at 1 s) and leaves room for one more connect
 *   timeout (10 s, `BACKUP_CONNECT_TIMEOUT_MS`).
 * - Every retry is reported through `onRetry` (the runner prints one stderr line: operation,
 *   error, wait: `describeRetry`), and every wait ends at once when the job's `signal` aborts
 *   (SIGINT/SIGTERM), in `run` and in the SDK adapter alike.
 *
 * Two drivers use this policy and nothing else retries: `B2RetryStrategy` (the SDK's retry
 * middleware, for calls with re-sendable bodies) and `RetryPolicy.run` (for streamed parts, whose
 * body must be re-opened per attempt — the SDK refuses to retry streaming bodies — and for
 * failures while reading a response body). `run` never retries an error the SDK already retried.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import { AsyncLocalStorage } from 'async_hooks';
import type { Clock } from '../../infra/b2/clock';
import {
  AttemptState,
  Decision,
  RetryEvent,
  RetryOptions,
  RetryPolicy,
  RunOptions,
  Verdict,
} from '../../infra/b2/retry';
import { CapExceededError, JobError } from './errors';

export { RetryPolicy } from '../../infra/b2/retry';

export type ErrorKind = 'throttle' | 'transient' | 'cap-exceeded' | 'fatal';

export interface Classified {
  kind: ErrorKind;
  status?: number;
  code?: string;
  /** Wait demanded by the server (`Retry-After`), in ms. */
  retryAfterMs?: number;
  /** The connection was never established (refused, DNS, unreachable, connect timeout). */
  connect?: 'refused' | 'timeout';
}

/** The jobs' settings (`BACKUP_RETRY_*_MS` override three of them, see runner.ts). */
export const JOB_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 40,
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 120_000,
  jitterMs: 0,
  jitterRatio: 0.5,
  maxRetryAfterMs: 10 * 60_000,
  budgetMs: 10 * 60_000,
});

export interface JobRetryOptions extends RetryOptions {
  /** In [0,1); injected so tests can assert exact waits. */
  random: () => number;
  clock: Clock;
  /** Budget of a run of connection failures (see the header). Default 60 s. */
  connectBudgetMs: number;
  /** TCP connect timeout per attempt (the S3 client's `connectionTimeout`). Default 10 s. */
  connectTimeoutMs: number;
  /** Observes every retry before its wait (the runner logs it with `describeRetry`). */
  onRetry: (event: RetryEvent) => void;
  /** The job's SIGINT/SIGTERM signal: ends every wait at once, and nothing is retried after it. */
  signal: AbortSignal;
}

export const DEFAULT_CONNECT_BUDGET_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Per-call state of the connection-failure budget, kept beside the shared `AttemptState`. */
interface JobAttemptState extends AttemptState {
  connectFailingSince?: number;
  connectRetries?: number;
}

/**
 * The jobs' policy: the shared type with `JOB_RETRY_OPTIONS`, the S3 classifier, the connection
 * budget, and the job's abort signal applied to every call.
 */
export class JobRetryPolicy extends RetryPolicy {
  readonly connectBudgetMs: number;
  readonly connectTimeoutMs: number;
  readonly signal?: AbortSignal;

  constructor(opts: Partial<JobRetryOptions> = {}) {
    const { clock, random, connectBudgetMs, connectTimeoutMs, onRetry, signal, ...settings } = opts;
    const budget = connectBudgetMs ?? DEFAULT_CONNECT_BUDGET_MS;
    super(
      settings,
      {
        clock,
        random,
        classify: classifyVerdict,
        // A failure observer must never fail the job.
        onRetry: (e) => {
          try {
            onRetry?.(e);
          } catch {
            /* logging only */
          }
        },
        finalError: (err, v) => toJobError(err, v.kind, budget),
      },
      JOB_RETRY_OPTIONS,
    );
    this.connectBudgetMs = budget;
    this.connectTimeoutMs = connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.signal = signal;
  }

  override decide(state: JobAttemptState, err: unknown, call: RunOptions = {}): Decision {
    const now = this.clock.now();
    const c = classifyError(err, now);
    if (!c.connect) {
      state.connectFailingSince = undefined;
      state.connectRetries = undefined;
      return super.decide(state, err, call);
    }
    if (state.connectFailingSince === undefined) {
      // A connect timeout already spent its attempt's timeout; a refusal is instant.
      state.connectFailingSince = now - (c.connect === 'timeout' ? this.connectTimeoutMs : 0);
      state.connectRetries = 0;
    }
    // The backoff of a run of connection failures starts again at the first wait.
    const d = super.decide({ startedAt: state.startedAt, retries: state.connectRetries! }, err, call);
    if (!d.retry) return d;
    const spent = now - state.connectFailingSince;
    if (spent + d.delayMs + this.connectTimeoutMs > this.connectBudgetMs) {
      return {
        retry: false,
        verdict: d.verdict,
        reason: `no connection for ${Math.round(spent / 1000)} s`,
        outcomeUnknown: false,
      };
    }
    state.connectRetries! += 1;
    return d;
  }

  override run<T>(fn: (attempt: number) => Promise<T>, call: RunOptions = {}): Promise<T> {
    return super.run(fn, { signal: this.signal, ...call });
  }
}

/** The jobs' retry policy: `JOB_RETRY_OPTIONS` overridden by `opts`, the S3 classifier. */
export function jobRetryPolicy(opts: Partial<JobRetryOptions> = {}): JobRetryPolicy {
  return new JobRetryPolicy(opts);
}

/**
 * The operation an S3 call is running, set by the S3 client's middleware (s3client.ts) so retries
 * inside the SDK's retry middleware can be named.
 */
export const currentOperation = new AsyncLocalStorage<string>();

/** `retry: UploadPart db/x.dump.gz #3 failed (attempt 2): 503 SlowDown: …; retrying in 1.4 s` */
export function describeRetry(e: RetryEvent): string {
  const c = classifyError(e.error);
  const err = e.error as { name?: string; code?: string; message?: string } | null;
  const what = [c.status, c.code ?? err?.code]
    .filter((x) => x !== undefined && x !== '' && x !== 'Error')
    .join(' ');
  const msg = (err?.message ?? String(e.error)).split('\n')[0].slice(0, 200);
  const detail = what && !msg.startsWith(what) ? `${what}: ${msg}` : msg;
  return `retry: ${e.operation} failed (attempt ${e.attempt}): ${detail}; retrying in ${(e.waitMs / 1000).toFixed(1)} s`;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
/** Failures before any byte reached the server: a wrong or unreachable endpoint. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** @smithy/node-http-handler's connectionTimeout error. */
const CONNECT_TIMEOUT = /without establishing a connection/i;
const THROTTLE_CODES = new Set([
  'SlowDown',
  'TooManyRequests',
  'too_many_requests',
  'TooManyRequestsException',
  'Throttling',
  'RequestLimitExceeded',
]);
const TRANSIENT_STATUS = new Set([408, 500, 502, 504]);
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
]);
const CAP_EXCEEDED = /cap[_ ]?exceeded/i;

interface ErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  statusCode?: number;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

/** Parses `Retry-After` (delta seconds or HTTP date) into ms from `nowMs`. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function headerOf(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** Maps any thrown value (SDK service error, Node socket error, fetch error) to a kind. */
export function classifyError(err: unknown, nowMs: number = Date.now(), depth = 0): Classified {
  if (typeof err !== 'object' || err === null) return { kind: 'fatal' };
  const e = err as ErrorLike;
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode ?? e.statusCode;
  const code = e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code;
  const retryAfterMs = parseRetryAfter(headerOf(e.$response?.headers, 'retry-after'), nowMs);
  const base = { status, code, retryAfterMs };
  if (e.name === 'AbortError') return { ...base, kind: 'fatal' };
  if (status === 403 && (CAP_EXCEEDED.test(code ?? '') || CAP_EXCEEDED.test(e.message ?? ''))) {
    return { ...base, kind: 'cap-exceeded' };
  }
  if (e.code && CONNECT_CODES.has(e.code))
    return { ...base, code: e.code, kind: 'transient', connect: 'refused' };
  if (status === undefined && CONNECT_TIMEOUT.test(e.message ?? ''))
    return { ...base, kind: 'transient', connect: 'timeout' };
  if (status === 429 || status === 503 || (code && THROTTLE_CODES.has(code)))
    return { ...base, kind: 'throttle' };
  if ((status !== undefined && TRANSIENT_STATUS.has(status)) || (code && TRANSIENT_NAMES.has(code))) {
    return { ...base, kind: 'transient' };
  }
  if (e.code && NETWORK_CODES.has(e.code)) return { ...base, kind: 'transient' };
  if (
    status === undefined &&
    /socket hang up|ECONNRESET|EPIPE|premature close|aborted/i.test(e.message ?? '')
  ) {
    return { ...base, kind: 'transient' };
  }
  if (status === undefined && e.cause && depth < 5) {
    const inner = classifyError(e.cause, nowMs, depth + 1);
    if (inner.kind !== 'fatal') return inner;
  }
  return { ...base, kind: 'fatal' };
}

/** `classifyError` as a verdict of the shared policy; never retries what the SDK already retried. */
export function classifyVerdict(err: unknown, nowMs: number): Verdict {
  const c = classifyError(err, nowMs);
  // The SDK's middleware (B2RetryStrategy, same policy) sets `attempts` only when it gives up:
  // retrying again in `run` would nest loops and double the budget.
  const sdkAttempts = (err as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts ?? 1;
  const retryable = (c.kind === 'throttle' || c.kind === 'transient') && sdkAttempts <= 1;
  // A connection never made or a throttle says the server did not act; other transients may have.
  return {
    retryable,
    kind: c.kind,
    retryAfterMs: c.retryAfterMs,
    mayHaveTakenEffect: c.kind === 'transient' && !c.connect,
  };
}

/**
 * Wraps cap-exceeded errors in a typed error, and connection failures in a JobError that names
 * the endpoint problem and the fix; other errors pass through unchanged.
 */
export function toJobError(err: unknown, kind?: string, connectBudgetMs?: number): unknown {
  const c = classifyError(err);
  if ((kind ?? c.kind) === 'cap-exceeded') {
    return new CapExceededError(
      `B2 refused the request: ${c.code ?? 'cap exceeded'} (HTTP 403). Raise the account's cap in the B2 web UI; retrying cannot help.`,
      { cause: err },
    );
  }
  if (c.connect && !(err instanceof JobError)) {
    const msg = (err as { message?: string } | null)?.message ?? String(err);
    const tried = connectBudgetMs ? ` (retried for up to ${Math.round(connectBudgetMs / 1000)} s)` : '';
    return new JobError(
      `cannot reach the S3 endpoint${tried}: ${c.code && !msg.includes(c.code) ? `${c.code} ` : ''}${msg}. ` +
        'Check --endpoint / B2_S3_ENDPOINT and the network; BACKUP_RETRY_CONNECT_BUDGET_MS sets how long to keep trying.',
      { cause: err },
    );
  }
  return err;
}

interface B2Token extends RetryToken {
  state: AttemptState;
  delayMs: number;
}

/**
 * Adapter that lets the SDK's retry middleware use `RetryPolicy`. The wait happens here, on the
 * policy's clock and abortable by the job's signal, and the token hands the middleware a zero delay:
 * a SIGINT must not sit out a 2-minute backoff in a sleep it cannot interrupt. An aborted wait
 * throws, and the middleware then rethrows the request's last error.
 */
export class B2RetryStrategy implements RetryStrategyV2 {
  readonly mode = 'b2';
  /** The wait taken before the latest retry (the token itself carries 0). */
  lastDelayMs = 0;
  constructor(private readonly policy: RetryPolicy) {}

  private get signal(): AbortSignal | undefined {
    return this.policy instanceof JobRetryPolicy ? this.policy.signal : undefined;
  }

  async acquireInitialRetryToken(): Promise<B2Token> {
    return makeToken({ startedAt: this.policy.clock.now(), retries: 0 }, 0);
  }

  async refreshRetryTokenForRetry(token: B2Token, info: RetryErrorInfo): Promise<B2Token> {
    if (this.signal?.aborted) throw info.error;
    const state: JobAttemptState = { ...token.state };
    const d = this.policy.decide(state, info.error);
    // The middleware rethrows the original error when this throws; the job layer maps it.
    if (!d.retry) throw info.error;
    this.policy.stats.record(d.verdict.kind);
    const retries = state.retries + 1;
    const event: RetryEvent = {
      operation: currentOperation.getStore() ?? 'S3 request',
      attempt: retries,
      error: info.error,
      verdict: d.verdict,
      waitMs: d.delayMs,
    };
    this.policy.notifyRetry(event);
    await this.policy.clock.sleep(d.delayMs, this.signal);
    this.lastDelayMs = d.delayMs;
    return makeToken({ ...state, retries }, 0);
  }

  recordSuccess(): void {
    /* no client-side token bucket: B2 throttles are answered with backoff, not shed locally */
  }
}

function makeToken(state: AttemptState, delayMs: number): B2Token {
  return {
    state,
    delayMs,
    getRetryCount: () => state.retries,
    getRetryDelay: () => delayMs,
  };
}
