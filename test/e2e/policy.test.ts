/**
 * The policy pack (policy/) run by the real engine through the repository's language host
 * (RunPlugin, kind analyzer): mandatory in staging and prod — a violating preview or up fails with
 * the policy's name and message and creates nothing — advisory in dev (warnings, the update
 * proceeds), silent on a compliant stack. Every CLI call of PulumiWorkspace passes the pack.
 */
import { bucketNames, createE2EProject, E2EProject, REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(240_000);

/** One public bucket (everything else compliant), declared with the repository's provider. */
const PUBLIC_BUCKET_PROGRAM = (root: string) => `
import { Bucket } from '${root}/infra/providers/bucket';
import { lifecycleRulesFor } from '${root}/infra/components/defaults';
new Bucket('exposed-bucket', {
  bucketName: 'policy-e2e-exposed',
  bucketType: 'allPublic',
  bucketInfo: {},
  corsRules: [],
  lifecycleRules: lifecycleRulesFor('short'),
  defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
  fileLockEnabled: false,
  defaultRetention: null,
  forceDestroy: true,
  account: 'primary',
});
`;

const PRIVATE_MSG =
  'bucket policy-e2e-exposed is "allPublic"; backup buckets must be "allPrivate" (anyone could download the backups)';

describe('e2e: the policy pack enforced by the engine', () => {
  const projects: E2EProject[] = [];
  afterAll(async () => {
    for (const p of projects) await p.cleanup();
  });
  const project = async (config: Record<string, unknown>) => {
    const p = await createE2EProject({ config });
    projects.push(p);
    await p.ws.selectOrCreateStack();
    return p;
  };

  it('staging: the estate the program declares passes the mandatory pack', async () => {
    const p = await project({ env: 'staging', retention: 'standard', forceDestroy: false });
    const res = await p.ws.run(['preview'], { allowFailure: true });
    expect(res.stdout).toContain('infrafabric-backup-guardrails');
    expect(res.stdout).not.toMatch(/\[(mandatory|advisory)\]/);
    expect(res.code).toBe(0);
  });

  it('staging (mandatory): a public bucket fails preview and up with the policy name and message; nothing is created', async () => {
    const p = await project({ env: 'staging' });
    p.useProgram(PUBLIC_BUCKET_PROGRAM(REPO_ROOT));
    const preview = await p.ws.run(['preview'], { allowFailure: true });
    expect(preview.code).not.toBe(0);
    expect(preview.stdout).toMatch(/\[mandatory\]\s+b2-bucket-private/);
    expect(preview.stdout).toContain(PRIVATE_MSG);
    const up = await p.ws.run(['up', '--yes', '--skip-preview'], { allowFailure: true });
    expect(up.code).not.toBe(0);
    expect(up.stdout).toMatch(/\[mandatory\]\s+b2-bucket-private/);
    expect(await bucketNames(p.native())).toEqual([]);
  });

  it('dev (advisory): the same violation only warns, and up proceeds', async () => {
    const p = await project({ env: 'dev' });
    p.useProgram(PUBLIC_BUCKET_PROGRAM(REPO_ROOT));
    const preview = await p.ws.run(['preview'], { allowFailure: true });
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/\[advisory\]\s+b2-bucket-private/);
    expect(preview.stdout).toContain(PRIVATE_MSG);
    const up = await p.ws.run(['up', '--yes', '--skip-preview'], { allowFailure: true });
    expect(up.code).toBe(0);
    expect(await bucketNames(p.native())).toEqual(['policy-e2e-exposed']);
  });

  it('prod (mandatory): the real program with prod config (replication, protected buckets) passes', async () => {
    const p = await createE2EProject({
      regions: ['us-west-004', 'eu-central-001'],
      config: { env: 'prod', retention: 'standard', forceDestroy: false, replication: { enabled: true } },
    });
    projects.push(p);
    await p.ws.selectOrCreateStack();
    const res = await p.ws.run(['preview'], { allowFailure: true });
    expect({ code: res.code, out: res.code === 0 ? '' : res.stdout.slice(-3000) }).toEqual({
      code: 0,
      out: '',
    });
    expect(res.stdout).toContain('infrafabric-backup-guardrails');
    expect(res.stdout).not.toMatch(/\[(mandatory|advisory)\]/);
  });

  it('prod (mandatory): the real program without replication fails naming b2-prod-replication', async () => {
    const p = await project({ env: 'prod', retention: 'standard', forceDestroy: false });
    const res = await p.ws.run(['preview'], { allowFailure: true });
    expect(res.code).not.toBe(0);
    expect(res.stdout).toMatch(/\[mandatory\]\s+b2-prod-replication/);
    expect(res.stdout).toContain(
      'prod must replicate every bucket: set infrafabric-backup:replication.enabled to true',
    );
  });
});
