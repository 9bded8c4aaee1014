/**
 * `verify --max-age` judging (scripts/lib/freshness.ts), as properties over any history of runs:
 * failed runs never make a job fresh, a success within --max-age always does, the order in which
 * manifests are read does not matter, and runs outside the --prefix never count.
 */
import fc from 'fast-check';
import { formatAge, freshness, FreshnessInput } from '../../../scripts/lib/freshness';
import { RunRecord } from '../../../scripts/lib/manifestIndex';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR_MS = 3_600_000;
const MAX_AGE = { text: '26h', ms: 26 * HOUR_MS };
const NOW = T0 + 30 * 24 * HOUR_MS;

const arbRun = fc.record({
  job: fc.constantFrom('db-dump', 'snapshot-config'),
  status: fc.constantFrom<RunRecord['status']>('ok', 'failed'),
  startedAt: fc.integer({ min: T0, max: NOW }),
  provider: fc.constantFrom('aws', 'gcp'),
});
const toRun = (
  r: { job: string; status: RunRecord['status']; startedAt: number; provider: string },
  i: number,
): RunRecord => ({
  job: r.job,
  status: r.status,
  startedAt: r.startedAt,
  manifestKey: `manifests/${r.job}/${i}.json`,
  keys: r.job === 'db-dump' ? [`db/postgres/${r.provider}/${i}.dump.gz`] : [`configs/${r.provider}/x.json`],
});
const arbRuns = fc.array(arbRun, { maxLength: 30 }).map((rs) => rs.map(toRun));
const judge = (runs: RunRecord[], extra: Partial<FreshnessInput> = {}): Record<string, boolean> =>
  Object.fromEntries(freshness({ runs, now: NOW, maxAge: MAX_AGE, ...extra }).map((f) => [f.job, f.stale]));

it('failed runs, however recent, never make a stale job fresh', () => {
  fc.assert(
    fc.property(arbRuns, fc.array(fc.integer({ min: T0, max: NOW }), { minLength: 1 }), (runs, times) => {
      const failed = times.map((t, i) => ({
        ...toRun({ job: 'db-dump', status: 'failed', startedAt: t, provider: 'aws' }, 1000 + i),
      }));
      const before = judge(runs);
      const after = judge([...runs, ...failed]);
      for (const [job, stale] of Object.entries(before)) if (stale) expect(after[job]).toBe(true);
      if (!('db-dump' in before)) expect(after['db-dump']).toBe(true); // only failures: stale
    }),
  );
});

it('a success no older than --max-age makes its job fresh; one second older does not', () => {
  fc.assert(
    fc.property(arbRuns, fc.integer({ min: 0, max: MAX_AGE.ms }), (runs, age) => {
      const others = runs.filter((r) => r.job !== 'db-dump' || r.status !== 'ok');
      const ok = toRun({ job: 'db-dump', status: 'ok', startedAt: NOW - age, provider: 'aws' }, 999);
      expect(judge([...others, ok])['db-dump']).toBe(false);
      const old = { ...ok, startedAt: NOW - MAX_AGE.ms - 1000 };
      expect(judge([...others.filter((r) => r.startedAt <= NOW - MAX_AGE.ms - 1000), old])['db-dump']).toBe(
        true,
      );
    }),
  );
});

it('the result does not depend on the order manifests are read in', () => {
  fc.assert(
    fc.property(arbRuns, fc.integer(), (runs, seed) => {
      const shuffled = [...runs].sort((a, b) => ((a.startedAt ^ seed) % 7) - ((b.startedAt ^ seed) % 7));
      expect(freshness({ runs: shuffled, now: NOW, maxAge: MAX_AGE })).toEqual(
        freshness({ runs, now: NOW, maxAge: MAX_AGE }),
      );
    }),
  );
});

it('runs outside --prefix never count; the job that writes under the prefix is judged even with no run', () => {
  fc.assert(
    fc.property(arbRuns, (runs) => {
      const gcp = runs.filter((r) => r.keys[0].includes('/gcp/'));
      const scoped = freshness({ runs, now: NOW, maxAge: MAX_AGE, prefix: 'db/postgres/gcp/' });
      const alone = freshness({ runs: gcp, now: NOW, maxAge: MAX_AGE, prefix: 'db/postgres/gcp/' });
      expect(scoped).toEqual(alone);
      expect(scoped.map((f) => f.job)).toContain('db-dump');
    }),
  );
});

it('without --max-age nothing is stale but a --job that never succeeded', () => {
  const runs = [toRun({ job: 'db-dump', status: 'failed', startedAt: T0, provider: 'aws' }, 0)];
  expect(freshness({ runs, now: NOW }).map((f) => f.stale)).toEqual([false]);
  const named = freshness({ runs, now: NOW, jobs: ['db-dump', 'tf-state'] });
  expect(named.map((f) => [f.job, f.stale, f.failedSince])).toEqual([
    ['db-dump', true, 1],
    ['tf-state', true, 0],
  ]);
  expect(named[0].problem).toBe(
    'db-dump: no successful run (named by --job); 1 failed run(s) since, newest 2026-01-01T00:00:00Z',
  );
  expect(named[1].problem).toBe('tf-state: no run at all (named by --job)');
});

it('formats ages for people', () => {
  expect([59, 119, 120, 7_199, 7_200, 172_799, 172_800, 16 * 86_400 + 5].map(formatAge)).toEqual([
    '59 s',
    '119 s',
    '2 min',
    '119 min',
    '2 h',
    '47 h',
    '2 d',
    '16 d',
  ]);
});
