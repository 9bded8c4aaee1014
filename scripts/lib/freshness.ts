/**
 * Freshness: when each backup target in scope last succeeded, from the run manifests (every run
 * writes one, failed runs included; scripts/lib/manifestIndex.ts). `verify --max-age` fails a
 * target whose newest successful run is older than that: a job that stopped running for one
 * database, provider or workspace (its CronJob deleted, a credential expired, failing every night)
 * leaves that target's old backups verifying cleanly — and a job-wide check would stay green
 * through the other targets' runs.
 *
 * A target is what a run backs up (`runTargets`: `db/<engine>/<database>/`, `configs/<provider>/`,
 * `terraform-state/<name>/`, `audit-logs:<name>`); every target seen in a run in scope is judged
 * on its own runs alone. A job whose runs name no target at all is judged as one (target null).
 */
import { jobForKey, RunRecord, targetRoot } from './manifestIndex';

export interface Freshness {
  job: string;
  /** The target judged; null for a job whose runs in scope name none (judged as a whole). */
  target: string | null;
  /** Start of the newest successful run (ISO), null when none. */
  lastSuccess: string | null;
  /** Seconds from `lastSuccess` to now (floored), null when none. */
  ageSeconds: number | null;
  /** Failed runs that started after the last success (all of them when none). */
  failedSince: number;
  /** Start of the newest of those failed runs (ISO), null when none. */
  newestFailure: string | null;
  /** Excluded by `--retired`: reported, never stale. */
  retired: boolean;
  /**
   * The target whose runs replaced this one (`RunRecord.supersedes`: a tf-state workspace now
   * under its default name, this its old directory-name target): reported, never stale.
   */
  supersededBy?: string;
  stale: boolean;
  /** Why it is stale (the line `verify` prints). */
  problem?: string;
}

export interface FreshnessInput {
  runs: RunRecord[];
  now: number;
  /** `--max-age` as given (for messages) and in ms; without it only `--job` names can be stale. */
  maxAge?: { text: string; ms: number };
  /** `--prefix`: only runs that list an object under it (or, listing none, whose target is there). */
  prefix?: string;
  /** `--job`: exactly these jobs, each of which must have a successful run. */
  jobs?: string[];
  /** `--retired`: targets deliberately decommissioned (a target, or a prefix ending in `/`). */
  retired?: string[];
  /** `--since`: a target whose newest run of any kind is older is out of scope. */
  since?: { text: string; ms: number };
}

const overlaps = (a: string, b: string): boolean => a.startsWith(b) || b.startsWith(a);

/**
 * A run counts under a prefix when it lists an object there; a run that lists none counts when
 * its target is under the prefix (or the prefix under it), or, naming no target, when its job is
 * the one that writes there.
 */
export function runInScope(run: RunRecord, prefix: string | undefined): boolean {
  if (!prefix) return true;
  if (run.keys.length > 0) return run.keys.some((k) => k.startsWith(prefix));
  if (run.targets.length > 0) return run.targets.some((t) => overlaps(targetRoot(t), prefix));
  return jobForKey(prefix) === run.job;
}

/** `--retired r` covers a target equal to r (with or without its trailing `/`), or under r when r ends in `/`. */
export function isRetired(target: string, retired: string[] | undefined): boolean {
  return (retired ?? []).some(
    (r) =>
      target === r ||
      target === `${r}/` ||
      (r.endsWith('/') && (target.startsWith(r) || targetRoot(target).startsWith(r))),
  );
}

/** The name a person calls a target by: `billing` for `db/postgres/billing/`, `web` for `audit-logs:web`. */
export function targetName(target: string): string {
  if (target.startsWith('audit-logs:')) return target.slice('audit-logs:'.length);
  const parts = target.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? target;
}

/** `--job` names, else every job with a run in scope (plus the job that writes under the prefix). */
function jobsInScope(runs: RunRecord[], input: FreshnessInput): { jobs: string[]; required: Set<string> } {
  if (input.jobs?.length) {
    const named = [...new Set(input.jobs)];
    return { jobs: named, required: new Set(named) };
  }
  const jobs = new Set(runs.map((r) => r.job));
  const writer = input.prefix ? jobForKey(input.prefix) : undefined;
  const required = new Set<string>();
  if (writer && input.maxAge) {
    jobs.add(writer);
    required.add(writer);
  }
  return { jobs: [...jobs].sort(), required };
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

const who = (f: Pick<Freshness, 'job' | 'target'>): string => (f.target ? `${f.job} ${f.target}` : f.job);

function problemOf(f: Freshness, runs: number, input: FreshnessInput, newestFailMs?: number): string {
  const failures = f.failedSince
    ? `; ${f.failedSince} failed run(s) since, newest ${isoSeconds(newestFailMs!)}`
    : '';
  const bound = input.maxAge ? `--max-age ${input.maxAge.text}` : 'named by --job';
  const hint = f.target ? `; if ${targetName(f.target)} was decommissioned, pass --retired ${f.target}` : '';
  if (runs === 0) {
    const where = `${input.prefix ? ` under "${input.prefix}"` : ''}${input.since ? ` in the last ${input.since.text}` : ''}`;
    return `${who(f)}: no run at all${where} (${bound})`;
  }
  if (f.lastSuccess === null) return `${who(f)}: no successful run (${bound})${failures}${hint}`;
  return `${who(f)}: last successful run ${isoSeconds(Date.parse(f.lastSuccess))} (${formatAge(f.ageSeconds!)} ago, older than ${bound})${failures}${hint}`;
}

/** One target's (or a target-less job's) freshness, from its own runs alone. */
function judge(
  job: string,
  target: string | null,
  mine: RunRecord[],
  required: boolean,
  input: FreshnessInput,
  supersededBy?: string,
): Freshness {
  const ok = mine.filter((r) => r.status === 'ok').map((r) => r.startedAt);
  const last = ok.length ? Math.max(...ok) : undefined;
  const failed = mine
    .filter((r) => r.status === 'failed' && (last === undefined || r.startedAt > last))
    .map((r) => r.startedAt);
  const newestFail = failed.length ? Math.max(...failed) : undefined;
  const retired = target !== null && isRetired(target, input.retired);
  const f: Freshness = {
    job,
    target,
    lastSuccess: last === undefined ? null : iso(last),
    ageSeconds: last === undefined ? null : Math.floor((input.now - last) / 1000),
    failedSince: failed.length,
    newestFailure: newestFail === undefined ? null : iso(newestFail),
    retired,
    ...(supersededBy ? { supersededBy } : {}),
    stale: false,
  };
  const tooOld = input.maxAge !== undefined && (last === undefined || input.now - last > input.maxAge.ms);
  const neverOk = last === undefined && required;
  if (!retired && !supersededBy && (tooOld || neverOk)) {
    f.stale = true;
    f.problem = problemOf(f, mine.length, input, newestFail);
  }
  return f;
}

/**
 * The target that replaced `target`: a tf-state workspace now under its default name names, in
 * `supersedes`, the directory-name target older releases wrote it under. `target` counts as
 * replaced only if it has had no run since the first successful run that names it: an old name
 * still in use (`--name` kept by another workspace) keeps being judged, and stops being fresh when
 * that workspace stops. All runs are considered, not only those under `--prefix`: the replacement
 * lives under another prefix.
 */
function replacement(target: string, job: string, runs: RunRecord[]): string | undefined {
  let newestOwn = -Infinity;
  let first: RunRecord | undefined;
  for (const r of runs) {
    if (r.job !== job) continue;
    if (r.targets.includes(target)) newestOwn = Math.max(newestOwn, r.startedAt);
    else if (
      r.status === 'ok' &&
      (r.supersedes ?? []).includes(target) &&
      (!first || r.startedAt < first.startedAt)
    )
      first = r;
  }
  return first && newestOwn < first.startedAt ? first.targets[0] : undefined;
}

/** Within `--since`: the newest run of any kind started no earlier than now − since. */
const recent = (runs: RunRecord[], input: FreshnessInput): boolean =>
  !input.since || runs.some((r) => r.startedAt >= input.now - input.since!.ms);

/**
 * One entry per target in scope (sorted by job, then target). A job whose runs in scope name no
 * target — or a job that must be judged (`--job`, the writer under `--prefix`) with no target in
 * scope — gets one entry with target null, judged on its target-less runs. Target-less runs of a
 * job that has targets count for none of them: they cannot say which target they were for.
 */
export function freshness(input: FreshnessInput): Freshness[] {
  const runs = input.runs.filter((r) => runInScope(r, input.prefix));
  const { jobs, required } = jobsInScope(runs, input);
  const out: Freshness[] = [];
  for (const job of jobs) {
    const mine = runs.filter((r) => r.job === job);
    const byTarget = new Map<string, RunRecord[]>();
    for (const r of mine) for (const t of r.targets) byTarget.set(t, [...(byTarget.get(t) ?? []), r]);
    const targets = [...byTarget.keys()].filter((t) => recent(byTarget.get(t)!, input)).sort();
    for (const t of targets)
      out.push(judge(job, t, byTarget.get(t)!, required.has(job), input, replacement(t, job, input.runs)));
    if (targets.length) continue;
    const loose = mine.filter((r) => r.targets.length === 0);
    const inSince = recent(loose, input) ? loose : [];
    if (inSince.length || required.has(job)) out.push(judge(job, null, inSince, required.has(job), input));
  }
  return out;
}

/** `db-dump db/postgres/app/ 2026-12-06T03:00:00Z (3 h ago)` / `db-dump never`. */
export function describeLastSuccess(f: Freshness): string {
  const retired = f.retired ? ', retired' : f.supersededBy ? `, replaced by ${f.supersededBy}` : '';
  if (f.lastSuccess === null) return `${who(f)} never${retired ? ' (retired)' : ''}`;
  return `${who(f)} ${isoSeconds(Date.parse(f.lastSuccess))} (${formatAge(f.ageSeconds!)} ago${retired})`;
}
