/* eslint-disable @typescript-eslint/no-explicit-any -- stack outputs are parsed JSON. */
/**
 * The `local` stack through the REAL Pulumi engine (the pinned CLI, file:// backend) against the
 * emulator's two regions: up, the outputs the backup CLI reads, secrets only encrypted in the
 * state, no-op preview and refresh, key rotation, destroy with forceDestroy. This is what the
 * gRPC tests cannot show: the program, the thin loader inside the engine's own provider host,
 * and the engine's create-before-delete ordering.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { B2Client } from '../../../infra/b2';
import { RunningEmulator, startEmulator } from '../../helpers/emulator';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { ensurePulumi, pulumiEnv } = require(path.join(ROOT, 'tools', 'lib', 'pulumi-cli.js'));

jest.setTimeout(15 * 60_000);

let emu: RunningEmulator;
let dir: string;
let env: NodeJS.ProcessEnv;
let exe: string;

function pulumi(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      exe,
      [...args, '--non-interactive', '--stack', 'local'],
      { cwd: path.join(dir, 'proj'), env, timeout: 5 * 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`pulumi ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

async function rawAuthorizeStatus(region: { url: string }, keyId: string, key: string): Promise<number> {
  const res = await fetch(`${region.url}/b2api/v3/b2_authorize_account`, {
    headers: { authorization: 'Basic ' + Buffer.from(`${keyId}:${key}`).toString('base64') },
  });
  await res.text();
  return res.status;
}

const stateText = () => {
  const stacks = path.join(dir, 'state', '.pulumi', 'stacks');
  return fs
    .readdirSync(stacks, { recursive: true })
    .map((f) => path.join(stacks, String(f)))
    .filter((f) => f.endsWith('local.json'))
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');
};

beforeAll(async () => {
  const cli = ensurePulumi({ quiet: true });
  exe = cli.exe;
  emu = await startEmulator({ regions: ['us-west-004', 'eu-central-001'] });
  const [us, eu] = emu.info.regions;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-engine-'));
  const proj = path.join(dir, 'proj');
  fs.mkdirSync(proj);
  fs.mkdirSync(path.join(dir, 'state'));
  for (const f of ['Pulumi.yaml', 'Pulumi.local.yaml', 'package.json', 'tsconfig.json'])
    fs.copyFileSync(path.join(ROOT, f), path.join(proj, f));
  for (const d of ['node_modules', 'infra', 'stacks']) fs.symlinkSync(path.join(ROOT, d), path.join(proj, d));
  env = {
    ...pulumiEnv(cli.binDir),
    PULUMI_BACKEND_URL: `file://${path.join(dir, 'state')}`,
    PULUMI_CONFIG_PASSPHRASE: 'engine-test',
    B2_REALM_URL: us.url,
    B2_APPLICATION_KEY_ID: us.keyId,
    B2_APPLICATION_KEY: us.applicationKey,
    B2_REPLICA_REALM_URL: eu.url,
    B2_REPLICA_APPLICATION_KEY_ID: eu.keyId,
    B2_REPLICA_APPLICATION_KEY: eu.applicationKey,
  };
  await pulumi('stack', 'init');
});

afterAll(async () => {
  await emu?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

let outputs: any;

test('up creates prod topology in both accounts; outputs feed the backup CLI; working keys', async () => {
  await pulumi('up', '--yes', '--skip-preview');
  outputs = JSON.parse((await pulumi('stack', 'output', '--json', '--show-secrets')).stdout);
  expect(Object.keys(outputs.buckets).sort()).toEqual(['aws', 'azure', 'gcp']);
  expect(outputs.buckets.aws).toMatchObject({
    name: 'local-infrafabric-backup-prod-aws',
    s3Endpoint: emu.info.regions[0].url,
  });
  expect(outputs.buckets.aws.replica).toMatchObject({
    name: 'local-infrafabric-backup-prod-aws-replica',
    s3Endpoint: emu.info.regions[1].url,
  });
  expect(outputs.keyIds.writer.aws).toBe(outputs.keys.writer.aws.keyId);
  const writer = new B2Client({
    applicationKeyId: outputs.keys.writer.aws.keyId,
    applicationKey: outputs.keys.writer.aws.applicationKey,
    realmUrl: emu.info.regions[0].url,
  });
  const up = await writer.uploadFile({
    bucketId: outputs.buckets.aws.id,
    fileName: 'configs/2026-11-28.json',
    body: '{}',
  });
  expect(up.fileName).toBe('configs/2026-11-28.json');
  const eu = new B2Client({
    applicationKeyId: emu.info.regions[1].keyId,
    applicationKey: emu.info.regions[1].applicationKey,
    realmUrl: emu.info.regions[1].url,
  });
  expect(
    (await eu.getBucketById(outputs.buckets.aws.replica.id))?.replicationConfiguration?.value
      ?.asReplicationDestination,
  ).not.toBeNull();
});

test('the state holds no plaintext secret; plain outputs show none', async () => {
  const state = stateText();
  for (const s of [
    emu.info.regions[0].applicationKey,
    emu.info.regions[1].applicationKey,
    outputs.keys.writer.aws.applicationKey,
    outputs.keys.reader.gcp.applicationKey,
  ]) {
    expect(state.includes(s)).toBe(false);
  }
  const plain = (await pulumi('stack', 'output', '--json')).stdout;
  expect(plain).not.toContain(outputs.keys.writer.aws.applicationKey);
  expect(JSON.parse(plain).keys.writer.aws).toEqual({
    keyId: outputs.keys.writer.aws.keyId,
    applicationKey: '[secret]',
  });
});

async function resetStats(): Promise<void> {
  await fetch(`${emu.url}/__admin/stats`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${emu.info.adminToken}` },
  });
}
const operations = async () =>
  ((await emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> }).operations;

test('an unchanged stack previews with no B2 call and refreshes with one authorize per account and provider process (<= 2), O(1) key listings, no file listing', async () => {
  await resetStats();
  await pulumi('preview', '--expect-no-changes');
  expect(await operations()).toEqual({});
  await pulumi('refresh', '--yes', '--expect-no-changes');
  // One authorize per account per provider process (the client's process-wide auth cache). The
  // pinned engine (3.274.1) starts the nodejs dynamic-provider plugin twice for a refresh, hence
  // at most two per region.
  const stats = (await emu.admin('GET', '/__admin/stats')) as {
    operations: Record<string, number>;
    regions: Record<string, Record<string, number>>;
  };
  const ops = stats.operations;
  for (const r of emu.info.regions)
    expect(stats.regions[r.region]?.b2_authorize_account ?? 0).toBeLessThanOrEqual(2);
  expect(Object.keys(ops).filter((o) => /list_file|list_unfinished/.test(o))).toEqual([]);
  // Key reads share one listing per account and provider process (a walk is a v3 and a v4 page):
  // O(1) b2_list_keys per account, not one walk per key (this stack has 9 + 3 keys).
  for (const r of emu.info.regions)
    expect(stats.regions[r.region]?.b2_list_keys ?? 0).toBeLessThanOrEqual(2 * 2);
});

test('an in-place bucket change previews as bucket updates only: no key or replication replacement', async () => {
  await pulumi('config', 'set', 'retention', 'short');
  const plan = JSON.parse((await pulumi('preview', '--json')).stdout) as {
    steps: Array<{ op: string; urn: string }>;
  };
  const ops = plan.steps.filter((st) => st.op !== 'same').map((st) => `${st.op} ${st.urn.split('::').pop()}`);
  expect(ops.sort()).toEqual(
    ['aws', 'azure', 'gcp']
      .flatMap((p) => [`update prod-${p}-replica-bucket`, `update prod-${p}-source-bucket`])
      .sort(),
  );
  await pulumi('up', '--yes', '--skip-preview');
  const eu = new B2Client({
    applicationKeyId: emu.info.regions[1].keyId,
    applicationKey: emu.info.regions[1].applicationKey,
    realmUrl: emu.info.regions[1].url,
  });
  const twin = (await eu.getBucketById(outputs.buckets.gcp.replica.id))!;
  expect(
    twin.lifecycleRules.find((r) => r.fileNamePrefix === 'terraform-state/')?.daysFromHidingToDeleting,
  ).toBe(7);
});

test('keyRotation replaces every key, new before old; replication follows; old keys stop working', async () => {
  await pulumi('config', 'set', 'keyRotation', 'r2');
  await pulumi('up', '--yes', '--skip-preview');
  const next = JSON.parse((await pulumi('stack', 'output', '--json', '--show-secrets')).stdout);
  expect(next.keys.writer.aws.keyId).not.toBe(outputs.keys.writer.aws.keyId);
  expect(
    await rawAuthorizeStatus(
      emu.info.regions[0],
      outputs.keys.writer.aws.keyId,
      outputs.keys.writer.aws.applicationKey,
    ),
  ).toBe(401);
  expect(
    await rawAuthorizeStatus(
      emu.info.regions[0],
      next.keys.writer.aws.keyId,
      next.keys.writer.aws.applicationKey,
    ),
  ).toBe(200);
  await pulumi('preview', '--expect-no-changes');
});

test('destroy empties (forceDestroy) and removes everything in both accounts', async () => {
  const { stdout } = await pulumi('destroy', '--yes', '--skip-preview');
  expect(stdout).toMatch(/forceDestroy local-infrafabric-backup-prod-aws: deleted 1 file versions/);
  for (const r of emu.info.regions) {
    const c = new B2Client({ applicationKeyId: r.keyId, applicationKey: r.applicationKey, realmUrl: r.url });
    expect(
      (await c.listBuckets({ bucketTypes: ['all'] })).filter((b) => b.bucketName.startsWith('local-')),
    ).toEqual([]);
    const keys: string[] = [];
    for await (const k of c.listKeys()) keys.push(k.keyName);
    expect(keys.filter((k) => k.startsWith('local-'))).toEqual([]);
  }
});
