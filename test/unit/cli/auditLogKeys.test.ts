/**
 * audit-logs segment keys name their source (issue 11: two sources never write one key): keys of
 * different names never collide, whatever the file path, day, generation and offsets; no new key
 * equals a key of the old layout (`audit-logs/YYYY/MM/DD/…`); both layouts parse back.
 */
import fc from 'fast-check';
import { parseSegmentKey, segmentKey, sourceNameProblem } from '../../../scripts/jobs/auditLogs';

const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,24}$/).filter((n) => sourceNameProblem(n) === undefined);
const day = fc
  .tuple(
    fc.integer({ min: 1970, max: 2999 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 31 }),
  )
  .map(([y, m, d]) => `${y}/${String(m).padStart(2, '0')}/${String(d).padStart(2, '0')}`);
/** Any relative path a walk can return: segments of any characters but `/`, joined by `/`. */
const rel = fc
  .array(
    fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/')),
    { minLength: 1, maxLength: 4 },
  )
  .map((parts) => parts.join('/'));
const gen = fc.nat({ max: 1000 });
const offsets = fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => [Math.min(a, b), Math.max(a, b) + 1] as const);
const seg = fc.record({ day, rel, gen, offsets });

/** The layout before names were part of keys (scripts/jobs/auditLogs.ts before this change). */
const oldKey = (d: string, r: string, g: number, s: number, e: number): string =>
  `audit-logs/${d}/${r}${g > 0 ? `~${g}` : ''}@${s}-${e}.gz`;

it('keys of different names never collide, whatever rel, day, generation and offsets', () => {
  fc.assert(
    fc.property(name, name, seg, seg, (n1, n2, a, b) => {
      fc.pre(n1 !== n2);
      const k1 = segmentKey(n1, a.day, a.rel, a.gen, ...a.offsets);
      const k2 = segmentKey(n2, b.day, b.rel, b.gen, ...b.offsets);
      expect(k1).not.toBe(k2);
      expect(k1.startsWith(`audit-logs/${n1}/`)).toBe(true);
    }),
    { numRuns: 2000 },
  );
});

it('the same name, rel and generation at equal offsets is the same key (retries stay idempotent)', () => {
  fc.assert(
    fc.property(name, seg, (n, a) => {
      expect(segmentKey(n, a.day, a.rel, a.gen, ...a.offsets)).toBe(
        segmentKey(n, a.day, a.rel, a.gen, ...a.offsets),
      );
    }),
  );
});

it('within one name, different files, days, generations or offsets never share a key', () => {
  // paths ending like a generation marker (`a.log~1`) are the case to beat
  const tricky = fc.oneof(
    rel,
    rel.map((r) => `${r}~1`),
    fc.constantFrom('a.log', 'a.log~1', 'a.log~1~0'),
  );
  const s = fc.record({ day, rel: tricky, gen, offsets });
  fc.assert(
    fc.property(name, s, s, (n, a, b) => {
      const same =
        a.day === b.day && a.rel === b.rel && a.gen === b.gen && a.offsets.join() === b.offsets.join();
      fc.pre(!same);
      expect(segmentKey(n, a.day, a.rel, a.gen, ...a.offsets)).not.toBe(
        segmentKey(n, b.day, b.rel, b.gen, ...b.offsets),
      );
    }),
    { numRuns: 3000 },
  );
  expect(segmentKey('n', '2026/01/01', 'a.log', 1, 0, 5)).not.toBe(
    segmentKey('n', '2026/01/01', 'a.log~1', 0, 0, 5),
  );
});

it('no new-layout key equals an old-layout key', () => {
  fc.assert(
    fc.property(name, seg, seg, (n, a, b) => {
      expect(segmentKey(n, a.day, a.rel, a.gen, ...a.offsets)).not.toBe(
        oldKey(b.day, b.rel, b.gen, ...b.offsets),
      );
    }),
    { numRuns: 2000 },
  );
});

it('both layouts parse back to what made them (the old one without a name)', () => {
  const noTilde = rel.filter((r) => !/~\d+$/.test(r) && !r.includes('@'));
  fc.assert(
    fc.property(name, day, noTilde, gen, offsets, (n, d, r, g, [s, e]) => {
      expect(parseSegmentKey(segmentKey(n, d, `${r}~7`, g, s, e))).toMatchObject({
        rel: `${r}~7`,
        generation: g,
      });
      expect(parseSegmentKey(segmentKey(n, d, r, g, s, e))).toEqual({
        name: n,
        day: d,
        rel: r,
        generation: g,
        start: s,
        end: e,
      });
      expect(parseSegmentKey(oldKey(d, r, g, s, e))).toEqual({
        name: undefined,
        day: d,
        rel: r,
        generation: g,
        start: s,
        end: e,
      });
    }),
    { numRuns: 1000 },
  );
});

it('names that are not one safe key segment are refused', () => {
  for (const bad of ['', 'a/b', '..', '.', '2026', 'a b', 'ü', 'x'.repeat(101), 'a\nb'])
    expect(sourceNameProblem(bad)).toBeDefined();
  for (const good of ['audit', 'host-b-audit', 'k8s.apiserver_1', '20266', 'x'.repeat(100)])
    expect(sourceNameProblem(good)).toBeUndefined();
});
