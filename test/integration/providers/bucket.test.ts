/**
 * b2:Bucket driven as the engine drives it: the real dynamic-provider host, gRPC, the serialised
 * thin loader, against the emulator (issue 5 part 4).
 */
import { lifecycleRulesFor, defaultBucketInfo } from '../../../infra/components/defaults';
import { Harness, clearFaults, expectNoSecrets, startHarness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
afterEach(async () => {
  await clearFaults(h);
});

let seq = 0;
const uniqueName = (tag: string) => `ifb-${tag}-${process.pid}-${++seq}`;

/** The stack identity these tests create buckets as (the ownership marker). */
const STACK = 'ifb-test/stack-a';

function inputs(bucketName: string, over: Record<string, unknown> = {}) {
  return h.withProvider('bucket', {
    bucketName,
    owner: { stack: STACK, resource: `${bucketName}-res` },
    bucketType: 'allPrivate',
    bucketInfo: defaultBucketInfo('dev', 'aws'),
    lifecycleRules: lifecycleRulesFor('short'),
    defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    ...over,
  });
}

async function createBucket(name: string, over: Record<string, unknown> = {}) {
  const urn = h.urn('bucket', name);
  const checked = await h.host.check(urn, {}, inputs(name, over));
  expect(checked.failures).toEqual([]);
  const created = await h.host.create(urn, checked.inputs);
  return { urn, id: created.id, state: created.properties, checked: checked.inputs };
}

test('create: the bucket exists in B2 with the declared settings; outputs carry id, revision, account, S3 endpoint', async () => {
  const name = uniqueName('create');
  const { id, state } = await createBucket(name);
  const live = (await h.primary.getBucketById(id))!;
  expect(live.bucketName).toBe(name);
  expect(live.bucketInfo).toEqual({
    ...defaultBucketInfo('dev', 'aws'),
    'owner-stack': STACK,
    'owner-resource': `${name}-res`,
  });
  expect(live.lifecycleRules.map((r) => r.fileNamePrefix).sort()).toEqual([
    'audit-logs/',
    'configs/',
    'db/',
    'terraform-state/',
  ]);
  expect(live.defaultServerSideEncryption?.value?.mode).toBe('SSE-B2');
  expect(state).toMatchObject({
    bucketId: id,
    bucketName: name,
    accountId: await h.primary.accountId(),
    s3Endpoint: (await h.primary.authorize()).s3ApiUrl,
    revision: live.revision,
    fileLockEnabled: false,
  });
  expectNoSecrets(h, JSON.stringify(state));
});

test('no-op diff after create; lifecycle change updates in place; rename replaces', async () => {
  const name = uniqueName('diff');
  const { urn, id, state, checked } = await createBucket(name);
  expect(await h.host.diff(urn, id, state, checked)).toEqual({
    changes: 'none',
    replaces: [],
    deleteBeforeReplace: false,
  });

  const next = (
    await h.host.check(urn, checked, inputs(name, { lifecycleRules: lifecycleRulesFor('standard') }))
  ).inputs;
  expect(await h.host.diff(urn, id, state, next)).toEqual({
    changes: 'some',
    replaces: [],
    deleteBeforeReplace: false,
  });
  const updated = await h.host.update(urn, id, state, next);
  const live = (await h.primary.getBucketById(id))!;
  expect(live.lifecycleRules.find((r) => r.fileNamePrefix === 'configs/')).toMatchObject({
    daysFromUploadingToHiding: 90,
    daysFromHidingToDeleting: 365,
  });
  expect(updated.properties.revision).toBe(live.revision);
  expect(live.revision).toBeGreaterThan(state.revision);
  expect(await h.host.diff(urn, id, updated.properties, next)).toMatchObject({ changes: 'none' });

  const renamed = (
    await h.host.check(urn, next, inputs(`${name}-x`, { lifecycleRules: lifecycleRulesFor('standard') }))
  ).inputs;
  expect(await h.host.diff(urn, id, updated.properties, renamed)).toEqual({
    changes: 'some',
    replaces: ['bucketName'],
    deleteBeforeReplace: false,
  });
});

test('read returns live state: an out-of-band change shows up and diffs as an update', async () => {
  const name = uniqueName('drift');
  const { urn, id, state, checked } = await createBucket(name);
  await h.primary.updateBucket({ bucketId: id, bucketInfo: { env: 'tampered' }, lifecycleRules: [] });
  const read = await h.host.read(urn, id, state);
  expect(read.id).toBe(id);
  expect(read.properties.bucketInfo).toEqual({ env: 'tampered' });
  expect(read.properties.lifecycleRules).toEqual([]);
  expect(await h.host.diff(urn, id, read.properties, checked)).toEqual({
    changes: 'some',
    replaces: [],
    deleteBeforeReplace: false,
  });
  const fixed = await h.host.update(urn, id, read.properties, checked);
  const marked = {
    ...defaultBucketInfo('dev', 'aws'),
    'owner-stack': STACK,
    'owner-resource': `${name}-res`,
  };
  expect(fixed.properties.bucketInfo).toEqual(marked);
  expect((await h.primary.getBucketById(id))!.bucketInfo).toEqual(marked);
});

test('read of a bucket deleted out of band reports it gone (empty id)', async () => {
  const { urn, id, state } = await createBucket(uniqueName('gone'));
  await h.primary.deleteBucket(id);
  expect((await h.host.read(urn, id, state)).id).toBe('');
});

// The `import` resource option does not work for dynamic resources: checked with the pinned
// engine (3.274.1), its import Read carries neither state nor inputs, so the host cannot find
// `__provider` ("code must be a string"). Adoption therefore goes through `adoptBucketId`.
test('adoption by id: Create with adoptBucketId; a read by id with only inputs (a `get`) returns live state', async () => {
  const name = uniqueName('adopt');
  const existing = await h.primary.createBucket({
    bucketName: name,
    bucketType: 'allPrivate',
    bucketInfo: { legacy: 'yes' },
  });
  const urn = h.urn('bucket', name);
  // A user-driven read by id: the engine passes only the inputs (which carry `__provider`).
  const imported = await h.host.read(urn, existing.bucketId, {}, inputs(name));
  expect(imported.id).toBe(existing.bucketId);
  expect(imported.properties).toMatchObject({
    bucketName: name,
    bucketInfo: { legacy: 'yes' },
    bucketId: existing.bucketId,
  });
  // Explicit adopt input: the bucket is taken over and brought to the declared settings.
  const checked = (await h.host.check(urn, {}, inputs(name, { adoptBucketId: existing.bucketId }))).inputs;
  const created = await h.host.create(urn, checked);
  expect(created.id).toBe(existing.bucketId);
  expect((await h.primary.getBucketById(existing.bucketId))!.bucketInfo).toEqual({
    ...defaultBucketInfo('dev', 'aws'),
    'owner-stack': STACK,
    'owner-resource': `${name}-res`,
  });
  await expect(h.host.create(urn, { ...checked, adoptBucketId: 'no-such-bucket-id' })).rejects.toThrow(
    /adoptBucketId: no bucket no-such-bucket-id/,
  );
});

test('a key that may not read encryption/lock settings makes read fail closed, not plan a removal', async () => {
  const name = uniqueName('filtered');
  const { urn, id, state } = await createBucket(name);
  const key = await h.primary.createKey({
    keyName: 'filtered-reader',
    capabilities: ['listBuckets', 'readBuckets'],
    bucketIds: [id],
  });
  const { startProviderHost } = await import('../../helpers/dynamicProviderHost');
  const limited = await startProviderHost({ env: { B2_APPLICATION_KEY_ID: '', B2_APPLICATION_KEY: '' } });
  try {
    await limited.configure({
      'infrafabric-backup:b2ApplicationKeyId': key.applicationKeyId,
      'infrafabric-backup:b2ApplicationKey': key.applicationKey.reveal(),
      'infrafabric-backup:b2RealmUrl': h.emu.info.regions[0].url,
    });
    await expect(limited.read(urn, id, state)).rejects.toThrow(
      /may not read defaultServerSideEncryption[\s\S]*refusing to report it as unset/,
    );
    expectNoSecrets(h, limited.stderr(), [key.applicationKey.reveal()]);
  } finally {
    await limited.stop();
  }
  expect((await h.primary.getBucketById(id))!.defaultServerSideEncryption?.value?.mode).toBe('SSE-B2');
});

test('delete of a non-empty bucket is refused without forceDestroy, with the count and how to proceed; forceDestroy empties it', async () => {
  const name = uniqueName('nonempty');
  const { urn, id, state } = await createBucket(name);
  await h.primary.uploadFile({ bucketId: id, fileName: 'configs/a.json', body: '{}' });
  await h.primary.uploadFile({ bucketId: id, fileName: 'configs/a.json', body: '{"v":2}' });
  await h.primary.hideFile(id, 'configs/a.json');
  await h.primary.startLargeFile({
    bucketId: id,
    fileName: 'db/dump.sql.gz',
    contentType: 'application/gzip',
  });
  await expect(h.host.delete(urn, id, state)).rejects.toThrow(
    /still holds 4 file version\(s\)[\s\S]*forceDestroy: true/,
  );
  expect(await h.primary.getBucketById(id)).toBeDefined();

  await h.host.delete(urn, id, { ...state, forceDestroy: true });
  expect(await h.primary.getBucketById(id)).toBeUndefined();
  await h.host.expectStderr(new RegExp(`forceDestroy ${name}: deleted 4 file versions`));
});

test('create retried after a crash adopts the bucket it made, no duplicate; a name owned by another account fails clearly', async () => {
  const name = uniqueName('crash');
  const first = await createBucket(name);
  // The engine never recorded `first` (crash): the next `up` creates again.
  const again = await createBucket(name);
  expect(again.id).toBe(first.id);
  expect(
    (await h.primary.listBuckets({ bucketTypes: ['all'] })).filter((b) => b.bucketName === name),
  ).toHaveLength(1);
  await h.host.expectStderr(new RegExp(`bucket ${name} already exists in this account`));
  await h.host.expectStderr(/with this resource's ownership marker; adopting it/);

  const foreign = uniqueName('foreign');
  await h.replica.createBucket({ bucketName: foreign, bucketType: 'allPrivate' });
  await expect(createBucket(foreign)).rejects.toThrow(
    /already used by another B2 account[\s\S]*namePrefix\/nameSuffix/,
  );
});

test('a revision conflict (409) during update is retried by re-reading', async () => {
  const name = uniqueName('conflict');
  const { urn, id, state, checked } = await createBucket(name);
  const next = (
    await h.host.check(
      urn,
      checked,
      inputs(name, { bucketInfo: { ...defaultBucketInfo('dev', 'aws'), extra: '1' } }),
    )
  ).inputs;
  await h.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_update_bucket',
    status: 409,
    code: 'conflict',
    message: 'simultaneous updates to bucket',
    count: 2,
  });
  const updated = await h.host.update(urn, id, state, next);
  expect(updated.properties.bucketInfo.extra).toBe('1');
  await h.host.expectStderr(/changed meanwhile \(revision \d+, 409\); re-reading and re-applying/);
});

test('injected 503 and 429 are survived', async () => {
  const name = uniqueName('faults');
  await h.emu.admin('POST', '/__admin/faults', {
    rules: [
      { operation: 'b2_create_bucket', status: 503, code: 'service_unavailable', count: 1, retryAfter: 1 },
      { operation: 'b2_list_buckets', status: 429, code: 'too_many_requests', count: 2, retryAfter: 1 },
    ],
  });
  const { id } = await createBucket(name);
  const faults = (await h.emu.admin('GET', '/__admin/faults')) as { rules: Array<{ fired: number }> };
  expect(faults.rules.reduce((n, r) => n + r.fired, 0)).toBe(3);
  expect((await h.primary.getBucketById(id))!.bucketName).toBe(name);
});

test('the serialised provider is a thin loader: no key material, no provider logic, no SDK', () => {
  const text = h.providers.bucket;
  expectNoSecrets(h, text);
  for (const r of h.emu.info.regions) expect(text).not.toContain(r.keyId);
  expect(text).not.toMatch(/applyBucketSettings|B2Client|authorizationToken|@aws-sdk/);
  expect(text).toMatch(/require\(file\)\[exportName\]/);
  expectNoSecrets(h, h.host.stderr());
});

test('Object Lock: enabling it on an existing bucket is refused at check unless acknowledged; then in place, marked irreversible; disabling it is refused at check', async () => {
  const name = uniqueName('lock');
  const { urn, id, state, checked } = await createBucket(name);
  const retention = { mode: 'governance', period: { duration: 30, unit: 'days' } };
  const unacknowledged = await h.host.check(
    urn,
    checked,
    inputs(name, { fileLockEnabled: true, defaultRetention: retention }),
  );
  expect(unacknowledged.failures).toEqual([
    {
      property: 'fileLockEnabled',
      reason: expect.stringMatching(
        /^IrreversibleChangeNotAcknowledged: enabling Object Lock on the existing bucket .* is irreversible.*objectLock\.acknowledgeIrreversible: true/,
      ),
    },
  ]);
  const locked = (
    await h.host.check(
      urn,
      checked,
      inputs(name, { fileLockEnabled: true, defaultRetention: retention, acknowledgeIrreversible: true }),
    )
  ).inputs;
  // The plan carries the word: the engine shows this input next to the update.
  expect(locked.irreversible).toMatch(/irreversible/);
  expect(await h.host.diff(urn, id, state, locked)).toEqual({
    changes: 'some',
    replaces: [],
    deleteBeforeReplace: false,
  });
  const updated = await h.host.update(urn, id, state, locked);
  expect(updated.properties).toMatchObject({ fileLockEnabled: true, defaultRetention: retention });
  const live = (await h.primary.getBucketById(id))!;
  expect(live.fileLockConfiguration?.value).toMatchObject({
    isFileLockEnabled: true,
    defaultRetention: retention,
  });

  const unlocked = await h.host.check(urn, locked, inputs(name, { fileLockEnabled: false }));
  expect(unlocked.failures).toEqual([
    { property: 'fileLockEnabled', reason: expect.stringMatching(/B2 can never disable it/) },
  ]);

  // Once on, nothing more to acknowledge. Retention can be dropped while the lock stays on.
  const noRetention = (
    await h.host.check(urn, locked, inputs(name, { fileLockEnabled: true, defaultRetention: null }))
  ).inputs;
  expect(noRetention.irreversible).toBeUndefined();
  const cleared = await h.host.update(urn, id, updated.properties, noRetention);
  expect(cleared.properties).toMatchObject({ fileLockEnabled: true, defaultRetention: null });
});

test('the loader finds the provider module when the host runs outside the project (serialised fallback dir)', async () => {
  const { startProviderHost } = await import('../../helpers/dynamicProviderHost');
  const os = await import('os');
  const outside = await startProviderHost({ cwd: os.tmpdir(), env: { INFRAFABRIC_BACKUP_ROOT: '' } });
  try {
    await outside.configure({});
    const res = await outside.check(h.urn('bucket', 'outside'), {}, inputs('b2-not-allowed'));
    expect(res.failures).toEqual([
      { property: 'bucketName', reason: expect.stringMatching(/must not start with "b2-"/) },
    ]);
  } finally {
    await outside.stop();
  }
});

test('a create that fails after the bucket exists reports it as a partial resource the engine can later refresh or delete', async () => {
  const name = uniqueName('partial');
  const retention = { mode: 'governance', period: { duration: 7, unit: 'days' } };
  const urn = h.urn('bucket', name);
  const checked = (
    await h.host.check(urn, {}, inputs(name, { fileLockEnabled: true, defaultRetention: retention }))
  ).inputs;
  // The retention is set by an update after the create; make that update fail for good.
  await h.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_update_bucket',
    status: 400,
    code: 'bad_request',
    message: 'injected',
    count: 1,
  });
  const err = await h.host.create(urn, checked).then(
    () => null,
    (e: Error & { initFailure?: { id: string; properties: Record<string, unknown> } }) => e,
  );
  expect(err?.message).toMatch(
    new RegExp(`bucket ${name} \\(\\w+\\) exists but applying its settings failed`),
  );
  const live = (await h.primary.getBucketByName(name))!;
  expect(err!.initFailure).toMatchObject({
    id: live.bucketId,
    properties: { bucketName: name, bucketId: live.bucketId },
  });
  // The recorded partial state carries the provider, so the next step (here: delete) works.
  expect(err!.initFailure!.properties.__provider).toBe(h.providers.bucket);
  await h.host.delete(urn, live.bucketId, err!.initFailure!.properties);
  expect(await h.primary.getBucketById(live.bucketId)).toBeUndefined();
});

test('a provider fix reaches resources created before it: the stored loader runs the current module', async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { startProviderHost } = await import('../../helpers/dynamicProviderHost');
  // Same serialised __provider as in the state, but a "fixed" checkout whose bucket check changed.
  const root = path.resolve(__dirname, '..', '..', '..');
  const fixed = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-fixed-'));
  try {
    fs.cpSync(path.join(root, 'infra'), path.join(fixed, 'infra'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(fixed, 'node_modules'));
    const file = path.join(fixed, 'infra', 'providers', 'bucket.ts');
    const src = fs.readFileSync(file, 'utf8');
    const anchor = 'problems.push(...validateKnownProperties(news, BUCKET_PROPERTIES));';
    const patched = src.replace(
      anchor,
      `${anchor}\n  problems.push({ property: 'bucketName', reason: 'checked by the fixed provider' });`,
    );
    expect(patched).not.toBe(src);
    fs.writeFileSync(file, patched);
    const host = await startProviderHost({ cwd: os.tmpdir(), env: { INFRAFABRIC_BACKUP_ROOT: fixed } });
    try {
      await host.configure({});
      const res = await host.check(h.urn('bucket', 'fixed'), {}, inputs('abcdefgh'));
      expect(res.failures).toContainEqual({
        property: 'bucketName',
        reason: 'checked by the fixed provider',
      });
    } finally {
      await host.stop();
    }
  } finally {
    fs.rmSync(fixed, { recursive: true, force: true });
  }
});

test('forceDestroy does not bypass governance retention unless the bucket is disposable', async () => {
  const name = uniqueName('locked');
  const { urn, id, state } = await createBucket(name, {
    fileLockEnabled: true,
    defaultRetention: { mode: 'governance', period: { duration: 1, unit: 'days' } },
  });
  await h.primary.uploadFile({ bucketId: id, fileName: 'configs/locked.json', body: '{}' });
  // forceDestroy alone (any non-disposable stack, prod can not even set it): the locked version
  // stops the delete; the bucket and the file are still there.
  await expect(h.host.delete(urn, id, { ...state, forceDestroy: true })).rejects.toThrow(
    /Object Lock retention[\s\S]*disposable: true/,
  );
  expect(await h.primary.getBucketById(id)).toBeDefined();
  const left: string[] = [];
  for await (const f of h.primary.listFileNames({ bucketId: id })) left.push(f.fileName);
  expect(left).toEqual(['configs/locked.json']);
  // the explicitly disposable stack may bypass governance
  await h.host.delete(urn, id, { ...state, forceDestroy: true, disposable: true });
  expect(await h.primary.getBucketById(id)).toBeUndefined();
});

describe('ownership (issue 10 item 1)', () => {
  const OTHER = 'ifb-test/stack-b';

  test('a same-name bucket of another stack is refused at create, naming its owner and adoptBucketId; it is left untouched', async () => {
    const name = uniqueName('own-b');
    const theirs = await createBucket(name, { owner: { stack: OTHER, resource: 'their-bucket' } });
    await h.primary.uploadFile({ bucketId: theirs.id, fileName: 'keep.txt', body: 'theirs' });
    const before = (await h.primary.getBucketById(theirs.id))!;
    const urn = h.urn('bucket', `${name}-mine`);
    const mine = (await h.host.check(urn, {}, inputs(name, { bucketInfo: { env: 'prod' } }))).inputs;
    const err = await h.host.create(urn, mine).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      new RegExp(
        `BucketOwnedElsewhere: bucket "${name}" \\(${theirs.id}\\) already exists in this account and belongs to ` +
          `stack "${OTHER}", resource "their-bucket"[\\s\\S]*adoptBucketId: "${theirs.id}"`,
      ),
    );
    const after = (await h.primary.getBucketById(theirs.id))!;
    expect(after.revision).toBe(before.revision);
    expect(after.bucketInfo).toEqual(before.bucketInfo);
    const names = [];
    for await (const v of h.primary.listFileVersions({ bucketId: theirs.id })) names.push(v.fileName);
    expect(names).toEqual(['keep.txt']);
  });

  test('an unmarked bucket, and one marked for another resource of the same stack, are refused too', async () => {
    const unmarked = uniqueName('own-none');
    await h.primary.createBucket({ bucketName: unmarked, bucketType: 'allPrivate' });
    await expect(createBucket(unmarked)).rejects.toThrow(
      /BucketOwnedElsewhere: .*belongs to no owner \(no ownership marker\)[\s\S]*adoptBucketId/,
    );
    const sibling = uniqueName('own-sib');
    await createBucket(sibling, { owner: { stack: STACK, resource: 'another-resource' } });
    await expect(createBucket(sibling)).rejects.toThrow(
      new RegExp(
        `belongs to stack "${STACK}", resource "another-resource", not to stack "${STACK}", resource "${sibling}-res"`,
      ),
    );
  });

  test('adoptBucketId takes over deliberately and rewrites the marker; the previous owner can then neither change nor delete it', async () => {
    const name = uniqueName('own-take');
    const a = await createBucket(name, { owner: { stack: OTHER, resource: 'old-owner' } });
    await h.primary.uploadFile({ bucketId: a.id, fileName: 'data.txt', body: 'x' });
    const urn = h.urn('bucket', `${name}-new`);
    const taking = (await h.host.check(urn, {}, inputs(name, { adoptBucketId: a.id }))).inputs;
    const taken = await h.host.create(urn, taking);
    expect(taken.id).toBe(a.id);
    expect((await h.primary.getBucketById(a.id))!.bucketInfo).toMatchObject({
      'owner-stack': STACK,
      'owner-resource': `${name}-res`,
    });
    await h.host.expectStderr(
      new RegExp(
        `adopting bucket ${name} \\(${a.id}\\) by id; previous owner: stack "${OTHER}", resource "old-owner"`,
      ),
    );
    // The old owner's next update must not steal it back.
    const oldNext = (
      await h.host.check(
        a.urn,
        a.checked,
        inputs(name, { owner: { stack: OTHER, resource: 'old-owner' }, bucketType: 'allPublic' }),
      )
    ).inputs;
    await expect(h.host.update(a.urn, a.id, a.state, oldNext)).rejects.toThrow(
      /BucketOwnedElsewhere: .*belongs to stack "ifb-test\/stack-a"[\s\S]*pulumi state delete/,
    );
    expect((await h.primary.getBucketById(a.id))!.bucketType).toBe('allPrivate');
    // The old owner's destroy (even with forceDestroy) leaves bucket and contents alone.
    await h.host.delete(a.urn, a.id, { ...a.state, forceDestroy: true });
    expect(await h.primary.getBucketById(a.id)).toBeDefined();
    const names = [];
    for await (const v of h.primary.listFileVersions({ bucketId: a.id })) names.push(v.fileName);
    expect(names).toEqual(['data.txt']);
    await h.host.expectStderr(new RegExp(`bucket ${name} \\(${a.id}\\) now belongs to stack "${STACK}"`));
  });

  test('bucketInfo may not set the marker keys, nor exceed 10 entries with the marker', async () => {
    const urn = h.urn('bucket', 'reserved');
    const reserved = await h.host.check(
      urn,
      {},
      inputs('ifb-reserved', { bucketInfo: { 'owner-stack': 'x/y' } }),
    );
    expect(reserved.failures).toEqual([
      {
        property: 'bucketInfo',
        reason: expect.stringMatching(/owner-stack is reserved for the ownership marker/),
      },
    ]);
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await h.host.check(urn, {}, inputs('ifb-reserved', { bucketInfo: many }));
    expect(tooMany.failures).toEqual([
      {
        property: 'bucketInfo',
        reason: expect.stringMatching(/9 entries plus the 2 of the ownership marker exceed B2's limit of 10/),
      },
    ]);
  });

  test('upgrade: a bucket recorded without a marker (previous version) gets it in place, no replacement', async () => {
    const name = uniqueName('own-upg');
    const live = await h.primary.createBucket({
      bucketName: name,
      bucketType: 'allPrivate',
      bucketInfo: defaultBucketInfo('dev', 'aws'),
      lifecycleRules: lifecycleRulesFor('short'),
    });
    const urn = h.urn('bucket', name);
    // The previous version's state: inputs without owner.
    const { owner: _owner, ...legacy } = inputs(name);
    const oldInputs = (await h.host.check(urn, {}, legacy)).inputs;
    const oldState = (await h.host.read(urn, live.bucketId, oldInputs, oldInputs)).properties;
    expect(oldState.bucketInfo['owner-stack']).toBeUndefined();
    const next = (await h.host.check(urn, oldInputs, inputs(name))).inputs;
    expect(await h.host.diff(urn, live.bucketId, oldState, next)).toEqual({
      changes: 'some',
      replaces: [],
      deleteBeforeReplace: false,
    });
    const updated = await h.host.update(urn, live.bucketId, oldState, next);
    expect(updated.properties.bucketId).toBe(live.bucketId);
    expect((await h.primary.getBucketById(live.bucketId))!.bucketInfo).toMatchObject({
      'owner-stack': STACK,
      'owner-resource': `${name}-res`,
    });
  });
});

test("changing a bucket's account under the same name is refused at check with the manual move; a rename with it is a replacement", async () => {
  const name = uniqueName('acct');
  const { urn, id, state, checked } = await createBucket(name);
  const moved = await h.host.check(urn, checked, inputs(name, { account: 'replica' }));
  expect(moved.failures).toEqual([
    {
      property: 'account',
      reason: expect.stringMatching(
        /^AccountChangeRefused: bucket .* is in the primary account and cannot move to the replica account[\s\S]*nameSuffix[\s\S]*sync/,
      ),
    },
  ]);
  const renamed = await h.host.check(urn, checked, inputs(`${name}-eu`, { account: 'replica' }));
  expect(renamed.failures).toEqual([]);
  expect((await h.host.diff(urn, id, state, renamed.inputs)).replaces).toEqual(['bucketName', 'account']);
});

test("Object Lock found on the live bucket but absent from config: refresh records it (inputs too), the next preview's check names it instead of the apply", async () => {
  const name = uniqueName('lockdrift');
  const { urn, id, state, checked } = await createBucket(name);
  await h.primary.updateBucket({ bucketId: id, fileLockEnabled: true });
  const refreshed = await h.host.read(urn, id, state, checked);
  expect(refreshed.properties.fileLockEnabled).toBe(true);
  expect(refreshed.inputs).toMatchObject({ bucketName: name, fileLockEnabled: true });
  await h.host.expectStderr(
    new RegExp(`warning: bucket ${name} \\(${id}\\) has Object Lock enabled in B2 but not in the state`),
  );
  const preview = await h.host.check(urn, refreshed.inputs!, inputs(name));
  expect(preview.failures).toEqual([
    {
      property: 'fileLockEnabled',
      reason: expect.stringMatching(
        /^ObjectLockNotInConfig: bucket .* has Object Lock enabled[\s\S]*objectLock\.enabled: true/,
      ),
    },
  ]);
  // Declared, it converges with no lock change and nothing more to acknowledge.
  const declared = await h.host.check(urn, refreshed.inputs!, inputs(name, { fileLockEnabled: true }));
  expect(declared.failures).toEqual([]);
  expect(await h.host.diff(urn, id, refreshed.properties, declared.inputs)).toMatchObject({
    changes: 'none',
  });
});

test("a lost create answer (drop-after) is reconciled: the bucket made is adopted by its marker, not reported as another account's", async () => {
  const name = uniqueName('lost');
  await h.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_create_bucket',
    action: 'drop-after',
    count: 1,
  });
  const { id } = await createBucket(name);
  const live = (await h.primary.listBuckets({ bucketTypes: ['all'] })).filter((b) => b.bucketName === name);
  expect(live.map((b) => b.bucketId)).toEqual([id]);
  expect(live[0]!.bucketInfo['owner-resource']).toBe(`${name}-res`);
});
