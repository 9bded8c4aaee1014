/**
 * Real CLI + emulator:
 * - an existing bucket of the same name in the same account is adopted by `pulumi up` (the
 *   providers' model: a create that finds its bucket already there adopts it; infra/providers/bucket.ts)
 *   — same bucket id, its files kept, the stack's settings applied;
 * - a provider fix reaches resources created before it: refresh runs the provider code the thin
 *   loader resolves at run time (infra/providers/loader.ts), not a copy frozen in the state. The
 *   "fixed" provider is a module in another root (INFRAFABRIC_BACKUP_ROOT) that wraps the real one
 *   and marks what it reads.
 */
import * as fs from 'fs';
import * as path from 'path';
import { bucketNames, createE2EProject, E2EProject, keyNames, REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(240_000);

const BUCKET_TYPE = 'pulumi-nodejs:dynamic/b2:Bucket';
const bucket = 'infrafabric-backup-dev-aws';

describe('e2e: adopting an existing bucket', () => {
  let p: E2EProject;
  beforeAll(async () => {
    p = await createE2EProject();
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('up adopts the same-name bucket of the account (same id, files kept, settings applied)', async () => {
    const client = p.native();
    const existing = await client.createBucket({ bucketName: bucket, bucketType: 'allPrivate' });
    await client.uploadFile({
      bucketId: existing.bucketId,
      fileName: 'configs/old.json',
      body: '{"kept":true}',
    });
    await p.ws.selectOrCreateStack();
    const up = await p.ws.run(['up', '--yes', '--skip-preview']);
    expect(up.stderr + up.stdout).toMatch(/adopting it/);
    expect(await bucketNames(client)).toEqual([bucket]);
    const live = (await client.getBucketByName(bucket))!;
    expect(live.bucketId).toBe(existing.bucketId);
    expect(live.bucketInfo).toMatchObject({ env: 'dev', provider: 'aws', 'managed-by': expect.any(String) });
    expect(live.lifecycleRules.map((r) => r.fileNamePrefix)).toContain('configs/');
    const files: string[] = [];
    for await (const f of client.listFileNames({ bucketId: live.bucketId })) files.push(f.fileName);
    expect(files).toEqual(['configs/old.json']);
    const state = await p.ws.exportState();
    expect(state.deployment.resources!.find((r) => r.type === BUCKET_TYPE)!.id).toBe(existing.bucketId);
    expect(await keyNames(client)).toEqual([`${bucket}-backup-writer`, `${bucket}-restore-reader`]);
    await p.ws.run(['preview', '--expect-no-changes']);
  });
});

describe('e2e: adopting a bucket by id (adoptBucketId input)', () => {
  let p: E2EProject;
  beforeAll(async () => {
    p = await createE2EProject();
    p.useProgram(`import * as pulumi from '@pulumi/pulumi';
import { Bucket } from ${JSON.stringify(path.join(REPO_ROOT, 'infra', 'providers', 'bucket'))};
const config = new pulumi.Config('e2e');
const b = new Bucket('adopted', {
  bucketName: config.require('name'),
  adoptBucketId: config.require('adoptBucketId'),
  bucketInfo: { adopted: 'yes' },
});
export const bucketId = b.bucketId;
`);
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('adopts the bucket with that id (settings applied); a name mismatch fails clearly', async () => {
    const client = p.native();
    const existing = await client.createBucket({
      bucketName: 'pre-existing-bucket',
      bucketType: 'allPrivate',
    });
    await p.ws.selectOrCreateStack();
    await p.ws.run(['config', 'set', 'e2e:name', 'other-name-bucket']);
    await p.ws.run(['config', 'set', 'e2e:adoptBucketId', existing.bucketId]);
    const refused = await p.ws.run(['up', '--yes', '--skip-preview'], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain(
      `adoptBucketId: bucket ${existing.bucketId} is named "pre-existing-bucket"`,
    );
    expect(await bucketNames(client)).toEqual(['pre-existing-bucket']);

    await p.ws.run(['config', 'set', 'e2e:name', 'pre-existing-bucket']);
    await p.ws.run(['up', '--yes', '--skip-preview']);
    expect((await p.ws.outputs()).bucketId).toBe(existing.bucketId);
    expect(await bucketNames(client)).toEqual(['pre-existing-bucket']);
    expect((await client.getBucketByName('pre-existing-bucket'))!.bucketInfo).toEqual({ adopted: 'yes' });
    await p.ws.run(['preview', '--expect-no-changes']);
  });
});

describe('e2e: a provider fix reaches resources created before it', () => {
  let p: E2EProject;
  let fixedRoot: string;
  beforeAll(async () => {
    p = await createE2EProject();
    // A second checkout whose bucket provider is the "fixed" one: it wraps the repository's
    // provider and stamps what `read` returns.
    fixedRoot = path.join(p.tmp, 'fixed-checkout');
    fs.mkdirSync(path.join(fixedRoot, 'infra', 'providers'), { recursive: true });
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(fixedRoot, 'node_modules'));
    fs.writeFileSync(
      path.join(fixedRoot, 'infra', 'providers', 'bucket.ts'),
      `import { bucketProvider as original } from ${JSON.stringify(path.join(REPO_ROOT, 'infra', 'providers', 'bucket'))};
export const bucketProvider = {
  ...original,
  async read(id: string, props: any) {
    const r = await original.read!(id, props);
    return { ...r, props: { ...r.props, bucketInfo: { ...r.props.bucketInfo, 'read-by': 'fixed-provider' } } };
  },
};
`,
    );
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('refresh after the upgrade runs the new provider code on the old resource', async () => {
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const bucketState = async () =>
      (await p.ws.exportState()).deployment.resources!.find((r) => r.type === BUCKET_TYPE)!;
    const before = await bucketState();
    expect((before.outputs!.bucketInfo as Record<string, string>)['read-by']).toBeUndefined();
    // The serialised provider in the state is the thin loader; it must not embed provider logic.
    expect(String(before.inputs!.__provider)).not.toContain('bucketStateFromLive');

    // Refresh only reads through the provider recorded in the state (the program does not run).
    await p.ws.run(['refresh', '--yes', '--skip-preview'], { env: { INFRAFABRIC_BACKUP_ROOT: fixedRoot } });
    const after = await bucketState();
    expect(after.id).toBe(before.id);
    expect((after.outputs!.bucketInfo as Record<string, string>)['read-by']).toBe('fixed-provider');

    // And the repository's code again: the stamp is gone (it never existed in B2).
    await p.ws.run(['refresh', '--yes', '--skip-preview']);
    expect(((await bucketState()).outputs!.bucketInfo as Record<string, string>)['read-by']).toBeUndefined();
  });
});
