/**
 * Lifecycle execution (docs/b2-api.md §5) on the emulator clock: for every bucket with rules, hide
 * current uploads, delete hidden versions and orphaned hide markers, cancel unfinished large
 * files — exactly the per-name plan of `lifecyclePlan.ts`. Runs on `POST /__admin/lifecycle/run`
 * and once per emulator day from the timer in `index.ts`. Object Lock is honoured.
 */
import type { RegionRuntime } from '../core/context';
import type { BucketRecord, FileRecord } from '../core/types';
import { dueUnfinished, planName, ruleFor } from './lifecyclePlan';

export interface LifecycleReport {
  hidden: number;
  deleted: number;
  canceled: number;
  /** Versions a rule wanted gone but Object Lock kept. */
  locked: number;
}

const PAGE = 1000;

export async function runLifecycle(regions: RegionRuntime[]): Promise<LifecycleReport> {
  const report: LifecycleReport = { hidden: 0, deleted: 0, canceled: 0, locked: 0 };
  for (const region of regions) {
    for (const bucket of region.engine.allBuckets()) {
      if (bucket.lifecycleRules.length === 0) continue;
      await runBucket(region, bucket, report);
    }
  }
  return report;
}

async function runBucket(
  region: RegionRuntime,
  bucket: BucketRecord,
  report: LifecycleReport,
): Promise<void> {
  const { engine, store } = region;
  const now = engine.clock.now();
  // Walk every version in name order, one name at a time; a name's versions may span pages.
  let cursorName = '';
  let cursorSeq: number | null = null;
  let group: FileRecord[] = [];
  const flush = async (): Promise<void> => {
    if (group.length === 0) return;
    const name = group[0].fileName;
    const versions = group.filter((f) => f.action !== 'start');
    group = [];
    const rule = ruleFor(bucket.lifecycleRules, name);
    if (!rule) return;
    const plan = planName(versions, rule, now);
    if (plan.hide) {
      const marker = engine.makeVersion(bucket.bucketId, name, 'hide');
      marker.contentType = 'application/x-bz-hide-marker';
      marker.contentSha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
      marker.contentMd5 = 'd41d8cd98f00b204e9800998ecf8427e';
      engine.putSystemVersion(marker);
      report.hidden++;
    }
    report.locked += plan.lockedIds.length;
    for (const id of plan.deleteIds) {
      if (await engine.systemDeleteVersion(id)) report.deleted++;
      else report.locked++;
    }
  };
  for (;;) {
    const batch = store.listVersions(bucket.bucketId, cursorName, cursorSeq, PAGE);
    for (const f of batch) {
      if (group.length && group[0].fileName !== f.fileName) await flush();
      group.push(f);
      cursorName = f.fileName;
      cursorSeq = f.seq - 1;
    }
    if (batch.length < PAGE) break;
  }
  await flush();

  let start: string | null = null;
  for (;;) {
    const started = store.listStarted(bucket.bucketId, start, PAGE);
    for (const f of started) {
      const rule = ruleFor(bucket.lifecycleRules, f.fileName);
      if (rule && dueUnfinished(f, rule, now)) {
        await store.deleteFile(f.fileId);
        report.canceled++;
      }
    }
    if (started.length < PAGE) break;
    start = started[started.length - 1].fileId + '\u0000';
  }
}
