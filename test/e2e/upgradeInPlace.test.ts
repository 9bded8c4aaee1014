/**
 * Upgrade in place (issue 10, "Done when"): a stack deployed by the previous version of this
 * repository, then `up` with this checkout, replaces and deletes nothing.
 *
 * The previous version is the commit before the estate-safety work (`BASELINE`), exported with
 * `git archive` into a temp dir: its `stacks/` program deploys and its providers serve (the thin
 * loader follows INFRAFABRIC_BACKUP_ROOT). Then the repository's program and providers take over:
 * the preview must plan no create, delete or replace (in-place updates are allowed: state-only
 * fields, new bucket info), the bucket and key ids must be the ones deployed, the writer/reader
 * keys still authorize, and a second preview reports no changes.
 *
 * The topology is prod's (env prod, replication to the second region), so the changes of this
 * version that touch URNs (key generations), options (protect) and inputs all meet an old state.
 * Other helpers extend the checks (ownership markers, key names) — keep them in this file.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createE2EProject, E2EProject, REPO_ROOT } from '../helpers/pulumiProject';

jest.setTimeout(420_000);

/** The last commit of main before the estate-safety changes (issue 10). */
const BASELINE = '40df4be';

interface Step {
  op: string;
  urn: string;
}
const BUCKET = 'pulumi-nodejs:dynamic/b2:Bucket';
const KEY = 'pulumi-nodejs:dynamic/b2:ApplicationKey';

async function authorizes(url: string, keyId: string, key: string): Promise<number> {
  const res = await fetch(`${url}/b2api/v3/b2_authorize_account`, {
    headers: { authorization: 'Basic ' + Buffer.from(`${keyId}:${key}`).toString('base64') },
  });
  await res.text();
  return res.status;
}

describe('e2e: upgrade in place from the previous version', () => {
  let p: E2EProject;
  let oldRoot: string;
  const config = {
    env: 'prod',
    providers: ['aws'],
    retention: 'standard',
    replication: { enabled: true },
    forceDestroy: false,
  };

  beforeAll(async () => {
    p = await createE2EProject({ regions: ['us-west-004', 'eu-central-001'], config });
    oldRoot = path.join(p.tmp, 'previous-version');
    fs.mkdirSync(oldRoot);
    let tar: Buffer;
    try {
      tar = execFileSync(
        'git',
        ['-C', REPO_ROOT, 'archive', BASELINE, 'infra', 'stacks', 'tsconfig.json', 'package.json'],
        {
          maxBuffer: 256 << 20,
        },
      );
    } catch (e) {
      throw new Error(
        `cannot export the previous version ${BASELINE} (a shallow clone? fetch the history): ${(e as Error).message}`,
        { cause: e },
      );
    }
    execFileSync('tar', ['-x', '-C', oldRoot], { input: tar });
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(oldRoot, 'node_modules'));
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('the previous version deploys prod topology', async () => {
    p.useProgramDir(path.join(oldRoot, 'stacks'));
    await p.ws.selectOrCreateStack();
    // The previous version predates the policy pack (it declares no protect): deploy it without.
    await p.ws.run(['up', '--yes', '--skip-preview'], {
      env: { INFRAFABRIC_BACKUP_ROOT: oldRoot },
      policyPack: false,
    });
    const state = await p.ws.exportState();
    // deployed by the old code: the old key URNs, nothing protected
    const keys = state.deployment
      .resources!.filter((r) => r.type === KEY)
      .map((r) => r.urn.split('::').pop());
    expect(keys).toContain('prod-aws-source-backup-writer');
    expect(state.deployment.resources!.some((r) => (r as { protect?: boolean }).protect)).toBe(false);
  });

  it('this version plans no create, delete or replace, keeps every id, and protects the buckets', async () => {
    const before = await p.ws.exportState();
    const ids = (s: typeof before) =>
      s.deployment
        .resources!.filter((r) => [BUCKET, KEY].includes(r.type))
        .map((r) => r.id)
        .sort();
    const oldOutputs = await p.ws.outputs(true);

    p.useProgramDir(undefined);
    const env = { INFRAFABRIC_BACKUP_ROOT: REPO_ROOT };
    const res = await p.ws.run(['preview', '--json'], { env });
    const steps = ((JSON.parse(res.stdout) as { steps?: Step[] }).steps ?? []).filter((s) => s.op !== 'same');
    expect(
      steps.filter((s) => !['update'].includes(s.op)).map((s) => `${s.op} ${s.urn.split('::').pop()}`),
    ).toEqual([]);

    await p.ws.run(['up', '--yes', '--skip-preview'], { env });
    const after = await p.ws.exportState();
    expect(ids(before)).toHaveLength(6); // 2 buckets, writer, reader, 2 replication keys
    expect(ids(after)).toEqual(ids(before));
    for (const r of after.deployment.resources!.filter((x) => x.type === BUCKET))
      expect((r as { protect?: boolean }).protect).toBe(true);
    const outputs = await p.ws.outputs(true);
    expect(outputs.keys).toEqual(oldOutputs.keys);
    expect(outputs.previousKeys).toEqual({ writer: {}, reader: {} });
    const w = (outputs.keys as Record<string, Record<string, { keyId: string; applicationKey: string }>>)
      .writer!.aws!;
    expect(await authorizes(p.emu.info.regions[0]!.url, w.keyId, w.applicationKey)).toBe(200);
    await p.ws.run(['preview', '--expect-no-changes'], { env });
  });
});
