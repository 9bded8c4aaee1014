/**
 * `audit-logs`: incremental, gzip-compressed upload of an append-only log directory to
 * `audit-logs/<name>/YYYY/MM/DD/<path>[~<generation>]@<start>-<end>.gz` (`segmentKey`). `<name>`
 * (`--name`, default the directory's name) names the source, so two sources never write one key.
 * Keys written before the name was part of them (`audit-logs/YYYY/MM/DD/…`) stay listable,
 * verifiable and restorable; `parseSegmentKey` reads both layouts.
 *
 * Incremental: the state remembers, per file, how many bytes are safely stored and a hash of the
 * file's first KiB. A grown file uploads only its new bytes; a file whose head changed (rotated
 * or rewritten) starts again from 0 under a new generation.
 *
 * Idempotent after a crash (write-ahead intent): before uploading, the run writes the state with
 * the planned segments as `pending`; only after every upload does it write the state with the new
 * positions. A run that finds `pending` HEADs each planned key: present with the same source hash
 * → adopt, absent → upload exactly that byte range again. So a crash anywhere between "state
 * with pending" and "state committed" neither loses nor duplicates a segment, and keys are
 * deterministic, so a retry overwrites nothing new.
 *
 * State lives in the bucket (`state/audit-logs/<name>.json`) or in `--state-file`. It is bound to
 * its source: the first run records host (`BACKUP_HOSTNAME`, else the machine's hostname),
 * absolute directory and name (`source`); a run from another source is refused before anything
 * is uploaded or written (`checkSource`) — two hosts sharing one state would each continue from
 * the other's offsets and skip their own first bytes. `--adopt-state` moves a source on purpose.
 * A state without `source` (written before it was recorded) is adopted and then recorded.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describeWalk, walkFiles, WalkResult } from '../lib/walk';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { createGzip, gzipSync } from 'zlib';
import { UsageError } from '../lib/errors';
import { objectMetadataFor } from './common';
import { headObject, isNotFound, listVersions, newestFirst } from '../lib/objects';
import { choosePartSize } from '../lib/partSize';
import { mapLimit } from '../lib/pool';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { ymd } from '../lib/timeparse';
import { GZIP_CHUNK, uploadStream } from '../lib/uploader';

export interface AuditLogsOptions {
  dir: string;
  name?: string;
  stateFile?: string;
  concurrency: number;
  /** Take over a state recorded for another host, directory or name (the source really moved). */
  adoptState?: boolean;
}

/** Which source a state belongs to. */
export interface SourceIdentity {
  host: string;
  /** Absolute path of the log directory. */
  dir: string;
  name: string;
}

interface FileState {
  size: number;
  headSha256: string;
  generation: number;
}

interface Segment {
  rel: string;
  start: number;
  end: number;
  generation: number;
  key: string;
  /** SHA-256 of the uncompressed bytes [start, end). */
  sourceSha256: string;
  /** The file's state once this segment is stored (lets the next plan continue after it). */
  after: FileState;
}

export interface AuditState {
  version: 1;
  /** The source this state belongs to; absent in states written before it was recorded. */
  source?: SourceIdentity;
  files: Record<string, FileState>;
  pending: Segment[];
}

const HEAD_BYTES = 1024;

function emptyState(): AuditState {
  return { version: 1, files: {}, pending: [] };
}

function hashRange(file: string, start: number, end: number): Promise<string> {
  const h = createHash('sha256');
  if (end <= start) return Promise.resolve(h.digest('hex'));
  return new Promise((resolve, reject) => {
    fs.createReadStream(file, { start, end: end - 1 })
      .on('data', (d) => h.update(d as Buffer))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Source names: one key segment (`audit-logs/<name>/…`, `state/audit-logs/<name>.json`). A name of
 * four digits is refused: it would read as the year of an old-layout key (`audit-logs/YYYY/…`).
 */
export const SOURCE_NAME = /^[A-Za-z0-9._-]+$/;

/** Why `name` cannot name a source, or undefined when it can. */
export function sourceNameProblem(name: string): string | undefined {
  if (!SOURCE_NAME.test(name)) return "use letters, digits, '.', '_' and '-' only (it is one path segment)";
  if (/^\.+$/.test(name)) return "'.' and '..' are not names";
  if (/^\d{4}$/.test(name)) return 'four digits read as a year in the old key layout (audit-logs/YYYY/…)';
  if (name.length > 100) return 'at most 100 characters';
  return undefined;
}

/**
 * A segment's key: `audit-logs/<name>/YYYY/MM/DD/<rel>[~<generation>]@<start>-<end>.gz`. The name
 * comes first so two sources never write one key (before, keys were `audit-logs/YYYY/MM/DD/…`
 * without it, and two hosts' `audit.log` of one size on one day were the same object).
 */
export function segmentKey(
  name: string,
  day: string,
  rel: string,
  generation: number,
  start: number,
  end: number,
): string {
  // `~<generation>` also when the path itself ends in `~<digits>`: else `a.log` generation 1 and a
  // file named `a.log~1` would share a key.
  const gen = generation > 0 || /~\d+$/.test(rel) ? `~${generation}` : '';
  return `audit-logs/${name}/${day}/${rel}${gen}@${start}-${end}.gz`;
}

export interface ParsedSegmentKey {
  /** The source name; undefined for the old layout, whose keys do not name their source. */
  name?: string;
  day: string;
  rel: string;
  generation: number;
  start: number;
  end: number;
}

/** Reads a segment key of either layout (`audit-logs/<name>/YYYY/MM/DD/…` or `audit-logs/YYYY/MM/DD/…`). */
export function parseSegmentKey(key: string): ParsedSegmentKey | undefined {
  const m = /^audit-logs\/(?:([^/]+)\/)?(\d{4}\/\d{2}\/\d{2})\/(.+?)(?:~(\d+))?@(\d+)-(\d+)\.gz$/s.exec(key);
  if (!m) return undefined;
  // An old-layout key's first segment is a year; a name never is (sourceNameProblem).
  if (m[1] !== undefined && /^\d{4}$/.test(m[1])) return undefined;
  return {
    name: m[1],
    day: m[2],
    rel: m[3],
    generation: m[4] ? Number(m[4]) : 0,
    start: Number(m[5]),
    end: Number(m[6]),
  };
}

/** This machine's name for the state's identity: `BACKUP_HOSTNAME` (e.g. a Kubernetes node name), else os.hostname(). */
export function hostIdentity(env: NodeJS.ProcessEnv): string {
  return env.BACKUP_HOSTNAME?.trim() || os.hostname();
}

/** A name to suggest for a source refused because its state belongs to another. */
function suggestName(now: SourceIdentity, byHost: boolean): string {
  const clean = (x: string): string => x.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '');
  const qualifier = byHost ? clean(now.host.split('.')[0]) : clean(path.basename(path.dirname(now.dir)));
  const candidate = `${qualifier || 'other'}-${now.name}`.slice(0, 100);
  return sourceNameProblem(candidate) ? `${now.name}-2` : candidate;
}

export type SourceCheck =
  | { kind: 'same' }
  | { kind: 'recorded' } // a state with no source (older release), or none at all: recorded now
  | { kind: 'adopted'; from: SourceIdentity };

/**
 * Refuses (exit 2) a state that belongs to another source, before anything is uploaded or
 * written, unless `adopt`.
 */
export function checkSource(
  recorded: SourceIdentity | undefined,
  now: SourceIdentity,
  stateName: string,
  adopt: boolean | undefined,
): SourceCheck {
  if (!recorded) return { kind: 'recorded' };
  if (recorded.host === now.host && recorded.dir === now.dir && recorded.name === now.name)
    return { kind: 'same' };
  if (adopt) return { kind: 'adopted', from: recorded };
  if (recorded.host === now.host && recorded.dir === now.dir)
    throw new UsageError(
      `${stateName} belongs to source "${recorded.name}" (${recorded.host}:${recorded.dir}); this run is named "${now.name}" — ` +
        `pass --name ${recorded.name} as before, or --adopt-state to continue this state under the new name`,
    );
  throw new UsageError(
    `${stateName} belongs to ${recorded.host}:${recorded.dir}; this is ${now.host}:${now.dir} — ` +
      `give this source its own --name (e.g. --name ${suggestName(now, recorded.host !== now.host)}), or pass --adopt-state if the directory really moved`,
  );
}

/** State storage: a local file or an object in the bucket. */
interface StateStore {
  load(): Promise<AuditState>;
  save(s: AuditState): Promise<void>;
  describe: string;
  /** Versions of the state written by someone else since `load` (bucket states; none for files). */
  othersSinceLoad(): Promise<string[]>;
}

function localStore(file: string): StateStore {
  return {
    describe: file,
    async load() {
      if (!fs.existsSync(file)) return emptyState();
      return JSON.parse(fs.readFileSync(file, 'utf8')) as AuditState;
    },
    async save(s) {
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(s, null, 2));
      fs.renameSync(tmp, file); // atomic: a crash leaves the old or the new state, never half
    },
    othersSinceLoad: async () => [],
  };
}

function bucketStore(ctx: JobContext, key: string): StateStore {
  let loaded: string | undefined;
  const saved = new Set<string>();
  return {
    describe: key,
    async load() {
      try {
        const res = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.conn.bucket, Key: key }));
        loaded = res.VersionId;
        return JSON.parse(await res.Body!.transformToString()) as AuditState;
      } catch (err) {
        if (isNotFound(err)) return emptyState();
        throw err;
      }
    },
    async save(s) {
      const body = Buffer.from(JSON.stringify(s));
      const out = await ctx.policy.run(() =>
        ctx.s3.send(
          new PutObjectCommand({
            Bucket: ctx.conn.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/json',
            ContentMD5: createHash('md5').update(body).digest('base64'),
            ServerSideEncryption: 'AES256',
            Metadata: objectMetadataFor(ctx, 'state', createHash('sha256').update(body).digest('hex')),
          }),
        ),
      );
      if (out.VersionId) saved.add(out.VersionId);
    },
    async othersSinceLoad() {
      const versions = newestFirst(
        (await ctx.policy.run(() => listVersions(ctx.s3, ctx.conn.bucket, key))).filter((v) => v.key === key),
      );
      const others: string[] = [];
      for (const v of versions) {
        if (v.versionId === loaded) break;
        if (!saved.has(v.versionId)) others.push(v.versionId);
      }
      return others;
    },
  };
}

/** Compares the directory with the state and returns the segments to upload. */
async function plan(
  dir: string,
  state: AuditState,
  name: string,
  day: string,
): Promise<{ segments: Segment[]; files: Record<string, FileState>; walk: WalkResult }> {
  // Segments left pending by a crashed run will be finished in this run: plan after them, so a
  // file that grew since is not uploaded twice from the same offset.
  const base: Record<string, FileState> = { ...state.files };
  for (const p of state.pending) base[p.rel] = p.after;
  const files: Record<string, FileState> = { ...base };
  const segments: Segment[] = [];
  const walk = walkFiles(dir); // symlinks followed; loops, broken links, FIFOs reported, not read
  for (const rel of walk.files) {
    const abs = path.join(dir, rel);
    const size = fs.statSync(abs).size;
    if (size === 0) continue;
    const prev = base[rel];
    let start = 0;
    let generation = prev?.generation ?? 0;
    if (prev) {
      const headNow = await hashRange(abs, 0, Math.min(HEAD_BYTES, prev.size));
      const sameFile = size >= prev.size && headNow === prev.headSha256;
      if (sameFile && size === prev.size) continue; // unchanged
      if (sameFile) start = prev.size;
      else generation += 1; // rotated or rewritten: start over
    }
    const sourceSha256 = await hashRange(abs, start, size);
    const after = { size, headSha256: await hashRange(abs, 0, Math.min(HEAD_BYTES, size)), generation };
    segments.push({
      rel,
      start,
      end: size,
      generation,
      key: segmentKey(name, day, rel, generation, start, size),
      sourceSha256,
      after,
    });
    files[rel] = after;
  }
  return { segments, files, walk };
}

/** Segments up to this size are read, gzipped and sent from memory in one PutObject. */
const SMALL_SEGMENT = 8 * 1024 * 1024;

/**
 * Uploads one segment. `mayExist` (segments left pending by an interrupted run) first HEADs the
 * key and adopts an object with the same source hash instead of uploading it again.
 */
async function uploadSegment(
  ctx: JobContext,
  dir: string,
  seg: Segment,
  mayExist: boolean,
): Promise<{ size: number; sha256: string; versionId?: string; adopted: boolean }> {
  if (mayExist) {
    const head = await headObject(ctx.s3, ctx.conn.bucket, seg.key);
    if (head && head.Metadata?.['source-sha256'] === seg.sourceSha256) {
      return {
        size: head.ContentLength ?? 0,
        sha256: head.Metadata?.sha256 ?? '',
        versionId: head.VersionId,
        adopted: true,
      };
    }
  }
  const abs = path.join(dir, seg.rel);
  const changed = (): Error =>
    new Error(
      `${seg.rel} bytes ${seg.start}-${seg.end} changed before they were uploaded (file rotated or rewritten)`,
    );
  if (!fs.existsSync(abs) || fs.statSync(abs).size < seg.end) throw changed();
  const metadata = objectMetadataFor(ctx, 'audit-log', undefined, {
    'source-sha256': seg.sourceSha256,
    'source-path': seg.rel,
    'source-range': `${seg.start}-${seg.end}`,
  });

  if (seg.end - seg.start <= SMALL_SEGMENT) {
    const raw = Buffer.alloc(seg.end - seg.start);
    const fd = fs.openSync(abs, 'r');
    try {
      fs.readSync(fd, raw, 0, raw.length, seg.start);
    } finally {
      fs.closeSync(fd);
    }
    // The bytes must still be the ones planned (a pending segment of a rotated file is gone).
    if (createHash('sha256').update(raw).digest('hex') !== seg.sourceSha256) throw changed();
    const body = gzipSync(raw, { level: 6 });
    const sha256 = createHash('sha256').update(body).digest('hex');
    const out = await ctx.policy.run(() =>
      ctx.s3.send(
        new PutObjectCommand({
          Bucket: ctx.conn.bucket,
          Key: seg.key,
          Body: body,
          ContentType: 'application/gzip',
          ContentMD5: createHash('md5').update(body).digest('base64'),
          ServerSideEncryption: 'AES256',
          Metadata: { ...metadata, sha256 },
        }),
      ),
    );
    return { size: body.length, sha256, versionId: out.VersionId, adopted: false };
  }

  if ((await hashRange(abs, seg.start, seg.end)) !== seg.sourceSha256) throw changed();
  const gzip = createGzip({ level: 6, chunkSize: GZIP_CHUNK });
  const src = fs.createReadStream(abs, { start: seg.start, end: seg.end - 1 });
  const feeding = pipeline(src, gzip).catch((err: unknown) => gzip.destroy(err as Error));
  const res = await uploadStream({
    s3: ctx.s3,
    bucket: ctx.conn.bucket,
    key: seg.key,
    body: gzip,
    contentType: 'application/gzip',
    metadata,
    partSize: choosePartSize(seg.end - seg.start),
    policy: ctx.policy,
    signal: ctx.signal,
  });
  await feeding;
  return { size: res.size, sha256: res.sha256, versionId: res.versionId, adopted: false };
}

async function run(ctx: JobContext, opts: AuditLogsOptions): Promise<JobOutcome> {
  const dir = path.resolve(opts.dir);
  const name = opts.name ?? path.basename(dir);
  const store = opts.stateFile
    ? localStore(opts.stateFile)
    : bucketStore(ctx, `state/audit-logs/${name}.json`);
  const state = await store.load();
  const source: SourceIdentity = { host: hostIdentity(ctx.env), dir, name };
  // Before anything is planned, uploaded or written: a state is one source's alone.
  const sourceCheck = checkSource(state.source, source, store.describe, opts.adoptState);
  const sourceNote =
    sourceCheck.kind === 'adopted'
      ? [`adopted ${store.describe} from ${sourceCheck.from.host}:${sourceCheck.from.dir} (--adopt-state)`]
      : sourceCheck.kind === 'recorded' && (Object.keys(state.files).length > 0 || state.pending.length > 0)
        ? [`${store.describe} recorded no source: it is now bound to ${source.host}:${source.dir}`]
        : [];
  if (!ctx.dryRun && sourceCheck.kind !== 'same') {
    // Claim the state for this source before the first byte leaves, then check that no other run
    // wrote it meanwhile: two hosts starting at the same minute on one unbound (or legacy) state
    // would otherwise both go on from the same offsets. A run that sees another's claim refuses;
    // the next run of the source whose claim is current goes on, the other is refused by name.
    await store.save({ ...state, source });
    const others = await store.othersSinceLoad();
    if (others.length > 0)
      throw new UsageError(
        `${store.describe} was claimed by another run at the same time (version ${others[0]}); nothing was uploaded — ` +
          `if two sources share the name "${name}", give each its own --name (e.g. --name ${suggestName(source, true)}); otherwise run again`,
      );
  }
  const day = ymd(ctx.startedAt, '/');
  const { segments, files, walk } = await plan(dir, state, name, day);
  const walkOut = { symlinksFollowed: walk.followed, skippedEntries: walk.skipped };
  const recovered = state.pending.filter((p) => !segments.some((s) => s.key === p.key));
  ctx.manifest.details = {
    name,
    state: store.describe,
    source: `${source.host}:${source.dir}`,
    ...(sourceCheck.kind === 'adopted'
      ? { adoptedFrom: `${sourceCheck.from.host}:${sourceCheck.from.dir}` }
      : {}),
    recoveredPending: recovered.length,
  };

  if (ctx.dryRun) {
    for (const s of [...recovered, ...segments])
      ctx.manifest.objects.push({ key: s.key, size: s.end - s.start, sha256: '', status: 'planned' });
    return {
      summary: {
        name,
        planned: segments.length,
        pendingFromCrash: recovered.length,
        segments: [...recovered, ...segments].map((s) => s.key),
        source,
        ...walkOut,
      },
      human: [
        ...sourceNote,
        `would upload ${segments.length} segment(s)${recovered.length ? ` and finish ${recovered.length} left pending by an interrupted run` : ''}`,
        ...describeWalk(walk),
      ],
      bytes: 0,
      objects: 0,
    };
  }
  const all = [...recovered, ...segments];
  const recoveredKeys = new Set(recovered.map((r) => r.key));
  // Write-ahead: record the intent before the first byte leaves.
  await store.save({ ...state, source, pending: all });
  let bytes = 0;
  let adopted = 0;
  let done = 0;
  await mapLimit(all, opts.concurrency, async (seg) => {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    const r = await uploadSegment(ctx, dir, seg, recoveredKeys.has(seg.key));
    ctx.manifest.objects.push({
      key: seg.key,
      size: r.size,
      sha256: r.sha256,
      versionId: r.versionId,
      status: r.adopted ? 'skipped' : 'uploaded',
      note: r.adopted ? 'already uploaded by an interrupted run' : undefined,
    });
    if (r.adopted) adopted += 1;
    else bytes += r.size;
    done += 1;
    ctx.reporter.progress('audit-logs', done, all.length, 'objects');
  });
  await store.save({ version: 1, source, files, pending: [] });
  return {
    summary: {
      name,
      uploaded: all.length - adopted,
      adoptedAfterCrash: adopted,
      unchangedFiles: Object.keys(files).length - segments.length,
      bytes,
      source,
      ...(sourceCheck.kind === 'adopted' ? { adoptedStateFrom: sourceCheck.from } : {}),
      ...walkOut,
    },
    human: [
      ...sourceNote,
      `${all.length - adopted} segment(s) uploaded, ${adopted} adopted from an interrupted run, ${bytes} bytes`,
      ...describeWalk(walk),
    ],
    bytes,
    objects: all.length,
  };
}

export const auditLogsJob: JobDefinition<AuditLogsOptions> = {
  name: 'audit-logs',
  purpose: 'backup-writer',
  writesManifest: true,
  validate: (o) => {
    if (!o.dir) throw new UsageError('--dir <dir> is required');
    if (!fs.existsSync(o.dir) || !fs.statSync(o.dir).isDirectory())
      throw new UsageError(`--dir ${o.dir}: not a directory`);
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 64)
      throw new UsageError('--concurrency must be 1..64');
    if (o.name !== undefined) {
      const problem = sourceNameProblem(o.name);
      if (problem) throw new UsageError(`--name "${o.name}": ${problem}`);
    } else {
      const base = path.basename(path.resolve(o.dir));
      const problem = sourceNameProblem(base);
      if (problem)
        throw new UsageError(
          `--dir ${o.dir}: its name "${base}" is the default source name and cannot be one (${problem}); pass --name <name>`,
        );
    }
  },
  run,
};
