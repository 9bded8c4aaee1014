/**
 * `verify --max-age` judging (scripts/lib/freshness.ts), as properties over any history of runs:
 * each backup target (database, provider, workspace name, audit-log name) is stale exactly when its
 * own newest success is older than --max-age — whatever the other targets' runs and the order the
 * manifests are read in; failed runs never make a target fresh; --retired targets are never stale;
 * runs outside the --prefix and targets outside --since never count.
 */
import fc from 'fast-check';
import { formatAge, freshness, FreshnessInput, isRetired, targetName } from '../../../scripts/lib/freshness';
import { RunRecord, runTargets, TargetFacts } from '../../../scripts/lib/manifestIndex';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR_MS = 3_600_000;
const MAX_AGE = { text: '26h', ms: 26 * HOUR_MS };
const NOW = T0 + 30 * 24 * HOUR_MS;

type Job = 'db-dump' | 'snapshot-config' | 'tf-state' | 'audit-logs';
interface RunSpec {
  job: Job;
  status: RunRecord['status'];
  startedAt: number;
  /** Database / provider / workspace / audit-log name. */
  name: string;
  /** The run listed no object (failed before choosing a key, or nothing new): only its manifest names it. */
  keyless: boolean;
}

const keyOf = (s: RunSpec, i: number): string =>
  ({
    'db-dump': `db/postgres/${s.name}/${i}.dump.gz`,
    'snapshot-config': `configs/${s.name}/2026-01-01/${i}.json`,
    'tf-state': `terraform-state/${s.name}/terraform.tfstate.enc`,
    'audit-logs': `audit-logs/${s.name}/2026/01/01/app.log@0-${i}.gz`,
  })[s.job];
const factsOf = (s: RunSpec): TargetFacts =>
  ({
    'db-dump': { details: { database: { engine: 'postgres', name: s.name } } },
    'snapshot-config': { provider: s.name, details: {} },
    'tf-state': { details: { name: s.name } },
    'audit-logs': { details: { name: s.name } },
  })[s.job];
const targetOf = (s: Pick<RunSpec, 'job' | 'name'>): string =>
  ({
    'db-dump': `db/postgres/${s.name}/`,
    'snapshot-config': `configs/${s.name}/`,
    'tf-state': `terraform-state/${s.name}/`,
    'audit-logs': `audit-logs:${s.name}`,
  })[s.job];

/** A run as readManifestIndex records it (targets through the same runTargets). */
const toRun = (s: RunSpec, i: number): RunRecord => {
  const keys = s.keyless ? [] : [keyOf(s, i)];
  return {
    job: s.job,
    status: s.status,
    startedAt: s.startedAt,
    manifestKey: `manifests/${s.job}/${i}.json`,
    keys,
    targets: runTargets(s.job, keys, factsOf(s)),
  };
};
const arbSpec = fc.record({
  job: fc.constantFrom<Job>('db-dump', 'snapshot-config', 'tf-state', 'audit-logs'),
  status: fc.constantFrom<RunRecord['status']>('ok', 'failed'),
  startedAt: fc.integer({ min: T0, max: NOW }),
  name: fc.constantFrom('billing', 'orders', 'gcp'),
  keyless: fc.boolean(),
});
const arbSpecs = fc.array(arbSpec, { maxLength: 40 });
const arbRuns = arbSpecs.map((ss) => ss.map(toRun));
const idOf = (f: { job: string; target: string | null }): string => `${f.job} ${f.target}`;
const judge = (runs: RunRecord[], extra: Partial<FreshnessInput> = {}): Record<string, boolean> =>
  Object.fromEntries(freshness({ runs, now: NOW, maxAge: MAX_AGE, ...extra }).map((f) => [idOf(f), f.stale]));
/** A deterministic shuffle driven by fast-check's seed. */
const shuffle = <T>(xs: T[], seed: number): T[] =>
  xs
    .map((x, i) => ({ x, k: Math.imul(i + 1, 2_654_435_761) ^ seed }))
    .sort((a, b) => a.k - b.k)
    .map((e) => e.x);

it('a target is stale iff its own newest success is older than --max-age, whatever other targets did and in any order', () => {
  fc.assert(
    fc.property(arbSpecs, fc.integer(), (specs, seed) => {
      const runs = specs.map(toRun);
      const got = freshness({ runs: shuffle(runs, seed), now: NOW, maxAge: MAX_AGE });
      const expectedTargets = [...new Set(specs.map((s) => `${s.job} ${targetOf(s)}`))].sort();
      expect(got.map(idOf).sort()).toEqual(expectedTargets);
      for (const f of got) {
        const own = specs.filter((s) => s.job === f.job && targetOf(s) === f.target);
        const okTimes = own.filter((s) => s.status === 'ok').map((s) => s.startedAt);
        const newest = okTimes.length ? Math.max(...okTimes) : undefined;
        expect(f.stale).toBe(newest === undefined || NOW - newest > MAX_AGE.ms);
        expect(f.failedSince).toBe(
          own.filter((s) => s.status === 'failed' && (newest === undefined || s.startedAt > newest)).length,
        );
        // Independent of every other target: its entry is the same judged on its own runs alone.
        const alone = runs.filter((r) => r.job === f.job && r.targets.includes(f.target!));
        expect(freshness({ runs: alone, now: NOW, maxAge: MAX_AGE })).toEqual([f]);
      }
      expect(got).toEqual(freshness({ runs, now: NOW, maxAge: MAX_AGE }));
    }),
  );
});

it('failed runs, however recent, never make a stale target fresh; a target with only failures is stale', () => {
  fc.assert(
    fc.property(arbRuns, fc.array(fc.integer({ min: T0, max: NOW }), { minLength: 1 }), (runs, times) => {
      const failed = times.map((t, i) =>
        toRun(
          { job: 'db-dump', status: 'failed', startedAt: t, name: 'billing', keyless: i % 2 === 0 },
          1000 + i,
        ),
      );
      const before = judge(runs);
      const after = judge([...runs, ...failed]);
      for (const [id, stale] of Object.entries(before)) if (stale) expect(after[id]).toBe(true);
      if (!('db-dump db/postgres/billing/' in before))
        expect(after['db-dump db/postgres/billing/']).toBe(true);
    }),
  );
});

it('a success no older than --max-age makes its target fresh; one second older does not', () => {
  fc.assert(
    fc.property(
      arbRuns,
      fc.oneof(fc.constant(MAX_AGE.ms), fc.integer({ min: 0, max: MAX_AGE.ms })),
      (runs, age) => {
        const billing = (r: RunRecord): boolean => r.targets.includes('db/postgres/billing/');
        const others = runs.filter((r) => !billing(r) || r.status !== 'ok');
        const ok = toRun(
          { job: 'db-dump', status: 'ok', startedAt: NOW - age, name: 'billing', keyless: false },
          999,
        );
        expect(judge([...others, ok])['db-dump db/postgres/billing/']).toBe(false);
        const old = { ...ok, startedAt: NOW - MAX_AGE.ms - 1000 };
        const older = others.filter((r) => !billing(r) || r.startedAt <= NOW - MAX_AGE.ms - 1000);
        expect(judge([...older, old])['db-dump db/postgres/billing/']).toBe(true);
      },
    ),
  );
});

it('another database dumped every hour never keeps a stopped one fresh', () => {
  const runs = [
    toRun(
      { job: 'db-dump', status: 'ok', startedAt: NOW - 72 * HOUR_MS, name: 'billing', keyless: false },
      0,
    ),
    ...Array.from({ length: 72 }, (_, h) =>
      toRun(
        { job: 'db-dump', status: 'ok', startedAt: NOW - h * HOUR_MS, name: 'orders', keyless: false },
        h + 1,
      ),
    ),
  ];
  const got = freshness({ runs, now: NOW, maxAge: MAX_AGE });
  expect(got.map((f) => [f.target, f.stale])).toEqual([
    ['db/postgres/billing/', true],
    ['db/postgres/orders/', false],
  ]);
  expect(got[0].problem).toBe(
    'db-dump db/postgres/billing/: last successful run 2026-01-28T00:00:00Z (3 d ago, older than --max-age 26h); if billing was decommissioned, pass --retired db/postgres/billing/',
  );
});

it('--retired targets are never stale and change nothing for the others', () => {
  fc.assert(
    fc.property(
      arbRuns,
      fc.subarray(['db/postgres/billing/', 'configs/gcp/', 'audit-logs:orders']),
      (runs, retired) => {
        const all = freshness({ runs, now: NOW, maxAge: MAX_AGE });
        const with_ = freshness({ runs, now: NOW, maxAge: MAX_AGE, retired });
        expect(with_.map(idOf)).toEqual(all.map(idOf)); // still reported
        all.forEach((f, i) => {
          const r = retired.includes(f.target ?? '');
          expect(with_[i].retired).toBe(r);
          expect(with_[i].stale).toBe(r ? false : f.stale);
          expect(with_[i].lastSuccess).toBe(f.lastSuccess);
        });
      },
    ),
  );
});

it('--retired matches a target exactly (trailing / optional) or every target under a prefix ending in /', () => {
  expect(isRetired('db/postgres/billing/', ['db/postgres/billing/'])).toBe(true);
  expect(isRetired('db/postgres/billing/', ['db/postgres/billing'])).toBe(true);
  expect(isRetired('db/postgres/billing2/', ['db/postgres/billing'])).toBe(false);
  expect(isRetired('db/postgres/billing/', ['db/postgres/'])).toBe(true);
  expect(isRetired('db/mysql/billing/', ['db/postgres/'])).toBe(false);
  expect(isRetired('audit-logs:web', ['audit-logs:web'])).toBe(true);
  expect(isRetired('audit-logs:webapp', ['audit-logs:web'])).toBe(false);
  expect(isRetired('audit-logs:web', ['audit-logs/'])).toBe(true);
  expect(isRetired('configs/gcp/', [])).toBe(false);
  expect(
    ['db/postgres/billing/', 'configs/gcp/', 'terraform-state/net-1a2b/', 'audit-logs:web'].map(targetName),
  ).toEqual(['billing', 'gcp', 'net-1a2b', 'web']);
});

it('--since: a target whose newest run of any kind is older is out of scope; the others are judged as without it', () => {
  const SINCE = { text: '7d', ms: 7 * 24 * HOUR_MS };
  fc.assert(
    fc.property(arbRuns, (runs) => {
      const all = freshness({ runs, now: NOW, maxAge: MAX_AGE });
      const since = freshness({ runs, now: NOW, maxAge: MAX_AGE, since: SINCE });
      const inScope = all.filter((f) =>
        runs.some((r) => r.job === f.job && r.targets.includes(f.target!) && r.startedAt >= NOW - SINCE.ms),
      );
      expect(since).toEqual(inScope);
    }),
  );
});

it('runs outside --prefix never count; the job that writes under the prefix is judged even with no run', () => {
  fc.assert(
    fc.property(arbRuns, (runs) => {
      const billing = runs.filter((r) => r.targets.includes('db/postgres/billing/'));
      const scoped = freshness({ runs, now: NOW, maxAge: MAX_AGE, prefix: 'db/postgres/billing/' });
      const alone = freshness({ runs: billing, now: NOW, maxAge: MAX_AGE, prefix: 'db/postgres/billing/' });
      expect(scoped).toEqual(alone);
      expect(scoped.map((f) => f.job)).toEqual(['db-dump']);
      // A wider prefix selects the targets under it, each judged on its own.
      const postgres = freshness({ runs, now: NOW, maxAge: MAX_AGE, prefix: 'db/postgres/' });
      const dbTargets = freshness({ runs, now: NOW, maxAge: MAX_AGE }).filter((f) => f.job === 'db-dump');
      expect(postgres).toEqual(
        dbTargets.length ? dbTargets : [expect.objectContaining({ target: null, stale: true })],
      );
    }),
  );
});

it('targets come from keys, else from the manifest; audit-logs always from its --name', () => {
  expect(runTargets('db-dump', ['db/mysql/shop/2026.sql.gz'])).toEqual(['db/mysql/shop/']);
  expect(
    runTargets('db-dump', [], { details: { database: { engine: 'postgres', name: 'billing' } } }),
  ).toEqual(['db/postgres/billing/']);
  expect(
    runTargets('snapshot-config', ['configs/aws/2026-01-01/a.json'], { provider: 'gcp', details: {} }),
  ).toEqual(['configs/aws/']);
  expect(runTargets('snapshot-config', [], { provider: 'gcp', details: {} })).toEqual(['configs/gcp/']);
  expect(runTargets('tf-state', [], { details: { name: 'net-1a2b3c4d' } })).toEqual([
    'terraform-state/net-1a2b3c4d/',
  ]);
  expect(
    runTargets('audit-logs', ['audit-logs/2026/01/01/a.log@0-9.gz'], { details: { name: 'web' } }),
  ).toEqual(['audit-logs:web']);
  expect(runTargets('audit-logs', ['audit-logs/2026/01/01/a.log@0-9.gz'])).toEqual([]);
  expect(
    runTargets('audit-logs', ['audit-logs/web/2026/01/01/a.log@0-9.gz'], { details: { name: 'web' } }),
  ).toEqual(['audit-logs:web']);
  expect(runTargets('db-dump', [], { details: {} })).toEqual([]);
});

it('--prefix audit-logs/ selects every audit-log source, also through runs with no new bytes (no keys)', () => {
  const web = toRun(
    { job: 'audit-logs', status: 'ok', startedAt: NOW - HOUR_MS, name: 'web', keyless: true },
    0,
  );
  const api = toRun(
    { job: 'audit-logs', status: 'ok', startedAt: NOW - 48 * HOUR_MS, name: 'api', keyless: false },
    1,
  );
  const at = (prefix: string): [string | null, boolean][] =>
    freshness({ runs: [web, api], now: NOW, maxAge: MAX_AGE, prefix }).map((f) => [f.target, f.stale]);
  expect(at('audit-logs/')).toEqual([
    ['audit-logs:api', true],
    ['audit-logs:web', false],
  ]);
  // keys name their source (audit-logs/<name>/…): a source's prefix selects it alone
  expect(at('audit-logs/web/')).toEqual([['audit-logs:web', false]]);
  expect(at('audit-logs/api/')).toEqual([['audit-logs:api', true]]);
  expect(isRetired('audit-logs:web', ['audit-logs/web/'])).toBe(true);
  expect(isRetired('audit-logs:web', ['audit-logs/api/'])).toBe(false);
  expect(at('db/')).toEqual([[null, true]]); // db-dump under db/: no run at all
});

it('a job whose runs name no target is judged as one; target-less runs of a job with targets count for none', () => {
  const loose = (status: RunRecord['status'], at: number, i: number): RunRecord => ({
    job: 'audit-logs',
    status,
    startedAt: at,
    manifestKey: `manifests/audit-logs/${i}.json`,
    keys: [],
    targets: [],
  });
  const onlyLoose = freshness({ runs: [loose('ok', NOW - HOUR_MS, 0)], now: NOW, maxAge: MAX_AGE });
  expect(onlyLoose).toEqual([expect.objectContaining({ job: 'audit-logs', target: null, stale: false })]);
  const named = toRun(
    { job: 'audit-logs', status: 'ok', startedAt: NOW - 48 * HOUR_MS, name: 'web', keyless: true },
    1,
  );
  const mixed = freshness({
    runs: [named, loose('ok', NOW - HOUR_MS, 2), loose('failed', NOW, 3)],
    now: NOW,
    maxAge: MAX_AGE,
  });
  expect(mixed).toEqual([expect.objectContaining({ target: 'audit-logs:web', stale: true, failedSince: 0 })]);
});

it('without --max-age nothing is stale but a --job that never succeeded', () => {
  const runs = [
    toRun({ job: 'db-dump', status: 'failed', startedAt: T0, name: 'billing', keyless: false }, 0),
  ];
  expect(freshness({ runs, now: NOW }).map((f) => f.stale)).toEqual([false]);
  const named = freshness({ runs, now: NOW, jobs: ['db-dump', 'tf-state'] });
  expect(named.map((f) => [f.job, f.target, f.stale, f.failedSince])).toEqual([
    ['db-dump', 'db/postgres/billing/', true, 1],
    ['tf-state', null, true, 0],
  ]);
  expect(named[0].problem).toBe(
    'db-dump db/postgres/billing/: no successful run (named by --job); 1 failed run(s) since, newest 2026-01-01T00:00:00Z; if billing was decommissioned, pass --retired db/postgres/billing/',
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

describe('a tf-state target replaced by its workspace’s new default name', () => {
  const OLD = 'terraform-state/network/';
  const NEW = 'network-3f9a12c0';
  /** A successful run under the new name that names the old target as replaced. */
  const replacing = (startedAt: number, i: number): RunRecord => ({
    ...toRun({ job: 'tf-state', status: 'ok', startedAt, name: NEW, keyless: false }, 1000 + i),
    supersedes: [OLD],
  });
  const arbOld = fc.array(
    fc.record({
      status: fc.constantFrom<RunRecord['status']>('ok', 'failed'),
      startedAt: fc.integer({ min: T0, max: NOW }),
    }),
    { minLength: 1, maxLength: 10 },
  );
  const entryOf = (runs: RunRecord[]) =>
    freshness({ runs, now: NOW, maxAge: MAX_AGE }).find((f) => f.target === OLD)!;

  it('is never stale when it has had no run since the first replacing run', () => {
    fc.assert(
      fc.property(
        arbOld,
        fc.array(fc.integer({ min: 1, max: 5 * 24 * HOUR_MS }), { minLength: 1, maxLength: 4 }),
        (old, gaps) => {
          const oldRuns = old.map((o, i) =>
            toRun({ job: 'tf-state', name: 'network', keyless: false, ...o }, i),
          );
          const newest = Math.max(...old.map((o) => o.startedAt));
          const news = gaps.map((g, i) => replacing(newest + g, i));
          const f = entryOf([...oldRuns, ...news]);
          expect(f.stale).toBe(false);
          expect(f.supersededBy).toBe(`terraform-state/${NEW}/`);
        },
      ),
    );
  });

  it('is judged exactly as without the replacing runs when it ran after the first of them', () => {
    fc.assert(
      fc.property(arbOld, fc.integer({ min: 1, max: 9 }), (old, cut) => {
        const oldRuns = old.map((o, i) =>
          toRun({ job: 'tf-state', name: 'network', keyless: false, ...o }, i),
        );
        const newest = Math.max(...old.map((o) => o.startedAt));
        const first = newest - cut; // the old name was written again after the first replacing run
        const withRecords = entryOf([...oldRuns, replacing(first, 0), replacing(NOW, 1)]);
        const without = entryOf(oldRuns);
        expect(withRecords.supersededBy).toBeUndefined();
        expect(withRecords.stale).toBe(without.stale);
      }),
    );
  });

  it('a failed run naming it replaces nothing', () => {
    const old = toRun({ job: 'tf-state', status: 'ok', startedAt: T0, name: 'network', keyless: false }, 0);
    const failed = { ...replacing(T0 + HOUR_MS, 0), status: 'failed' as const };
    expect(entryOf([old, failed])).toMatchObject({ stale: true });
  });
});
