import {
  B2Error,
  BadRequest,
  ConnectionError,
  Conflict,
  NotAllowedByKey,
  RequestTimeout,
  ServiceError,
  ServiceUnavailable,
  TooManyRequests,
} from '../../../infra/b2/errors';
import { DEFAULT_RETRY_OPTIONS, OutcomeUnknown, RetryPolicy } from '../../../infra/b2/retry';
import { fakeClock } from '../../helpers/fakeClock';

const op = 'b2_list_buckets';
const unavailable = () => new ServiceUnavailable(503, 'service_unavailable', 'busy', op);

/** Fails with the given errors in order, then returns 'ok'; counts attempts. */
function failing(errors: Error[]) {
  let calls = 0;
  const fn = async (attempt: number) => {
    calls++;
    expect(attempt).toBe(calls);
    const e = errors[calls - 1];
    if (e) throw e;
    return 'ok';
  };
  return { fn, calls: () => calls };
}

describe('RetryPolicy', () => {
  it('backs off exponentially with jitter: exact waits with random=0.5', async () => {
    const clock = fakeClock();
    const policy = new RetryPolicy({}, { clock, random: () => 0.5 });
    const f = failing([unavailable(), unavailable(), unavailable(), unavailable()]);
    await expect(policy.run(f.fn, { operation: op })).resolves.toBe('ok');
    // 1000×1.5^(n-1) + 0.5×1000 jitter
    expect(clock.waits).toEqual([1500, 2000, 2750, 3875]);
    expect(f.calls()).toBe(5);
  });

  it('caps the computed wait at maxDelayMs (jitter still added)', () => {
    const policy = new RetryPolicy(
      { maxDelayMs: 3000, jitterMs: 100 },
      { clock: fakeClock(), random: () => 0 },
    );
    expect([1, 2, 3, 4, 5, 20].map((n) => policy.backoffMs(n))).toEqual([1000, 1500, 2250, 3000, 3000, 3000]);
    const withJitter = new RetryPolicy(
      { maxDelayMs: 3000, jitterMs: 100 },
      { clock: fakeClock(), random: () => 0.99 },
    );
    expect(withJitter.backoffMs(20)).toBe(3099);
  });

  it('gives up after maxAttempts and throws the last error', async () => {
    const clock = fakeClock();
    const policy = new RetryPolicy({ maxAttempts: 3 }, { clock, random: () => 0 });
    const errs = [
      unavailable(),
      unavailable(),
      new ServiceUnavailable(503, 'service_unavailable', 'third', op),
    ];
    const f = failing(errs);
    await expect(policy.run(f.fn, { operation: op })).rejects.toBe(errs[2]);
    expect(f.calls()).toBe(3);
    expect(clock.waits).toEqual([1000, 1500]);
  });

  it('Retry-After wins over the computed backoff, without jitter', async () => {
    const clock = fakeClock();
    const policy = new RetryPolicy({}, { clock, random: () => 0.9 });
    const f = failing([
      new TooManyRequests(429, 'too_many_requests', 'slow down', op, 7),
      new ServiceUnavailable(503, 'service_unavailable', 'x', op, 0),
      new TooManyRequests(429, 'too_many_requests', 'no header', op, undefined),
    ]);
    await policy.run(f.fn, { operation: op });
    // 7 s from the header, 0 s from the header, then computed retry 3: 1000×1.5² + 0.9×1000
    expect(clock.waits).toEqual([7000, 0, 3150]);
  });

  it('caps Retry-After at maxRetryAfterMs', async () => {
    const clock = fakeClock();
    const policy = new RetryPolicy({ maxRetryAfterMs: 30_000 }, { clock, random: () => 0 });
    const f = failing([new TooManyRequests(429, 'too_many_requests', 'x', op, 3600)]);
    await policy.run(f.fn, { operation: op });
    expect(clock.waits).toEqual([30_000]);
  });

  it('stops before a wait that would cross the total deadline', async () => {
    const clock = fakeClock();
    const policy = new RetryPolicy(
      { budgetMs: 4000, maxAttempts: 100, jitterMs: 0 },
      { clock, random: () => 0 },
    );
    const errors = Array.from({ length: 10 }, () => unavailable());
    const f = failing(errors);
    await expect(policy.run(f.fn, { operation: op })).rejects.toBe(errors[2]);
    // waits 1000 + 1500 = 2500; the next (2250) would end at 4750 > 4000
    expect(clock.waits).toEqual([1000, 1500]);
  });

  it('counts time spent in attempts against the deadline', async () => {
    const clock = fakeClock();
    const policy = new RetryPolicy({ budgetMs: 10_000, jitterMs: 0 }, { clock, random: () => 0 });
    let calls = 0;
    const fn = async () => {
      calls++;
      clock.advance(9_500); // a slow attempt
      throw unavailable();
    };
    await expect(policy.run(fn, { operation: op })).rejects.toBeInstanceOf(ServiceUnavailable);
    expect(calls).toBe(1);
    expect(clock.waits).toEqual([]);
  });

  it.each<[string, B2Error]>([
    ['400 bad_request', new BadRequest(400, 'bad_request', 'x', op)],
    ['401 unauthorized', new NotAllowedByKey(401, 'unauthorized', 'x', op)],
    ['409 conflict', new Conflict(409, 'conflict', 'x', op)],
    ['501', new ServiceError(501, 'unknown', 'x', op)],
  ])('never retries %s', async (_label, err) => {
    const clock = fakeClock();
    const policy = new RetryPolicy({}, { clock });
    const f = failing([err]);
    await expect(policy.run(f.fn, { operation: op })).rejects.toBe(err);
    expect(f.calls()).toBe(1);
    expect(clock.waits).toEqual([]);
  });

  it.each<[string, B2Error]>([
    ['408', new RequestTimeout(408, 'request_timeout', 'x', op)],
    ['429', new TooManyRequests(429, 'too_many_requests', 'x', op)],
    ['500', new ServiceError(500, 'internal_error', 'x', op)],
    ['503', unavailable()],
    ['504', new ServiceError(504, 'unknown', 'x', op)],
    ['connection reset', new ConnectionError(0, 'connection_reset', 'x', op)],
    ['timeout', new ConnectionError(0, 'timeout', 'x', op)],
  ])('retries %s', async (_label, err) => {
    const clock = fakeClock();
    const policy = new RetryPolicy({}, { clock, random: () => 0 });
    const f = failing([err]);
    await expect(policy.run(f.fn, { operation: op })).resolves.toBe('ok');
    expect(f.calls()).toBe(2);
  });

  it('does not retry non-B2 errors (programming errors surface at once)', async () => {
    const policy = new RetryPolicy({}, { clock: fakeClock() });
    const f = failing([new TypeError('boom')]);
    await expect(policy.run(f.fn, { operation: op })).rejects.toThrow('boom');
    expect(f.calls()).toBe(1);
  });

  it('honours a per-call retry predicate and attempt limit, and reports each retry', async () => {
    const clock = fakeClock();
    const policy = new RetryPolicy({}, { clock, random: () => 0 });
    const conflict = new Conflict(409, 'conflict', 'x', op);
    const f = failing([conflict, conflict, conflict]);
    const events: number[] = [];
    await expect(
      policy.run(f.fn, {
        operation: op,
        isRetryable: (e) => e instanceof Conflict,
        maxAttempts: 2,
        onRetry: (e) => events.push(e.waitMs),
      }),
    ).rejects.toBe(conflict);
    expect(f.calls()).toBe(2);
    expect(events).toEqual([1000]);
  });

  it('has b2sdk-like named defaults and validates options naming the field', () => {
    expect(DEFAULT_RETRY_OPTIONS).toMatchObject({
      maxAttempts: 5,
      initialDelayMs: 1000,
      multiplier: 1.5,
      maxDelayMs: 64_000,
    });
    expect(() => new RetryPolicy({ maxAttempts: 0 })).toThrow(/\[maxAttempts\]/);
    expect(() => new RetryPolicy({ multiplier: 0.5 })).toThrow(/\[multiplier\]/);
    expect(() => new RetryPolicy({ budgetMs: 0 })).toThrow(/\[budgetMs\]/);
    expect(new RetryPolicy({ maxAttempts: undefined }).options.maxAttempts).toBe(5);
  });
});

describe('RetryPolicy with idempotent: false', () => {
  const create = 'b2_create_key';
  const maybeDone: [string, B2Error][] = [
    ['connection reset', new ConnectionError(0, 'connection_reset', 'x', create)],
    ['timeout', new ConnectionError(0, 'timeout', 'x', create)],
    ['500', new ServiceError(500, 'internal_error', 'x', create)],
    ['502', new ServiceError(502, 'unknown', 'x', create)],
    ['504', new ServiceError(504, 'unknown', 'x', create)],
  ];
  it.each(maybeDone)('never resends after %s: OutcomeUnknown carrying the cause', async (_l, err) => {
    const clock = fakeClock();
    const policy = new RetryPolicy({}, { clock, random: () => 0 });
    const f = failing([err]);
    const got = await policy.run(f.fn, { operation: create, idempotent: false }).catch((e: unknown) => e);
    expect(got).toBeInstanceOf(OutcomeUnknown);
    expect((got as OutcomeUnknown).cause).toBe(err);
    expect((got as Error).message).toMatch(/b2_create_key: .*check what exists/);
    expect(f.calls()).toBe(1);
    expect(clock.waits).toEqual([]);
    // The same failure on an idempotent call is retried.
    const again = failing([err]);
    await expect(policy.run(again.fn, { operation: create })).resolves.toBe('ok');
  });

  it.each<[string, B2Error]>([
    ['connection refused', new ConnectionError(0, 'connection_refused', 'x', create)],
    ['429', new TooManyRequests(429, 'too_many_requests', 'x', create, 1)],
    ['503', new ServiceUnavailable(503, 'service_unavailable', 'x', create)],
    ['408', new RequestTimeout(408, 'request_timeout', 'x', create)],
  ])('retries %s (B2 did not act)', async (_l, err) => {
    const policy = new RetryPolicy({}, { clock: fakeClock(), random: () => 0 });
    const f = failing([err, err]);
    await expect(policy.run(f.fn, { operation: create, idempotent: false })).resolves.toBe('ok');
    expect(f.calls()).toBe(3);
  });

  it('throws a final 4xx unchanged (not OutcomeUnknown)', async () => {
    const policy = new RetryPolicy({}, { clock: fakeClock() });
    const dup = new BadRequest(400, 'duplicate_bucket_name', 'x', 'b2_create_bucket');
    await expect(
      policy.run(failing([dup]).fn, { operation: 'b2_create_bucket', idempotent: false }),
    ).rejects.toBe(dup);
  });

  it('counts retries by kind in stats', async () => {
    const policy = new RetryPolicy({}, { clock: fakeClock(), random: () => 0 });
    await policy.run(failing([unavailable(), unavailable()]).fn, { operation: op });
    expect(policy.stats.retries).toBe(2);
    expect(policy.stats.byKind).toEqual({ ServiceUnavailable: 2 });
  });
});
