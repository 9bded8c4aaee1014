/**
 * The run manifests as a record of what the jobs promise is stored: every object version a run
 * uploaded (or found already stored), with its size and SHA-256. `verify` reconciles the bucket
 * against it; `restore` and `db-restore` take the expected SHA-256 of a version from it.
 */
import { messageOf } from './errors';
import { Manifest, manifestKey, ObjectStatus } from './manifest';
import { checkSignature, MANIFEST_KEY_ENV, SignatureCheck } from './manifestSignature';
import { getBuffer, listVersions, VersionEntry } from './objects';
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
  /** Trusted manifests read (untrusted ones promise nothing and are not counted). */
  manifests: number;
  unreadable: { key: string; error: string }[];
  /** Manifests whose signature does not verify, or unsigned ones uploaded after signing began. */
  untrusted: UntrustedManifest[];
  signatures: SignatureSummary;
}

export interface UntrustedManifest {
  key: string;
  reason: string;
}

/** What was (or was not) checked about manifest signatures, for output. */
export interface SignatureSummary {
  /** The configured key's id; null when no key was configured (nothing checked). */
  keyId: string | null;
  /** Previous (rotated-out) key ids also accepted. */
  previousKeyIds: string[];
  /** Per previous key: trusted manifests it signs and the newest one's upload time (ISO). */
  previousKeys: { keyId: string; manifests: number; newestUpload: string | null }[];
  /** Manifests whose signature verified. */
  verified: number;
  /** Unsigned manifests trusted because they were uploaded before signing began (or it never did). */
  unsignedTrusted: number;
  /** Upload time (ISO) of the earliest manifest whose signature verifies. */
  signingBegan: string | null;
  /** Signed manifests read without a key: their signatures were not checked. */
  notChecked: number;
}

/** One line per previous key: how many manifests it still signs, so the operator knows when to drop it. */
export function describePreviousKeys(s: SignatureSummary, scope: string): string[] {
  return s.previousKeys.map((p) =>
    p.manifests
      ? `previous manifest key id ${p.keyId}: still signs ${p.manifests} manifest(s) ${scope}, newest uploaded ${p.newestUpload}; keep it until the backups those list have expired`
      : `previous manifest key id ${p.keyId}: signs no manifest ${scope}`,
  );
}

/** The line every reader prints when signed manifests were read without the key. */
export const NOT_CHECKED_NOTE = `signatures not checked: no --manifest-key-file / ${MANIFEST_KEY_ENV}`;

export function describeSignatures(s: SignatureSummary): string | undefined {
  if (s.keyId === null)
    return s.notChecked ? `${NOT_CHECKED_NOTE} (${s.notChecked} signed manifest(s) read)` : undefined;
  const ids = s.previousKeyIds.length ? `; previous key ids ${s.previousKeyIds.join(', ')}` : '';
  return `manifest signatures (key id ${s.keyId}${ids}): ${s.verified} verified, ${s.unsignedTrusted} unsigned from before signing began${s.signingBegan ? ` (${s.signingBegan})` : ' (no signed manifest yet: signing not enabled)'}`;
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

/** One manifest as read: its content, server upload time and signature check. */
export interface ReadManifest {
  key: string;
  manifest: Manifest;
  /** Server LastModified of the version read (never the manifest's own startedAt). */
  uploadedAt: number;
  /** The signature check; undefined when no key is configured. */
  check?: SignatureCheck;
}

export interface ManifestVerdict {
  trusted: boolean;
  /** Why it is not trusted, e.g. "signature does not verify with key id X". */
  reason?: string;
  /** It carries a signature (checked or not). */
  signed: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Reads run manifests and decides which are trusted — the one rule verify, restore, db-restore,
 * drill and freshness share. With a manifest key configured, a manifest is trusted iff its
 * signature verifies (with the current key or a previous one its key id names); an unsigned one only if it was uploaded (server time) before the earliest
 * upload of a manifest whose signature verifies ("signing began then"); with no validly signed
 * manifest at all, unsigned ones are trusted (signing not yet enabled). Without a key every
 * manifest is trusted and signed ones are counted as not checked.
 */
export class ManifestReader {
  private readonly cache = new Map<string, Promise<ReadManifest>>();
  private began?: Promise<number | undefined>;
  private readonly states = new Map<string, Promise<{ at: number; valid: boolean } | undefined>>();

  /** Every current manifest under `manifests/` with its listed upload time, in key order. */
  readonly listing: { key: string; lastModified: number }[];
  private readonly latest = new Map<string, VersionEntry>();

  private constructor(
    private readonly ctx: JobContext,
    /** Every version of every manifest (hide markers excluded): signing began at the earliest valid one. */
    private readonly versions: VersionEntry[],
  ) {
    for (const v of versions) if (v.isLatest) this.latest.set(v.key, v);
    this.listing = [...this.latest.values()]
      .map((v) => ({ key: v.key, lastModified: v.lastModified }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  static async open(ctx: JobContext): Promise<ManifestReader> {
    // Versions, not just current objects: the jobs write each manifest once, so a manifest key
    // with older versions was overwritten — and overwriting every signed manifest with an unsigned
    // copy must not make signing look never enabled (the writer key cannot delete the originals).
    const versions = (await listVersions(ctx.s3, ctx.conn.bucket, 'manifests/')).filter(
      (v) => !v.deleteMarker && v.key.endsWith('.json'),
    );
    return new ManifestReader(ctx, versions);
  }

  /** Manifest keys (all, or one job's), in key order (per job: oldest first). */
  keys(job?: string): string[] {
    const prefix = job ? `manifests/${job}/` : 'manifests/';
    return this.listing.map((k) => k.key).filter((k) => k.startsWith(prefix));
  }

  /** The current version of a manifest: exactly the version listed, with the listing's upload time. */
  read(key: string): Promise<ReadManifest> {
    let p = this.cache.get(key);
    if (!p) {
      const listed = this.latest.get(key);
      p = (async () => {
        const { s3, policy, conn } = this.ctx;
        const got = await getBuffer(s3, policy, conn.bucket, key, listed?.versionId);
        const manifest = JSON.parse(got.body.toString('utf8')) as Manifest;
        const k = this.ctx.manifestKey;
        return {
          key,
          manifest,
          uploadedAt: listed?.lastModified ?? got.lastModified ?? 0,
          check: k ? checkSignature(manifest, k, this.ctx.manifestPreviousKeys) : undefined,
        };
      })();
      this.cache.set(key, p);
    }
    return p;
  }

  /** One manifest version's upload time and whether its signature verifies (cached; undefined if unreadable). */
  private versionState(v: VersionEntry): Promise<{ at: number; valid: boolean } | undefined> {
    const ref = versionRef(v.key, v.versionId);
    let p = this.states.get(ref);
    if (!p) {
      const k = this.ctx.manifestKey;
      p = (async () => {
        try {
          if (v.isLatest) {
            const r = await this.read(v.key);
            return { at: r.uploadedAt, valid: r.check?.state === 'valid' };
          }
          const { s3, policy, conn } = this.ctx;
          const got = await getBuffer(s3, policy, conn.bucket, v.key, v.versionId);
          const valid =
            !!k &&
            checkSignature(JSON.parse(got.body.toString('utf8')), k, this.ctx.manifestPreviousKeys).state ===
              'valid';
          return { at: v.lastModified, valid };
        } catch {
          return undefined; // unreadable manifests are verify's to report
        }
      })();
      this.states.set(ref, p);
    }
    return p;
  }

  /**
   * The first version, in `order`, whose signature verifies, read MANIFEST_READS at a time (a
   * restore of an old backup may look through every manifest written before it).
   */
  private async firstValid(order: VersionEntry[]): Promise<{ at: number } | undefined> {
    for (let i = 0; i < order.length; i += MANIFEST_READS) {
      const states = await mapLimit(order.slice(i, i + MANIFEST_READS), MANIFEST_READS, (v) =>
        this.versionState(v),
      );
      const valid = states.filter((st): st is { at: number; valid: boolean } => !!st?.valid);
      if (valid.length) return { at: Math.min(...valid.map((st) => st.at)) };
    }
    return undefined;
  }

  /** Upload time of the earliest manifest version whose signature verifies; undefined without a key or such a manifest. */
  signingBegan(): Promise<number | undefined> {
    this.began ??= (async () => {
      if (!this.ctx.manifestKey) return undefined;
      const ascending = [...this.versions].sort((a, b) => a.lastModified - b.lastModified);
      const first = await this.firstValid(ascending);
      if (!first) return undefined;
      // A batch may end before versions listed at the same time as the one found: look at those too.
      const tied = await this.firstValid(ascending.filter((v) => v.lastModified <= first.at));
      return Math.min(first.at, tied?.at ?? first.at);
    })();
    return this.began;
  }

  /**
   * Whether some manifest version uploaded at or before `t` has a signature that verifies —
   * searched newest first, so a manifest uploaded after signing began is judged in one batch.
   */
  private async signedBy(t: number): Promise<boolean> {
    if (!this.ctx.manifestKey) return false;
    const descending = this.versions
      .filter((v) => v.lastModified <= t)
      .sort((a, b) => b.lastModified - a.lastModified);
    const found = await this.firstValid(descending);
    return !!found && found.at <= t;
  }

  async verdict(r: ReadManifest): Promise<ManifestVerdict> {
    const signed = r.manifest?.signature !== undefined;
    if (r.check?.state === 'valid') {
      // The signature covers job and startedAt, which name the manifest's key: a signed manifest
      // copied to another key (to pass an old run off as a newer one) is not trusted.
      const home = manifestKey(r.manifest.job, Date.parse(r.manifest.startedAt));
      if (home !== r.key)
        return { trusted: false, signed, reason: `signed as ${home}, stored as ${r.key} (copied?)` };
    }
    if (!r.check || r.check.state === 'valid') return { trusted: true, signed };
    if (r.check.state === 'invalid') return { trusted: false, signed, reason: r.check.reason };
    if (!(await this.signedBy(r.uploadedAt))) return { trusted: true, signed };
    const began = (await this.signingBegan()) ?? r.uploadedAt;
    return {
      trusted: false,
      signed,
      reason: `unsigned, uploaded ${iso(r.uploadedAt)} after signing began ${iso(began)}`,
    };
  }
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

/** Every manifest under `manifests/` (or one job's folder), oldest first; untrusted ones set apart. */
export async function readManifestIndex(ctx: JobContext, job?: string): Promise<ManifestIndex> {
  const reader = await ManifestReader.open(ctx);
  const keys = reader.keys(job);
  const index: ManifestIndex = {
    entries: [],
    runs: [],
    byVersion: new Map(),
    manifests: 0,
    unreadable: [],
    untrusted: [],
    signatures: {
      keyId: ctx.manifestKey?.keyId ?? null,
      previousKeyIds: ctx.manifestKey ? (ctx.manifestPreviousKeys ?? []).map((p) => p.keyId) : [],
      previousKeys: ctx.manifestKey
        ? (ctx.manifestPreviousKeys ?? []).map((p) => ({ keyId: p.keyId, manifests: 0, newestUpload: null }))
        : [],
      verified: 0,
      unsignedTrusted: 0,
      signingBegan: null,
      notChecked: 0,
    },
  };
  // Read in parallel (small objects: latency-bound), folded in key order so results are stable.
  let done = 0;
  const read = await mapLimit(keys, MANIFEST_READS, async (mk) => {
    try {
      return { mk, r: await reader.read(mk) };
    } catch (err) {
      return { mk, error: messageOf(err) };
    } finally {
      ctx.reporter.progress('reading manifests', ++done, keys.length, 'objects');
    }
  });
  const began = await reader.signingBegan();
  if (began !== undefined) index.signatures.signingBegan = iso(began);
  for (const { mk, r, error } of read) {
    if (!r) {
      index.unreadable.push({ key: mk, error: error ?? 'unreadable' });
      continue;
    }
    const v = await reader.verdict(r);
    if (!v.trusted) {
      // Untrusted manifests promise nothing: what only they list shows as replaced/unlisted.
      index.untrusted.push({ key: mk, reason: v.reason ?? 'untrusted' });
      continue;
    }
    if (!r.check) index.signatures.notChecked += v.signed ? 1 : 0;
    else if (r.check.state === 'valid') {
      index.signatures.verified += 1;
      const { keyId } = r.check;
      const prev = index.signatures.previousKeys.find((p) => p.keyId === keyId);
      if (prev) {
        prev.manifests += 1;
        if (!prev.newestUpload || Date.parse(prev.newestUpload) < r.uploadedAt)
          prev.newestUpload = iso(r.uploadedAt);
      }
    } else index.signatures.unsignedTrusted += 1;
    const m = r.manifest;
    index.manifests += 1;
    index.runs.push(runOf(mk, m));
    for (const e of entriesOf(mk, m)) {
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

/** What `findManifestEntryChecked` found: a trusted entry, and the untrusted manifests passed over. */
export interface EntryLookup {
  entry?: ManifestEntry;
  /** Manifests that list the version but are not trusted (their hash is never used). */
  rejected: UntrustedManifest[];
  /** The entry's manifest is signed but no key was configured: its signature was not checked. */
  notChecked: boolean;
  /** The entry's manifest signature verified with the configured key (its id). */
  signedBy?: string;
}

/**
 * The manifest entry recording one exact version, searching the writing job's manifests (all
 * manifests when the prefix belongs to no job), trusted manifests only. A run's manifest key
 * carries its start time, which is before the version's upload: with `uploadedAt` the search
 * starts at the newest run that began by then, so it usually reads one manifest; later runs (which
 * can only list it as skipped) and keys without a stamp are searched after.
 */
export async function findManifestEntryChecked(
  ctx: JobContext,
  key: string,
  versionId: string,
  uploadedAt?: number,
): Promise<EntryLookup> {
  const reader = await ManifestReader.open(ctx);
  const all = reader.keys(jobForKey(key)).reverse();
  // Clock skew between the job's host and B2: allow runs that "started" a little after the upload.
  const SKEW_MS = 15 * 60_000;
  const before = (k: string): boolean => {
    const t = manifestStartedAt(k);
    return uploadedAt === undefined || t === undefined || t <= uploadedAt + SKEW_MS;
  };
  const keys = [...all.filter(before), ...all.filter((k) => !before(k))];
  const out: EntryLookup = { rejected: [], notChecked: false };
  let fallback: { e: ManifestEntry; r: ReadManifest; v: ManifestVerdict } | undefined;
  for (const mk of keys) {
    let r: ReadManifest;
    try {
      r = await reader.read(mk);
    } catch {
      continue; // unreadable manifests are verify's to report
    }
    for (const e of entriesOf(mk, r.manifest)) {
      if (e.key !== key || e.versionId !== versionId || !e.sha256) continue;
      const v = await reader.verdict(r);
      if (!v.trusted) {
        out.rejected.push({ key: mk, reason: v.reason ?? 'untrusted' });
        break;
      }
      if (e.status === 'uploaded') return { ...out, ...trustFacts(r, v), entry: e };
      fallback ??= { e, r, v };
    }
  }
  return fallback ? { ...out, ...trustFacts(fallback.r, fallback.v), entry: fallback.e } : out;
}

function trustFacts(r: ReadManifest, v: ManifestVerdict): Pick<EntryLookup, 'notChecked' | 'signedBy'> {
  return {
    notChecked: !r.check && v.signed,
    signedBy: r.check?.state === 'valid' ? r.manifest.signature?.keyId : undefined,
  };
}

/** The trusted manifest entry recording one exact version (see `findManifestEntryChecked`). */
export async function findManifestEntry(
  ctx: JobContext,
  key: string,
  versionId: string,
  uploadedAt?: number,
): Promise<ManifestEntry | undefined> {
  return (await findManifestEntryChecked(ctx, key, versionId, uploadedAt)).entry;
}
