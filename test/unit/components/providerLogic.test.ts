/**
 * The providers' pure decisions — what `check` refuses and what `diff` replaces or updates — and the
 * components' validation errors at preview. The B2 side is covered against the emulator in
 * test/integration/providers/.
 */
import { applicationKeyProvider } from '../../../infra/providers/applicationKey';
import { bucketProvider, normalizeBucketInputs } from '../../../infra/providers/bucket';
import { replicationProvider } from '../../../infra/providers/replication';
import { lifecycleRulesFor } from '../../../infra/components/defaults';
import { installMocks } from './mocks';

const bucket = (over: Record<string, unknown> = {}) =>
  normalizeBucketInputs({
    bucketName: 'infrafabric-backup-dev-aws',
    lifecycleRules: lifecycleRulesFor('short'),
    ...over,
  });
const state = (over: Record<string, unknown> = {}) => ({
  ...bucket(over),
  bucketId: 'b1',
  revision: 3,
  accountId: 'a',
  s3Endpoint: 'http://s3',
});

describe('Bucket check', () => {
  test('valid inputs get defaults filled in', async () => {
    const r = await bucketProvider.check!({}, { bucketName: 'abcdef' });
    expect(r.failures).toBeUndefined();
    expect(r.inputs).toMatchObject({
      bucketType: 'allPrivate',
      defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
      fileLockEnabled: false,
      forceDestroy: false,
      account: 'primary',
    });
  });
  test('disabling Object Lock is refused at check, not planned as a replacement', async () => {
    const r = await bucketProvider.check!(bucket({ fileLockEnabled: true }), {
      bucketName: 'abcdef',
      fileLockEnabled: false,
    });
    expect(r.failures).toEqual([
      { property: 'fileLockEnabled', reason: expect.stringMatching(/can never disable it/) },
    ]);
  });
  test('SSE-C or "none" as bucket default, bad names, overlapping rules, retention without lock', async () => {
    const r = await bucketProvider.check!(
      {},
      {
        bucketName: 'b2-xyzw',
        defaultServerSideEncryption: { mode: 'SSE-C', algorithm: 'AES256' },
        lifecycleRules: [
          { fileNamePrefix: '', daysFromHidingToDeleting: 1 },
          { fileNamePrefix: 'a/', daysFromHidingToDeleting: 1 },
        ],
        defaultRetention: { mode: 'governance', period: { duration: 5, unit: 'days' } },
        corsRules: [
          {
            corsRuleName: 'x',
            allowedOrigins: [],
            allowedOperations: ['s3_get', 'ftp'],
            maxAgeSeconds: 90000,
          },
        ],
      },
    );
    expect(r.failures!.map((f) => f.property)).toEqual([
      'bucketName',
      'lifecycleRules[1].fileNamePrefix',
      'corsRules[0].corsRuleName',
      'corsRules[0].allowedOrigins',
      'corsRules[0].allowedOperations',
      'corsRules[0].maxAgeSeconds',
      'defaultServerSideEncryption',
      'defaultRetention',
    ]);
  });
});

describe('Bucket diff', () => {
  test('no change', async () => {
    expect(await bucketProvider.diff!('b1', state(), bucket())).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });
  test('rule order and missing nulls are not changes', async () => {
    const reordered = [...lifecycleRulesFor('short')]
      .reverse()
      .map(({ daysFromUploadingToHiding, ...r }) =>
        daysFromUploadingToHiding === null ? r : { ...r, daysFromUploadingToHiding },
      );
    expect((await bucketProvider.diff!('b1', state(), bucket({ lifecycleRules: reordered }))).changes).toBe(
      false,
    );
  });
  test('lifecycle, info, type, lock and forceDestroy update in place', async () => {
    for (const over of [
      { lifecycleRules: lifecycleRulesFor('standard') },
      { bucketInfo: { env: 'dev' } },
      { bucketType: 'allPublic' },
      { fileLockEnabled: true },
      { forceDestroy: true },
    ]) {
      expect(await bucketProvider.diff!('b1', state(), bucket(over))).toEqual({
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });
  test('rename and account move replace', async () => {
    expect(
      (await bucketProvider.diff!('b1', state(), bucket({ bucketName: 'other-name' }))).replaces,
    ).toEqual(['bucketName']);
    expect((await bucketProvider.diff!('b1', state(), bucket({ account: 'replica' }))).replaces).toEqual([
      'account',
    ]);
  });
  test('live drift (a refreshed state without encryption) shows as an update', async () => {
    expect(
      (await bucketProvider.diff!('b1', { ...state(), defaultServerSideEncryption: null }, bucket())).changes,
    ).toBe(true);
  });
});

describe('ApplicationKey', () => {
  const key = {
    keyName: 'k-writer',
    capabilities: ['writeFiles', 'listFiles'],
    bucketIds: ['b1'],
    namePrefix: null,
    validDurationInSeconds: null,
    rotation: 'initial',
    account: 'primary',
  };
  test('check refuses account-level capabilities on a bucket-scoped key', async () => {
    const r = await applicationKeyProvider.check!({}, { ...key, capabilities: ['writeFiles', 'deleteKeys'] });
    expect(r.failures).toEqual([
      { property: 'capabilities[1]', reason: expect.stringMatching(/not allowed on a bucket-scoped key/) },
    ]);
  });
  test('every field replaces, create-before-delete; capability order is not a change', async () => {
    const olds = { ...key, applicationKeyId: 'id', applicationKey: 'secret' };
    expect(
      await applicationKeyProvider.diff!('id', olds, { ...key, capabilities: ['listFiles', 'writeFiles'] }),
    ).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    for (const [f, v] of [
      ['rotation', '2027-01'],
      ['capabilities', ['listFiles']],
      ['bucketIds', ['b1', 'b2']],
      ['namePrefix', 'db/'],
      ['keyName', 'k2'],
      ['validDurationInSeconds', 3600],
    ] as const) {
      expect(await applicationKeyProvider.diff!('id', olds, { ...key, [f]: v })).toEqual({
        changes: true,
        replaces: [f],
        deleteBeforeReplace: false,
      });
    }
  });
});

describe('values not known at preview are not judged', () => {
  test('bucket name and key scope from outputs of resources still to be created', async () => {
    const { UNKNOWN } = await import('../../../infra/providers/normalize');
    expect((await bucketProvider.check!({}, { bucketName: UNKNOWN })).failures).toBeUndefined();
    expect(
      (
        await applicationKeyProvider.check!(
          {},
          { keyName: 'k-writer', capabilities: ['writeFiles'], bucketIds: UNKNOWN },
        )
      ).failures,
    ).toBeUndefined();
    // …but what is known still is: a bucket-scoped key may not hold writeKeys.
    expect(
      (
        await applicationKeyProvider.check!(
          {},
          { keyName: 'k', capabilities: ['writeKeys'], bucketIds: UNKNOWN },
        )
      ).failures,
    ).toHaveLength(1);
  });
});

describe('Replication diff', () => {
  const rep = {
    sourceBucketId: 's',
    destinationBucketId: 'd',
    sourceKeyId: 'ks',
    destinationKeyId: 'kd',
    ruleName: 'to-eu',
  };
  test('rotated keys update in place; a new destination replaces', async () => {
    expect(
      await replicationProvider.diff!('s/to-eu', rep, {
        ...rep,
        sourceKeyId: 'ks2',
        destinationKeyId: 'kd2',
      }),
    ).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await replicationProvider.diff!('s/to-eu', rep, { ...rep, destinationBucketId: 'd2' })).toEqual({
      changes: true,
      replaces: ['destinationBucketId'],
      deleteBeforeReplace: true,
    });
  });
  test('at preview, bucket ids not known yet (the engine sends the same unknown sentinel for both) are not judged', async () => {
    const { UNKNOWN } = await import('../../../infra/providers/normalize');
    const r = await replicationProvider.check!(
      {},
      { ...rep, sourceBucketId: UNKNOWN, destinationBucketId: UNKNOWN, sourceKeyId: UNKNOWN },
    );
    expect(r.failures).toBeUndefined();
  });
  test('check', async () => {
    const r = await replicationProvider.check!(
      {},
      { ...rep, ruleName: 'bad name', destinationBucketId: 's', priority: 0 },
    );
    expect(r.failures!.map((f) => f.property)).toEqual(['ruleName', 'priority', 'destinationBucketId']);
  });
});

describe('components refuse bad arguments at preview, naming the field', () => {
  beforeAll(() => installMocks('dev'));
  test('BackupBucket: bad name, overlapping rules, account-level capability', async () => {
    const { BackupBucket } = await import('../../../infra/components/backupBucket');
    expect(() => new BackupBucket('x', { bucketName: 'short', env: 'dev', provider: 'aws' })).toThrow(
      /\[bucketName\] bucket name "short" is 5 characters/,
    );
    expect(
      () =>
        new BackupBucket('y', {
          bucketName: 'abcdefgh',
          env: 'dev',
          provider: 'aws',
          lifecycleRules: [
            {
              fileNamePrefix: 'db/',
              daysFromUploadingToHiding: 1,
              daysFromHidingToDeleting: 1,
              daysFromStartingToCancelingUnfinishedLargeFiles: 7,
            },
            {
              fileNamePrefix: 'db/x/',
              daysFromUploadingToHiding: 1,
              daysFromHidingToDeleting: 1,
              daysFromStartingToCancelingUnfinishedLargeFiles: 7,
            },
          ],
        }),
    ).toThrow(/\[lifecycleRules\[1\]\.fileNamePrefix\] prefix "db\/x\/" overlaps rule 0/);
    expect(
      () =>
        new BackupBucket('z', {
          bucketName: 'abcdefgh',
          env: 'dev',
          provider: 'aws',
          keys: { writerCapabilities: ['writeFiles', 'writeKeys'] },
        }),
    ).toThrow(/\[keys.writerCapabilities\[1\]\] "writeKeys" is not allowed on a bucket-scoped key/);
  });
  test('BackupBucket: a rotation that would break key names', async () => {
    const { BackupBucket } = await import('../../../infra/components/backupBucket');
    expect(
      () =>
        new BackupBucket('rot', {
          bucketName: 'abcdefgh',
          env: 'dev',
          provider: 'aws',
          keys: { rotation: 'v 2' },
        }),
    ).toThrow(/\[keys.rotation\] "v 2" must be 1-24 letters, digits or "-"/);
    expect(
      () =>
        new BackupBucket('rot2', {
          bucketName: 'a'.repeat(63),
          env: 'dev',
          provider: 'aws',
          keys: { rotation: 'x'.repeat(24) },
        }),
    ).toThrow(/\[keys \(replication-destination key name\)\]/);
  });
  test('ReplicatedBackupBucket: SSE-C refused', async () => {
    const { ReplicatedBackupBucket } = await import('../../../infra/components/replicatedBackupBucket');
    expect(
      () =>
        new ReplicatedBackupBucket('r', {
          bucketName: 'abcdefgh',
          env: 'prod',
          provider: 'aws',
          uploadEncryption: 'SSE-C',
        }),
    ).toThrow(/\[uploadEncryption\] SSE-C cannot be used with replication/);
  });
  test('EnvironmentBackup: unknown provider name', async () => {
    const { EnvironmentBackup } = await import('../../../infra/components/environmentBackup');
    expect(() => new EnvironmentBackup('e', { env: 'dev', providers: ['aws', 'oracle' as 'aws'] })).toThrow(
      /\[providers\[1\]\] unknown provider "oracle"/,
    );
  });
});

test('unknown values pass through normalisation untouched (no list made of the sentinel characters)', async () => {
  const { UNKNOWN } = await import('../../../infra/providers/normalize');
  const k = await applicationKeyProvider.check!(
    {},
    { keyName: 'k-writer', capabilities: ['writeFiles'], bucketIds: UNKNOWN },
  );
  expect(k.inputs.bucketIds).toBe(UNKNOWN);
  const b = await bucketProvider.check!(
    {},
    { bucketName: 'abcdefg', bucketInfo: UNKNOWN, lifecycleRules: UNKNOWN },
  );
  expect(b.failures).toBeUndefined();
  expect(b.inputs).toMatchObject({ bucketInfo: UNKNOWN, lifecycleRules: UNKNOWN });
});
