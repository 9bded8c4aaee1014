/**
 * b2:ApplicationKey through the real dynamic-provider host over gRPC, against the emulator:
 * create, no-op diff, rotation (create-before-delete), drift, crash recovery reporting, and that
 * the secret appears only in the secret output.
 */
import { B2Client } from '../../../infra/b2';
import { KEY_LIST_TTL_MS } from '../../../infra/providers/applicationKey';
import { stackDiscriminator, withDiscriminator } from '../../../infra/providers/ownership';
import { Harness, clearFaults, expectNoSecrets, startHarness } from './harness';

let h: Harness;
let bucketId: string;
beforeAll(async () => {
  h = await startHarness();
  bucketId = (
    await h.primary.createBucket({ bucketName: `ifb-keys-${process.pid}`, bucketType: 'allPrivate' })
  ).bucketId;
});
afterAll(async () => {
  await h?.close();
});
afterEach(async () => {
  await clearFaults(h);
});

/** The stack these tests create keys as, and the inputs the components give an owned key. */
const STACK = 'ifb-test/stack-a';
const OWNED = { deleteUnrecordedSameName: true, ownerStack: STACK };

const WRITER = ['listBuckets', 'listFiles', 'readBuckets', 'readFiles', 'writeFiles'];

function keyInputs(keyName: string, over: Record<string, unknown> = {}) {
  return h.withProvider('applicationKey', {
    keyName,
    capabilities: WRITER,
    bucketIds: [bucketId],
    rotation: 'initial',
    ...over,
  });
}

async function createKey(keyName: string, over: Record<string, unknown> = {}) {
  const urn = h.urn('applicationKey', keyName);
  const checked = await h.host.check(urn, {}, keyInputs(keyName, over));
  expect(checked.failures).toEqual([]);
  const created = await h.host.create(urn, checked.inputs);
  return { urn, id: created.id, state: created.properties, checked: checked.inputs };
}

const liveKeyIds = async (name: string) => {
  const ids: string[] = [];
  for await (const k of h.primary.listKeys()) if (k.keyName === name) ids.push(k.applicationKeyId);
  return ids.sort();
};

/** The key works: it authorizes and holds exactly the declared scope. */
async function authorizeWith(id: string, secret: string) {
  const c = new B2Client({
    applicationKeyId: id,
    applicationKey: secret,
    realmUrl: h.emu.info.regions[0].url,
    retry: { maxAttempts: 1 },
  });
  return c.authorize();
}

test('create: a bucket-scoped key that works; the secret is only in applicationKey', async () => {
  const { id, state } = await createKey('ifb-writer');
  expect(state.applicationKeyId).toBe(id);
  expect(typeof state.applicationKey).toBe('string');
  expect(state.applicationKey.length).toBeGreaterThan(10);
  const auth = await authorizeWith(id, state.applicationKey);
  expect([...auth.allowed.capabilities].sort()).toEqual(WRITER);
  const { applicationKey, __provider, ...plain } = state;
  expectNoSecrets(h, JSON.stringify(plain) + __provider + h.host.stderr(), [applicationKey]);
  expect(h.providers.applicationKey).not.toContain(applicationKey);
});

test('no-op diff; capability change or rotation replaces, create-before-delete', async () => {
  const { urn, id, state, checked } = await createKey('ifb-diff');
  expect(await h.host.diff(urn, id, state, checked)).toEqual({
    changes: 'none',
    replaces: [],
    deleteBeforeReplace: false,
  });
  const narrower = (
    await h.host.check(urn, checked, keyInputs('ifb-diff', { capabilities: ['listFiles', 'readFiles'] }))
  ).inputs;
  expect(await h.host.diff(urn, id, state, narrower)).toEqual({
    changes: 'some',
    replaces: ['capabilities'],
    deleteBeforeReplace: false,
  });
  const wider = (await h.host.check(urn, checked, keyInputs('ifb-diff', { bucketIds: [bucketId, 'other'] })))
    .inputs;
  expect((await h.host.diff(urn, id, state, wider)).replaces).toEqual(['bucketIds']);
});

test('key rotation: the new key exists (and works) before the old one is deleted', async () => {
  const name = 'ifb-rotate';
  const old = await createKey(name);
  const next = (await h.host.check(old.urn, old.checked, keyInputs(name, { rotation: '2026-12' }))).inputs;
  expect(await h.host.diff(old.urn, old.id, old.state, next)).toEqual({
    changes: 'some',
    replaces: ['rotation'],
    deleteBeforeReplace: false,
  });
  // Engine order for a create-before-delete replacement: Create(new) … then Delete(old).
  const created = await h.host.create(old.urn, next);
  expect(created.id).not.toBe(old.id);
  expect(await liveKeyIds(name)).toEqual([old.id, created.id].sort());
  await authorizeWith(created.id, created.properties.applicationKey);
  await authorizeWith(old.id, old.state.applicationKey);
  expect(created.properties.sameNameKeyIds).toEqual([old.id]);
  await h.host.delete(old.urn, old.id, old.state);
  expect(await liveKeyIds(name)).toEqual([created.id]);
  // A fresh authorize (not the client's process-wide cache) proves the old key is dead.
  const res = await fetch(`${h.emu.info.regions[0].url}/b2api/v3/b2_authorize_account`, {
    headers: {
      authorization: 'Basic ' + Buffer.from(`${old.id}:${old.state.applicationKey}`).toString('base64'),
    },
  });
  expect(res.status).toBe(401);
});

test('read: live fields, secret carried from state; a key deleted out of band is reported gone', async () => {
  const { urn, id, state } = await createKey('ifb-read');
  const read = await h.host.read(urn, id, state);
  expect(read.id).toBe(id);
  expect(read.properties).toMatchObject({
    keyName: 'ifb-read',
    capabilities: WRITER,
    bucketIds: [bucketId],
    applicationKey: state.applicationKey,
  });
  await h.primary.deleteKey(id);
  // Reads share one key listing per account for KEY_LIST_TTL_MS; a later read sees the change.
  await new Promise((r) => setTimeout(r, KEY_LIST_TTL_MS + 200));
  expect((await h.host.read(urn, id, state)).id).toBe('');
  await h.host.delete(urn, id, state); // deleting an already-deleted key succeeds
});

test('reads of many keys list the account once (refresh is O(1) b2_list_keys walks per account); create/delete drop the cache', async () => {
  const made = [];
  for (let i = 0; i < 6; i++) made.push(await createKey(`ifb-cache-${i}`));
  const listCalls = async () =>
    ((await h.emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> }).operations
      .b2_list_keys ?? 0;
  const before = await listCalls();
  const reads = await Promise.all(made.map((k) => h.host.read(k.urn, k.id, k.state)));
  expect(reads.map((r) => r.id)).toEqual(made.map((k) => k.id));
  // One walk = the v3 and the v4 listing (b2-api.md §1.1), one page each here.
  const oneWalk = (await listCalls()) - before;
  expect(oneWalk).toBeLessThanOrEqual(2);
  for (const k of made) await h.host.read(k.urn, k.id, k.state);
  expect((await listCalls()) - before).toBe(oneWalk);
  // A delete drops the cached listing: the deleted key is gone at the next read.
  await h.host.delete(made[0].urn, made[0].id, made[0].state);
  expect((await h.host.read(made[0].urn, made[0].id, made[0].state)).id).toBe('');
  for (const k of made.slice(1)) await h.host.delete(k.urn, k.id, k.state);
});

test("ownership: leftover cleanup deletes only keys named with this stack's discriminator; another stack's key survives", async () => {
  const OTHER = 'ifb-test/stack-b';
  // Stack A's key, recorded by A.
  const aName = withDiscriminator('ifb-owned', STACK);
  const a = await createKey(aName, OWNED);
  // Stack B declares the very same name and definition (a copied config, a forged name): B's
  // create must not take A's key for its own leftover.
  const b = await createKey(aName, { deleteUnrecordedSameName: true, ownerStack: OTHER });
  expect(await liveKeyIds(aName)).toEqual([a.id, b.id].sort());
  await h.host.expectStderr(/not deleting same-name keys of .*does not end with this stack's discriminator/);
  // A name without any discriminator is never cleaned up either.
  const plain = await createKey('ifb-nodisc', OWNED);
  const plain2 = await createKey('ifb-nodisc', OWNED);
  expect(await liveKeyIds('ifb-nodisc')).toEqual([plain.id, plain2.id].sort());
  // B's key names carry B's discriminator: A's and B's keys never share a name.
  expect(stackDiscriminator(OTHER)).not.toBe(stackDiscriminator(STACK));
  expect(withDiscriminator('ifb-owned', OTHER)).not.toBe(aName);
  // Deleting B's resource deletes B's key by id only.
  await h.host.delete(b.urn, b.id, b.state);
  expect(await liveKeyIds(aName)).toEqual([a.id]);
});

test("upgrade: a name that only gains this stack's discriminator is not a replacement; any other rename is", async () => {
  const legacy = await createKey('ifb-legacy-name', { deleteUnrecordedSameName: true });
  const next = (
    await h.host.check(
      legacy.urn,
      legacy.checked,
      keyInputs(withDiscriminator('ifb-legacy-name', STACK), OWNED),
    )
  ).inputs;
  expect(await h.host.diff(legacy.urn, legacy.id, legacy.state, next)).toMatchObject({
    changes: 'none',
    replaces: [],
  });
  // Another stack's discriminator, or another name, replaces as before.
  const foreign = (
    await h.host.check(
      legacy.urn,
      legacy.checked,
      keyInputs(withDiscriminator('ifb-legacy-name', 'ifb-test/stack-b'), OWNED),
    )
  ).inputs;
  expect((await h.host.diff(legacy.urn, legacy.id, legacy.state, foreign)).replaces).toEqual(['keyName']);
  const renamed = (
    await h.host.check(legacy.urn, legacy.checked, keyInputs(withDiscriminator('ifb-other', STACK), OWNED))
  ).inputs;
  expect((await h.host.diff(legacy.urn, legacy.id, legacy.state, renamed)).replaces).toEqual(['keyName']);
});

test('a create retried after a crash reports the unrecorded key instead of hiding it', async () => {
  const first = await createKey('ifb-crash');
  const again = await createKey('ifb-crash');
  expect(again.state.sameNameKeyIds).toEqual([first.id]);
  await h.host.expectStderr(new RegExp(`existing key\\(s\\) named ifb-crash: ${first.id}`));
});

test('with deleteUnrecordedSameName (as the components set it) a retried create removes the leftover: no orphaned key', async () => {
  const name = withDiscriminator('ifb-crash2', STACK);
  const first = await createKey(name, OWNED);
  // The engine never recorded `first`: the re-run creates again.
  const again = await createKey(name, OWNED);
  expect(again.state.sameNameKeyIds).toEqual([first.id]);
  expect(await liveKeyIds(name)).toEqual([again.id]);
  await h.host.expectStderr(new RegExp(`deleted 1 unrecorded key\\(s\\) named ${name} \\(${first.id}\\)`));
  // Changing the flag alone is not a replacement.
  const olds = again.state;
  expect(
    (await h.host.diff(again.urn, again.id, olds, { ...again.checked, deleteUnrecordedSameName: false }))
      .changes,
  ).toBe('none');
});

test('with deleteUnrecordedSameName, a replacement of the same name (new capabilities) still creates before deleting', async () => {
  const name = withDiscriminator('ifb-samename-replace', STACK);
  const old = await createKey(name, OWNED);
  const next = (
    await h.host.check(
      old.urn,
      old.checked,
      keyInputs(name, { ...OWNED, capabilities: ['listFiles', 'readFiles'] }),
    )
  ).inputs;
  expect((await h.host.diff(old.urn, old.id, old.state, next)).replaces).toEqual(['capabilities']);
  const created = await h.host.create(old.urn, next);
  // The key being replaced differs in capabilities: reported, not deleted.
  expect(await liveKeyIds(name)).toEqual([old.id, created.id].sort());
  expect(created.properties.sameNameKeyIds).toEqual([old.id]);
  await h.host.delete(old.urn, old.id, old.state);
  expect(await liveKeyIds(name)).toEqual([created.id]);
});

test('check refuses account-level capabilities on a bucket-scoped key, naming the field', async () => {
  const urn = h.urn('applicationKey', 'bad');
  const res = await h.host.check(
    urn,
    {},
    keyInputs('ifb-bad', { capabilities: ['writeFiles', 'writeKeys'] }),
  );
  expect(res.failures).toEqual([
    {
      property: 'capabilities[1]',
      reason: expect.stringMatching(/"writeKeys" is not allowed on a bucket-scoped key/),
    },
  ]);
});

test('adoption by id: the key is taken over; its secret cannot be recovered', async () => {
  const existing = await h.primary.createKey({
    keyName: 'ifb-legacy',
    capabilities: ['listFiles'],
    bucketIds: [bucketId],
  });
  const { id, state } = await createKey('ifb-legacy', {
    capabilities: ['listFiles'],
    adoptKeyId: existing.applicationKeyId,
  });
  expect(id).toBe(existing.applicationKeyId);
  expect(state.applicationKey).toBe('');
  expect(await liveKeyIds('ifb-legacy')).toEqual([existing.applicationKeyId]);
});

test('injected 503/429 on key calls are survived', async () => {
  await h.emu.admin('POST', '/__admin/faults', {
    rules: [
      { operation: 'b2_create_key', status: 503, code: 'service_unavailable', count: 1, retryAfter: 1 },
      { operation: 'b2_list_keys', status: 429, code: 'too_many_requests', count: 1, retryAfter: 1 },
    ],
  });
  const { id } = await createKey('ifb-faults');
  expect(await liveKeyIds('ifb-faults')).toEqual([id]);
});

test('a lost create answer (drop-after: B2 made the key, the answer never came) leaves one live key whose secret works', async () => {
  const name = withDiscriminator('ifb-lost-answer', STACK);
  await h.emu.admin('POST', '/__admin/faults', {
    operation: 'b2_create_key',
    action: 'drop-after',
    count: 1,
  });
  const created = await createKey(name, OWNED);
  expect(await liveKeyIds(name)).toEqual([created.id]);
  const auth = await authorizeWith(created.id, created.state.applicationKey as string);
  expect(auth.allowed.bucketId).toBe(bucketId);
});
