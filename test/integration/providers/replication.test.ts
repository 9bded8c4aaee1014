/**
 * b2:Replication across two accounts (the emulator's two regions), driven through the real
 * dynamic-provider host together with the Bucket and ApplicationKey providers, in the order the
 * engine would run a prod stack: buckets → keys → replication. Both sides are checked in B2, a file
 * actually replicates, key rotation updates the rule in place, delete tears down both sides.
 */
import { KEY_CAPABILITIES, lifecycleRulesFor } from '../../../infra/components/defaults';
import type { ProviderModule } from '../../../infra/providers/loader';
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

async function up(module: ProviderModule, name: string, inputs: Record<string, unknown>) {
  const urn = h.urn(module, name);
  const checked = await h.host.check(urn, {}, h.withProvider(module, inputs));
  expect(checked.failures).toEqual([]);
  const created = await h.host.create(urn, checked.inputs);
  return { urn, id: created.id, state: created.properties, checked: checked.inputs };
}

const replicationOf = async (which: 'primary' | 'replica', bucketId: string) => {
  const b = await h[which].getBucketById(bucketId);
  expect(b?.replicationConfiguration?.isClientAuthorizedToRead).toBe(true);
  return b!.replicationConfiguration!.value!;
};

async function estate(tag: string, rotation = 'initial') {
  const base = `ifb-rep-${tag}-${process.pid}`;
  const source = await up('bucket', `${tag}-src`, {
    bucketName: base,
    lifecycleRules: lifecycleRulesFor('standard'),
  });
  const replica = await up('bucket', `${tag}-dst`, {
    bucketName: `${base}-replica`,
    account: 'replica',
    lifecycleRules: lifecycleRulesFor('standard'),
  });
  const keys = async (rot: string) => ({
    src: await up('applicationKey', `${tag}-ks-${rot}`, {
      keyName: `${base}-replication-source`,
      capabilities: [...KEY_CAPABILITIES['replication-source']],
      bucketIds: [source.id],
      rotation: rot,
    }),
    dst: await up('applicationKey', `${tag}-kd-${rot}`, {
      keyName: `${base}-replication-destination`,
      capabilities: [...KEY_CAPABILITIES['replication-destination']],
      bucketIds: [replica.id],
      rotation: rot,
      account: 'replica',
    }),
  });
  return { base, source, replica, keys: await keys(rotation), newKeys: keys };
}

const replicationInputs = (e: Awaited<ReturnType<typeof estate>>, k = e.keys) => ({
  sourceBucketId: e.source.id,
  destinationBucketId: e.replica.id,
  sourceKeyId: k.src.id,
  destinationKeyId: k.dst.id,
  ruleName: 'to-eu',
});

test('set up on both sides, a file replicates, read and no-op diff, key rotation updates in place, delete tears down both sides', async () => {
  const e = await estate('full');
  const rep = await up('replication', 'full', replicationInputs(e));
  expect(rep.id).toBe(`${e.source.id}/to-eu`);

  const srcCfg = await replicationOf('primary', e.source.id);
  expect(srcCfg.asReplicationSource).toEqual({
    sourceApplicationKeyId: e.keys.src.id,
    replicationRules: [
      {
        replicationRuleName: 'to-eu',
        destinationBucketId: e.replica.id,
        fileNamePrefix: '',
        includeExistingFiles: false,
        isEnabled: true,
        priority: 128,
      },
    ],
  });
  expect((await replicationOf('replica', e.replica.id)).asReplicationDestination).toEqual({
    sourceToDestinationKeyMapping: { [e.keys.src.id]: e.keys.dst.id },
  });

  // The keys the component creates are the ones replication needs: a file actually arrives.
  await h.primary.uploadFile({
    bucketId: e.source.id,
    fileName: 'configs/2026-11-28.json',
    body: '{"ok":true}',
  });
  const run = (await h.emu.admin('POST', '/__admin/replication/run')) as { result: unknown };
  const names: string[] = [];
  for await (const f of h.replica.listFileNames({ bucketId: e.replica.id })) names.push(f.fileName);
  expect({ names, run: run.result }).toMatchObject({ names: ['configs/2026-11-28.json'] });

  const read = await h.host.read(rep.urn, rep.id, rep.state);
  expect(read.properties).toMatchObject(replicationInputs(e));
  expect(await h.host.diff(rep.urn, rep.id, read.properties, rep.checked)).toEqual({
    changes: 'none',
    replaces: [],
    deleteBeforeReplace: false,
  });

  // Rotation: new keys first, replication updated in place to them, then old keys deleted.
  const rotated = await e.newKeys('2027-01');
  const next = (
    await h.host.check(rep.urn, rep.checked, h.withProvider('replication', replicationInputs(e, rotated)))
  ).inputs;
  expect(await h.host.diff(rep.urn, rep.id, rep.state, next)).toEqual({
    changes: 'some',
    replaces: [],
    deleteBeforeReplace: false,
  });
  const updated = await h.host.update(rep.urn, rep.id, rep.state, next);
  expect((await replicationOf('primary', e.source.id)).asReplicationSource!.sourceApplicationKeyId).toBe(
    rotated.src.id,
  );
  expect((await replicationOf('replica', e.replica.id)).asReplicationDestination).toEqual({
    sourceToDestinationKeyMapping: { [rotated.src.id]: rotated.dst.id },
  });
  await h.host.delete(e.keys.src.urn, e.keys.src.id, e.keys.src.state);
  await h.host.delete(e.keys.dst.urn, e.keys.dst.id, e.keys.dst.state);

  await h.host.delete(rep.urn, rep.id, updated.properties);
  expect(await replicationOf('primary', e.source.id)).toEqual({
    asReplicationSource: null,
    asReplicationDestination: null,
  });
  expect(await replicationOf('replica', e.replica.id)).toEqual({
    asReplicationSource: null,
    asReplicationDestination: null,
  });
  expect((await h.host.read(rep.urn, rep.id, updated.properties)).id).toBe('');

  for (const text of [JSON.stringify(updated.properties), h.providers.replication, h.host.stderr()]) {
    expectNoSecrets(h, text, [
      rotated.src.state.applicationKey,
      rotated.dst.state.applicationKey,
      e.keys.src.state.applicationKey,
    ]);
  }
});

test('rules and mappings that are not ours are preserved', async () => {
  const e = await estate('keep');
  const other = await h.primary.createBucket({
    bucketName: `ifb-rep-other-${process.pid}`,
    bucketType: 'allPrivate',
  });
  // Someone else's mapping on the destination.
  await h.replica.updateBucket({
    bucketId: e.replica.id,
    replicationConfiguration: {
      asReplicationSource: null,
      asReplicationDestination: { sourceToDestinationKeyMapping: { 'foreign-src': e.keys.dst.id } },
    },
  });
  const rep = await up('replication', 'keep', replicationInputs(e));
  expect(
    (await replicationOf('replica', e.replica.id)).asReplicationDestination!.sourceToDestinationKeyMapping,
  ).toEqual({
    'foreign-src': e.keys.dst.id,
    [e.keys.src.id]: e.keys.dst.id,
  });
  await h.host.delete(rep.urn, rep.id, rep.state);
  expect(
    (await replicationOf('replica', e.replica.id)).asReplicationDestination!.sourceToDestinationKeyMapping,
  ).toEqual({ 'foreign-src': e.keys.dst.id });
  expect(other.bucketId).toBeTruthy();
});

test('a revision conflict and a 503 while writing replication are survived', async () => {
  const e = await estate('faults');
  await h.emu.admin('POST', '/__admin/faults', {
    rules: [
      {
        operation: 'b2_update_bucket',
        status: 409,
        code: 'conflict',
        message: 'simultaneous updates to bucket',
        count: 1,
      },
      { operation: 'b2_list_buckets', status: 503, code: 'service_unavailable', count: 1, retryAfter: 1 },
    ],
  });
  const rep = await up('replication', 'faults', replicationInputs(e));
  expect(
    (await replicationOf('primary', e.source.id)).asReplicationSource!.replicationRules[0]
      .replicationRuleName,
  ).toBe('to-eu');
  await h.host.expectStderr(/replication to-eu: bucket .* changed meanwhile/);
  expect(rep.id).toBe(`${e.source.id}/to-eu`);
});

test('read fails closed when the key may not read replicationConfiguration', async () => {
  const e = await estate('closed');
  const rep = await up('replication', 'closed', replicationInputs(e));
  // A bucket-scoped key can never hold readBucketReplications: B2 then answers
  // {isClientAuthorizedToRead: false, value: null}, which must not read as "no replication".
  const key = await h.primary.createKey({
    keyName: 'ifb-no-repl-read',
    capabilities: ['listBuckets', 'readBuckets'],
    bucketIds: [e.source.id],
  });
  const { startProviderHost } = await import('../../helpers/dynamicProviderHost');
  const limited = await startProviderHost({ env: { B2_APPLICATION_KEY_ID: '', B2_APPLICATION_KEY: '' } });
  try {
    await limited.configure({
      'infrafabric-backup:b2ApplicationKeyId': key.applicationKeyId,
      'infrafabric-backup:b2ApplicationKey': key.applicationKey.reveal(),
      'infrafabric-backup:b2RealmUrl': h.emu.info.regions[0].url,
    });
    await expect(limited.read(rep.urn, rep.id, rep.state)).rejects.toThrow(
      /may not read replicationConfiguration/,
    );
  } finally {
    await limited.stop();
  }
});

test('a new destination replaces the rule (delete first); deleting the old resource never removes the new rule', async () => {
  const e = await estate('move');
  const rep = await up('replication', 'move', replicationInputs(e));
  const other = await up('bucket', 'move-dst2', {
    bucketName: `${e.base}-replica2`,
    account: 'replica',
  });
  const moved = { ...replicationInputs(e), destinationBucketId: other.id };
  const next = (await h.host.check(rep.urn, rep.checked, h.withProvider('replication', moved))).inputs;
  expect(await h.host.diff(rep.urn, rep.id, rep.state, next)).toEqual({
    changes: 'some',
    replaces: ['destinationBucketId'],
    deleteBeforeReplace: true,
  });
  // Even in create-before-delete order the old delete leaves the new rule alone.
  const created = await h.host.create(rep.urn, next);
  await h.host.delete(rep.urn, rep.id, rep.state);
  const rules = (await replicationOf('primary', e.source.id)).asReplicationSource!.replicationRules;
  expect(rules.map((r) => [r.replicationRuleName, r.destinationBucketId])).toEqual([['to-eu', other.id]]);
  expect((await replicationOf('replica', other.id)).asReplicationDestination).toEqual({
    sourceToDestinationKeyMapping: { [e.keys.src.id]: e.keys.dst.id },
  });
  expect(created.id).toBe(`${e.source.id}/to-eu`);
});

test('key rotation never leaves the source on an unmapped key: new mapping first, switch, then drop the old one', async () => {
  const e = await estate('order');
  const rep = await up('replication', 'order', replicationInputs(e));
  const rotated = await e.newKeys('2027-02');
  const next = (
    await h.host.check(rep.urn, rep.checked, h.withProvider('replication', replicationInputs(e, rotated)))
  ).inputs;

  // Step 2 (the source switch) refused by B2: its new key vanished. Whatever the provider did
  // before that must leave the key the source still uses mapped on the destination.
  await h.primary.deleteKey(rotated.src.id);
  await expect(h.host.update(rep.urn, rep.id, rep.state, next)).rejects.toThrow(/does not exist/);
  const srcKey = (await replicationOf('primary', e.source.id)).asReplicationSource!.sourceApplicationKeyId;
  expect(srcKey).toBe(e.keys.src.id);
  const mapping = (await replicationOf('replica', e.replica.id)).asReplicationDestination!
    .sourceToDestinationKeyMapping;
  expect(mapping[srcKey]).toBe(e.keys.dst.id);

  // A good rotation: at the end only the new pair is mapped and used.
  const again = await e.newKeys('2027-03');
  const next2 = (
    await h.host.check(rep.urn, rep.checked, h.withProvider('replication', replicationInputs(e, again)))
  ).inputs;
  await h.host.update(rep.urn, rep.id, rep.state, next2);
  expect((await replicationOf('primary', e.source.id)).asReplicationSource!.sourceApplicationKeyId).toBe(
    again.src.id,
  );
  const after = (await replicationOf('replica', e.replica.id)).asReplicationDestination!
    .sourceToDestinationKeyMapping;
  expect(after[again.src.id]).toBe(again.dst.id);
  expect(after[e.keys.src.id]).toBeUndefined();
});
