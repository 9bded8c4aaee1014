/** Lifecycle planning per name (docs/b2-api.md §5), on synthetic versions and a fixed clock. */
import type { FileRecord, LifecycleRule } from '../../../emulator/core/types';
import { DAY_MS, dueUnfinished, planName, ruleFor } from '../../../emulator/jobs/lifecyclePlan';

const T0 = Date.UTC(2026, 0, 1);
let n = 0;
function v(
  action: 'upload' | 'hide' | 'start',
  ageDays: number,
  extra: Partial<FileRecord> = {},
): FileRecord {
  n++;
  return {
    fileId: `f${n}`,
    accountId: 'a',
    bucketId: 'b',
    fileName: 'x',
    action,
    seq: n,
    contentLength: 1,
    contentSha1: 'none',
    contentMd5: null,
    contentType: 'b2/x-auto',
    fileInfo: {},
    uploadTimestamp: T0 - ageDays * DAY_MS,
    serverSideEncryption: null,
    fileRetention: null,
    legalHold: null,
    replicationStatus: null,
    chunks: [],
    ...extra,
  };
}
const rule = (hide: number | null, del: number | null, cancel: number | null = null): LifecycleRule => ({
  fileNamePrefix: '',
  daysFromUploadingToHiding: hide,
  daysFromHidingToDeleting: del,
  daysFromStartingToCancelingUnfinishedLargeFiles: cancel,
});

describe('lifecycle plan', () => {
  it('hides the current upload after N whole days, not before', () => {
    expect(planName([v('upload', 30)], rule(30, null), T0).hide).toBe(true);
    expect(planName([v('upload', 29.9)], rule(30, null), T0).hide).toBe(false);
    expect(planName([v('hide', 40), v('upload', 50)], rule(30, null), T0).hide).toBe(false);
  });

  it('deletes a superseded version N days after the newer one landed; never the current upload', () => {
    const current = v('upload', 5);
    const old = v('upload', 100);
    expect(planName([current, old], rule(null, 5), T0).deleteIds).toEqual([old.fileId]);
    expect(planName([current, old], rule(null, 6), T0).deleteIds).toEqual([]);
    expect(planName([v('upload', 1000)], rule(null, 1), T0).deleteIds).toEqual([]);
  });

  it('removes a hide marker once no older upload remains', () => {
    const marker = v('hide', 10);
    const old = v('upload', 20);
    expect(planName([marker, old], rule(null, 10), T0).deleteIds).toEqual([marker.fileId, old.fileId]);
    expect(planName([marker, old], rule(null, 11), T0).deleteIds).toEqual([]);
  });

  it('locked versions stay', () => {
    const old = v('upload', 100, { legalHold: 'on' });
    const retained = v('upload', 90, {
      fileRetention: { mode: 'governance', retainUntilTimestamp: T0 + DAY_MS },
    });
    const plan = planName([v('upload', 50), retained, old], rule(null, 1), T0);
    expect(plan.deleteIds).toEqual([]);
    expect(plan.lockedIds).toEqual([retained.fileId, old.fileId]);
  });

  it('cancels unfinished large files after N days', () => {
    expect(dueUnfinished(v('start', 7), rule(null, null, 7), T0)).toBe(true);
    expect(dueUnfinished(v('start', 6), rule(null, null, 7), T0)).toBe(false);
    expect(dueUnfinished(v('start', 60), rule(null, 1, null), T0)).toBe(false);
  });

  it('picks the matching rule; overlapping (S3-set) rules combine to the most cost-saving', () => {
    const rules = [
      { ...rule(30, null), fileNamePrefix: 'logs/' },
      { ...rule(null, 5), fileNamePrefix: 'db/' },
    ];
    expect(ruleFor(rules, 'db/x')?.daysFromHidingToDeleting).toBe(5);
    expect(ruleFor(rules, 'other')).toBeNull();
    const overlapping = [
      { ...rule(30, 10), fileNamePrefix: '' },
      { ...rule(60, 2), fileNamePrefix: 'a/' },
    ];
    expect(ruleFor(overlapping, 'a/b')).toMatchObject({
      daysFromUploadingToHiding: 30,
      daysFromHidingToDeleting: 2,
    });
  });
});
