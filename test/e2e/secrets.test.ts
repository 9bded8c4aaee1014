/**
 * Secret-only credentials (issue 10, item 4), real engine against the emulator's two regions.
 *
 * The engine hands the whole stack config to the default `pulumi-nodejs` provider — which serves
 * the dynamic resources — as that provider's inputs, and records those inputs in the state. So a
 * master key set without `--secret` would land there in clear; the program refuses it at preview.
 * Set with `--secret`, it lands in the state only as ciphertext (checked below: the provider
 * resource holds the key's config entry as a secret), and no file under the state backend —
 * state, `.pulumi/backups`, `.pulumi/history` — contains the key.
 *
 * The environment carries WRONG master keys, so `up` succeeds only if the providers really use the
 * keys from stack config (config wins over the environment).
 */
import * as fs from 'fs';
import * as path from 'path';
import { createE2EProject, E2EProject } from '../helpers/pulumiProject';

jest.setTimeout(300_000);

const SECRET_SIG = '4dabf18193072939515e22adb298388d';

describe('e2e: master keys in stack config must be secrets', () => {
  let p: E2EProject;
  let primaryKey: string;
  let replicaKey: string;

  beforeAll(async () => {
    p = await createE2EProject({
      regions: ['us-west-004', 'eu-central-001'],
      config: { replication: { enabled: true } },
      env: { B2_APPLICATION_KEY: 'wrong-primary-key', B2_REPLICA_APPLICATION_KEY: 'wrong-replica-key' },
    });
    primaryKey = p.emu.info.regions[0]!.applicationKey;
    replicaKey = p.emu.info.regions[1]!.applicationKey;
    await p.ws.selectOrCreateStack();
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('a plaintext b2ApplicationKey is refused at preview, naming the key and the --secret fix', async () => {
    await p.ws.run(['config', 'set', 'infrafabric-backup:b2ApplicationKey', primaryKey]);
    const res = await p.ws.run(['preview'], { allowFailure: true });
    expect(res.code).not.toBe(0);
    const out = res.stdout + res.stderr;
    expect(out).toContain('infrafabric-backup:b2ApplicationKey');
    expect(out).toContain('PlaintextCredentialRefused');
    expect(out).toContain('pulumi config set --secret infrafabric-backup:b2ApplicationKey');
    expect(out).not.toContain(primaryKey);
    // nothing was deployed
    expect((await p.native().listBuckets()).length).toBe(0);
  });

  it('with --secret both master keys work, and neither is anywhere in the state, its backups or history', async () => {
    await p.ws.run(['config', 'set', '--secret', 'infrafabric-backup:b2ApplicationKey', primaryKey]);
    await p.ws.run(['config', 'set', '--secret', 'infrafabric-backup:replicaApplicationKey', replicaKey]);
    const stackFile = fs.readFileSync(path.join(p.projectDir, `Pulumi.${p.stack}.yaml`), 'utf8');
    expect(stackFile).not.toContain(primaryKey);
    expect(stackFile).toMatch(/b2ApplicationKey:\s*\n\s*secure:/);

    await p.ws.run(['up', '--yes', '--skip-preview']);
    expect((await p.native().listBuckets()).map((b) => b.bucketName)).toEqual(['infrafabric-backup-dev-aws']);
    await p.ws.run(['preview', '--expect-no-changes']);

    // Where the config lands: the default pulumi-nodejs provider's inputs, as a secret.
    const state = await p.ws.exportState();
    const provider = state.deployment.resources!.find((r) => r.type === 'pulumi:providers:pulumi-nodejs');
    expect(provider).toBeDefined();
    const inputs = (provider!.inputs ?? {}) as Record<string, unknown>;
    // Measured with the pinned CLI: every stack config key is an input of this provider; the
    // master keys arrive as the engine's secret envelope with a ciphertext.
    for (const k of ['b2ApplicationKey', 'replicaApplicationKey']) {
      expect(inputs[`infrafabric-backup:${k}`]).toEqual({
        [SECRET_SIG]: '1b47061264138c4ac30d75fd1eb44270',
        ciphertext: expect.stringMatching(/^v1:/),
      });
    }
    expect(inputs['infrafabric-backup:env']).toBe('dev');
    expect(JSON.stringify(inputs)).not.toContain(primaryKey);

    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) walk(f);
        else files.push(f);
      }
    };
    walk(p.stateDir);
    expect(files.some((f) => f.includes(`${path.sep}backups${path.sep}`))).toBe(true);
    expect(files.some((f) => f.includes(`${path.sep}history${path.sep}`))).toBe(true);
    const text = p.stateText();
    expect(text).toContain(SECRET_SIG); // secrets are there, encrypted
    expect(text.includes(primaryKey)).toBe(false);
    expect(text.includes(replicaKey)).toBe(false);
  });
});
