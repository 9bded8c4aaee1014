/**
 * The run manifests as a record of what the jobs promise is stored: every object version a run
 * uploaded (or found already stored), with its size and SHA-256. `verify` reconciles the bucket
 * against it; `restore` and `db-restore` take the expected SHA-256 of a version from it.
 */
import { messageOf } from './errors';
import { Manifest, ObjectStatus } from './manifest';
import { getBuffer, listKeys } from './objects';
import { mapLimit } from './pool';
import { JobContext } from './runner';

export interface ManifestEntry {
  key: string;
  versionId?: string;
  sha256: string;
  size: number;
  status: ObjectStatus;
  /** The manifest object that lists it. */
  manifestKey: string;
  job: string;
  /** The run's start (ms): the version was written at or after it. */
  runStartedAt: number;
}

/** One run as its manifest records it (every non-dry run writes one, failed runs included). */
export interface RunRecord {
  job: string;
  manifestKey: string;
  status: Manifest['status'];
  /** The run's start (ms); 0 when neither the manifest nor its key carries a time. */
  startedAt: number;
  /** Every object key the run lists, whatever its status (a failed dump lists its aborted key). */
  keys: string[];
  /** What the run backs up (`runTargets`); empty when neither its keys nor its manifest say. */
  targets: string[];
  /**
   * Targets this run's target replaced (`details.supersedes`): a tf-state workspace under its
   * default name names the directory-name target older releases wrote it under (tfState.ts).
   */
  supersedes?: string[];
}

export interface ManifestIndex {
  entries: ManifestEntry[];
  /** Every readable manifest's run, in key order (per job: oldest first). */
  runs: RunRecord[];
  /** (key, versionId) → the entry that lists that version (uploaded or skipped-as-stored). */
  byVersion: Map<string, ManifestEntry>;
  manifests: number;
  unreadable: { key: string; error: string }[];
}

/** Manifests fetched at once by `readManifestIndex`. */
const MANIFEST_READS = 16;

export const versionRef = (key: string, versionId: string): string => `${key}\0${versionId}`;

/** The jobs that write run manifests (`manifests/<job>/…`). */
export const BACKUP_JOBS = ['db-dump', 'snapshot-config', 'tf-state', 'audit-logs'];

/** The job that writes objects under a key's prefix (whose manifests list it). */
export function jobForKey(key: string): string | undefined {
  if (key.startsWith('db/')) return 'db-dump';
  if (key.startsWith('configs/')) return 'snapshot-config';
  if (key.startsWith('terraform-state/')) return 'tf-state';
  if (key.startsWith('audit-logs/')) return 'audit-logs';
  return undefined;
}

/**
 * The backup target a key belongs to: `db/<engine>/<database>/`, `configs/<provider>/`,
 * `terraform-state/<name>/`; undefined for keys that do not name their source (audit-logs).
 */
export function targetOfKey(key: string): string | undefined {
  const m = /^(db\/[^/]+\/[^/]+\/|configs\/[^/]+\/|terraform-state\/[^/]+\/)/.exec(key);
  return m?.[1];
}

/** The manifest fields that name a run's target when its keys do not (see `runTargets`). */
export type TargetFacts = Pick<Manifest, 'provider' | 'details'>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * What a run backs up, for per-target freshness (scripts/lib/freshness.ts): the targets its keys
 * name; for a run whose keys name none (it failed before choosing a key), the one
 * its manifest names — db-dump `details.database` {engine, name}, snapshot-config `provider`,
 * tf-state `details.name`. An audit-logs target is always the manifest's `details.name`
 * (`audit-logs:<name>`, the job's `--name`: its keys are `audit-logs/<name>/…`, its state object
 * `state/audit-logs/<name>.json`): keys of the old layout (`audit-logs/<date>/<file>@…`) do not say
 * which source wrote them, and a run that uploads nothing lists no key.
 */
export function runTargets(job: string, keys: string[], facts?: TargetFacts): string[] {
  const details = (facts?.details ?? {}) as Record<string, unknown>;
  if (job === 'audit-logs') {
    const name = str(details.name);
    return name ? [`audit-logs:${name}`] : [];
  }
  const fromKeys = [...new Set(keys.map(targetOfKey).filter((t): t is string => !!t))].sort();
  if (fromKeys.length) return fromKeys;
  let named: string | undefined;
  if (job === 'db-dump') {
    const db = (details.database ?? {}) as Record<string, unknown>;
    if (str(db.engine) && str(db.name)) named = `db/${str(db.engine)}/${str(db.name)}/`;
  } else if (job === 'snapshot-config') {
    if (str(facts?.provider)) named = `configs/${str(facts?.provider)}/`;
  } else if (job === 'tf-state') {
    if (str(details.name)) named = `terraform-state/${str(details.name)}/`;
  }
  return named ? [named] : [];
}

/**
 * The key prefix a target's objects live under: an audit-logs name's are under
 * `audit-logs/<name>/` (segments written before names were part of keys are under
 * `audit-logs/YYYY/…`, matched by their keys, which runs list).
 */
export const targetRoot = (target: string): string =>
  target.startsWith('audit-logs:') ? `audit-logs/${target.slice('audit-logs:'.length)}/` : target;

function supersededBy(m: Manifest): string[] {
  const list = ((m.details ?? {}) as Record<string, unknown>).supersedes;
  return Array.isArray(list) ? list.filter((t): t is string => typeof t === 'string' && t.endsWith('/')) : [];
}

async function readManifest(ctx: JobContext, key: string): Promise<Manifest> {
  const got = await getBuffer(ctx.s3, ctx.policy, ctx.conn.bucket, key);
  return JSON.parse(got.body.toString('utf8')) as Manifest;
}

function entriesOf(manifestKey: string, m: Manifest): ManifestEntry[] {
  const started = Date.parse(m.startedAt);
  return (m.objects ?? [])
    .filter((o) => o.status === 'uploaded' || o.status === 'skipped')
    .map((o) => ({
      key: o.key,
      versionId: o.versionId,
      sha256: o.sha256,
      size: o.size,
      status: o.status,
      manifestKey,
      job: m.job,
      runStartedAt: Number.isNaN(started) ? 0 : started,
    }));
}

function runOf(manifestKey: string, m: Manifest): RunRecord {
  const started = Date.parse(m.startedAt);
  const job = m.job ?? manifestKey.split('/')[1];
  const keys = (m.objects ?? []).map((o) => o.key);
  return {
    job,
    manifestKey,
    status: m.status,
    startedAt: Number.isNaN(started) ? (manifestStartedAt(manifestKey) ?? 0) : started,
    keys,
    targets: runTargets(job, keys, m),
    supersedes: supersededBy(m),
  };
}

/** Every manifest under `manifests/` (or one job's folder), oldest first. */
export async function readManifestIndex(ctx: JobContext, job?: string): Promise<ManifestIndex> {
  const keys = (await listKeys(ctx.s3, ctx.conn.bucket, job ? `manifests/${job}/` : 'manifests/'))
    .map((k) => k.key)
    .filter((k) => k.endsWith('.json'))
    .sort();
  const index: ManifestIndex = {
    entries: [],
    runs: [],
    byVersion: new Map(),
    manifests: 0,
    unreadable: [],
  };
  // Read in parallel (small objects: latency-bound), folded in key order so results are stable.
  let done = 0;
  const read = await mapLimit(keys, MANIFEST_READS, async (mk) => {
    try {
      return { mk, m: await readManifest(ctx, mk) };
    } catch (err) {
      return { mk, error: messageOf(err) };
    } finally {
      ctx.reporter.progress('reading manifests', ++done, keys.length, 'objects');
    }
  });
  for (const r of read) {
    if (!r.m) {
      index.unreadable.push({ key: r.mk, error: r.error ?? 'unreadable' });
      continue;
    }
    index.manifests += 1;
    index.runs.push(runOf(r.mk, r.m));
    for (const e of entriesOf(r.mk, r.m)) {
      index.entries.push(e);
      if (e.versionId && e.sha256) {
        // An upload's entry wins over a later run's "skipped, already stored" entry.
        const ref = versionRef(e.key, e.versionId);
        const prior = index.byVersion.get(ref);
        if (!prior || (prior.status !== 'uploaded' && e.status === 'uploaded')) index.byVersion.set(ref, e);
      }
    }
  }
  return index;
}

/** Start time encoded in a manifest key (`…/2026-11-28T11-05-09-123Z.json`, timeparse.stamp). */
export function manifestStartedAt(manifestKey: string): number | undefined {
  const m = /(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2})-(\d{3})Z\.json$/.exec(manifestKey);
  return m ? Date.parse(`${m[1]}:${m[2]}:${m[3]}.${m[4]}Z`) : undefined;
}

/**
 * The manifest entry recording one exact version, searching the writing job's manifests (all
 * manifests when the prefix belongs to no job). A run's manifest key carries its start time, which
 * is before the version's upload: with `uploadedAt` the search starts at the newest run that began
 * by then, so it usually reads one manifest; later runs (which can only list it as skipped) and
 * keys without a stamp are searched after.
 */
export async function findManifestEntry(
  ctx: JobContext,
  key: string,
  versionId: string,
  uploadedAt?: number,
): Promise<ManifestEntry | undefined> {
  const job = jobForKey(key);
  const all = (await listKeys(ctx.s3, ctx.conn.bucket, job ? `manifests/${job}/` : 'manifests/'))
    .map((k) => k.key)
    .filter((k) => k.endsWith('.json'))
    .sort()
    .reverse();
  // Clock skew between the job's host and B2: allow runs that "started" a little after the upload.
  const SKEW_MS = 15 * 60_000;
  const before = (k: string): boolean => {
    const t = manifestStartedAt(k);
    return uploadedAt === undefined || t === undefined || t <= uploadedAt + SKEW_MS;
  };
  const keys = [...all.filter(before), ...all.filter((k) => !before(k))];
  let fallback: ManifestEntry | undefined;
  for (const mk of keys) {
    let m: Manifest;
    try {
      m = await readManifest(ctx, mk);
    } catch {
      continue; // unreadable manifests are verify's to report
    }
    for (const e of entriesOf(mk, m)) {
      if (e.key !== key || e.versionId !== versionId || !e.sha256) continue;
      if (e.status === 'uploaded') return e;
      fallback ??= e;
    }
  }
  return fallback;
}
