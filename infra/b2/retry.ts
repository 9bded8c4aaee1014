/**
 * The one retry policy type (docs/architecture.md "Retries"; rclone `lib/pacer`, restic
 * `backend/retry`, b2sdk `b2http`), used by the native client (`infra/b2`, settings
 * `DEFAULT_RETRY_OPTIONS`) and by the S3 backup jobs (`scripts/lib/retry.ts`, its own settings and
 * classifier). What differs between the two is data: the settings and the `classify` function.
 *
 * - A classifier turns a thrown value into a `Verdict`: retryable or not, a kind for stats, the
 *   server's `Retry-After`, and whether the request may have reached the server and taken effect.
 * - Wait before retry n (1-based): ceiling = min(maxDelayMs, initialDelayMs × multiplier^(n-1));
 *   wait = ceiling × (1 − jitterRatio) + random() × (ceiling × jitterRatio + jitterMs).
 *   (Native: ratio 0 and 1 s additive jitter, as b2sdk; jobs: ratio ½, "equal jitter".)
 * - A `Retry-After` replaces the computed wait (capped by `maxRetryAfterMs`), without jitter: the
 *   server said exactly when (docs/b2-api.md §12).
 * - A budget bounds the whole call, attempts and waits included: a wait that would end past it is
 *   not taken and the last error surfaces.
 * - **Not idempotent** (`run(fn, { idempotent: false })`): a failure that may have reached the
 *   server (connection reset or timeout after sending, 500/502/504) is never retried blindly; the
 *   call ends with `OutcomeUnknown` so the caller reconciles (lists what exists) before sending it
 *   again. Failures that prove the server did not act (connection refused, 429, 503, 4xx) are
 *   retried or thrown exactly as for idempotent calls. Use it for b2_create_key, b2_create_bucket
 *   and any call whose repeat is not harmless.
 * - Clock, sleep and random are injected so tests assert exact waits.
 */
import type { Clock } from './clock';
import { systemClock } from './clock';
import { B2Error, ConnectionError } from './errors';

export type { Clock } from './clock';
export { systemClock } from './clock';

export interface RetryOptions {
  /** Total attempts including the first (b2sdk: 5 for API calls). */
  maxAttempts: number;
  /** Ceiling of the wait before the first retry. */
  initialDelayMs: number;
  /** Growth per retry (b2sdk: 1.5). */
  multiplier: number;
  /** Cap on the computed (exponential) wait (b2sdk: 64 s). */
  maxDelayMs: number;
  /** Uniform jitter added to the computed wait: [0, jitterMs). */
  jitterMs: number;
  /** Share of the computed wait that is random, in [0, 1] (½ = "equal jitter"). */
  jitterRatio: number;
  /** Cap on a server-sent Retry-After. */
  maxRetryAfterMs: number;
  /** Budget for the whole call, all attempts and waits included. */
  budgetMs: number;
}

/** The native client's settings (b2sdk-like). */
export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 1000,
  multiplier: 1.5,
  maxDelayMs: 64_000,
  jitterMs: 1000,
  jitterRatio: 0,
  maxRetryAfterMs: 5 * 60_000,
  budgetMs: 10 * 60_000,
});

/** What a classifier says about one failure. */
export interface Verdict {
  /** Sending the same request again may succeed. */
  retryable: boolean;
  /** Label for stats and logs (`ServiceUnavailable`, `throttle`, `cap-exceeded`, …). */
  kind: string;
  /** Wait demanded by the server (`Retry-After`), in ms. */
  retryAfterMs?: number;
  /**
   * The request may have reached the server and taken effect (the answer was lost or was a 5xx
   * that does not say "not done"). Only consulted for calls run with `idempotent: false`.
   */
  mayHaveTakenEffect: boolean;
}

export type Classifier = (err: unknown, nowMs: number) => Verdict;

/**
 * The native client's classifier: B2Error.retryable decides; anything that is not a B2Error (a
 * programming error) is never retried. 429 and 503 say "not done"; 408 means B2 did not read the
 * whole request; a refused connection never reached it. Everything else that is retryable (500,
 * 502, 504, reset, timeout) may have been applied.
 */
export function classifyB2Error(err: unknown): Verdict {
  if (!(err instanceof B2Error)) return { retryable: false, kind: 'not-b2', mayHaveTakenEffect: true };
  const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
  const retryAfterMs =
    typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0
      ? Math.round(retryAfter * 1000)
      : undefined;
  const notDone =
    err.status === 429 ||
    err.status === 503 ||
    err.status === 408 ||
    (err instanceof ConnectionError && err.code === 'connection_refused') ||
    (err.status >= 400 && err.status < 500);
  return { retryable: err.retryable, kind: err.name, retryAfterMs, mayHaveTakenEffect: !notDone };
}

/**
 * A non-idempotent call failed in a way that does not tell whether the server acted. Check the
 * server's state (e.g. list keys / buckets by name) before sending it again. `cause` is the failure.
 */
export class OutcomeUnknown extends Error {
  override readonly name = 'OutcomeUnknown';
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `${operation}: the request may or may not have taken effect (${detail}); it is not idempotent, ` +
        'so it was not retried: check what exists before sending it again',
      { cause },
    );
    this.operation = operation;
  }
}

export interface RetryEvent {
  operation: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  error: unknown;
  verdict: Verdict;
  waitMs: number;
}

export interface RunOptions {
  /** Names the call in events and `OutcomeUnknown` (default `request`). */
  operation?: string;
  /** Default true. False: never retry a failure that may have taken effect (see above). */
  idempotent?: boolean;
  /** Overrides the verdict's `retryable` for this call (uploads also retry an expired upload token). */
  isRetryable?: (err: unknown, verdict: Verdict) => boolean;
  /** Overrides the policy's attempt limit for this call (uploads / downloads allow more). */
  maxAttempts?: number;
  onRetry?: (event: RetryEvent) => void;
  /** Aborts the waits; an aborted call is never retried. */
  signal?: AbortSignal;
}

export interface RetryDeps {
  clock?: Clock;
  /** In [0, 1); injected so tests assert exact waits. */
  random?: () => number;
  /** Default `classifyB2Error`. */
  classify?: Classifier;
  /** Observes every retry of every call run by this policy. */
  onRetry?: (event: RetryEvent) => void;
  /** Maps the error a call finally fails with (jobs wrap cap-exceeded in a typed error). */
  finalError?: (err: unknown, verdict: Verdict) => unknown;
}

/** Retries taken, by verdict kind (the jobs' `backup_job_retries_total`). */
export class RetryStats {
  retries = 0;
  readonly byKind: Record<string, number> = {};
  record(kind: string): void {
    this.retries += 1;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
  }
}

export interface AttemptState {
  startedAt: number;
  /** Retries already taken for this call. */
  retries: number;
}

export type Decision =
  | { retry: true; delayMs: number; verdict: Verdict }
  | { retry: false; verdict: Verdict; reason: string; outcomeUnknown: boolean };

export class RetryPolicy {
  readonly options: Readonly<RetryOptions>;
  readonly clock: Clock;
  readonly stats = new RetryStats();
  private readonly random: () => number;
  private readonly classify: Classifier;
  private readonly onRetry?: (event: RetryEvent) => void;
  private readonly finalError?: (err: unknown, verdict: Verdict) => unknown;

  constructor(
    options: Partial<RetryOptions> = {},
    deps: RetryDeps = {},
    defaults: Readonly<RetryOptions> = DEFAULT_RETRY_OPTIONS,
  ) {
    this.options = Object.freeze({ ...defaults, ...definedOnly(options) });
    validate(this.options);
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.classify = deps.classify ?? classifyB2Error;
    this.onRetry = deps.onRetry;
    this.finalError = deps.finalError;
  }

  /** Hands one retry to the policy's observer, for drivers that wait elsewhere (the SDK adapter). */
  notifyRetry(event: RetryEvent): void {
    this.onRetry?.(event);
  }

  /** Computed wait before retry number `retry` (1 = first retry), jitter included. */
  backoffMs(retry: number): number {
    const { initialDelayMs, multiplier, maxDelayMs, jitterMs, jitterRatio } = this.options;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * Math.pow(multiplier, retry - 1));
    return Math.round(ceiling * (1 - jitterRatio) + this.random() * (ceiling * jitterRatio + jitterMs));
  }

  /** The wait after a failure judged `verdict` on retry number `retry`. */
  waitFor(verdict: Verdict, retry: number): number {
    if (verdict.retryAfterMs !== undefined)
      return Math.min(this.options.maxRetryAfterMs, verdict.retryAfterMs);
    return this.backoffMs(retry);
  }

  /** Whether to retry after `err`, and how long to wait (the SDK adapter in scripts uses this too). */
  decide(state: AttemptState, err: unknown, call: RunOptions = {}): Decision {
    const now = this.clock.now();
    const verdict = this.classify(err, now);
    const retryable = call.isRetryable ? call.isRetryable(err, verdict) : verdict.retryable;
    const stop = (reason: string, outcomeUnknown = false): Decision => ({
      retry: false,
      verdict,
      reason,
      outcomeUnknown,
    });
    if (!retryable) return stop('not retryable');
    if (call.idempotent === false && verdict.mayHaveTakenEffect) return stop('outcome unknown', true);
    const maxAttempts = call.maxAttempts ?? this.options.maxAttempts;
    if (state.retries + 1 >= maxAttempts) return stop(`gave up after ${state.retries + 1} attempts`);
    const delayMs = this.waitFor(verdict, state.retries + 1);
    if (now - state.startedAt + delayMs > this.options.budgetMs) {
      return stop(`retry budget of ${Math.round(this.options.budgetMs / 1000)} s exhausted`);
    }
    return { retry: true, delayMs, verdict };
  }

  /**
   * Runs `fn` until it succeeds, fails with a non-retryable error, runs out of attempts, or the
   * next wait would cross the budget. `fn` receives the 1-based attempt number and must build its
   * request afresh each time (a new stream for a body).
   */
  async run<T>(fn: (attempt: number) => Promise<T>, call: RunOptions = {}): Promise<T> {
    const state: AttemptState = { startedAt: this.clock.now(), retries: 0 };
    const operation = call.operation ?? 'request';
    for (;;) {
      try {
        return await fn(state.retries + 1);
      } catch (err) {
        if (call.signal?.aborted) throw err;
        const d = this.decide(state, err, call);
        if (!d.retry) {
          if (d.outcomeUnknown) throw new OutcomeUnknown(operation, err);
          throw this.finalError ? this.finalError(err, d.verdict) : err;
        }
        this.stats.record(d.verdict.kind);
        state.retries += 1;
        const event = {
          operation,
          attempt: state.retries,
          error: err,
          verdict: d.verdict,
          waitMs: d.delayMs,
        };
        (call.onRetry ?? this.onRetry)?.(event);
        await this.clock.sleep(d.delayMs, call.signal);
      }
    }
  }
}

function definedOnly(o: Partial<RetryOptions>): Partial<RetryOptions> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<RetryOptions>;
}

function validate(o: RetryOptions): void {
  const check = (field: keyof RetryOptions, ok: boolean, rule: string) => {
    if (!ok) throw new RangeError(`retry option [${field}] must be ${rule}, got ${String(o[field])}`);
  };
  check('maxAttempts', Number.isInteger(o.maxAttempts) && o.maxAttempts >= 1, 'an integer >= 1');
  check('initialDelayMs', o.initialDelayMs >= 0, '>= 0');
  check('multiplier', o.multiplier >= 1, '>= 1');
  check('maxDelayMs', o.maxDelayMs >= 0, '>= 0');
  check('jitterMs', o.jitterMs >= 0, '>= 0');
  check('jitterRatio', o.jitterRatio >= 0 && o.jitterRatio <= 1, 'in [0, 1]');
  check('maxRetryAfterMs', o.maxRetryAfterMs >= 0, '>= 0');
  check('budgetMs', o.budgetMs > 0, '> 0');
}
