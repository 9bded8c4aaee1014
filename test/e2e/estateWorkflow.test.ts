/**
 * deploy/github-actions/estate.yml: actionlint (pinned, built by tools/setup.js) passes; its steps
 * use only the standard actions and scripts of this repository, never interpolate a secret into a
 * shell command; and every `run:` command of every job is executed as written against the emulator
 * (B2 state backend, stacks dev/staging/prod bootstrapped into a temp config dir) — preview of the
 * three stacks, up dev → staging → prod, drift of each — with the job summary file checked.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import { bootstrapEnvironment } from '../../scripts/estate/bootstrap';
import { readStackConfig } from '../../scripts/start/project';
import { RunningEmulator, startEmulator } from '../helpers/emulator';
import { REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(900_000);

const WORKFLOW = path.join(REPO_ROOT, 'deploy', 'github-actions', 'estate.yml');
const { ensureActionlint } = require('../../tools/lib/actionlint') as {
  ensureActionlint(o?: { quiet?: boolean }): { exe: string };
};

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}
interface Job {
  steps: Step[];
  needs?: string | string[];
  environment?: string;
  concurrency?: { group: string };
  strategy?: { matrix: { stack: string[] } };
}
const workflow = parse(fs.readFileSync(WORKFLOW, 'utf8')) as { jobs: Record<string, Job> };

describe('deploy/github-actions/estate.yml', () => {
  it('passes actionlint', () => {
    const { exe } = ensureActionlint({ quiet: true });
    const out = execFileSync(exe, [WORKFLOW], { encoding: 'utf8' });
    expect(out).toBe('');
  });

  it('uses only standard actions and repository scripts; secrets reach steps only as environment', () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      for (const s of job.steps) {
        if (s.uses)
          expect([name, s.uses]).toEqual([
            name,
            expect.stringMatching(/^actions\/(checkout|setup-node|setup-go)@v\d+$/),
          ]);
        else
          expect([name, s.run]).toEqual([
            name,
            expect.stringMatching(/^(npm ci|node tools\/setup\.js --only pulumi|npm run estate -- )/),
          ]);
        expect(s.run ?? '').not.toMatch(/\$\{\{|echo|printenv|set -x/);
      }
    }
    // Promotion order, approval environments, one concurrency group per stack.
    expect(workflow.jobs['up-staging']!.needs).toBe('up-dev');
    expect(workflow.jobs['up-prod']!.needs).toBe('up-staging');
    expect(['dev', 'staging', 'prod'].map((s) => workflow.jobs[`up-${s}`]!.environment)).toEqual([
      'dev',
      'staging',
      'prod',
    ]);
    expect(['dev', 'staging', 'prod'].map((s) => workflow.jobs[`up-${s}`]!.concurrency!.group)).toEqual([
      'estate-dev',
      'estate-staging',
      'estate-prod',
    ]);
    expect(workflow.jobs.drift!.concurrency!.group).toBe('estate-${{ matrix.stack }}');
  });
});

describe('e2e: each workflow step against the emulator', () => {
  let emu: RunningEmulator;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const passphrase = `wf-pass-${Math.random().toString(36).slice(2)}`;
  const outputs: string[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ regions: ['us-west-004', 'eu-central-001'] });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infrafabric-e2e-workflow-'));
    const configDir = path.join(tmp, 'config');
    fs.mkdirSync(configDir);
    const [primary, replica] = emu.info.regions;
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (/^(PULUMI_|B2_|AWS_|GITHUB_)/.test(k)) delete base[k];
    const environ: NodeJS.ProcessEnv = {
      ...base,
      B2_REALM_URL: primary!.url,
      B2_APPLICATION_KEY_ID: primary!.keyId,
      B2_APPLICATION_KEY: primary!.applicationKey,
      B2_REPLICA_REALM_URL: replica!.url,
      B2_REPLICA_APPLICATION_KEY_ID: replica!.keyId,
      B2_REPLICA_APPLICATION_KEY: replica!.applicationKey,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
    };
    // The repository's stack files, one provider each to keep the run short (same env, retention,
    // replication and protection as committed), bootstrapped (salt, stack) without credentials:
    // the workflow passes B2_* from the secret store.
    let backendUrl = '';
    for (const stack of ['dev', 'staging', 'prod']) {
      const config = readStackConfig(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`));
      config['infrafabric-backup:providers'] = ['aws'];
      fs.writeFileSync(path.join(configDir, `Pulumi.${stack}.yaml`), stringify({ config }));
      const res = await bootstrapEnvironment({
        env: stack,
        template: stack,
        dir: configDir,
        stateBucket: 'e2e-workflow-pulumi-state',
        secretFile: path.join(tmp, 'state.env'),
        up: false,
        storeCredentials: false,
        environ,
        prompt: () => Promise.reject(new Error('no prompt expected')),
        workDir: path.join(tmp, 'work', stack),
      });
      expect([stack, res.stackCreated, res.reports[0]!.error ?? '']).toEqual([stack, true, '']);
      backendUrl = res.backendUrl;
    }
    const creds = Object.fromEntries(
      fs
        .readFileSync(path.join(tmp, 'state.env'), 'utf8')
        .split('\n')
        .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => [m[1]!, m[2]!]),
    );
    // What the workflow's top-level env gives every step.
    env = {
      ...environ,
      PULUMI_BACKEND_URL: backendUrl,
      AWS_ACCESS_KEY_ID: creds.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: creds.AWS_SECRET_ACCESS_KEY,
      ESTATE_CONFIG_DIR: configDir,
      ESTATE_WORK_DIR: path.join(tmp, 'work'),
    };
  });
  afterAll(async () => {
    await emu?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function runStep(
    command: string,
    stepEnv: NodeJS.ProcessEnv,
  ): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-e', '-c', command], {
        cwd: REPO_ROOT,
        env: stepEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => {
        outputs.push(out);
        resolve({ code, out });
      });
    });
  }

  /** The step's `env:` as GitHub would evaluate it here (no PR label; the matrix value). */
  function stepEnv(s: Step, matrixStack: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.env ?? {})) {
      if (v.includes('matrix.stack')) out[k] = matrixStack;
      else if (v.includes("'allow-bucket-replace'")) out[k] = 'false';
      else throw new Error(`step env ${k}: unexpected expression ${v}`);
    }
    return out;
  }

  it.each([
    ['preview', ''],
    ['up-dev', ''],
    ['up-staging', ''],
    ['up-prod', ''],
    ['drift', 'dev'],
    ['drift', 'staging'],
    ['drift', 'prod'],
  ])('job %s %s: every run step succeeds', async (jobName, matrixStack) => {
    const job = workflow.jobs[jobName]!;
    const summary = path.join(tmp, `summary-${jobName}-${matrixStack}.md`);
    for (const s of job.steps.filter((x) => x.run)) {
      const command = s.run!.trim();
      if (command === 'npm ci') continue; // would reinstall the shared node_modules; asserted above
      const r = await runStep(command, { ...env, ...stepEnv(s, matrixStack), GITHUB_STEP_SUMMARY: summary });
      expect({ step: s.name, code: r.code, out: r.code === 0 ? '' : r.out.slice(-3000) }).toEqual({
        step: s.name,
        code: 0,
        out: '',
      });
    }
    const md = fs.readFileSync(summary, 'utf8');
    outputs.push(md);
    if (jobName === 'preview')
      for (const st of ['dev', 'staging', 'prod']) expect(md).toContain(`### preview \`${st}\` ✅`);
    else if (jobName === 'drift') expect(md).toContain(`### drift \`${matrixStack}\` ✅\n\nNo drift.`);
    else expect(md).toContain(`### up \`${jobName.slice(3)}\` ✅`);
  });

  it('no secret value in any step output or summary', () => {
    const secrets = [
      env.B2_APPLICATION_KEY!,
      env.B2_REPLICA_APPLICATION_KEY!,
      env.AWS_SECRET_ACCESS_KEY!,
      passphrase,
    ];
    for (const s of secrets) {
      expect(s.length).toBeGreaterThan(8);
      expect(outputs.filter((o) => o.includes(s)).length).toBe(0);
    }
  });
});
