/**
 * The one retry policy (style.md §4; rclone `lib/pacer`, restic `backend/retry`, b2sdk `b2http`).
 *
 * - Only errors whose `retryable` is true are retried (429, 408, 5xx but 501, connection
 *   failures); every other 4xx is thrown at once.
 * - Wait before retry n (1-based) = min(maxDelayMs, initialDelayMs × multiplier^(n-1))
 *   + random() × jitterMs. A `Retry-After` from B2 replaces the computed wait (capped by
 *   `maxRetryAfterMs`), without jitter: the server said exactly when.
 * - A total deadline bounds the whole call: if the next wait would end past it, the last error
 *   is thrown instead of sleeping.
 * - Clock, sleep and random are injected so tests assert exact waits.
 */
import { B2Error } from './errors';

export interface Clock {
  /** Milliseconds, monotonic enough for deadlines. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryOptions {
  /** Total attempts including the first (b2sdk: 5 for API calls). */
  maxAttempts: number;
  /** Wait before the first retry. */
  initialDelayMs: number;
  /** Growth per retry (b2sdk: 1.5). */
  multiplier: number;
  /** Cap on the computed (exponential) wait (b2sdk: 64 s). */
  maxDelayMs: number;
  /** Uniform jitter added to the computed wait: [0, jitterMs). */
  jitterMs: number;
  /** Cap on a server-sent Retry-After. */
  maxRetryAfterMs: number;
  /** Budget for the whole call, all attempts and waits included. */
  deadlineMs: number;
}

export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 1000,
  multiplier: 1.5,
  maxDelayMs: 64_000,
  jitterMs: 1000,
  maxRetryAfterMs: 5 * 60_000,
  deadlineMs: 10 * 60_000,
});

export interface RetryEvent {
  operation: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  error: B2Error;
  waitMs: number;
}

export interface RunOptions {
  operation: string;
  /** Overrides `err.retryable` for this call (uploads also retry an expired upload token). */
  isRetryable?: (err: B2Error) => boolean;
  /** Overrides the policy's attempt limit for this call (uploads / downloads allow more). */
  maxAttempts?: number;
  onRetry?: (event: RetryEvent) => void;
}

export class RetryPolicy {
  readonly options: Readonly<RetryOptions>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly onRetry?: (event: RetryEvent) => void;

  /** `deps.onRetry` observes every retry of every call run by this policy (uploads included). */
  constructor(
    options: Partial<RetryOptions> = {},
    deps: { clock?: Clock; random?: () => number; onRetry?: (event: RetryEvent) => void } = {},
  ) {
    this.options = Object.freeze({ ...DEFAULT_RETRY_OPTIONS, ...definedOnly(options) });
    validate(this.options);
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.onRetry = deps.onRetry;
  }

  /** Computed wait before retry number `retry` (1 = first retry), jitter included. */
  backoffMs(retry: number): number {
    const { initialDelayMs, multiplier, maxDelayMs, jitterMs } = this.options;
    const base = Math.min(maxDelayMs, initialDelayMs * Math.pow(multiplier, retry - 1));
    return Math.round(base + this.random() * jitterMs);
  }

  /** The wait the policy will use after `err` on retry number `retry`. */
  waitFor(err: B2Error, retry: number): number {
    const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0) {
      return Math.min(this.options.maxRetryAfterMs, Math.round(retryAfter * 1000));
    }
    return this.backoffMs(retry);
  }

  /**
   * Runs `fn` until it succeeds, fails with a non-retryable error, runs out of attempts, or the
   * next wait would cross the deadline. `fn` receives the 1-based attempt number.
   */
  async run<T>(fn: (attempt: number) => Promise<T>, opts: RunOptions): Promise<T> {
    const start = this.clock.now();
    const maxAttempts = opts.maxAttempts ?? this.options.maxAttempts;
    const isRetryable = opts.isRetryable ?? ((e: B2Error) => e.retryable);
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!(err instanceof B2Error) || !isRetryable(err) || attempt >= maxAttempts) throw err;
        const waitMs = this.waitFor(err, attempt);
        if (this.clock.now() + waitMs - start > this.options.deadlineMs) throw err;
        const event = { operation: opts.operation, attempt, error: err, waitMs };
        (opts.onRetry ?? this.onRetry)?.(event);
        await this.clock.sleep(waitMs);
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
  check('maxRetryAfterMs', o.maxRetryAfterMs >= 0, '>= 0');
  check('deadlineMs', o.deadlineMs > 0, '> 0');
}
