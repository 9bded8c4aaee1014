/**
 * Irreversible changes through the real engine (issue 10 item 6), prod topology (Object Lock goes
 * on the EU twins):
 * - a lock switched on out of band on one twin is reported (and recorded) by `refresh` and fails the
 *   next preview with `ObjectLockNotInConfig` (not first at apply);
 * - `objectLock.enabled` without `objectLock.acknowledgeIrreversible` fails the preview with
 *   `IrreversibleChangeNotAcknowledged`, nothing changed;
 * - acknowledged, the plan shows the bucket's `irreversible` input, `up` locks the other twin in
 *   place (same id) and the stack converges.
 */
import { createE2EProject, E2EProject } from '../helpers/pulumiProject';

jest.setTimeout(300_000);

const base = {
  env: 'prod',
  providers: ['aws', 'gcp'],
  forceDestroy: false,
  replication: { enabled: true },
};

describe('e2e: Object Lock is an acknowledged, irreversible change', () => {
  let p: E2EProject;
  beforeAll(async () => {
    p = await createE2EProject({ regions: ['us-west-004', 'eu-central-001'], config: base });
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('drift is reported at preview; enabling needs the acknowledgement; then the plan says irreversible', async () => {
    const eu = p.native(1);
    await p.ws.selectOrCreateStack();
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const twin = async (provider: string) =>
      (await eu.getBucketByName(`infrafabric-backup-prod-${provider}-replica`))!;
    const awsTwin = await twin('aws');
    const gcpTwin = await twin('gcp');
    expect(gcpTwin.fileLockConfiguration?.value?.isFileLockEnabled).toBe(false);

    // Out of band: the aws twin gets a lock. Refresh records it; the preview names it.
    await eu.updateBucket({ bucketId: awsTwin.bucketId, fileLockEnabled: true });
    const refreshed = await p.ws.run(['refresh', '--yes', '--skip-preview']);
    expect(refreshed.stdout + refreshed.stderr).toMatch(
      /bucket infrafabric-backup-prod-aws-replica .*has Object Lock enabled in B2 but not in the state/,
    );
    const drift = await p.ws.run(['preview'], { allowFailure: true });
    expect(drift.code).not.toBe(0);
    expect(drift.stdout + drift.stderr).toMatch(
      /ObjectLockNotInConfig: bucket "infrafabric-backup-prod-aws-replica" has Object Lock enabled/,
    );

    // Declared without the acknowledgement: refused at preview, nothing changes.
    p.setConfig({ ...base, objectLock: { enabled: true, days: 7 } });
    const unacknowledged = await p.ws.run(['preview'], { allowFailure: true });
    expect(unacknowledged.code).not.toBe(0);
    expect(unacknowledged.stdout + unacknowledged.stderr).toMatch(
      /IrreversibleChangeNotAcknowledged: enabling Object Lock on the existing bucket "infrafabric-backup-prod-gcp-replica" is irreversible/,
    );
    const up1 = await p.ws.run(['up', '--yes', '--skip-preview'], { allowFailure: true });
    expect(up1.code).not.toBe(0);
    expect((await twin('gcp')).fileLockConfiguration?.value?.isFileLockEnabled).toBe(false);

    // Acknowledged: the plan carries the word, up applies it in place.
    p.setConfig({ ...base, objectLock: { enabled: true, days: 7, acknowledgeIrreversible: true } });
    const plan = await p.ws.run(['preview', '--diff']);
    expect(plan.stdout).toMatch(
      /irreversible\s*: "enables Object Lock: irreversible, B2 can never disable it/,
    );
    await p.ws.run(['up', '--yes', '--skip-preview']);
    const locked = await twin('gcp');
    expect(locked.bucketId).toBe(gcpTwin.bucketId);
    expect(locked.fileLockConfiguration?.value).toMatchObject({
      isFileLockEnabled: true,
      defaultRetention: { mode: 'governance', period: { duration: 7, unit: 'days' } },
    });
    await p.ws.run(['preview', '--expect-no-changes']);
  });
});
