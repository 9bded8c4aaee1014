/** The pure validation helpers (one file each) that back `check` and the components. */
import { validateBackupBucketArgs } from '../../../infra/components/backupBucket';
import { parseProviderNames } from '../../../infra/components/validation/providerNames';
import { validateEncryptionWithReplication } from '../../../infra/components/validation/encryption';
import { validateBucketName } from '../../../infra/providers/validation/bucketName';
import {
  BUCKET_SCOPED_CAPABILITIES,
  validateCapabilities,
  validateKeyName,
} from '../../../infra/providers/validation/keyCapabilities';
import {
  findOverlappingPrefixes,
  validateLifecycleRules,
} from '../../../infra/providers/validation/lifecycleRules';

const rule = (fileNamePrefix: string, hide: number | null = null, del: number | null = 1) => ({
  fileNamePrefix,
  daysFromUploadingToHiding: hide,
  daysFromHidingToDeleting: del,
  daysFromStartingToCancelingUnfinishedLargeFiles: 7,
});

describe('validateBucketName', () => {
  test.each(['abcdef', 'a'.repeat(63), 'infrafabric-backup-prod-aws', '123456', 'b2x-ok'])(
    'accepts %s',
    (n) => {
      expect(validateBucketName(n)).toEqual([]);
    },
  );
  test.each([
    ['abcde', /5 characters; B2 needs 6-63/],
    ['a'.repeat(64), /64 characters/],
    ['Upper-case', /lower-case letters, digits and "-"/],
    ['under_score', /lower-case letters/],
    ['b2-reserved', /must not start with "b2-"/],
    ['', /required/],
  ])('refuses %s', (n, why) => {
    const p = validateBucketName(n, 'x.bucketName');
    expect(p.length).toBeGreaterThan(0);
    expect(p[0].property).toBe('x.bucketName');
    expect(p.map((q) => q.reason).join(' ')).toMatch(why);
  });
});

describe('lifecycle rules', () => {
  test('overlap detection: one prefix starting another, and "" with anything', () => {
    expect(findOverlappingPrefixes(['photos/', 'photos/kittens/', 'docs/'])).toEqual([[0, 1]]);
    expect(findOverlappingPrefixes(['', 'a/', 'b/'])).toEqual([
      [0, 1],
      [0, 2],
    ]);
    expect(findOverlappingPrefixes(['a/', 'ab/', 'b/'])).toEqual([]);
  });
  test('overlapping rules are refused, naming the later rule and the earlier one', () => {
    const p = validateLifecycleRules([rule('db/'), rule('db/postgres/')]);
    expect(p).toEqual([
      {
        property: 'lifecycleRules[1].fileNamePrefix',
        reason: expect.stringMatching(/overlaps rule 0 \("db\/"\)/),
      },
    ]);
  });
  test('a rule without any day field, non-positive days and a missing prefix are refused', () => {
    const p = validateLifecycleRules([
      {
        fileNamePrefix: 'a/',
        daysFromUploadingToHiding: null,
        daysFromHidingToDeleting: null,
        daysFromStartingToCancelingUnfinishedLargeFiles: null,
      },
      {
        fileNamePrefix: 'b/',
        daysFromUploadingToHiding: 0,
        daysFromHidingToDeleting: 1.5,
        daysFromStartingToCancelingUnfinishedLargeFiles: null,
      },
      { daysFromHidingToDeleting: 3 },
    ]);
    expect(p.map((x) => x.property)).toEqual([
      'lifecycleRules[0]',
      'lifecycleRules[1].daysFromUploadingToHiding',
      'lifecycleRules[1].daysFromHidingToDeleting',
      'lifecycleRules[2].fileNamePrefix',
    ]);
  });
  test('more than 100 rules', () => {
    const rules = Array.from({ length: 101 }, (_, i) => rule(`p${String(i).padStart(3, '0')}/`));
    expect(validateLifecycleRules(rules)).toEqual([
      { property: 'lifecycleRules', reason: '101 rules; B2 allows at most 100' },
    ]);
  });
});

describe('key capabilities', () => {
  test('bucket-scoped keys may not hold account-level capabilities', () => {
    const p = validateCapabilities(
      ['listFiles', 'writeKeys', 'writeBuckets', 'writeBucketReplications'],
      true,
    );
    expect(p.map((x) => x.property)).toEqual(['capabilities[1]', 'capabilities[2]', 'capabilities[3]']);
    expect(p[0].reason).toMatch(/"writeKeys" is not allowed on a bucket-scoped key/);
  });
  test('account-wide keys may; unknown and duplicate capabilities are refused; empty is refused', () => {
    expect(validateCapabilities(['writeKeys', 'writeBuckets'], false)).toEqual([]);
    expect(validateCapabilities(['readEverything'], false)[0].reason).toMatch(
      /unknown capability "readEverything"/,
    );
    expect(validateCapabilities(['listFiles', 'listFiles'], true)[0].reason).toMatch(
      /duplicate capabilities: listFiles/,
    );
    expect(validateCapabilities([], true)[0].reason).toMatch(/at least one capability/);
  });
  test('every bucket-scoped capability is accepted on a bucket-scoped key', () => {
    expect(validateCapabilities([...BUCKET_SCOPED_CAPABILITIES], true)).toEqual([]);
  });
  test('key names', () => {
    expect(validateKeyName('infrafabric-backup-prod-aws-backup-writer')).toEqual([]);
    expect(validateKeyName('has space')).toHaveLength(1);
    expect(validateKeyName('x'.repeat(101))).toHaveLength(1);
  });
});

describe('provider names and encryption', () => {
  test('known, unique provider names', () => {
    expect(parseProviderNames(['aws', 'gcp'])).toEqual({ providers: ['aws', 'gcp'], problems: [] });
    expect(parseProviderNames(['aws', 'aws']).problems[0]).toEqual({
      property: 'providers[1]',
      reason: 'provider "aws" is listed twice',
    });
    expect(parseProviderNames(['ibm']).problems[0].reason).toMatch(/unknown provider "ibm"/);
    expect(parseProviderNames([]).problems[0].reason).toMatch(/non-empty list/);
  });
  test('SSE-C only without replication', () => {
    expect(validateEncryptionWithReplication('SSE-C', false)).toEqual([]);
    expect(validateEncryptionWithReplication('SSE-B2', true)).toEqual([]);
    expect(validateEncryptionWithReplication('SSE-C', true)[0].reason).toMatch(
      /B2 does not replicate SSE-C files/,
    );
    expect(validateEncryptionWithReplication('none', false)[0].reason).toMatch(
      /must be one of SSE-B2, SSE-C/,
    );
  });
});

describe('unknown provider inputs', () => {
  test('a typo is refused, naming the property and the known ones', async () => {
    const { validateKnownProperties } = await import('../../../infra/providers/validation/unknownProperties');
    expect(
      validateKnownProperties({ bucketName: 'x', lifecycleRule: [], __provider: 'p' }, [
        'bucketName',
        'lifecycleRules',
      ]),
    ).toEqual([{ property: 'lifecycleRule', reason: 'unknown property; known: bucketName, lifecycleRules' }]);
  });
  test('through each provider check', async () => {
    const { bucketProvider } = await import('../../../infra/providers/bucket');
    const { applicationKeyProvider } = await import('../../../infra/providers/applicationKey');
    const { replicationProvider } = await import('../../../infra/providers/replication');
    expect((await bucketProvider.check!({}, { bucketName: 'abcdefg', lifecycleRule: [] })).failures).toEqual([
      { property: 'lifecycleRule', reason: expect.stringMatching(/^unknown property/) },
    ]);
    expect(
      (
        await applicationKeyProvider.check!(
          {},
          { keyName: 'k', capabilities: ['listFiles'], capabilites: [] },
        )
      ).failures,
    ).toEqual([{ property: 'capabilites', reason: expect.stringMatching(/^unknown property/) }]);
    const rep = {
      sourceBucketId: 's',
      destinationBucketId: 'd',
      sourceKeyId: 'a',
      destinationKeyId: 'b',
      ruleName: 'r',
      prefix: 'x',
    };
    expect((await replicationProvider.check!({}, rep)).failures).toEqual([
      { property: 'prefix', reason: expect.stringMatching(/^unknown property/) },
    ]);
  });
});

describe('validateBackupBucketArgs: key generations', () => {
  const base = { bucketName: 'infrafabric-backup-dev-aws', env: 'dev', provider: 'aws' };
  const props = (keys: Record<string, unknown>) =>
    validateBackupBucketArgs({ ...base, keys }).map((p) => `${p.property}: ${p.reason}`);
  test('a previous generation different from the current one is fine', () => {
    expect(props({ rotation: '2026-12', previousRotation: 'initial', validDurationInSeconds: 3600 })).toEqual(
      [],
    );
  });
  test('the same generation twice, a bad name, a bad duration are refused by name', () => {
    expect(props({ rotation: 'a', previousRotation: 'a' })).toEqual([
      'keys.previousRotation: must differ from keys.rotation',
    ]);
    expect(props({ previousRotation: 'has space' })).toEqual([
      expect.stringMatching(/^keys.previousRotation: "has space" must be 1-24/),
    ]);
    expect(props({ validDurationInSeconds: 0.5 })).toEqual([
      expect.stringMatching(/^keys.validDurationInSeconds: must be a whole number/),
    ]);
  });
});
