/**
 * `pulumi up` killed midway (SIGKILL to the CLI right after the emulator has seen the first bucket
 * create) and re-run: the estate converges with no duplicate bucket and no orphaned key, checked in
 * the emulator through the native API, and a following preview has no changes.
 *
 * The stack uses two providers so the kill lands while work is still outstanding.
 */
import { ChildProcess } from 'child_process';
import { endTree, taggedProcesses } from '../helpers/processes';
import { stackDiscriminator } from '../../infra/providers/ownership';
import { bucketNames, createE2EProject, E2EProject, keyNames } from '../helpers/pulumiProject';

/** The key-name discriminator of the test stack (infra/providers/ownership.ts). */
const D = (p: E2EProject) => stackDiscriminator(`infrafabric-backup/${p.stack}`);

jest.setTimeout(240_000);

interface Stats {
  operations: Record<string, number>;
}

describe('e2e: up killed midway, then re-run', () => {
  let p: E2EProject;
  let cli: ChildProcess | undefined;
  beforeAll(async () => {
    p = await createE2EProject({ config: { providers: ['aws', 'gcp'] } });
  });
  afterAll(async () => {
    // cleanup ends every process of the workspace's tree: the CLI and its plugins.
    await p?.cleanup();
  });

  it('converges without duplicate buckets or orphaned keys', async () => {
    await p.ws.selectOrCreateStack();
    const run = p.ws.run(['up', '--yes', '--skip-preview'], {
      allowFailure: true,
      detached: true,
      onSpawn: (c) => (cli = c),
    });
    // Poll the emulator until it has created a bucket, then kill the CLI outright.
    const deadline = Date.now() + 120_000;
    let created = 0;
    while (Date.now() < deadline) {
      const stats = (await p.emu.admin('GET', '/__admin/stats')) as Stats;
      created = stats.operations.b2_create_bucket ?? 0;
      if (created >= 1) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(created).toBeGreaterThanOrEqual(1);
    cli!.kill('SIGKILL');
    const killed = await run;
    expect(killed.signal).toBe('SIGKILL');
    // Let in-flight provider calls finish, then stop the orphans. Killing the CLI's process group
    // is not enough: the engine starts each plugin (language host, pulumi-resource-pulumi-nodejs
    // and its node child) in a group of its own, and they are now children of init. They carry the
    // workspace's tree tag, which is how endTree finds them.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await endTree(p.treeTag)).toEqual([]);
    expect(taggedProcesses().filter((x) => x.tree === p.treeTag)).toEqual([]);

    // Midway indeed: not every key exists yet.
    expect((await keyNames(p.native())).length).toBeLessThan(4);

    // The killed CLI left its lock: cancel it (what an operator does), then re-run.
    expect(await p.ws.cancelStaleLocks()).toBeGreaterThanOrEqual(1);
    // Which live buckets did the killed run manage to record? The kill races the engine's
    // checkpoint, so either can happen; what must hold is that unrecorded ones get adopted.
    const recorded = new Set(
      ((await p.ws.exportState()).deployment.resources ?? [])
        .filter((r) => r.type.endsWith('b2:Bucket'))
        .map((r) => String((r.outputs as Record<string, unknown> | undefined)?.bucketName)),
    );
    const unrecorded = (await bucketNames(p.native())).filter((b) => !recorded.has(b));
    const rerun = await p.ws.run(['up', '--yes', '--skip-preview']);
    expect(rerun.code).toBe(0);
    for (const b of unrecorded) {
      // Created by the killed run but never recorded: the re-run found it and adopted it.
      expect(rerun.stdout + rerun.stderr).toMatch(
        new RegExp(`${b}.*already exists in this account .*adopting it`),
      );
    }

    const expectedBuckets = ['infrafabric-backup-dev-aws', 'infrafabric-backup-dev-gcp'];
    expect(await bucketNames(p.native())).toEqual(expectedBuckets);
    expect(await keyNames(p.native())).toEqual(
      expectedBuckets.flatMap((b) => [`${b}-backup-writer-${D(p)}`, `${b}-restore-reader-${D(p)}`]),
    );
    // Every key in B2 is the one the state knows (no orphan with the same name and another id).
    const out = (await p.ws.outputs()).keyIds as Record<string, Record<string, string>>;
    const stateIds = [...Object.values(out.writer!), ...Object.values(out.reader!)].sort();
    const liveIds: string[] = [];
    for await (const k of p.native().listKeys()) liveIds.push(k.applicationKeyId);
    expect(liveIds.sort()).toEqual(stateIds);
    await p.ws.run(['preview', '--expect-no-changes']);
  });
});
