/**
 * Real CLI + emulator:
 * - an existing bucket of the same name in the same account that is not marked as this stack's is
 *   refused by `pulumi up` (BucketOwnedElsewhere, infra/providers/bucket.ts), untouched; taken
 *   over deliberately through the stack config `adoptBucketIds` — same bucket id, its files kept,
 *   the stack's settings and ownership marker applied;
 * - upgrade in place: a stack deployed by the previous version (the commit before the issue-10
 *   work, checked out from git) is brought up by this version with nothing replaced or
 *   deleted: markers added in place, keys kept under their old names;
 * - a provider fix reaches resources created before it: refresh runs the provider code the thin
 *   loader resolves at run time (infra/providers/loader.ts), not a copy frozen in the state. The
 *   "fixed" provider is a module in another root (INFRAFABRIC_BACKUP_ROOT) that wraps the real one
 *   and marks what it reads.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { stackDiscriminator } from '../../infra/providers/ownership';
import { PulumiWorkspace, resourceSummary } from '../../scripts/start/pulumi';
import { bucketNames, createE2EProject, E2EProject, keyNames, REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(240_000);

const BUCKET_TYPE = 'pulumi-nodejs:dynamic/b2:Bucket';
const bucket = 'infrafabric-backup-dev-aws';

describe('e2e: a same-name bucket not marked as ours', () => {
  let p: E2EProject;
  beforeAll(async () => {
    p = await createE2EProject();
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('is refused, untouched; adoptBucketIds takes it over (same id, files kept, settings and marker applied)', async () => {
    const client = p.native();
    const existing = await client.createBucket({ bucketName: bucket, bucketType: 'allPrivate' });
    await client.uploadFile({
      bucketId: existing.bucketId,
      fileName: 'configs/old.json',
      body: '{"kept":true}',
    });
    await p.ws.selectOrCreateStack();
    const refused = await p.ws.run(['up', '--yes', '--skip-preview'], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(
      new RegExp(
        `BucketOwnedElsewhere: bucket "${bucket}" \\(${existing.bucketId}\\)[\\s\\S]*no ownership marker[\\s\\S]*adoptBucketId`,
      ),
    );
    const untouched = (await client.getBucketByName(bucket))!;
    expect(untouched.bucketInfo).toEqual({});
    expect(untouched.revision).toBe(existing.revision);
    expect(await keyNames(client)).toEqual([]);

    p.setConfig({ adoptBucketIds: { aws: existing.bucketId } });
    const up = await p.ws.run(['up', '--yes', '--skip-preview']);
    expect(up.stderr + up.stdout).toMatch(/adopting bucket .* by id; previous owner: no owner/);
    expect(await bucketNames(client)).toEqual([bucket]);
    const live = (await client.getBucketByName(bucket))!;
    expect(live.bucketId).toBe(existing.bucketId);
    expect(live.bucketInfo).toMatchObject({
      env: 'dev',
      provider: 'aws',
      'managed-by': expect.any(String),
      'owner-stack': `infrafabric-backup/${p.stack}`,
      'owner-resource': 'dev-aws-bucket',
    });
    expect(live.lifecycleRules.map((r) => r.fileNamePrefix)).toContain('configs/');
    const files: string[] = [];
    for await (const f of client.listFileNames({ bucketId: live.bucketId })) files.push(f.fileName);
    expect(files).toEqual(['configs/old.json']);
    const state = await p.ws.exportState();
    expect(state.deployment.resources!.find((r) => r.type === BUCKET_TYPE)!.id).toBe(existing.bucketId);
    const d = stackDiscriminator(`infrafabric-backup/${p.stack}`);
    expect(await keyNames(client)).toEqual([`${bucket}-backup-writer-${d}`, `${bucket}-restore-reader-${d}`]);
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
    expect((await client.getBucketByName('pre-existing-bucket'))!.bucketInfo).toEqual({
      adopted: 'yes',
      'owner-stack': `infrafabric-backup/${p.stack}`,
      'owner-resource': 'adopted',
    });
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

/**
 * The previous version of the program and providers: the repository at the last commit before the
 * estate-safety work (issue 10: ownership markers, aliases, key generations), exported from git.
 * `UPGRADE_BASE` overrides it (any commit-ish).
 */
export const PREVIOUS_VERSION = '40df4be';

function checkoutPreviousVersion(dest: string): string {
  const base = execFileSync(
    'git',
    ['rev-parse', `${process.env.UPGRADE_BASE || PREVIOUS_VERSION}^{commit}`],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  ).trim();
  fs.mkdirSync(dest, { recursive: true });
  const tar = execFileSync('git', ['archive', base, 'infra', 'stacks', 'package.json', 'tsconfig.json'], {
    cwd: REPO_ROOT,
    maxBuffer: 256 << 20,
  });
  execFileSync('tar', ['-x', '-C', dest], { input: tar });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dest, 'node_modules'));
  return base;
}

describe('e2e: upgrade in place from the version before the estate-safety work', () => {
  // prod's topology (replication: buckets and keys in both accounts), small.
  const config = { env: 'prod', forceDestroy: false, replication: { enabled: true } };
  let p: E2EProject;
  let oldRoot: string;
  beforeAll(async () => {
    p = await createE2EProject({ regions: ['us-west-004', 'eu-central-001'], config });
    oldRoot = path.join(p.tmp, 'previous-version');
    checkoutPreviousVersion(oldRoot);
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('replaces and deletes nothing: markers are added in place, keys in use keep their ids and old names', async () => {
    const client = p.native();
    const replicaClient = p.native(1);
    // Deploy with the previous version: its program, its providers.
    p.useProgram(`export * from ${JSON.stringify(path.join(oldRoot, 'stacks', 'index'))};\n`);
    // It predates the policy pack, so it runs without it (as it did).
    const previous = new PulumiWorkspace({ ...p.ws.opts, policyPack: false });
    await previous.selectOrCreateStack();
    await previous.run(['up', '--yes', '--skip-preview'], { env: { INFRAFABRIC_BACKUP_ROOT: oldRoot } });
    const keyIdsOf = async (c: typeof client) => {
      const ids: Record<string, string> = {};
      for await (const k of c.listKeys()) ids[k.keyName] = k.applicationKeyId;
      return ids;
    };
    const bucketsOf = async (c: typeof client) =>
      Object.fromEntries((await c.listBuckets()).map((b) => [b.bucketName, b]));
    const keysBefore = { ...(await keyIdsOf(client)), ...(await keyIdsOf(replicaClient)) };
    const bucketsBefore = { ...(await bucketsOf(client)), ...(await bucketsOf(replicaClient)) };
    expect(Object.keys(keysBefore)).toHaveLength(4);
    for (const b of Object.values(bucketsBefore)) expect(b.bucketInfo['owner-stack']).toBeUndefined();
    await client.uploadFile({
      bucketId: bucketsBefore['infrafabric-backup-prod-aws'].bucketId,
      fileName: 'configs/before-upgrade.json',
      body: '{}',
    });

    // This version: preview plans no replacement and no deletion, only in-place bucket updates.
    p.useProgram(`export * from ${JSON.stringify(path.join(REPO_ROOT, 'stacks', 'index'))};\n`);
    const preview = await p.ws.run(['preview', '--json']);
    const steps = (JSON.parse(preview.stdout) as { steps: Array<{ op: string; urn: string }> }).steps;
    const ops = steps.filter((st) => st.op !== 'same');
    expect(ops.filter((st) => !['update'].includes(st.op))).toEqual([]);
    expect(ops.every((st) => st.urn.includes('b2:Bucket'))).toBe(true);
    const up = await p.ws.run(['up', '--yes', '--skip-preview']);
    expect(Object.keys(resourceSummary(up.stdout)).sort()).toEqual(['unchanged', 'updated']);

    const keysAfter = { ...(await keyIdsOf(client)), ...(await keyIdsOf(replicaClient)) };
    expect(keysAfter).toEqual(keysBefore);
    const bucketsAfter = { ...(await bucketsOf(client)), ...(await bucketsOf(replicaClient)) };
    expect(Object.keys(bucketsAfter).sort()).toEqual(Object.keys(bucketsBefore).sort());
    for (const [name, b] of Object.entries(bucketsAfter)) {
      expect(b.bucketId).toBe(bucketsBefore[name].bucketId);
      expect(b.bucketInfo['owner-stack']).toBe(`infrafabric-backup/${p.stack}`);
    }
    const files: string[] = [];
    for await (const f of client.listFileNames({
      bucketId: bucketsAfter['infrafabric-backup-prod-aws'].bucketId,
    }))
      files.push(f.fileName);
    expect(files).toEqual(['configs/before-upgrade.json']);
    await p.ws.run(['preview', '--expect-no-changes']);
    // The keys take this stack's discriminator at their next rotation.
    p.setConfig({ ...config, keyRotation: 'r2' });
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const d = stackDiscriminator(`infrafabric-backup/${p.stack}`);
    const rotated = Object.keys({ ...(await keyIdsOf(client)), ...(await keyIdsOf(replicaClient)) });
    for (const n of Object.keys(keysBefore)) expect(rotated).toContain(`${n}-r2-${d}`);
  });
});
