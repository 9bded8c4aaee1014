/**
 * The post-provision key smoke test (infra/components/smokeTest.ts):
 * - its checks against the emulator directly: the estate's writer/reader capabilities pass; a
 *   writer that may delete and a reader that may write are both caught;
 * - under the real engine: a program = the repository's EnvironmentBackup + EnvironmentSmokeTest
 *   (what stacks/index.ts declares when the smoke test is on) → `up` runs it and records four
 *   passing checks, leaves no probe file, a second preview has no changes, the secrets it takes
 *   stay encrypted in the state, and rotating the keys re-runs it against the new keys.
 */
import * as path from 'path';
import { B2Client } from '../../infra/b2';
import { KEY_CAPABILITIES } from '../../infra/components/defaults';
import { runKeySmokeTest } from '../../infra/components/smokeTest';
import { startEmulator, RunningEmulator } from '../helpers/emulator';
import { createE2EProject, E2EProject, REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(240_000);

describe('key smoke test checks (emulator)', () => {
  let emu: RunningEmulator;
  let master: B2Client;
  let bucketId: string;
  const key = async (name: string, capabilities: readonly string[]) => {
    const k = await master.createKey({ keyName: name, capabilities: [...capabilities], bucketId });
    return { keyId: k.applicationKeyId, key: k.applicationKey.reveal() };
  };
  beforeAll(async () => {
    emu = await startEmulator();
    master = new B2Client({
      applicationKeyId: emu.info.keyId,
      applicationKey: emu.info.applicationKey,
      realmUrl: emu.url,
    });
    bucketId = (await master.createBucket({ bucketName: 'smoke-test-bucket', bucketType: 'allPrivate' }))
      .bucketId;
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it('passes with the estate capabilities and removes its probe file', async () => {
    const checks = await runKeySmokeTest({
      realmUrl: emu.url,
      bucketId,
      bucketName: 'smoke-test-bucket',
      writer: await key('w', KEY_CAPABILITIES['backup-writer']),
      reader: await key('r', KEY_CAPABILITIES['restore-reader']),
      admin: master,
      probeName: 'smoke-test/probe.txt',
    });
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['writer can upload', true],
      ['writer cannot delete', true],
      ['reader can read', true],
      ['reader cannot write', true],
    ]);
    const left: string[] = [];
    for await (const f of master.listFileVersions({ bucketId })) left.push(f.fileName);
    expect(left).toEqual([]);
  });

  it('writes its probe with SSE-C, which B2 never replicates (seen when it is not cleaned up)', async () => {
    const checks = await runKeySmokeTest({
      realmUrl: emu.url,
      bucketId,
      bucketName: 'smoke-test-bucket',
      writer: await key('w3', KEY_CAPABILITIES['backup-writer']),
      reader: await key('r3', KEY_CAPABILITIES['restore-reader']),
      probeName: 'smoke-test/kept.txt',
    });
    expect(checks.every((c) => c.ok)).toBe(true);
    const left: {
      fileName: string;
      fileId: string | null;
      serverSideEncryption?: { mode?: string | null };
    }[] = [];
    for await (const f of master.listFileVersions({ bucketId })) left.push(f);
    expect(left.map((f) => [f.fileName, f.serverSideEncryption?.mode])).toEqual([
      ['smoke-test/kept.txt', 'SSE-C'],
    ]);
    await master.deleteFileVersion(left[0]!.fileId!, left[0]!.fileName);
  });

  it('catches a writer that may delete and a reader that may write', async () => {
    const checks = await runKeySmokeTest({
      realmUrl: emu.url,
      bucketId,
      bucketName: 'smoke-test-bucket',
      writer: await key('w2', [...KEY_CAPABILITIES['backup-writer'], 'deleteFiles']),
      reader: await key('r2', [...KEY_CAPABILITIES['restore-reader'], 'writeFiles']),
      admin: master,
      probeName: 'smoke-test/probe2.txt',
    });
    expect(Object.fromEntries(checks.map((c) => [c.name, c.ok]))).toEqual({
      'writer can upload': true,
      'writer cannot delete': false,
      // the writer deleted the probe, so there is nothing left to read
      'reader can read': false,
      'reader cannot write': false,
    });
  });
});

const PROGRAM = (
  root: string,
) => `import { EnvironmentBackup } from ${JSON.stringify(path.join(root, 'infra/components/environmentBackup'))};
import { EnvironmentSmokeTest, smokeTargetsFrom } from ${JSON.stringify(path.join(root, 'infra/components/smokeTest'))};
import { loadStackConfig } from ${JSON.stringify(path.join(root, 'infra/config'))};

const config = loadStackConfig();
const estate = new EnvironmentBackup(\`infrafabric-backup-\${config.env}\`, config);
const smoke = new EnvironmentSmokeTest(\`infrafabric-backup-\${config.env}-smoke\`, { targets: smokeTargetsFrom(estate.outputs) });
export const checks = smoke.tests.aws!.checks;
export const writerKeyId = estate.outputs.keys.writer.aws!.keyId;
`;

describe('e2e: key smoke test under the real engine', () => {
  let p: E2EProject;
  beforeAll(async () => {
    p = await createE2EProject();
    p.useProgram(PROGRAM(REPO_ROOT));
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('up runs the checks, records them, leaves nothing behind, and re-runs after a key rotation', async () => {
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const out = await p.ws.outputs();
    expect((out.checks as { name: string; ok: boolean }[]).map((c) => [c.name, c.ok])).toEqual([
      ['writer can upload', true],
      ['writer cannot delete', true],
      ['reader can read', true],
      ['reader cannot write', true],
    ]);
    const bucket = (await p.native().getBucketByName('infrafabric-backup-dev-aws'))!;
    const left: string[] = [];
    for await (const f of p.native().listFileVersions({ bucketId: bucket.bucketId })) left.push(f.fileName);
    expect(left).toEqual([]);
    await p.ws.run(['preview', '--expect-no-changes']);

    // The keys' secrets the smoke test takes as inputs stay encrypted: no plaintext in any state file.
    const stateText = p.stateText();
    const exported = await p.ws.exportState();
    const smoke = exported.deployment.resources!.find(
      (r) => r.type === 'pulumi-nodejs:dynamic/b2:KeySmokeTest',
    )!;
    expect(smoke.outputs!.writerKey).toBeUndefined();
    const show = JSON.parse((await p.ws.run(['stack', 'export', '--show-secrets'])).stdout) as {
      deployment: { resources: { type: string; outputs?: Record<string, unknown> }[] };
    };
    for (const r of show.deployment.resources.filter(
      (x) => x.type === 'pulumi-nodejs:dynamic/b2:ApplicationKey',
    )) {
      expect(stateText.includes(r.outputs!.applicationKey as string)).toBe(false);
    }

    // Rotation: new key ids → the smoke test runs again against them.
    const summary = (c: unknown) => (c as { name: string; ok: boolean }[]).map((x) => [x.name, x.ok]);
    p.setConfig({ keyRotation: 'second' });
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const after = await p.ws.outputs();
    expect(after.writerKeyId).not.toBe(out.writerKeyId);
    const smokeAfter = (await p.ws.exportState()).deployment.resources!.find(
      (r) => r.type === 'pulumi-nodejs:dynamic/b2:KeySmokeTest',
    )!;
    expect(smokeAfter.outputs!.writerKeyId).toBe(after.writerKeyId);
    expect(smokeAfter.outputs!.checkedAt).not.toBe(smoke.outputs!.checkedAt);
    expect(summary(after.checks)).toEqual(summary(out.checks));
  });
});
