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
 *
 * Two drivers use this policy and nothing else retries: `B2RetryStrategy` (the SDK's retry
 * middleware, for calls with re-sendable bodies) and `RetryPolicy.run` (for streamed parts, whose
 * body must be re-opened per attempt — the SDK refuses to retry streaming bodies — and for
 * failures while reading a response body). `run` never retries an error the SDK already retried.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import type { Clock } from '../../infra/b2/clock';
import { AttemptState, RetryOptions, RetryPolicy, Verdict } from '../../infra/b2/retry';
import { CapExceededError } from './errors';

export { RetryPolicy } from '../../infra/b2/retry';

export type ErrorKind = 'throttle' | 'transient' | 'cap-exceeded' | 'fatal';

export interface Classified {
  kind: ErrorKind;
  status?: number;
  code?: string;
  /** Wait demanded by the server (`Retry-After`), in ms. */
  retryAfterMs?: number;
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
}

/** The jobs' retry policy: `JOB_RETRY_OPTIONS` overridden by `opts`, the S3 classifier. */
export function jobRetryPolicy(opts: Partial<JobRetryOptions> = {}): RetryPolicy {
  const { clock, random, ...settings } = opts;
  return new RetryPolicy(
    settings,
    { clock, random, classify: classifyVerdict, finalError: (err, v) => toJobError(err, v.kind) },
    JOB_RETRY_OPTIONS,
  );
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

/** `classifyError` as a verdict of the shared policy; never retries what the SDK already retried. */
export function classifyVerdict(err: unknown, nowMs: number): Verdict {
  const c = classifyError(err, nowMs);
  // The SDK's middleware (B2RetryStrategy, same policy) sets `attempts` only when it gives up:
  // retrying again in `run` would nest loops and double the budget.
  const sdkAttempts = (err as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts ?? 1;
  const retryable = (c.kind === 'throttle' || c.kind === 'transient') && sdkAttempts <= 1;
  // A refused connection or a throttle says the server did not act; other transients may have.
  const refused = (err as { code?: string } | null)?.code === 'ECONNREFUSED';
  return {
    retryable,
    kind: c.kind,
    retryAfterMs: c.retryAfterMs,
    mayHaveTakenEffect: c.kind === 'transient' && !refused,
  };
}

/** Wraps cap-exceeded errors in a typed error; other errors pass through unchanged. */
export function toJobError(err: unknown, kind?: string): unknown {
  const c = classifyError(err);
  if ((kind ?? c.kind) === 'cap-exceeded') {
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
    return makeToken({ startedAt: this.policy.clock.now(), retries: 0 }, 0);
  }

  async refreshRetryTokenForRetry(token: B2Token, info: RetryErrorInfo): Promise<B2Token> {
    const d = this.policy.decide(token.state, info.error);
    // The middleware rethrows the original error when this throws; the job layer maps it.
    if (!d.retry) throw info.error;
    this.policy.stats.record(d.verdict.kind);
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
