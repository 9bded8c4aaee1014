import { checkB2Rules, fromS3Rules, planLifecycle, ruleFor } from '../../../scripts/lib/lifecycle';
import { VersionEntry } from '../../../scripts/lib/objects';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

function v(key: string, day: number, opts: Partial<VersionEntry> = {}): VersionEntry {
  return {
    key,
    versionId: `${key}@${day}`,
    isLatest: false,
    deleteMarker: false,
    lastModified: T0 + day * DAY,
    size: 100,
    ...opts,
  };
}

describe('fromS3Rules', () => {
  it("folds B2's two S3 rules per hide rule back into one native rule", () => {
    const rules = fromS3Rules([
      { ID: 'a', Status: 'Enabled', Filter: { Prefix: 'configs/' }, Expiration: { Days: 90 } },
      {
        ID: 'b',
        Status: 'Enabled',
        Filter: { Prefix: 'configs/' },
        Expiration: { ExpiredObjectDeleteMarker: true },
        NoncurrentVersionExpiration: { NoncurrentDays: 365 },
      },
      {
        ID: 'c',
        Status: 'Enabled',
        Filter: { Prefix: 'db/' },
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
      { ID: 'off', Status: 'Disabled', Filter: { Prefix: 'x/' }, Expiration: { Days: 1 } },
    ]);
    expect(rules).toEqual([
      { fileNamePrefix: 'configs/', daysFromUploadingToHiding: 90, daysFromHidingToDeleting: 365 },
      {
        fileNamePrefix: 'db/',
        daysFromHidingToDeleting: 1,
        daysFromStartingToCancelingUnfinishedLargeFiles: 7,
      },
    ]);
  });

  it('picks the longest matching prefix', () => {
    const rules = [{ fileNamePrefix: '' }, { fileNamePrefix: 'db/' }, { fileNamePrefix: 'db/pg/' }];
    expect(ruleFor(rules, 'db/pg/x')?.fileNamePrefix).toBe('db/pg/');
    expect(ruleFor(rules, 'other')?.fileNamePrefix).toBe('');
  });
});

describe('planLifecycle', () => {
  const rules = [
    { fileNamePrefix: 'configs/', daysFromUploadingToHiding: 90, daysFromHidingToDeleting: 365 },
    {
      fileNamePrefix: 'terraform-state/',
      daysFromHidingToDeleting: 90,
      daysFromStartingToCancelingUnfinishedLargeFiles: 7,
    },
  ];

  it('hides the current version N days after upload, then deletes it', () => {
    const acts = planLifecycle(rules, [v('configs/a.json', 0, { isLatest: true })]);
    expect(acts.map((a) => [a.action, (a.dueAt - T0) / DAY])).toEqual([
      ['hide', 90],
      ['delete', 455],
    ]);
  });

  it('deletes a superseded version N days after the newer upload; never hides current state', () => {
    const acts = planLifecycle(rules, [
      v('terraform-state/n/s.enc', 10, { isLatest: true }),
      v('terraform-state/n/s.enc', 3),
    ]);
    expect(acts).toHaveLength(1);
    expect(acts[0]).toMatchObject({ action: 'delete', versionId: 'terraform-state/n/s.enc@3' });
    expect((acts[0].dueAt - T0) / DAY).toBe(100);
  });

  it('counts a hide marker as the moment older versions became hidden, and removes an orphan marker', () => {
    const acts = planLifecycle(rules, [
      v('terraform-state/x', 20, { deleteMarker: true, isLatest: true, size: 0 }),
      v('terraform-state/x', 5),
    ]);
    expect(acts.map((a) => [a.action, (a.dueAt - T0) / DAY])).toEqual([['delete', 110]]);
    const orphan = planLifecycle(rules, [
      v('terraform-state/y', 20, { deleteMarker: true, isLatest: true, size: 0 }),
    ]);
    expect(orphan.map((a) => a.action)).toEqual(['remove-hide-marker']);
  });

  it('cancels unfinished multipart uploads after the rule days; ignores names without a rule', () => {
    const acts = planLifecycle(
      rules,
      [v('other/file', 0, { isLatest: true })],
      [{ key: 'terraform-state/big', uploadId: 'u1', initiated: T0 }],
    );
    expect(acts).toEqual([
      {
        key: 'terraform-state/big',
        versionId: 'u1',
        size: 0,
        action: 'cancel-upload',
        dueAt: T0 + 7 * DAY,
        rule: 'terraform-state/',
      },
    ]);
  });
});

describe('checkB2Rules (--rules files)', () => {
  it('accepts native rules and names the rule and field of a mistyped one', () => {
    const ok = [{ fileNamePrefix: 'db/', daysFromUploadingToHiding: 30, daysFromHidingToDeleting: null }];
    expect(checkB2Rules(ok, 'f')).toEqual(ok);
    expect(() => checkB2Rules([null], 'f')).toThrow('f: rule 0 is not an object');
    expect(() => checkB2Rules([{ fileNamePrefix: 5 }], 'f')).toThrow(
      /rule 0: fileNamePrefix must be a string/,
    );
    expect(() => checkB2Rules([{ fileNamePrefix: 'db/', daysFromHidingToDeleting: '1' }], 'f')).toThrow(
      /rule 0 \(db\/\): daysFromHidingToDeleting must be null or a whole number/,
    );
    expect(() => checkB2Rules([{ fileNamePrefix: 'db/', daysFromUploadingToHiding: 0 }], 'f')).toThrow(
      /daysFromUploadingToHiding/,
    );
  });
});
