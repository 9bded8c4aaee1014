/**
 * Injected time: retry waits, budgets, ages and schedules read `now()` and wait with `sleep()`,
 * so tests drive them with a fake clock (test/helpers/fakeClock.ts) and assert exact waits.
 * Shared by the native client and the backup jobs (scripts → infra/b2 is an allowed direction).
 */
export interface Clock {
  /** Epoch milliseconds (monotonic enough for budgets and deadlines). */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(t);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
