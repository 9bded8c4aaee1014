/**
 * Freshness: when each backup job in scope last succeeded, from the run manifests (every run
 * writes one, failed runs included; scripts/lib/manifestIndex.ts). `verify --max-age` fails a job
 * whose newest successful run is older than that: a job that stopped running (CronJob deleted or
 * suspended, credential expired, failing every night) leaves its old backups verifying cleanly.
 */
import { jobForKey, RunRecord } from './manifestIndex';

export interface Freshness {
  job: string;
  /** Start of the newest successful run (ISO), null when none. */
  lastSuccess: string | null;
  /** Seconds from `lastSuccess` to now (floored), null when none. */
  ageSeconds: number | null;
  /** Failed runs that started after the last success (all of them when none). */
  failedSince: number;
  /** Start of the newest of those failed runs (ISO), null when none. */
  newestFailure: string | null;
  stale: boolean;
  /** Why it is stale (the line `verify` prints). */
  problem?: string;
}

export interface FreshnessInput {
  runs: RunRecord[];
  now: number;
  /** `--max-age` as given (for messages) and in ms; without it only `--job` names can be stale. */
  maxAge?: { text: string; ms: number };
  /** `--prefix`: only runs that list an object under it. */
  prefix?: string;
  /** `--job`: exactly these jobs, each of which must have a successful run. */
  jobs?: string[];
}

/** A run counts under a prefix when it lists an object there, or lists none and its job writes there. */
export function runInScope(run: RunRecord, prefix: string | undefined): boolean {
  if (!prefix) return true;
  if (run.keys.length === 0) return jobForKey(prefix) === run.job;
  return run.keys.some((k) => k.startsWith(prefix));
}

/** `--job` names, else every job with a run in scope (plus the job that writes under the prefix). */
function jobsInScope(runs: RunRecord[], input: FreshnessInput): string[] {
  if (input.jobs?.length) return [...new Set(input.jobs)];
  const jobs = new Set(runs.map((r) => r.job));
  const writer = input.prefix ? jobForKey(input.prefix) : undefined;
  if (writer && input.maxAge) jobs.add(writer);
  return [...jobs].sort();
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** Seconds precision for people: `2026-11-20T03:00:00Z`. */
const isoSeconds = (ms: number): string => iso(ms).replace(/\.\d{3}Z$/, 'Z');

/** `45 s`, `12 min`, `27 h`, `16 d`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 2 * 86_400) return `${Math.floor(s / 86_400)} d`;
  if (s >= 2 * 3_600) return `${Math.floor(s / 3_600)} h`;
  if (s >= 120) return `${Math.floor(s / 60)} min`;
  return `${s} s`;
}

function problemOf(f: Freshness, runs: number, input: FreshnessInput, newestFailMs?: number): string {
  const failures = f.failedSince
    ? `; ${f.failedSince} failed run(s) since, newest ${isoSeconds(newestFailMs!)}`
    : '';
  const bound = input.maxAge ? `--max-age ${input.maxAge.text}` : 'named by --job';
  if (runs === 0)
    return `${f.job}: no run at all${input.prefix ? ` under "${input.prefix}"` : ''} (${bound})`;
  if (f.lastSuccess === null) return `${f.job}: no successful run (${bound})${failures}`;
  return `${f.job}: last successful run ${isoSeconds(Date.parse(f.lastSuccess))} (${formatAge(f.ageSeconds!)} ago, older than ${bound})${failures}`;
}

function jobFreshness(job: string, runs: RunRecord[], input: FreshnessInput): Freshness {
  const mine = runs.filter((r) => r.job === job);
  const ok = mine.filter((r) => r.status === 'ok').map((r) => r.startedAt);
  const last = ok.length ? Math.max(...ok) : undefined;
  const failed = mine
    .filter((r) => r.status === 'failed' && (last === undefined || r.startedAt > last))
    .map((r) => r.startedAt);
  const newestFail = failed.length ? Math.max(...failed) : undefined;
  const f: Freshness = {
    job,
    lastSuccess: last === undefined ? null : iso(last),
    ageSeconds: last === undefined ? null : Math.floor((input.now - last) / 1000),
    failedSince: failed.length,
    newestFailure: newestFail === undefined ? null : iso(newestFail),
    stale: false,
  };
  const tooOld = input.maxAge !== undefined && (last === undefined || input.now - last > input.maxAge.ms);
  const neverOk = last === undefined && !!input.jobs?.includes(job);
  if (tooOld || neverOk) {
    f.stale = true;
    f.problem = problemOf(f, mine.length, input, newestFail);
  }
  return f;
}

/** One entry per job in scope, sorted by job name (`--job` order when named). */
export function freshness(input: FreshnessInput): Freshness[] {
  const runs = input.runs.filter((r) => runInScope(r, input.prefix));
  return jobsInScope(runs, input).map((job) => jobFreshness(job, runs, input));
}

/** `db-dump 2026-12-06T03:00:00Z (3 h ago)` / `db-dump never`. */
export function describeLastSuccess(f: Freshness): string {
  if (f.lastSuccess === null) return `${f.job} never`;
  return `${f.job} ${isoSeconds(Date.parse(f.lastSuccess))} (${formatAge(f.ageSeconds!)} ago)`;
}
