/**
 * Buckets (docs/b2-api.md §2 rules, §3 shape, §4 limits): CRUD, ifRevisionIs, list_buckets rules,
 * guarded fields, lifecycle/CORS/SSE/lock/replication validation.
 */
import { startEmulator, type RunningEmulator } from '../../helpers/emulator';
import { bucketName, Session } from './native-helpers';

let emu: RunningEmulator;
let s: Session;
beforeAll(async () => {
  emu = await startEmulator();
  s = await Session.master(emu);
});
afterAll(async () => {
  await emu?.stop();
});

describe('bucket CRUD', () => {
  test('create returns the full bucket shape with revision 2', async () => {
    const name = bucketName('crud');
    const b = await s.createBucket(name, {
      bucketInfo: { env: 'dev' },
      lifecycleRules: [
        { fileNamePrefix: 'logs/', daysFromHidingToDeleting: 5, daysFromUploadingToHiding: null },
      ],
      defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    });
    expect(b).toMatchObject({
      accountId: s.accountId,
      bucketName: name,
      bucketType: 'allPrivate',
      bucketInfo: { env: 'dev' },
      corsRules: [],
      lifecycleRules: [
        { fileNamePrefix: 'logs/', daysFromHidingToDeleting: 5, daysFromUploadingToHiding: null },
      ],
      defaultServerSideEncryption: {
        isClientAuthorizedToRead: true,
        value: { mode: 'SSE-B2', algorithm: 'AES256' },
      },
      fileLockConfiguration: {
        isClientAuthorizedToRead: true,
        value: { defaultRetention: { mode: null, period: null }, isFileLockEnabled: false },
      },
      options: ['s3'],
      revision: 2,
    });
    expect(b.bucketId).toMatch(/^[0-9a-f]{24}$/);
  });

  test('update: omitted fields unchanged, lists replaced, revision+1, ifRevisionIs conflict → 409', async () => {
    const b = await s.createBucket(bucketName('upd'), { bucketInfo: { a: '1' } });
    const u = await s.ok('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: b.bucketId,
      bucketType: 'allPublic',
      ifRevisionIs: b.revision,
    });
    expect(u.bucketType).toBe('allPublic');
    expect(u.bucketInfo).toEqual({ a: '1' });
    expect(u.revision).toBe(b.revision + 1);
    const stale = await s.call('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: b.bucketId,
      bucketInfo: { b: '2' },
      ifRevisionIs: b.revision,
    });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ status: 409, code: 'conflict' });
    const again = await s.ok('b2_list_buckets', { accountId: s.accountId, bucketId: b.bucketId });
    expect(again.buckets[0].bucketInfo).toEqual({ a: '1' });
  });

  test('duplicate names are refused across the account: 400 duplicate_bucket_name', async () => {
    const name = bucketName('dup');
    await s.createBucket(name);
    const r = await s.call('b2_create_bucket', {
      accountId: s.accountId,
      bucketName: name,
      bucketType: 'allPrivate',
    });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('duplicate_bucket_name');
  });

  test('delete: unknown id → bad_bucket_id; non-empty → cannot_delete_non_empty_bucket; empty → bucket', async () => {
    const unknown = await s.call('b2_delete_bucket', {
      accountId: s.accountId,
      bucketId: 'ffffffffffffffffffffffff',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.code).toBe('bad_bucket_id');
    const b = await s.createBucket(bucketName('del'));
    await s.uploadOk(b.bucketId, 'x.txt', 'x');
    const full = await s.call('b2_delete_bucket', { accountId: s.accountId, bucketId: b.bucketId });
    expect(full.json.code).toBe('cannot_delete_non_empty_bucket');
    const files = await s.ok('b2_list_file_versions', { bucketId: b.bucketId });
    for (const f of files.files)
      await s.ok('b2_delete_file_version', { fileId: f.fileId, fileName: f.fileName });
    const gone = await s.ok('b2_delete_bucket', { accountId: s.accountId, bucketId: b.bucketId });
    expect(gone.bucketId).toBe(b.bucketId);
  });

  test('an unfinished large file keeps a bucket non-empty', async () => {
    const b = await s.createBucket(bucketName('dellarge'));
    await s.ok('b2_start_large_file', { bucketId: b.bucketId, fileName: 'big', contentType: 'b2/x-auto' });
    const r = await s.call('b2_delete_bucket', { accountId: s.accountId, bucketId: b.bucketId });
    expect(r.json.code).toBe('cannot_delete_non_empty_bucket');
  });
});

describe('b2_list_buckets', () => {
  test('sorted by name; filters by id and name; bucketTypes rules', async () => {
    const x = await s.createBucket(bucketName('lb-z'));
    const y = await s.createBucket(bucketName('lb-a'), { bucketType: 'allPublic' });
    const all = await s.ok('b2_list_buckets', { accountId: s.accountId });
    const names = all.buckets.map((b: { bucketName: string }) => b.bucketName);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining([x.bucketName, y.bucketName]));
    const byName = await s.ok('b2_list_buckets', { accountId: s.accountId, bucketName: y.bucketName });
    expect(byName.buckets.map((b: { bucketId: string }) => b.bucketId)).toEqual([y.bucketId]);
    const pub = await s.ok('b2_list_buckets', { accountId: s.accountId, bucketTypes: ['allPublic'] });
    expect(pub.buckets.every((b: { bucketType: string }) => b.bucketType === 'allPublic')).toBe(true);
    const viaAll = await s.ok('b2_list_buckets', { accountId: s.accountId, bucketTypes: ['all'] });
    expect(viaAll.buckets.length).toBe(all.buckets.length);
    for (const bad of [['all', 'allPublic'], [], ['bogus']]) {
      const r = await s.call('b2_list_buckets', { accountId: s.accountId, bucketTypes: bad });
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(/bucketTypes/);
    }
  });

  test('GET with query parameters works like POST', async () => {
    const r = await s.get('b2_list_buckets', { accountId: s.accountId, bucketTypes: '["all"]' });
    expect(r.status).toBe(200);
    expect(Array.isArray(r.json.buckets)).toBe(true);
  });

  test('restricted key: v2+ must name its bucket (401), v1 returns its bucket', async () => {
    const b = await s.createBucket(bucketName('lb-r'));
    const key = await s.ok('b2_create_key', {
      accountId: s.accountId,
      keyName: 'lb-restricted',
      capabilities: ['listBuckets', 'listFiles'],
      bucketId: b.bucketId,
    });
    const v2 = await Session.open(emu.url, 2, key.applicationKeyId, key.applicationKey);
    const unnamed = await v2.call('b2_list_buckets', { accountId: v2.accountId });
    expect(unnamed.status).toBe(401);
    expect(unnamed.json.code).toBe('unauthorized');
    const named = await v2.ok('b2_list_buckets', { accountId: v2.accountId, bucketName: b.bucketName });
    expect(named.buckets).toHaveLength(1);
    // guarded fields without read capabilities
    expect(named.buckets[0].defaultServerSideEncryption).toEqual({
      isClientAuthorizedToRead: false,
      value: null,
    });
    const v1 = await Session.open(emu.url, 1, key.applicationKeyId, key.applicationKey);
    const implicit = await v1.ok('b2_list_buckets', { accountId: v1.accountId });
    expect(implicit.buckets.map((x: { bucketId: string }) => x.bucketId)).toEqual([b.bucketId]);
    expect((v1.auth as { allowed: { bucketName: string } }).allowed.bucketName).toBe(b.bucketName);
  });
});

describe('validation names the field', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['short name', { bucketName: 'abc' }, /bucketName/],
    ['bad chars', { bucketName: 'under_score_x' }, /bucketName/],
    ['b2- prefix', { bucketName: 'b2-reserved-x' }, /b2-/],
    ['bad type', { bucketType: 'public' }, /bucketType/],
    [
      'overlapping lifecycle',
      {
        lifecycleRules: [
          { fileNamePrefix: 'photos/', daysFromHidingToDeleting: 1 },
          { fileNamePrefix: 'photos/kittens/', daysFromHidingToDeleting: 1 },
        ],
      },
      /overlap/,
    ],
    [
      'daysHiddenOrDeleted is not a field',
      { lifecycleRules: [{ fileNamePrefix: 'a/', daysHiddenOrDeleted: 3 }] },
      /daysHiddenOrDeleted/,
    ],
    ['lifecycle without days', { lifecycleRules: [{ fileNamePrefix: 'a/' }] }, /lifecycleRules\[0\]/],
    [
      'lifecycle negative days',
      { lifecycleRules: [{ fileNamePrefix: 'a/', daysFromHidingToDeleting: -1 }] },
      /daysFromHidingToDeleting/,
    ],
    [
      'cors name',
      {
        corsRules: [
          { corsRuleName: 'x', allowedOrigins: ['*'], allowedOperations: ['s3_get'], maxAgeSeconds: 1 },
        ],
      },
      /corsRuleName/,
    ],
    [
      'cors op',
      {
        corsRules: [
          { corsRuleName: 'rule-one', allowedOrigins: ['*'], allowedOperations: ['get'], maxAgeSeconds: 1 },
        ],
      },
      /allowedOperations/,
    ],
    [
      'SSE-C default',
      { defaultServerSideEncryption: { mode: 'SSE-C', algorithm: 'AES256' } },
      /defaultServerSideEncryption/,
    ],
    ['bucketInfo not strings', { bucketInfo: { a: 1 } }, /bucketInfo\.a/],
    [
      'too many bucketInfo',
      { bucketInfo: Object.fromEntries([...Array(11)].map((_, i) => [`k${i}`, 'v'])) },
      /bucketInfo/,
    ],
  ];
  test.each(cases)('%s → 400 naming the field', async (_label, extra, re) => {
    const r = await s.call('b2_create_bucket', {
      accountId: s.accountId,
      bucketName: bucketName('val'),
      bucketType: 'allPrivate',
      ...extra,
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(re);
  });
});

describe('object lock and replication settings', () => {
  test('lock can be enabled later, never disabled; default retention needs lock', async () => {
    const b = await s.createBucket(bucketName('lock'));
    const noLock = await s.call('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: b.bucketId,
      defaultRetention: { mode: 'governance', period: { duration: 1, unit: 'days' } },
    });
    expect(noLock.json.code).toBe('bucket_missing_file_lock');
    const on = await s.ok('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: b.bucketId,
      fileLockEnabled: true,
    });
    expect(on.fileLockConfiguration.value.isFileLockEnabled).toBe(true);
    const off = await s.call('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: b.bucketId,
      fileLockEnabled: false,
    });
    expect(off.json.code).toBe('file_lock_conflict');
    const ret = await s.ok('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: b.bucketId,
      defaultRetention: { mode: 'governance', period: { duration: 7, unit: 'days' } },
    });
    expect(ret.fileLockConfiguration.value.defaultRetention).toEqual({
      mode: 'governance',
      period: { duration: 7, unit: 'days' },
    });
  });

  test('replication configuration is validated and stored', async () => {
    const dst = await s.createBucket(bucketName('repl-dst'));
    const key = await s.ok('b2_create_key', {
      accountId: s.accountId,
      keyName: 'repl-src',
      capabilities: ['readFiles', 'listFiles'],
    });
    const src = await s.createBucket(bucketName('repl-src'), {
      replicationConfiguration: {
        asReplicationSource: {
          sourceApplicationKeyId: key.applicationKeyId,
          replicationRules: [
            {
              replicationRuleName: 'to-eu',
              destinationBucketId: dst.bucketId,
              fileNamePrefix: '',
              includeExistingFiles: false,
              isEnabled: true,
              priority: 128,
            },
          ],
        },
        asReplicationDestination: null,
      },
    });
    expect(
      src.replicationConfiguration.value.asReplicationSource.replicationRules[0].replicationRuleName,
    ).toBe('to-eu');
    const tooMany = await s.call('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: src.bucketId,
      replicationConfiguration: {
        asReplicationSource: {
          sourceApplicationKeyId: key.applicationKeyId,
          replicationRules: ['a', 'b', 'c'].map((n) => ({
            replicationRuleName: n,
            destinationBucketId: dst.bucketId,
            fileNamePrefix: n,
          })),
        },
      },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.message).toMatch(/replicationRules/);
    // a new upload under the rule is PENDING
    const f = await s.uploadOk(src.bucketId, 'r.txt', 'replicate me');
    expect(f.replicationStatus).toBe('PENDING');
  });
});

describe('event notification rules', () => {
  test('set/get round-trip; invalid event types refused', async () => {
    const b = await s.createBucket(bucketName('notify'));
    const rule = {
      name: 'on-upload',
      eventTypes: ['b2:ObjectCreated:*'],
      isEnabled: true,
      objectNamePrefix: 'logs/',
      targetConfiguration: { targetType: 'webhook', url: 'https://hooks.example.com/b2' },
    };
    const set = await s.ok('b2_set_bucket_notification_rules', {
      bucketId: b.bucketId,
      eventNotificationRules: [rule],
    });
    expect(set.eventNotificationRules[0]).toMatchObject({ ...rule, isSuspended: false });
    const got = await s.get('b2_get_bucket_notification_rules', { bucketId: b.bucketId });
    expect(got.json.eventNotificationRules).toEqual(set.eventNotificationRules);
    const bad = await s.call('b2_set_bucket_notification_rules', {
      bucketId: b.bucketId,
      eventNotificationRules: [{ ...rule, eventTypes: ['b2:Nope'] }],
    });
    expect([bad.status, bad.json.code]).toEqual([400, 'event_type_invalid']);
  });
});
