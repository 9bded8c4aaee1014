/**
 * Key rotation with an overlap window (issue 10, item 7), real engine against the emulator's two
 * regions (replication on). Rotating = `previousKeyRotation` ← the old `keyRotation`,
 * `keyRotation` ← a new value (README "Key rotation"):
 * - after the first rotation `keys` is a new generation and `previousKeys` the old one, which
 *   still works for a consumer that has not switched yet (it uploads and reads);
 * - after the next rotation that old generation is deleted (B2 refuses it), the one before is now
 *   `previousKeys` and still works;
 * - replication keeps delivering across rotations (its keys are replaced, the rule switches in
 *   place: new mapping, switch, old mapping dropped — test/integration/providers/replication.test.ts
 *   proves the order).
 */
import { B2Client } from '../../infra/b2';
import { stackDiscriminator } from '../../infra/providers/ownership';
import { createE2EProject, E2EProject, keyNames } from '../helpers/pulumiProject';

/** The key-name discriminator of the test stack (infra/providers/ownership.ts). */
const D = (p: E2EProject) => stackDiscriminator(`infrafabric-backup/${p.stack}`);

jest.setTimeout(420_000);

type Key = { keyId: string; applicationKey: string };
type KeySet = { writer: Record<string, Key>; reader: Record<string, Key> };

async function status(url: string, k: Key): Promise<number> {
  const res = await fetch(`${url}/b2api/v3/b2_authorize_account`, {
    headers: { authorization: 'Basic ' + Buffer.from(`${k.keyId}:${k.applicationKey}`).toString('base64') },
  });
  await res.text();
  return res.status;
}

describe('e2e: rotation keeps the previous generation valid until the next rotation', () => {
  let p: E2EProject;
  const bucket = 'infrafabric-backup-dev-aws';
  let gen0: KeySet;
  let gen1: KeySet;
  let bucketId: string;

  beforeAll(async () => {
    p = await createE2EProject({
      regions: ['us-west-004', 'eu-central-001'],
      config: { replication: { enabled: true } },
    });
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  const url = () => p.emu.info.regions[0]!.url;
  const outputs = async () => (await p.ws.outputs(true)) as { keys: KeySet; previousKeys: KeySet };
  /** A consumer job with the writer key `k`: uploads a file (fresh client, as a new job run). */
  const upload = async (k: Key, name: string) => {
    const c = new B2Client({ applicationKeyId: k.keyId, applicationKey: k.applicationKey, realmUrl: url() });
    await c.uploadFile({ bucketId, fileName: name, body: `{"by":"${k.keyId}"}` });
  };
  const replicated = async () => {
    await p.emu.admin('POST', '/__admin/replication/run');
    const twin = (await p.native(1).getBucketByName(`${bucket}-replica`))!;
    const names: string[] = [];
    for await (const f of p.native(1).listFileNames({ bucketId: twin.bucketId })) names.push(f.fileName);
    return names;
  };

  it('before the first rotation: previousKeys is empty', async () => {
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const o = await outputs();
    gen0 = o.keys;
    expect(o.previousKeys).toEqual({ writer: {}, reader: {} });
    bucketId = (await p.native().getBucketByName(bucket))!.bucketId;
    await upload(gen0.writer.aws!, 'configs/gen0.json');
    expect(await replicated()).toEqual(['configs/gen0.json']);
  });

  it('first rotation: new keys published, the previous generation keeps working', async () => {
    p.setConfig({ replication: { enabled: true }, keyRotation: 'r1', previousKeyRotation: 'initial' });
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const o = await outputs();
    gen1 = o.keys;
    expect(o.previousKeys).toEqual(gen0);
    expect(gen1.writer.aws!.keyId).not.toBe(gen0.writer.aws!.keyId);
    expect(gen1.reader.aws!.keyId).not.toBe(gen0.reader.aws!.keyId);
    // the consumer that has not switched yet still writes and reads
    await upload(gen0.writer.aws!, 'configs/still-gen0.json');
    expect(await status(url(), gen0.reader.aws!)).toBe(200);
    await upload(gen1.writer.aws!, 'configs/gen1.json');
    expect(await replicated()).toEqual(['configs/gen0.json', 'configs/gen1.json', 'configs/still-gen0.json']);
    expect((await keyNames(p.native())).filter((n) => n.includes('backup-writer'))).toEqual([
      `${bucket}-backup-writer-r1-${D(p)}`,
      `${bucket}-backup-writer-${D(p)}`,
    ]);
    await p.ws.run(['preview', '--expect-no-changes']);
  });

  it('next rotation: the oldest generation is deleted, the previous one still works', async () => {
    p.setConfig({ replication: { enabled: true }, keyRotation: 'r2', previousKeyRotation: 'r1' });
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const o = await outputs();
    expect(o.previousKeys).toEqual(gen1);
    expect(await status(url(), gen0.writer.aws!)).toBe(401);
    expect(await status(url(), gen0.reader.aws!)).toBe(401);
    await expect(upload(gen0.writer.aws!, 'configs/too-late.json')).rejects.toThrow();
    await upload(gen1.writer.aws!, 'configs/still-gen1.json');
    await upload(o.keys.writer.aws!, 'configs/gen2.json');
    expect(await replicated()).toEqual([
      'configs/gen0.json',
      'configs/gen1.json',
      'configs/gen2.json',
      'configs/still-gen0.json',
      'configs/still-gen1.json',
    ]);
    expect((await keyNames(p.native())).filter((n) => n.includes('backup-writer'))).toEqual([
      `${bucket}-backup-writer-r1-${D(p)}`,
      `${bucket}-backup-writer-r2-${D(p)}`,
    ]);
    // one replication key pair at a time
    expect((await keyNames(p.native())).filter((n) => n.includes('replication'))).toEqual([
      `${bucket}-replication-source-r2-${D(p)}`,
    ]);
    await p.ws.run(['preview', '--expect-no-changes']);
  });
});
