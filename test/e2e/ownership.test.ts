/**
 * Two stacks of the same project, same configuration, same B2 account (emulator), real CLI:
 * - stack B's `up` is refused (BucketOwnedElsewhere names stack A), and stack A's bucket, its
 *   contents and its keys survive untouched (ids, names, keys still authorize);
 * - B given its own names (namePrefix) creates its own bucket and keys, named with B's
 *   discriminator; destroying B (forceDestroy) removes only B's — A's bucket, file and keys remain.
 */
import { B2Client } from '../../infra/b2';
import { stackDiscriminator } from '../../infra/providers/ownership';
import { writeProjectDir } from '../../scripts/start/project';
import { PulumiWorkspace } from '../../scripts/start/pulumi';
import { createE2EProject, E2E_DEFAULT_CONFIG, E2EProject, namespaced } from '../helpers/pulumiProject';

jest.setTimeout(300_000);

const bucket = 'infrafabric-backup-dev-aws';

describe('e2e: a second stack with the same config on the same account', () => {
  let p: E2EProject;
  let b: PulumiWorkspace;
  const setB = (config: Record<string, unknown>) =>
    writeProjectDir({
      dir: p.projectDir,
      stack: 'stack-b',
      config: namespaced({ ...E2E_DEFAULT_CONFIG, costCenter: '4711', ...config }),
    });
  beforeAll(async () => {
    // `costCenter: "4711"` also proves number-like strings reach the program as strings.
    p = await createE2EProject({ stack: 'stack-a', config: { costCenter: '4711' } });
    setB({});
    // Same project dir, backend, passphrase and B2 account; only the stack differs.
    b = new PulumiWorkspace({ ...p.ws.opts, stack: 'stack-b' });
  });
  afterAll(async () => {
    b?.signalRunning('SIGKILL');
    await p?.cleanup();
  });

  const keysOf = async (c: B2Client) => {
    const out: Record<string, string> = {};
    for await (const k of c.listKeys()) out[k.keyName] = k.applicationKeyId;
    return out;
  };
  const filesOf = async (c: B2Client, bucketId: string) => {
    const names: string[] = [];
    for await (const v of c.listFileVersions({ bucketId })) names.push(v.fileName);
    return names.sort();
  };

  it('B is refused and A survives; B with its own names is destroyed without touching A', async () => {
    const client = p.native();
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const liveA = (await client.getBucketByName(bucket))!;
    expect(liveA.bucketInfo).toMatchObject({
      'owner-stack': 'infrafabric-backup/stack-a',
      'owner-resource': 'dev-aws-bucket',
      'cost-center': '4711',
    });
    await client.uploadFile({ bucketId: liveA.bucketId, fileName: 'configs/a.json', body: '{"a":1}' });
    const keysA = await keysOf(client);
    const dA = stackDiscriminator('infrafabric-backup/stack-a');
    expect(Object.keys(keysA).sort()).toEqual([
      `${bucket}-backup-writer-${dA}`,
      `${bucket}-restore-reader-${dA}`,
    ]);
    const outA = (await p.ws.outputs(true)) as {
      keys: { writer: { aws: { keyId: string; applicationKey: string } } };
    };

    // Stack B, same config: refused at the bucket, nothing of A touched.
    await b.selectOrCreateStack();
    const refused = await b.run(['up', '--yes', '--skip-preview'], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(
      new RegExp(
        `BucketOwnedElsewhere: bucket "${bucket}" \\(${liveA.bucketId}\\)[\\s\\S]*stack "infrafabric-backup/stack-a", ` +
          'resource "dev-aws-bucket"[\\s\\S]*adoptBucketId',
      ),
    );
    const afterRefusal = (await client.getBucketByName(bucket))!;
    expect(afterRefusal.bucketId).toBe(liveA.bucketId);
    expect(afterRefusal.revision).toBe(liveA.revision);
    expect(afterRefusal.bucketInfo).toEqual(liveA.bucketInfo);
    expect(await filesOf(client, liveA.bucketId)).toEqual(['configs/a.json']);
    expect(await keysOf(client)).toEqual(keysA);

    // B under its own names: its own bucket and keys; then destroyed (forceDestroy).
    setB({ namePrefix: 'b-' });
    await b.run(['up', '--yes', '--skip-preview']);
    const bucketB = (await client.getBucketByName(`b-${bucket}`))!;
    expect(bucketB.bucketInfo['owner-stack']).toBe('infrafabric-backup/stack-b');
    await client.uploadFile({ bucketId: bucketB.bucketId, fileName: 'configs/b.json', body: '{"b":1}' });
    const dB = stackDiscriminator('infrafabric-backup/stack-b');
    expect(dB).not.toBe(dA);
    expect(Object.keys(await keysOf(client)).sort()).toEqual(
      [...Object.keys(keysA), `b-${bucket}-backup-writer-${dB}`, `b-${bucket}-restore-reader-${dB}`].sort(),
    );
    await b.run(['destroy', '--yes', '--skip-preview']);
    expect(await client.getBucketByName(`b-${bucket}`)).toBeUndefined();
    expect(await keysOf(client)).toEqual(keysA);
    expect((await client.getBucketByName(bucket))!.bucketId).toBe(liveA.bucketId);
    expect(await filesOf(client, liveA.bucketId)).toEqual(['configs/a.json']);
    // A's writer key still works.
    const writer = new B2Client({
      applicationKeyId: outA.keys.writer.aws.keyId,
      applicationKey: outA.keys.writer.aws.applicationKey,
      realmUrl: p.emu.info.regions[0]!.url,
    });
    expect((await writer.authorize()).allowed.bucketId).toBe(liveA.bucketId);
    await p.ws.run(['preview', '--expect-no-changes']);
  });
});
