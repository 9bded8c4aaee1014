import { OutcomeUnknown } from '../../../infra/b2/retry';
import { FakeClock } from '../../helpers/fakeClock';
import { CapExceededError } from '../../../scripts/lib/errors';
import {
  B2RetryStrategy,
  classifyError,
  currentOperation,
  describeRetry,
  jobRetryPolicy,
  parseRetryAfter,
  RetryPolicy,
} from '../../../scripts/lib/retry';

/** Builds an error shaped like an aws-sdk-js-v3 service exception. */
function s3Error(status: number, name: string, headers: Record<string, string> = {}, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: status },
    $response: { statusCode: status, headers },
  });
}

function netError(code: string): Error {
  return Object.assign(new Error(`socket error ${code}`), { code });
}

describe('classifyError', () => {
  it('treats 503 SlowDown and 429 as throttles', () => {
    expect(classifyError(s3Error(503, 'SlowDown')).kind).toBe('throttle');
    expect(classifyError(s3Error(429, 'TooManyRequests')).kind).toBe('throttle');
  });

  it('treats 500/502/504/408 and socket resets as transient', () => {
    for (const s of [500, 502, 504, 408])
      expect(classifyError(s3Error(s, 'InternalError')).kind).toBe('transient');
    for (const c of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
      expect(classifyError(netError(c)).kind).toBe('transient');
    expect(classifyError(new Error('socket hang up')).kind).toBe('transient');
    expect(classifyError(Object.assign(new Error('wrapped'), { cause: netError('ECONNRESET') })).kind).toBe(
      'transient',
    );
  });

  it('stops at once on a 403 cap exceeded, and on other 4xx', () => {
    expect(
      classifyError(
        s3Error(403, 'AccessDenied', {}, 'storage_cap_exceeded: Cannot upload files, storage cap exceeded'),
      ).kind,
    ).toBe('cap-exceeded');
    expect(classifyError(s3Error(403, 'transaction_cap_exceeded')).kind).toBe('cap-exceeded');
    expect(classifyError(s3Error(403, 'AccessDenied')).kind).toBe('fatal');
    expect(classifyError(s3Error(404, 'NoSuchKey')).kind).toBe('fatal');
    expect(classifyError(s3Error(400, 'InvalidArgument')).kind).toBe('fatal');
  });

  it('reads Retry-After in seconds and as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(classifyError(s3Error(503, 'SlowDown', { 'Retry-After': '7' }), now).retryAfterMs).toBe(7000);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('RetryPolicy', () => {
  const fixed = (clock: FakeClock, r = 0.5): RetryPolicy => jobRetryPolicy({ clock, random: () => r });

  it('backs off exponentially with equal jitter up to the 2-minute cap', () => {
    const p = jobRetryPolicy({ random: () => 0 });
    // random 0 → exactly half the ceiling: 1 s, 2 s, 4 s … ceilings; capped at 120 s.
    expect([1, 2, 3, 4, 8, 9, 12].map((n) => p.backoffMs(n))).toEqual([
      500, 1000, 2000, 4000, 60_000, 60_000, 60_000,
    ]);
    const q = jobRetryPolicy({ random: () => 0.999999 });
    expect(q.backoffMs(1)).toBe(1000);
    expect(q.backoffMs(10)).toBe(120_000);
  });

  it('retries throttles with the computed waits and counts retries', async () => {
    const clock = new FakeClock();
    const p = fixed(clock);
    let calls = 0;
    const out = await p.run(async () => {
      calls += 1;
      if (calls <= 3) throw s3Error(503, 'SlowDown');
      return 'done';
    });
    expect(out).toBe('done');
    expect(clock.sleeps).toEqual([750, 1500, 3000]);
    expect(p.stats.retries).toBe(3);
    expect(p.stats.byKind).toEqual({ throttle: 3 });
  });

  it('lets Retry-After win over the computed wait', async () => {
    const clock = new FakeClock();
    const p = fixed(clock);
    let calls = 0;
    await p.run(async () => {
      if (++calls === 1) throw s3Error(429, 'TooManyRequests', { 'retry-after': '42' });
      return 1;
    });
    expect(clock.sleeps).toEqual([42_000]);
  });

  it('gives up when the next wait would overrun the 10-minute budget', async () => {
    const clock = new FakeClock();
    const p = fixed(clock, 0.999999);
    let calls = 0;
    await expect(
      p.run(async () => {
        calls += 1;
        throw s3Error(503, 'SlowDown');
      }),
    ).rejects.toMatchObject({ name: 'SlowDown' });
    const total = clock.sleeps.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(600_000);
    // 1+2+4+…+64 s = 127 s, then 120 s waits: 127 + 3×120 = 487 s; a fourth 120 s wait would pass 600 s.
    expect(clock.sleeps).toHaveLength(10);
    expect(calls).toBe(11);
  });

  it('does not retry a cap-exceeded 403 and surfaces CapExceededError', async () => {
    const clock = new FakeClock();
    const p = fixed(clock);
    let calls = 0;
    const err = await p
      .run(async () => {
        calls += 1;
        throw s3Error(403, 'AccessDenied', {}, 'download_cap_exceeded');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapExceededError);
    expect((err as Error).message).toMatch(/Raise the account's cap/);
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('does not retry again what the SDK middleware already retried', async () => {
    const clock = new FakeClock();
    const p = fixed(clock);
    let calls = 0;
    const sdkGaveUp = Object.assign(s3Error(503, 'SlowDown'), {
      $metadata: { httpStatusCode: 503, attempts: 12 },
    });
    await expect(
      p.run(async () => {
        calls += 1;
        throw sdkGaveUp;
      }),
    ).rejects.toBe(sdkGaveUp);
    expect(calls).toBe(1);
  });

  it('does not retry ordinary client errors', async () => {
    const clock = new FakeClock();
    const p = fixed(clock);
    await expect(p.run(async () => Promise.reject(s3Error(400, 'InvalidArgument')))).rejects.toMatchObject({
      name: 'InvalidArgument',
    });
    expect(clock.sleeps).toEqual([]);
  });
});

describe('jobRetryPolicy with idempotent: false', () => {
  it('does not resend after a reset (may have reached B2), but does after a refused connection or a throttle', async () => {
    const clock = new FakeClock();
    const p = jobRetryPolicy({ clock, random: () => 0 });
    let calls = 0;
    const reset = netError('ECONNRESET');
    const got = await p
      .run(
        async () => {
          calls += 1;
          throw reset;
        },
        { operation: 'PutObject', idempotent: false },
      )
      .catch((e: unknown) => e);
    expect(got).toBeInstanceOf(OutcomeUnknown);
    expect((got as Error).cause).toBe(reset);
    expect(calls).toBe(1);
    const errs = [netError('ECONNREFUSED'), s3Error(503, 'SlowDown')];
    calls = 0;
    await expect(
      p.run(
        async () => {
          const e = errs[calls++];
          if (e) throw e;
          return 'ok';
        },
        { idempotent: false },
      ),
    ).resolves.toBe('ok');
    expect(calls).toBe(3);
  });
});

describe('B2RetryStrategy (SDK adapter)', () => {
  it('hands the policy decisions to the SDK middleware as tokens', async () => {
    const clock = new FakeClock();
    const policy = jobRetryPolicy({ clock, random: () => 0 });
    const s = new B2RetryStrategy(policy);
    const t0 = await s.acquireInitialRetryToken();
    expect(t0.getRetryCount()).toBe(0);
    const t1 = await s.refreshRetryTokenForRetry(t0, {
      error: s3Error(503, 'SlowDown'),
      errorType: 'THROTTLING',
    } as never);
    expect(t1.getRetryCount()).toBe(1);
    // The strategy waits itself (abortable, on the policy's clock); the middleware waits 0.
    expect(t1.getRetryDelay()).toBe(0);
    expect(clock.sleeps).toEqual([500]);
    const t2 = await s.refreshRetryTokenForRetry(t1, {
      error: s3Error(503, 'SlowDown', { 'retry-after': '3' }),
      errorType: 'THROTTLING',
    } as never);
    expect(clock.sleeps).toEqual([500, 3000]);
    await expect(
      s.refreshRetryTokenForRetry(t2, {
        error: s3Error(403, 'AccessDenied', {}, 'storage_cap_exceeded'),
        errorType: 'CLIENT_ERROR',
      } as never),
    ).rejects.toBeTruthy();
    expect(policy.stats.retries).toBe(2);
  });
});

describe('connection failures, retry lines, interruption (issue 11 §9)', () => {
  const refused = (): Error =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const dns = (): Error =>
    Object.assign(new Error('getaddrinfo ENOTFOUND s3.nowhere.invalid'), { code: 'ENOTFOUND' });

  it.each([
    ['connection refused', refused],
    ['DNS failure', dns],
  ])('%s: gives up within the default 60 s, not the 10-minute budget', async (_, make) => {
    const clock = new FakeClock();
    const policy = jobRetryPolicy({ clock, random: () => 0.5 });
    const t0 = clock.now();
    let attempts = 0;
    await expect(
      policy.run(async () => {
        attempts += 1;
        throw make();
      }),
    ).rejects.toThrow(/cannot reach the S3 endpoint \(retried for up to 60 s\): .*E(CONNREFUSED|NOTFOUND) /);
    expect(clock.now() - t0).toBeLessThanOrEqual(60_000);
    expect(attempts).toBeGreaterThan(3);
    expect(classifyError(make())).toMatchObject({ kind: 'transient', connect: 'refused' });
  });

  it('counts the connection budget from the first connection failure, with room for one connect timeout', async () => {
    const clock = new FakeClock();
    const policy = jobRetryPolicy({
      clock,
      random: () => 0,
      connectBudgetMs: 20_000,
      connectTimeoutMs: 5_000,
    });
    let n = 0;
    let firstConnectFailure = 0;
    await expect(
      policy.run(async () => {
        n += 1;
        // Four minutes of throttling first: the connection budget must not be used up by them.
        if (clock.now() - Date.UTC(2026, 0, 1) < 240_000) throw s3Error(503, 'SlowDown');
        firstConnectFailure ||= clock.now();
        throw refused();
      }),
    ).rejects.toThrow(/cannot reach/);
    const spent = clock.now() - firstConnectFailure;
    expect(spent).toBeGreaterThan(5_000);
    expect(spent + 5_000).toBeLessThanOrEqual(20_000);
    expect(n).toBeGreaterThan(5);
  });

  it('a connect timeout from the HTTP handler is a connection failure', () => {
    const e = Object.assign(new Error('Socket timed out without establishing a connection within 10000 ms'), {
      name: 'TimeoutError',
    });
    expect(classifyError(e)).toMatchObject({ kind: 'transient', connect: 'timeout' });
  });

  it('reports every retry once, with operation, error and wait, to onRetry', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const policy = jobRetryPolicy({ clock, random: () => 0, onRetry: (e) => lines.push(describeRetry(e)) });
    let n = 0;
    await policy.run(
      async () => {
        n += 1;
        if (n === 1) throw s3Error(503, 'SlowDown');
        if (n === 2) throw refused();
        return 'ok';
      },
      { operation: 'UploadPart db/x.dump.gz #3' },
    );
    expect(lines).toEqual([
      'retry: UploadPart db/x.dump.gz #3 failed (attempt 1): 503 SlowDown: SlowDown; retrying in 0.5 s',
      'retry: UploadPart db/x.dump.gz #3 failed (attempt 2): ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9; retrying in 0.5 s',
    ]);
  });

  it('the SDK adapter reports retries under the operation the S3 client named', async () => {
    const clock = new FakeClock();
    const events: string[] = [];
    const policy = jobRetryPolicy({ clock, random: () => 0, onRetry: (e) => events.push(e.operation) });
    const s = new B2RetryStrategy(policy);
    const t0 = await s.acquireInitialRetryToken();
    await currentOperation.run('ListObjectVersions db/', () =>
      s.refreshRetryTokenForRetry(t0, { error: s3Error(503, 'SlowDown'), errorType: 'THROTTLING' } as never),
    );
    expect(events).toEqual(['ListObjectVersions db/']);
  });

  it('an aborted signal ends a 2-minute wait at once, in run() and in the SDK adapter', async () => {
    const controller = new AbortController();
    const policy = jobRetryPolicy({ signal: controller.signal, random: () => 0 });
    const started = Date.now();
    const running = policy.run(async () => {
      throw s3Error(503, 'SlowDown', { 'retry-after': '120' });
    });
    const s = new B2RetryStrategy(policy);
    const t0 = await s.acquireInitialRetryToken();
    const refreshing = s.refreshRetryTokenForRetry(t0, {
      error: s3Error(503, 'SlowDown', { 'retry-after': '120' }),
      errorType: 'THROTTLING',
    } as never);
    setTimeout(() => controller.abort(new Error('interrupted by SIGINT')), 100);
    await expect(running).rejects.toThrow('interrupted by SIGINT');
    await expect(refreshing).rejects.toThrow('interrupted by SIGINT');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
