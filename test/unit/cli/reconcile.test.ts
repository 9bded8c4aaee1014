/**
 * The reconciliation at the heart of `verify` (scripts/lib/reconcile.ts), as a property: for any
 * history of backup runs under a lifecycle rule, simulated B2 lifecycle at any later time leaves no
 * finding (nothing healthy turns red); and any single act of tampering — deleting a listed version
 * before its time, hiding a name, writing a version no run listed — is reported.
 */
import fc from 'fast-check';
import { B2Rule } from '../../../scripts/lib/lifecycle';
import { ManifestEntry, manifestStartedAt } from '../../../scripts/lib/manifestIndex';
import { stamp } from '../../../scripts/lib/timeparse';
import { VersionEntry } from '../../../scripts/lib/objects';
import { DAY_MS, hiddenManifests, reconcile } from '../../../scripts/lib/reconcile';

const T0 = Date.parse('2026-01-01T00:00:00Z');

interface History {
  entries: ManifestEntry[];
  versions: VersionEntry[];
}

/** Runs at the given day offsets, each writing a new version of `key` (a manifest entry each). */
function history(key: string, days: number[]): History {
  const entries: ManifestEntry[] = [];
  const versions: VersionEntry[] = [];
  days.forEach((d, i) => {
    const t = T0 + d * DAY_MS;
    const versionId = `v${i}`;
    entries.push({
      key,
      versionId,
      sha256: 'a'.repeat(64),
      size: 10,
      status: 'uploaded',
      manifestKey: `manifests/job/${i}.json`,
      job: 'snapshot-config',
      runStartedAt: t - 1000,
    });
    versions.push({ key, versionId, isLatest: false, deleteMarker: false, lastModified: t, size: 10 });
  });
  return { entries, versions };
}

/** What B2's daily lifecycle pass leaves at `now` (emulator/jobs/lifecyclePlan.ts semantics). */
function lifecycle(versions: VersionEntry[], rule: B2Rule, now: number): VersionEntry[] {
  let list = [...versions].sort((a, b) => b.lastModified - a.lastModified);
  const hide = rule.daysFromUploadingToHiding;
  if (hide && list[0] && !list[0].deleteMarker && list[0].lastModified + hide * DAY_MS <= now) {
    list = [
      {
        key: list[0].key,
        versionId: 'hide',
        isLatest: true,
        deleteMarker: true,
        lastModified: list[0].lastModified + hide * DAY_MS,
        size: 0,
      },
      ...list,
    ];
  }
  const del = rule.daysFromHidingToDeleting;
  if (del) list = list.filter((v, i) => i === 0 || list[i - 1].lastModified + del * DAY_MS > now);
  return list.map((v, i) => ({ ...v, isLatest: i === 0 }));
}

const arbRule = fc.record({
  fileNamePrefix: fc.constant('configs/'),
  daysFromUploadingToHiding: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
  daysFromHidingToDeleting: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
});
const arbDays = fc
  .uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 8 })
  .map((a) => a.sort((x, y) => x - y));

it('any run history under any rule, at any later time: no findings', () => {
  fc.assert(
    fc.property(arbRule, arbDays, fc.integer({ min: 0, max: 200 }), (rule, days, later) => {
      const h = history('configs/aws/x.json', days);
      const now = T0 + (days[days.length - 1] + later) * DAY_MS;
      const versions = lifecycle(h.versions, rule, now);
      const r = reconcile({ entries: h.entries, versions, rules: [rule], now });
      expect(r.findings).toEqual([]);
    }),
  );
});

it('deleting the current listed version is always missing (no rule deletes the current upload)', () => {
  fc.assert(
    fc.property(arbRule, arbDays, fc.integer({ min: 0, max: 400 }), (rule, days, later) => {
      const h = history('configs/aws/x.json', days);
      const now = T0 + (days[days.length - 1] + later) * DAY_MS;
      const noHiding = { ...rule, daysFromUploadingToHiding: null };
      const versions = lifecycle(h.versions, noHiding, now).filter(
        (v) => v.versionId !== `v${days.length - 1}`,
      );
      const r = reconcile({ entries: h.entries, versions, rules: [noHiding], now });
      expect(r.findings).toContainEqual(
        expect.objectContaining({ problem: 'missing', versionId: `v${days.length - 1}` }),
      );
    }),
  );
});

it('a hide marker no rule explains is hidden; a version no run wrote is replaced', () => {
  fc.assert(
    fc.property(arbDays, fc.integer({ min: 1, max: 10 }), (days, after) => {
      const h = history('configs/aws/x.json', days);
      const last = T0 + days[days.length - 1] * DAY_MS;
      const now = last + after * DAY_MS;
      const noRule: B2Rule[] = [];
      const hidden = reconcile({
        entries: h.entries,
        versions: [
          {
            key: 'configs/aws/x.json',
            versionId: 'h',
            isLatest: true,
            deleteMarker: true,
            lastModified: now - 1000,
            size: 0,
          },
          ...h.versions,
        ],
        rules: noRule,
        now,
      });
      expect(hidden.findings.map((f) => f.problem)).toEqual(['hidden']);
      const replaced = reconcile({
        entries: h.entries,
        versions: [
          {
            key: 'configs/aws/x.json',
            versionId: 'evil',
            isLatest: true,
            deleteMarker: false,
            lastModified: now - 1000,
            size: 3,
          },
          ...h.versions,
        ],
        rules: noRule,
        now,
      });
      expect(replaced.findings).toEqual([
        expect.objectContaining({ problem: 'replaced', versionId: 'evil' }),
      ]);
    }),
  );
});

it('a manifest key gives back its run start (restores start their manifest search there)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2099-12-31T00:00:00Z') }),
      (t) => {
        expect(manifestStartedAt(`manifests/db-dump/${stamp(t)}.json`)).toBe(t);
      },
    ),
  );
  expect(manifestStartedAt('manifests/db-dump/custom.json')).toBeUndefined();
});

describe('hiddenManifests', () => {
  const m = (key: string, versionId: string, day: number, deleteMarker = false): VersionEntry => ({
    key,
    versionId,
    isLatest: false,
    deleteMarker,
    lastModified: T0 + day * DAY_MS,
    size: deleteMarker ? 0 : 100,
  });
  it('names a run manifest whose newest entry is a hide marker, unless a rule hides it by then', () => {
    const versions = [
      m('manifests/db-dump/a.json', 'a1', 0),
      m('manifests/db-dump/a.json', 'h1', 2, true),
      m('manifests/db-dump/b.json', 'b1', 1),
      m('configs/aws/x.json', 'x1', 0),
      m('configs/aws/x.json', 'hx', 1, true),
    ];
    expect(hiddenManifests(versions, []).map((f) => [f.problem, f.key, f.versionId])).toEqual([
      ['hidden', 'manifests/db-dump/a.json', 'a1'],
    ]);
    const rule: B2Rule = {
      fileNamePrefix: 'manifests/',
      daysFromUploadingToHiding: 2,
      daysFromHidingToDeleting: 30,
    };
    expect(hiddenManifests(versions, [rule])).toEqual([]);
  });
});
