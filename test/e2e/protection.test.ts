/**
 * Prod protection (issue 10, item 3) with the real engine: "prod" is `env: prod` in stack config
 * (the stack here is called `e2e`). Its buckets are recorded `protect`ed, so `pulumi destroy`
 * refuses before touching B2 and the bucket and its backup survive; `forceDestroy` is refused at
 * preview. Only the explicit `disposable: true` lifts both: an `up` with it unprotects, and the
 * destroy then empties and deletes.
 */
import { bucketNames, createE2EProject, E2EProject, keyNames } from '../helpers/pulumiProject';

jest.setTimeout(300_000);

describe('e2e: a prod-env stack cannot be destroyed by accident', () => {
  let p: E2EProject;
  const bucket = 'infrafabric-backup-prod-aws';
  const config = {
    env: 'prod',
    providers: ['aws'],
    retention: 'standard',
    replication: { enabled: true },
    forceDestroy: false,
  };

  beforeAll(async () => {
    // prod's policy level (policy/) wants replication: two regions, as prod has two accounts
    p = await createE2EProject({ config, regions: ['us-west-004', 'eu-central-001'] });
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('buckets are protected in the state; destroy refuses and the backup survives', async () => {
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const state = await p.ws.exportState();
    const buckets = state.deployment.resources!.filter((r) => r.type === 'pulumi-nodejs:dynamic/b2:Bucket');
    expect(buckets.map((b) => (b as { protect?: boolean }).protect)).toEqual([true, true]);
    const live = (await p.native().getBucketByName(bucket))!;
    await p.native().uploadFile({ bucketId: live.bucketId, fileName: 'db/orders.dump.gz', body: 'x' });

    const res = await p.ws.run(['destroy', '--yes', '--skip-preview'], { allowFailure: true });
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/protect/i);
    expect(await bucketNames(p.native())).toEqual([bucket]);
    const files: string[] = [];
    for await (const f of p.native().listFileNames({ bucketId: live.bucketId })) files.push(f.fileName);
    expect(files).toEqual(['db/orders.dump.gz']);
  });

  it('forceDestroy on a prod-env stack is refused at preview with a named error', async () => {
    p.setConfig({ ...config, forceDestroy: true });
    const res = await p.ws.run(['preview'], { allowFailure: true });
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toContain('ProdForceDestroyRefused');
    expect(res.stdout + res.stderr).toContain('infrafabric-backup:forceDestroy');
  });

  it('disposable: true is the one way out: up unprotects, destroy empties and deletes', async () => {
    p.setConfig({ ...config, forceDestroy: true, disposable: true });
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const state = await p.ws.exportState();
    for (const b of state.deployment.resources!.filter((r) => r.type === 'pulumi-nodejs:dynamic/b2:Bucket'))
      expect((b as { protect?: boolean }).protect ?? false).toBe(false);
    await p.ws.run(['destroy', '--yes', '--skip-preview']);
    expect(await bucketNames(p.native())).toEqual([]);
    expect(await keyNames(p.native())).toEqual([]);
    expect(await bucketNames(p.native(1))).toEqual([]);
  });
});
