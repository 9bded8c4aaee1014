/**
 * Refactors do not replace (issue 10, item 2), with the real engine against the emulator's two
 * regions: switching `replication.enabled` for a provider moves `BackupBucket <env>-<p>` to
 * `ReplicatedBackupBucket <env>-<p>` › `BackupBucket <env>-<p>-source` (new URNs). The aliases
 * (infra/components/backupBucket.ts header) must make the engine see the same bucket and keys:
 * the plan holds no delete or replace of them, and afterwards the bucket id, its files and the
 * writer/reader key ids are unchanged — both ways.
 */
import { stackDiscriminator } from '../../infra/providers/ownership';
import { bucketNames, createE2EProject, E2EProject, keyNames } from '../helpers/pulumiProject';

/** The key-name discriminator of the test stack (infra/providers/ownership.ts). */
const D = (p: E2EProject) => stackDiscriminator(`infrafabric-backup/${p.stack}`);

jest.setTimeout(300_000);

interface Step {
  op: string;
  urn: string;
}
const BUCKET = 'pulumi-nodejs:dynamic/b2:Bucket';
const KEY = 'pulumi-nodejs:dynamic/b2:ApplicationKey';
const typeOf = (urn: string) => urn.split('::')[2]!.split('$').pop()!;
const nameOf = (urn: string) => urn.split('::').pop()!;

async function plan(p: E2EProject): Promise<Step[]> {
  const res = await p.ws.run(['preview', '--json']);
  return ((JSON.parse(res.stdout) as { steps?: Step[] }).steps ?? []).filter((s) => s.op !== 'same');
}

describe('e2e: switching replication on and off keeps the bucket and its keys', () => {
  let p: E2EProject;
  const bucket = 'infrafabric-backup-dev-aws';
  let bucketId: string;
  let keyIds: unknown;

  beforeAll(async () => {
    p = await createE2EProject({ regions: ['us-west-004', 'eu-central-001'] });
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  const files = async () => {
    const out: string[] = [];
    for await (const f of p.native().listFileNames({ bucketId })) out.push(f.fileName);
    return out;
  };

  it('up without replication; a backup lands in the bucket', async () => {
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    bucketId = (await p.native().getBucketByName(bucket))!.bucketId;
    await p.native().uploadFile({ bucketId, fileName: 'configs/kept.json', body: '{"kept":true}' });
    keyIds = (await p.ws.outputs()).keyIds;
  });

  it('replication on: the plan creates only the twin, the replication keys and the rule', async () => {
    p.setConfig({ replication: { enabled: true } });
    const steps = await plan(p);
    // Nothing of the existing estate is deleted or replaced; the moved resources are matched.
    expect(steps.filter((s) => /delete|replace/.test(s.op))).toEqual([]);
    const creates = steps
      .filter((s) => s.op === 'create' && [BUCKET, KEY].includes(typeOf(s.urn)))
      .map((s) => nameOf(s.urn))
      .sort();
    expect(creates).toEqual([
      'dev-aws-replica-bucket',
      'dev-aws-replication-destination',
      'dev-aws-replication-source',
    ]);
    await p.ws.run(['up', '--yes', '--skip-preview']);
    expect((await p.native().getBucketByName(bucket))!.bucketId).toBe(bucketId);
    expect(await files()).toEqual(['configs/kept.json']);
    expect((await p.ws.outputs()).keyIds).toEqual(keyIds);
    expect(await bucketNames(p.native(1))).toEqual([`${bucket}-replica`]);
    const state = await p.ws.exportState();
    const urns = state.deployment.resources!.filter((r) => r.type === BUCKET).map((r) => nameOf(r.urn));
    expect(urns.sort()).toEqual(['dev-aws-replica-bucket', 'dev-aws-source-bucket']);
    await p.ws.run(['preview', '--expect-no-changes']);
  });

  it('replication off: only the twin, its keys and the rule go; the source bucket and its keys stay', async () => {
    p.setConfig({ replication: { enabled: false } });
    const steps = await plan(p);
    expect(steps.filter((s) => /replace/.test(s.op))).toEqual([]);
    expect(steps.filter((s) => s.op === 'create')).toEqual([]);
    const deletes = steps
      .filter((s) => s.op === 'delete' && [BUCKET, KEY].includes(typeOf(s.urn)))
      .map((s) => nameOf(s.urn))
      .sort();
    expect(deletes).toEqual([
      'dev-aws-replica-bucket',
      'dev-aws-replication-destination',
      'dev-aws-replication-source',
    ]);
    await p.ws.run(['up', '--yes', '--skip-preview']);
    expect(await bucketNames(p.native())).toEqual([bucket]);
    expect((await p.native().getBucketByName(bucket))!.bucketId).toBe(bucketId);
    expect(await files()).toEqual(['configs/kept.json']);
    expect((await p.ws.outputs()).keyIds).toEqual(keyIds);
    expect(await keyNames(p.native())).toEqual([
      `${bucket}-backup-writer-${D(p)}`,
      `${bucket}-restore-reader-${D(p)}`,
    ]);
    expect(await bucketNames(p.native(1))).toEqual([]);
    await p.ws.run(['preview', '--expect-no-changes']);
  });
});
