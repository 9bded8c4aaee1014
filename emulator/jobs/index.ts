/**
 * Registers the background jobs with the core (`ctx.jobs`, used by `POST /__admin/lifecycle/run`
 * and `POST /__admin/replication/run`) and drives them from timers:
 *
 * - replication every second (B2 replicates new uploads "at once");
 * - lifecycle whenever the emulator day changes (B2 runs it about once a day), so advancing the
 *   admin clock by days makes rules apply within a few seconds even without the admin call.
 *
 * Runs of one job never overlap: an admin call during a timer run waits for it and runs again.
 * `B2_LOCAL_REPLICATION_TICK_MS` / `B2_LOCAL_LIFECYCLE_TICK_MS` change the timer periods; `0`
 * turns a timer off (tests that need to observe `PENDING` before an explicit admin run).
 */
import type { ProtocolContext, RegionRuntime } from '../core/context';
import { runLifecycle } from './lifecycle';
import { runReplication } from './replication';
import { DAY_MS } from './lifecyclePlan';

const REPLICATION_TICK_MS = 1000;
const LIFECYCLE_TICK_MS = 5000;

function tick(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer (milliseconds; 0 = off), got "${raw}"`);
  return n;
}

/** Serialises runs of one job. */
function serial<T>(fn: (all: RegionRuntime[]) => Promise<T>): (all: RegionRuntime[]) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (all) => {
    const run = last.then(
      () => fn(all),
      () => fn(all),
    );
    last = run.catch(() => undefined);
    return run;
  };
}

const registered = new WeakSet<object>();

export function registerJobs(ctx: ProtocolContext): void {
  if (registered.has(ctx.jobs)) return;
  registered.add(ctx.jobs);
  const lifecycle = serial(runLifecycle);
  const replication = serial(runReplication);
  ctx.jobs.lifecycle = lifecycle;
  ctx.jobs.replication = replication;

  const report = (job: string) => (e: unknown) =>
    ctx.log(`${job} job failed: ${(e as Error)?.message ?? String(e)}`);
  const replTick = tick('B2_LOCAL_REPLICATION_TICK_MS', REPLICATION_TICK_MS);
  if (replTick > 0) {
    setInterval(() => {
      replication(ctx.regions).then((r) => {
        if (r.failed) for (const f of r.failures) ctx.log(`replication: ${f.fileName} FAILED: ${f.reason}`);
      }, report('replication'));
    }, replTick).unref();
  }
  const lifeTick = tick('B2_LOCAL_LIFECYCLE_TICK_MS', LIFECYCLE_TICK_MS);
  if (lifeTick > 0) {
    let lastDay = Math.floor(ctx.clock.now() / DAY_MS);
    setInterval(() => {
      const day = Math.floor(ctx.clock.now() / DAY_MS);
      if (day === lastDay) return;
      lastDay = day;
      lifecycle(ctx.regions).catch(report('lifecycle'));
    }, lifeTick).unref();
  }
}
