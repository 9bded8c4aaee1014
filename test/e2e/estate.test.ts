/**
 * The GitOps pipeline's scripts and the one-command bootstrap against the emulator, with B2 (the
 * emulator's S3 API) as the Pulumi state backend and the real engine driven through the Automation
 * API: bootstrap from nothing, then again (nothing changes); the PR preview of an unchanged stack
 * passes with an empty change summary; a bucket-deleting change fails without the
 * allow-bucket-replace marker; drift made through the native API fails naming the resource and the
 * property; and no secret value appears in any output, summary, file or state object.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { B2Client } from '../../infra/b2';
import { bootstrapEnvironment } from '../../scripts/estate/bootstrap';
import { startEmulator, RunningEmulator } from '../helpers/emulator';
import { REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(600_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('e2e: estate pipeline scripts and bootstrap (emulator, B2 state backend)', () => {
  let emu: RunningEmulator;
  let tmp: string;
  let repoDir: string;
  let master: B2Client;
  let environ: NodeJS.ProcessEnv;
  let pipelineEnv: NodeJS.ProcessEnv;
  const passphrase = `e2e-pass-${Math.random().toString(36).slice(2)}`;
  const outputs: string[] = [];
  const stateEnvFile = () => path.join(tmp, 'state-backend.env');
  const workDir = () => path.join(tmp, 'work');
  const stackFile = () => path.join(repoDir, 'Pulumi.qa.yaml');

  beforeAll(async () => {
    emu = await startEmulator();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infrafabric-e2e-estate-'));
    repoDir = path.join(tmp, 'repo');
    master = new B2Client({
      applicationKeyId: emu.info.keyId,
      applicationKey: emu.info.applicationKey,
      realmUrl: emu.url,
    });
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (/^(PULUMI_|B2_|AWS_)/.test(k)) delete base[k];
    environ = {
      ...base,
      B2_REALM_URL: emu.url,
      B2_APPLICATION_KEY_ID: emu.info.keyId,
      B2_APPLICATION_KEY: emu.info.applicationKey,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
    };
  });
  afterAll(async () => {
    await emu?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The pipeline step exactly as the workflow runs it (`npm run estate -- …` = this). */
  function estate(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          path.join(REPO_ROOT, 'bin', 'run-ts.js'),
          path.join(REPO_ROOT, 'scripts', 'estate', 'cli.ts'),
          ...args,
        ],
        { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => {
        outputs.push(stdout, stderr);
        resolve({ code, stdout, stderr });
      });
    });
  }
  const common = () => ['--stack', 'qa', '--config-dir', repoDir, '--work-dir', workDir()];

  it('bootstrap from nothing: state bucket + key, stack, Pulumi.qa.yaml with salt and secret credentials, preview, up', async () => {
    const logs: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (logs.push(String(s)), true)) as typeof process.stderr.write;
    let res;
    try {
      res = await bootstrapEnvironment({
        env: 'qa',
        template: 'dev',
        dir: repoDir,
        stateBucket: 'e2e-qa-pulumi-state',
        secretFile: stateEnvFile(),
        up: true,
        storeCredentials: true,
        environ,
        prompt: () => Promise.reject(new Error('no prompt expected')),
        workDir: path.join(workDir(), 'qa'),
      });
    } finally {
      process.stderr.write = write;
    }
    outputs.push(...logs);
    expect(res.fileCreated).toBe(true);
    expect(res.stackCreated).toBe(true);
    expect(res.secretsSet).toEqual(['b2ApplicationKeyId', 'b2ApplicationKey', 'b2RealmUrl']);
    expect(res.backendUrl).toMatch(/^s3:\/\/e2e-qa-pulumi-state\?/);
    expect(res.reports.map((r) => [r.kind, r.error ?? ''])).toEqual([
      ['preview', ''],
      ['up', ''],
      ['preview', ''],
    ]);
    expect(res.reports[1]!.changes['b2:Bucket']).toEqual({ create: 1 });
    expect(res.reports[2]!.changes).toEqual({}); // converged
    const doc = parse(fs.readFileSync(stackFile(), 'utf8')) as {
      encryptionsalt?: string;
      config: Record<string, unknown>;
    };
    expect(doc.encryptionsalt).toMatch(/^v1:/);
    expect(doc.config['infrafabric-backup:env']).toBe('dev');
    expect(doc.config['infrafabric-backup:b2ApplicationKey']).toEqual({
      secure: expect.stringMatching(/^v1:/),
    });
    expect((await master.listBuckets()).map((b) => b.bucketName).sort()).toEqual([
      'e2e-qa-pulumi-state',
      'infrafabric-backup-dev-aws',
    ]);
    const creds = Object.fromEntries(
      fs
        .readFileSync(stateEnvFile(), 'utf8')
        .split('\n')
        .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => [m[1]!, m[2]!]),
    );
    // The pipeline's environment: the CI secret store's values only — no B2 master key (the stack
    // holds its credentials as secrets).
    const base = { ...environ };
    delete base.B2_APPLICATION_KEY;
    delete base.B2_APPLICATION_KEY_ID;
    delete base.B2_REALM_URL;
    pipelineEnv = {
      ...base,
      PULUMI_BACKEND_URL: res.backendUrl,
      AWS_ACCESS_KEY_ID: creds.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: creds.AWS_SECRET_ACCESS_KEY,
    };
  });

  it('bootstrap again changes nothing: same file bytes, same stack, no new keys, no changes planned', async () => {
    const before = fs.readFileSync(stackFile(), 'utf8');
    const keysBefore: string[] = [];
    for await (const k of master.listKeys()) keysBefore.push(k.applicationKeyId);
    const res = await bootstrapEnvironment({
      env: 'qa',
      template: 'dev',
      dir: repoDir,
      stateBucket: 'e2e-qa-pulumi-state',
      secretFile: stateEnvFile(),
      up: true,
      storeCredentials: true,
      environ,
      prompt: () => Promise.reject(new Error('no prompt expected')),
      workDir: path.join(workDir(), 'qa'),
    });
    expect(res).toMatchObject({
      fileCreated: false,
      fileChanged: false,
      stackCreated: false,
      secretsSet: [],
    });
    expect(fs.readFileSync(stackFile(), 'utf8')).toBe(before);
    for (const r of res.reports) expect([r.kind, r.error ?? '', r.changes]).toEqual([r.kind, '', {}]);
    const keysAfter: string[] = [];
    for await (const k of master.listKeys()) keysAfter.push(k.applicationKeyId);
    expect(keysAfter.sort()).toEqual(keysBefore.sort());
  });

  it('bootstrap with the master key and the passphrase from the prompt: stored as a secret, never echoed', async () => {
    // The same backend and passphrase (so the final test's grep covers this stack's state too),
    // but both secrets answered at the prompt instead of the environment.
    const asked: string[] = [];
    const answers: Record<string, string> = {
      B2_APPLICATION_KEY: emu.info.applicationKey,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
    };
    const env2: NodeJS.ProcessEnv = {
      ...pipelineEnv,
      B2_APPLICATION_KEY_ID: emu.info.keyId,
      B2_REALM_URL: emu.url,
    };
    delete env2.PULUMI_CONFIG_PASSPHRASE;
    const logs: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((x: string) => (logs.push(String(x)), true)) as typeof process.stderr.write;
    let res;
    try {
      res = await bootstrapEnvironment({
        env: 'qa-prompt',
        template: 'dev',
        dir: repoDir,
        stateBucket: 'e2e-qa-pulumi-state',
        secretFile: stateEnvFile(),
        up: false,
        storeCredentials: true,
        environ: env2,
        prompt: (q: string) => {
          asked.push(q);
          const v = Object.keys(answers).find((k) => q.startsWith(`${k} `));
          return v ? Promise.resolve(answers[v]!) : Promise.reject(new Error(`unexpected prompt ${q}`));
        },
        workDir: path.join(workDir(), 'qa-prompt'),
      });
    } finally {
      process.stderr.write = write;
    }
    outputs.push(...logs);
    expect(asked.map((q) => q.split(' ')[0])).toEqual(['B2_APPLICATION_KEY', 'PULUMI_CONFIG_PASSPHRASE']);
    expect(res.stackCreated).toBe(true);
    expect(res.secretsSet).toContain('b2ApplicationKey');
    expect(res.reports.map((r) => [r.kind, r.error ?? ''])).toEqual([['preview', '']]);
    const text = fs.readFileSync(path.join(repoDir, 'Pulumi.qa-prompt.yaml'), 'utf8');
    expect(
      (parse(text) as { config: Record<string, unknown> }).config['infrafabric-backup:b2ApplicationKey'],
    ).toEqual({ secure: expect.stringMatching(/^v1:/) });
    for (const secret of Object.values(answers)) {
      expect(text.includes(secret)).toBe(false);
      expect(logs.filter((l) => l.includes(secret))).toEqual([]);
    }
  });

  it('PR preview of the unchanged stack exits 0 with an empty change summary', async () => {
    const summary = path.join(tmp, 'summary-unchanged.md');
    const r = await estate(['preview', ...common(), '--summary-file', summary], pipelineEnv);
    expect({ code: r.code, err: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, err: '' });
    const md = fs.readFileSync(summary, 'utf8');
    outputs.push(md);
    expect(md).toContain('### preview `qa` ✅');
    expect(md).toContain('No changes.');
    expect(md).not.toMatch(/Policy violations|Fails because/);
  });

  it('a change that deletes a bucket fails without allow-bucket-replace and passes with it', async () => {
    const original = fs.readFileSync(stackFile(), 'utf8');
    try {
      fs.writeFileSync(stackFile(), original.replace(/(infrafabric-backup:providers:\n\s+- )aws/, '$1azure'));
      const summary = path.join(tmp, 'summary-delete.md');
      const r = await estate(['preview', ...common(), '--summary-file', summary], pipelineEnv);
      const md = fs.readFileSync(summary, 'utf8');
      outputs.push(md);
      expect(r.code).toBe(1);
      expect(md).toContain('⚠️ **BUCKET** delete `dev-aws-bucket`');
      expect(md).toMatch(/\| `b2:Bucket` \| 1 create, 1 delete \|/);
      expect(r.stderr).toContain(
        'FAIL qa: bucket dev-aws-bucket would be deleted (add the label allow-bucket-replace to allow it)',
      );
      const allowed = await estate(['preview', ...common(), '--allow-bucket-replace', '--json'], pipelineEnv);
      expect(allowed.code).toBe(0);
      const [report] = JSON.parse(allowed.stdout) as { deletions: { name: string }[] }[];
      expect(report!.deletions.map((d) => d.name)).toContain('dev-aws-bucket');
    } finally {
      fs.writeFileSync(stackFile(), original);
    }
  });

  it('drift made through the native API fails naming each resource and property', async () => {
    const clean = await estate(['drift', ...common()], pipelineEnv);
    expect({ code: clean.code, err: clean.code === 0 ? '' : clean.stderr.slice(-2000) }).toEqual({
      code: 0,
      err: '',
    });
    expect(clean.stdout).toContain('No drift.');
    const bucket = (await master.getBucketByName('infrafabric-backup-dev-aws'))!;
    await master.updateBucket({ bucketId: bucket.bucketId, lifecycleRules: [] });
    for await (const k of master.listKeys())
      if (k.keyName.includes('backup-writer')) await master.deleteKey(k.applicationKeyId);
    const r = await estate(['drift', ...common()], pipelineEnv);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAIL qa: dev-aws-bucket \(b2:Bucket\) drifted: .*lifecycleRules/);
    expect(r.stderr).toMatch(
      /FAIL qa: dev-aws-backup-writer\S* \(b2:ApplicationKey\) drifted: deleted outside Pulumi/,
    );
    expect(r.stdout).toMatch(/\| `dev-aws-bucket` \| `b2:Bucket` \| .*`lifecycleRules`/);
  });

  it('no secret value in any output, summary, stack file, working copy or state object', async () => {
    const creds = fs.readFileSync(stateEnvFile(), 'utf8');
    const stateSecret = /AWS_SECRET_ACCESS_KEY=(.*)/.exec(creds)![1]!;
    const secrets = { master: emu.info.applicationKey, passphrase, stateSecret };
    const texts = [...outputs];
    const readAll = (dir: string): void => {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) readAll(p);
        else if (p !== stateEnvFile()) texts.push(fs.readFileSync(p, 'utf8'));
      }
    };
    readAll(tmp);
    // Every object (all versions) in the state bucket.
    const state = (await master.getBucketByName('e2e-qa-pulumi-state'))!;
    let objects = 0;
    for await (const f of master.listFileVersions({ bucketId: state.bucketId })) {
      if (f.action !== 'upload' || !f.fileId) continue;
      const dl = await master.downloadFileById(f.fileId);
      const chunks: Buffer[] = [];
      for await (const c of dl.stream) chunks.push(c as Buffer);
      texts.push(Buffer.concat(chunks).toString('utf8'));
      objects++;
    }
    expect(objects).toBeGreaterThan(2);
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length).toBeGreaterThan(8);
      const hits = texts.filter((t) => t.includes(value)).length;
      expect({ name, hits }).toEqual({ name, hits: 0 });
    }
  });
});
