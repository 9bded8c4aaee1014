/**
 * B2 as the Pulumi state backend, against the emulator's S3-compatible API:
 * `bootstrapStateBackend` (npm run bootstrap-state) provisions the bucket and a dedicated scoped key;
 * then the pinned CLI, with only that key in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, does
 * `pulumi login 's3://<bucket>?endpoint=…&s3ForcePathStyle=true&region=…'`, `stack init`, `up` of a
 * tiny stack (one dynamic resource, one secret), and the state object is then visible in the
 * bucket through the native API — without the secret in plaintext.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { B2Client } from '../../infra/b2';
import { bootstrapStateBackend, STATE_KEY_CAPABILITIES } from '../../scripts/start/bootstrapState';
import { PulumiWorkspace, REPO_ROOT } from '../../scripts/start/pulumi';
import { RunningEmulator, startEmulator } from '../helpers/emulator';

jest.setTimeout(180_000);

const PROGRAM = `import * as pulumi from '@pulumi/pulumi';

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { label: string }) {
    return { id: 'tiny-' + inputs.label, outs: { label: inputs.label } };
  },
};
class Tiny extends pulumi.dynamic.Resource {
  constructor(name: string, label: string) {
    super(provider, name, { label }, {});
  }
}
const config = new pulumi.Config();
const tiny = new Tiny('tiny', config.require('label'));
export const id = tiny.id;
export const tokenLength = config.requireSecret('token').apply((t) => t.length);
`;

function readEnvFile(file: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, m[2]!]),
  );
}

describe('e2e: Pulumi state backend on B2 (emulator S3 API)', () => {
  let emu: RunningEmulator;
  let tmp: string;
  let master: B2Client;

  beforeAll(async () => {
    emu = await startEmulator();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infrafabric-e2e-state-'));
    master = new B2Client({
      applicationKeyId: emu.info.keyId,
      applicationKey: emu.info.applicationKey,
      realmUrl: emu.url,
    });
  });
  afterAll(async () => {
    await emu?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('bootstrap provisions bucket + scoped key; login/init/up work with that key; the state is in the bucket', async () => {
    const secretFile = path.join(tmp, 'state-backend.env');
    const boot = await bootstrapStateBackend({
      bucket: 'e2e-pulumi-state',
      keyName: 'e2e-pulumi-state-backend',
      envFile: secretFile,
      rotate: false,
      client: master,
    });
    expect(boot).toMatchObject({
      bucketCreated: true,
      keyCreated: true,
      s3Endpoint: emu.url,
      region: 'us-west-004',
    });
    expect(boot.loginUrl).toBe(
      `s3://e2e-pulumi-state?endpoint=${encodeURIComponent(emu.url)}&s3ForcePathStyle=true&region=us-west-004`,
    );
    expect(fs.statSync(secretFile).mode & 0o777).toBe(0o600);
    const creds = readEnvFile(secretFile);
    expect(creds.AWS_ACCESS_KEY_ID).toBe(boot.keyId);
    const keys: { keyName: string; capabilities: string[]; bucketId?: string | null }[] = [];
    for await (const k of master.listKeys()) keys.push(k);
    expect(keys).toEqual([
      expect.objectContaining({ keyName: 'e2e-pulumi-state-backend', bucketId: boot.bucketId }),
    ]);
    expect([...keys[0]!.capabilities].sort()).toEqual([...STATE_KEY_CAPABILITIES].sort());

    // Idempotent: a second bootstrap reuses bucket and key.
    const again = await bootstrapStateBackend({
      bucket: 'e2e-pulumi-state',
      keyName: 'e2e-pulumi-state-backend',
      envFile: secretFile,
      rotate: false,
      client: master,
    });
    expect(again).toMatchObject({
      bucketCreated: false,
      keyCreated: false,
      keyId: boot.keyId,
      bucketId: boot.bucketId,
    });

    // A tiny project, logged in through `pulumi login` (own PULUMI_HOME), only the state key in the env.
    const projectDir = path.join(tmp, 'tiny');
    fs.mkdirSync(projectDir);
    fs.writeFileSync(
      path.join(projectDir, 'Pulumi.yaml'),
      'name: tiny-state\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n',
    );
    fs.writeFileSync(
      path.join(projectDir, 'package.json'),
      JSON.stringify({ name: 'tiny-state', private: true, main: 'index.ts' }),
    );
    fs.writeFileSync(path.join(projectDir, 'index.ts'), PROGRAM);
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(projectDir, 'node_modules'));
    const passphraseFile = path.join(tmp, 'passphrase');
    fs.writeFileSync(passphraseFile, 'tiny-passphrase', { mode: 0o600 });
    const scrubbed: NodeJS.ProcessEnv = {};
    for (const k of Object.keys(process.env))
      if (k.startsWith('AWS_') || k.startsWith('B2_')) scrubbed[k] = undefined;
    const ws = new PulumiWorkspace({
      projectDir,
      passphraseFile,
      stack: 'dev',
      pulumiHome: path.join(tmp, 'pulumi-home'),
      env: {
        ...scrubbed,
        AWS_ACCESS_KEY_ID: creds.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: creds.AWS_SECRET_ACCESS_KEY,
        AWS_CA_BUNDLE: '',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    await ws.run(['login', boot.loginUrl]);
    const who = await ws.run(['whoami', '--verbose']);
    expect(who.stdout).toContain('s3://e2e-pulumi-state');
    await ws.run(['stack', 'init', 'dev', '--secrets-provider', 'passphrase']);
    await ws.run(['config', 'set', 'label', 'on-b2']);
    await ws.run(['config', 'set', '--secret', 'token', 'tiny-secret-value-42']);
    const up = await ws.run(['up', '--yes', '--skip-preview']);
    expect(up.stdout).toMatch(/1 created|2 created/);
    expect(await ws.outputs()).toEqual({ id: 'tiny-on-b2', tokenLength: '[secret]' });
    await ws.run(['preview', '--expect-no-changes']);

    // The state object, read back through the native API with the master key.
    const names: string[] = [];
    for await (const f of master.listFileNames({ bucketId: boot.bucketId })) names.push(f.fileName);
    expect(names).toContain('.pulumi/stacks/tiny-state/dev.json');
    let fileId: string | undefined;
    for await (const f of master.listFileNames({
      bucketId: boot.bucketId,
      prefix: '.pulumi/stacks/tiny-state/dev.json',
    })) {
      if (f.fileName === '.pulumi/stacks/tiny-state/dev.json') fileId = f.fileId!;
    }
    const dl = await master.downloadFileById(fileId!);
    const text = (await dl.buffer()).toString('utf8');
    expect(
      JSON.parse(text).checkpoint.latest.resources.some((r: { id?: string }) => r.id === 'tiny-on-b2'),
    ).toBe(true);
    expect(text).not.toContain('tiny-secret-value-42');
    // No lock left behind after the update (deleted objects become hide markers on B2).
    expect(names.filter((n) => n.includes('/locks/'))).toEqual([]);
  });
});
