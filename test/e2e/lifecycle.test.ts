/**
 * The real Pulumi CLI (pinned build) driving the repository's program against the emulator, one
 * stack through its life: up from empty → unchanged preview → lifecycle change updates in place →
 * rename replaces → out-of-band change seen by refresh → no plaintext secret in the state → destroy
 * removes buckets and keys. Every claim is checked in the emulator through the native API.
 */
import { stackDiscriminator } from '../../infra/providers/ownership';
import { bucketNames, createE2EProject, E2EProject, keyNames } from '../helpers/pulumiProject';

/** The key-name discriminator of the test stack (infra/providers/ownership.ts). */
const D = (p: E2EProject) => stackDiscriminator(`infrafabric-backup/${p.stack}`);

jest.setTimeout(240_000);

interface PreviewStep {
  op: string;
  urn: string;
  /** Dynamic providers report which inputs replace, not which differ (no detailed diff). */
  replaceReasons?: string[];
  oldState?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
  newState?: { inputs?: Record<string, unknown> };
}

/** Top-level inputs whose planned value differs from the recorded one. */
function changedInputs(s: PreviewStep): string[] {
  const olds = s.oldState?.outputs ?? {};
  const news = s.newState?.inputs ?? {};
  return Object.keys(news)
    .filter((k) => !k.startsWith('__') && JSON.stringify(olds[k]) !== JSON.stringify(news[k]))
    .sort();
}

async function previewSteps(p: E2EProject): Promise<PreviewStep[]> {
  const res = await p.ws.run(['preview', '--json']);
  return (JSON.parse(res.stdout) as { steps?: PreviewStep[] }).steps ?? [];
}

const byType = (steps: PreviewStep[], type: string) =>
  steps.filter(
    (s) =>
      s.urn.endsWith(`::${type}`) || s.urn.includes(`$${type}::`) || s.urn.split('::')[2]?.endsWith(type),
  );
const BUCKET = 'pulumi-nodejs:dynamic/b2:Bucket';

describe('e2e: one stack through its life (real CLI, emulator)', () => {
  let p: E2EProject;
  const bucket = 'infrafabric-backup-dev-aws';

  beforeAll(async () => {
    p = await createE2EProject();
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('up from empty creates the bucket and its writer/reader keys', async () => {
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    expect(await bucketNames(p.native())).toEqual([bucket]);
    expect(await keyNames(p.native())).toEqual([
      `${bucket}-backup-writer-${D(p)}`,
      `${bucket}-restore-reader-${D(p)}`,
    ]);
    const out = await p.ws.outputs();
    expect(out.buckets).toMatchObject({ aws: { name: bucket } });
    const live = await p.native().getBucketByName(bucket);
    expect(live?.lifecycleRules.find((r) => r.fileNamePrefix === 'configs/')?.daysFromUploadingToHiding).toBe(
      7,
    );
  });

  it('a second preview reports no changes', async () => {
    const res = await p.ws.run(['preview', '--expect-no-changes'], { allowFailure: true });
    expect(res.stdout).not.toMatch(/to (create|update|delete|replace)/);
    expect(res.code).toBe(0);
  });

  it('changing the retention (lifecycle rules) in config updates the bucket in place', async () => {
    const before = await p.native().getBucketByName(bucket);
    const keyIdsBefore = (await p.ws.outputs()).keyIds;
    p.setConfig({ retention: 'standard' });
    const steps = await previewSteps(p);
    const b = byType(steps, BUCKET);
    expect(b.map((s) => s.op)).toEqual(['update']);
    expect(changedInputs(b[0]!)).toEqual(['lifecycleRules']);
    // Keys are scoped with the bucket's resource id, known while an update is previewed: nothing
    // else changes (in particular no key is planned for replacement).
    expect(steps.filter((s) => s.op !== 'same').map((s) => s.urn.split('::').pop())).toEqual([
      'dev-aws-bucket',
    ]);
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const after = await p.native().getBucketByName(bucket);
    expect(after?.bucketId).toBe(before?.bucketId);
    expect(after?.lifecycleRules.find((r) => r.fileNamePrefix === 'configs/')).toMatchObject({
      daysFromUploadingToHiding: 90,
      daysFromHidingToDeleting: 365,
    });
    expect((await p.ws.outputs()).keyIds).toEqual(keyIdsBefore);
    expect(await keyNames(p.native())).toEqual([
      `${bucket}-backup-writer-${D(p)}`,
      `${bucket}-restore-reader-${D(p)}`,
    ]);
  });

  it('renaming (namePrefix) replaces the bucket and its keys; the old ones are gone', async () => {
    const oldKeyIds = await p.ws.outputs().then((o) => o.keyIds as Record<string, Record<string, string>>);
    p.setConfig({ retention: 'standard', namePrefix: 'renamed-' });
    const steps = await previewSteps(p);
    const b = byType(steps, BUCKET).filter((s) => s.op !== 'same');
    expect(b.some((s) => s.op === 'replace' && (s.replaceReasons ?? []).includes('bucketName'))).toBe(true);
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const renamed = `renamed-${bucket}`;
    expect(await bucketNames(p.native())).toEqual([renamed]);
    expect(await keyNames(p.native())).toEqual([
      `${renamed}-backup-writer-${D(p)}`,
      `${renamed}-restore-reader-${D(p)}`,
    ]);
    const newKeyIds = (await p.ws.outputs()).keyIds as Record<string, Record<string, string>>;
    expect(newKeyIds.writer!.aws).not.toBe(oldKeyIds.writer!.aws);
  });

  it('an out-of-band change in the emulator is shown by pulumi refresh, and up reverts it', async () => {
    const client = p.native();
    const live = (await client.getBucketByName(`renamed-${bucket}`))!;
    await client.updateBucket({
      bucketId: live.bucketId,
      bucketInfo: { ...live.bucketInfo, 'changed-by': 'someone-else' },
    });
    const refresh = await p.ws.run(['refresh', '--yes', '--skip-preview']);
    expect(refresh.stdout).toMatch(/1 updated/);
    const state = await p.ws.exportState();
    const rec = state.deployment.resources!.find((r) => r.type === BUCKET)!;
    expect((rec.outputs!.bucketInfo as Record<string, string>)['changed-by']).toBe('someone-else');
    const steps = byType(await previewSteps(p), BUCKET);
    expect(steps.map((s) => [s.op, changedInputs(s)])).toEqual([['update', ['bucketInfo']]]);
    await p.ws.run(['up', '--yes', '--skip-preview']);
    expect((await client.getBucketByName(`renamed-${bucket}`))!.bucketInfo['changed-by']).toBeUndefined();
  });

  it('the state holds no plaintext application key, master key or passphrase', async () => {
    const secrets = await p.ws.outputs(true);
    const keys = secrets.keys as Record<string, Record<string, { keyId: string; applicationKey: string }>>;
    const values = [
      keys.writer!.aws!.applicationKey,
      keys.reader!.aws!.applicationKey,
      p.emu.info.applicationKey,
      p.emu.info.adminToken,
      p.passphrase,
    ];
    for (const v of values) expect(typeof v === 'string' && v.length >= 10).toBe(true);
    const text = p.stateText();
    // The grep is over the right files: the key ids are there in the clear.
    expect(text).toContain(keys.writer!.aws!.keyId);
    for (const v of values) expect(text.includes(v)).toBe(false);
    expect(JSON.stringify(await p.ws.exportState()).includes(keys.writer!.aws!.applicationKey)).toBe(false);
  });

  it('destroy removes the buckets (with their files, forceDestroy) and the keys', async () => {
    const client = p.native();
    const live = (await client.getBucketByName(`renamed-${bucket}`))!;
    await client.uploadFile({
      bucketId: live.bucketId,
      fileName: 'configs/x.json',
      body: Buffer.from('{}'),
      contentType: 'application/json',
    });
    await p.ws.run(['destroy', '--yes', '--skip-preview']);
    expect(await bucketNames(client)).toEqual([]);
    expect(await keyNames(client)).toEqual([]);
  });
});
