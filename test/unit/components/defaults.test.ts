/** docs/architecture.md §1 defaults, kept in infra/components/defaults.ts. */
import {
  KEY_CAPABILITIES,
  bucketNameFor,
  defaultBucketInfo,
  keyNameFor,
  lifecycleRulesFor,
} from '../../../infra/components/defaults';
import { BUCKET_SCOPED_CAPABILITIES } from '../../../infra/providers/validation/keyCapabilities';
import { validateLifecycleRules } from '../../../infra/providers/validation/lifecycleRules';
import { validateBucketName } from '../../../infra/providers/validation/bucketName';

describe('lifecycle mapping of the seed intent', () => {
  const byPrefix = (profile: 'standard' | 'short') =>
    Object.fromEntries(lifecycleRulesFor(profile).map((r) => [r.fileNamePrefix, r]));

  test('standard: configs 90/365, audit-logs 30/150, db 30/1, terraform-state never hidden + 90', () => {
    const r = byPrefix('standard');
    expect([r['configs/'].daysFromUploadingToHiding, r['configs/'].daysFromHidingToDeleting]).toEqual([
      90, 365,
    ]);
    expect([r['audit-logs/'].daysFromUploadingToHiding, r['audit-logs/'].daysFromHidingToDeleting]).toEqual([
      30, 150,
    ]);
    expect([r['db/'].daysFromUploadingToHiding, r['db/'].daysFromHidingToDeleting]).toEqual([30, 1]);
    expect([
      r['terraform-state/'].daysFromUploadingToHiding,
      r['terraform-state/'].daysFromHidingToDeleting,
    ]).toEqual([null, 90]);
  });
  test.each(['standard', 'short'] as const)(
    '%s: valid, no overlap, every rule cancels unfinished large files after 7 days, current tf state never hidden',
    (p) => {
      const rules = lifecycleRulesFor(p);
      expect(validateLifecycleRules(rules)).toEqual([]);
      expect(rules.map((r) => r.fileNamePrefix)).toEqual([
        'audit-logs/',
        'configs/',
        'db/',
        'terraform-state/',
      ]);
      for (const r of rules) expect(r.daysFromStartingToCancelingUnfinishedLargeFiles).toBe(7);
      expect(byPrefix(p)['terraform-state/'].daysFromUploadingToHiding).toBeNull();
    },
  );
  test('short retention is shorter everywhere', () => {
    const s = byPrefix('short');
    const l = byPrefix('standard');
    for (const k of Object.keys(l))
      expect(s[k].daysFromHidingToDeleting!).toBeLessThanOrEqual(l[k].daysFromHidingToDeleting!);
  });
});

test('names: bucket and key names are valid for every env/provider, with prefix and suffix', () => {
  expect(bucketNameFor('prod', 'aws')).toBe('infrafabric-backup-prod-aws');
  expect(bucketNameFor('dev', 'multi', 'x-', '-2')).toBe('x-infrafabric-backup-dev-multi-2');
  for (const env of ['dev', 'staging', 'prod'] as const) {
    for (const p of ['aws', 'azure', 'gcp', 'multi'] as const) {
      expect(validateBucketName(bucketNameFor(env, p) + '-replica')).toEqual([]);
      expect(keyNameFor(bucketNameFor(env, p), 'replication-destination')).toMatch(/^[a-z0-9-]{1,100}$/);
      expect(keyNameFor(bucketNameFor(env, p), 'replication-destination', 'x'.repeat(24))).toMatch(
        /^[a-z0-9-]{1,100}$/,
      );
    }
  }
});

test('bucket info carries env, provider, managed-by, cost-center', () => {
  expect(defaultBucketInfo('prod', 'gcp', 'cc-42')).toEqual({
    env: 'prod',
    provider: 'gcp',
    'managed-by': 'pulumi/infrafabric-backup',
    'cost-center': 'cc-42',
  });
});

test('key purposes use bucket-scoped capabilities only; the writer cannot delete; the reader cannot write', () => {
  for (const caps of Object.values(KEY_CAPABILITIES))
    for (const c of caps) expect(BUCKET_SCOPED_CAPABILITIES).toContain(c);
  expect(KEY_CAPABILITIES['backup-writer']).not.toContain('deleteFiles');
  expect(KEY_CAPABILITIES['restore-reader'].filter((c) => /^write|^delete/.test(c))).toEqual([]);
});

test('key names carry the rotation once rotated', () => {
  expect(keyNameFor('abcdef', 'backup-writer')).toBe('abcdef-backup-writer');
  expect(keyNameFor('abcdef', 'backup-writer', 'initial')).toBe('abcdef-backup-writer');
  expect(keyNameFor('abcdef', 'backup-writer', '2026-12')).toBe('abcdef-backup-writer-2026-12');
});
