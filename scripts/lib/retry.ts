/**
 * The one retry policy of the backup CLI (style.md §4), shaped for B2 (b2-api.md §6, §12):
 *
 * - 503 SlowDown and 429 are throttles: long exponential backoff with jitter (1 s doubling to a
 *   2 min cap per wait); a `Retry-After` header wins over the computed wait.
 * - 500/502/504/408 and connection resets/timeouts are transient: same backoff.
 * - 403 with a cap-exceeded code stops at once (nothing changes until a human raises the cap);
 *   every other 4xx is final.
 * - All waits of one call fit a total budget (default 10 min): a wait that would overrun the
 *   budget is not taken and the last error surfaces.
 *
 * Two drivers use this policy and nothing else retries: `B2RetryStrategy` (the SDK's retry
 * middleware, for calls with re-sendable bodies) and `RetryPolicy.run` (for streamed parts, whose
 * body must be re-opened per attempt — the SDK refuses to retry streaming bodies — and for
 * failures while reading a response body). `run` never retries an error the SDK already retried.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import { Clock, systemClock } from './clock';
import { CapExceededError } from './errors';

export type ErrorKind = 'throttle' | 'transient' | 'cap-exceeded' | 'fatal';

export interface Classified {
  kind: ErrorKind;
  status?: number;
  code?: string;
  /** Wait demanded by the server (`Retry-After`), in ms. */
  retryAfterMs?: number;
}

export interface RetryPolicyOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  factor: number;
  budgetMs: number;
  maxAttempts: number;
  /** In [0,1); injected so tests can assert exact waits. */
  random: () => number;
  clock: Clock;
}

export const DEFAULT_RETRY: Omit<RetryPolicyOptions, 'clock' | 'random'> = {
  baseDelayMs: 1_000,
  maxDelayMs: 120_000,
  factor: 2,
  budgetMs: 10 * 60_000,
  maxAttempts: 40,
};

/** Retry counts for the metrics file (`backup_job_retries_total`). */
export class RetryStats {
  retries = 0;
  readonly byKind: Record<string, number> = {};
  record(kind: ErrorKind): void {
    this.retries += 1;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
  }
}

export type Decision =
  | { retry: true; delayMs: number; classified: Classified }
  | { retry: false; classified: Classified; reason: string };

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
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

export interface AttemptState {
  startedAt: number;
  /** Retries already taken for this call. */
  retries: number;
}

export class RetryPolicy {
  readonly opts: RetryPolicyOptions;
  readonly stats = new RetryStats();

  constructor(opts: Partial<RetryPolicyOptions> = {}) {
    this.opts = { ...DEFAULT_RETRY, random: Math.random, clock: systemClock, ...opts };
  }

  /** Backoff before retry number `retry` (1-based), "equal jitter": half fixed, half random. */
  backoffMs(retry: number): number {
    const { baseDelayMs, factor, maxDelayMs, random } = this.opts;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * Math.pow(factor, retry - 1));
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  decide(state: AttemptState, err: unknown): Decision {
    const now = this.opts.clock.now();
    const classified = classifyError(err, now);
    if (classified.kind === 'fatal') return { retry: false, classified, reason: 'not retryable' };
    if (classified.kind === 'cap-exceeded') return { retry: false, classified, reason: 'B2 cap exceeded' };
    if (state.retries + 1 >= this.opts.maxAttempts) {
      return { retry: false, classified, reason: `gave up after ${state.retries + 1} attempts` };
    }
    // Retry-After wins over the computed wait (b2-api.md §12).
    const delayMs = classified.retryAfterMs ?? this.backoffMs(state.retries + 1);
    const elapsed = now - state.startedAt;
    if (elapsed + delayMs > this.opts.budgetMs) {
      return {
        retry: false,
        classified,
        reason: `retry budget of ${Math.round(this.opts.budgetMs / 1000)} s exhausted`,
      };
    }
    return { retry: true, delayMs, classified };
  }

  /**
   * Runs `attempt` under the policy. `attempt` must build its request afresh each time (a new
   * file stream for a part). Cap-exceeded errors surface as `CapExceededError`.
   */
  async run<T>(attempt: (n: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const state: AttemptState = { startedAt: this.opts.clock.now(), retries: 0 };
    for (;;) {
      try {
        return await attempt(state.retries + 1);
      } catch (err) {
        if (signal?.aborted) throw err;
        // The SDK's middleware (B2RetryStrategy, same policy) already retried this request and
        // gave up: retrying again here would nest loops and double the budget.
        if (((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1)
          throw toJobError(err);
        const d = this.decide(state, err);
        if (!d.retry) throw toJobError(err, d.classified);
        this.stats.record(d.classified.kind);
        state.retries += 1;
        await this.opts.clock.sleep(d.delayMs, signal);
      }
    }
  }
}

/** Wraps cap-exceeded errors in a typed error; other errors pass through unchanged. */
export function toJobError(err: unknown, classified?: Classified): unknown {
  const c = classified ?? classifyError(err);
  if (c.kind === 'cap-exceeded') {
    return new CapExceededError(
      `B2 refused the request: ${c.code ?? 'cap exceeded'} (HTTP 403). Raise the account's cap in the B2 web UI; retrying cannot help.`,
      { cause: err },
    );
  }
  return err;
}

interface B2Token extends RetryToken {
  state: AttemptState;
  delayMs: number;
}

/** Adapter that lets the SDK's retry middleware use `RetryPolicy`. */
export class B2RetryStrategy implements RetryStrategyV2 {
  readonly mode = 'b2';
  constructor(private readonly policy: RetryPolicy) {}

  async acquireInitialRetryToken(): Promise<B2Token> {
    return makeToken({ startedAt: this.policy.opts.clock.now(), retries: 0 }, 0);
  }

  async refreshRetryTokenForRetry(token: B2Token, info: RetryErrorInfo): Promise<B2Token> {
    const d = this.policy.decide(token.state, info.error);
    // The middleware rethrows the original error when this throws; the job layer maps it.
    if (!d.retry) throw info.error;
    this.policy.stats.record(d.classified.kind);
    return makeToken({ startedAt: token.state.startedAt, retries: token.state.retries + 1 }, d.delayMs);
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
