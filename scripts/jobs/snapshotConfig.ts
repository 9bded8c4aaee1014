/**
 * `snapshot-config`: a cloud provider's configuration export (JSON/YAML file, stdin, or a
 * directory tarred and gzipped) to `configs/<provider>/<YYYY-MM-DD>/<name>`, SSE-B2, with
 * metadata. Content identical to the newest snapshot of the same name is skipped (HEAD before
 * put: B2 refuses `If-None-Match`, docs/b2-api.md §11) unless `--force`.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describeWalk, walkFiles, WalkResult } from '../lib/walk';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tar from 'tar';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../lib/errors';
import { objectMetadata } from '../lib/metadata';
import { headObject, listKeys } from '../lib/objects';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { ymd } from '../lib/timeparse';

export const PROVIDERS = ['aws', 'azure', 'gcp'] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface SnapshotConfigOptions {
  provider: Provider;
  from: string;
  name?: string;
  force: boolean;
  /** Injected stdin for `--from -`. */
  stdin?: NodeJS.ReadableStream;
}

interface Snapshot {
  name: string;
  body: Buffer;
  contentType: string;
  format: 'json' | 'yaml' | 'tar.gz' | 'raw';
  /** For a directory: symlinks followed and entries skipped (never silent). */
  walk?: WalkResult;
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

/** Parses JSON, else YAML; the snapshot must be one of them (a config export, not random bytes). */
function detectFormat(body: Buffer, what: string, ext: string): 'json' | 'yaml' {
  const text = body.toString('utf8');
  if (ext !== '.yaml' && ext !== '.yml') {
    try {
      JSON.parse(text);
      return 'json';
    } catch (e) {
      if (ext === '.json') throw new UsageError(`${what}: invalid JSON (${(e as Error).message})`);
    }
  }
  try {
    const v: unknown = parseYaml(text);
    if (v === null || typeof v !== 'object') throw new Error('not a mapping or list');
    return 'yaml';
  } catch (e) {
    throw new UsageError(`${what}: neither JSON nor YAML (${(e as Error).message})`);
  }
}

/**
 * Deterministic tar.gz (sorted entries, fixed mtime) so identical trees give identical bytes.
 * Symlinks are followed (the archive holds the target's content); walk.ts lists what was skipped.
 */
async function tarDir(dir: string): Promise<{ body: Buffer; walk: WalkResult }> {
  const walk = walkFiles(dir);
  if (walk.files.length === 0)
    throw new UsageError(
      `--from ${dir}: directory has no files${walk.skipped.length ? ` (skipped: ${describeWalk(walk).join('; ')})` : ''}`,
    );
  const stream = tar.c(
    { cwd: dir, gzip: true, portable: true, mtime: new Date(0), noDirRecurse: true, follow: true },
    walk.files,
  );
  return { body: await readAll(stream as unknown as NodeJS.ReadableStream), walk };
}

export async function loadSnapshot(opts: SnapshotConfigOptions): Promise<Snapshot> {
  if (opts.from === '-') {
    const body = await readAll(opts.stdin ?? process.stdin);
    if (body.length === 0) throw new UsageError('--from -: stdin was empty');
    const format = detectFormat(body, '--from -', '');
    const name = opts.name ?? `config.${format}`;
    return { name, body, format, contentType: format === 'json' ? 'application/json' : 'application/yaml' };
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(opts.from);
  } catch {
    throw new UsageError(`--from ${opts.from}: no such file or directory`);
  }
  if (st.isDirectory()) {
    const { body, walk } = await tarDir(opts.from);
    return {
      name: opts.name ?? `${path.basename(path.resolve(opts.from))}.tar.gz`,
      body,
      walk,
      format: 'tar.gz',
      contentType: 'application/gzip',
    };
  }
  const body = fs.readFileSync(opts.from);
  const ext = path.extname(opts.from).toLowerCase();
  const format = detectFormat(body, `--from ${opts.from}`, ext);
  return {
    name: opts.name ?? path.basename(opts.from),
    body,
    format,
    contentType: format === 'json' ? 'application/json' : 'application/yaml',
  };
}

/** The newest existing snapshot with the same file name, for the "same content" check. */
async function previousSnapshot(
  ctx: JobContext,
  provider: string,
  name: string,
): Promise<{ key: string; sha256?: string } | undefined> {
  const keys = await listKeys(ctx.s3, ctx.conn.bucket, `configs/${provider}/`);
  const same = keys
    .filter((k) => path.posix.basename(k.key) === name)
    .sort((a, b) => b.lastModified - a.lastModified || b.key.localeCompare(a.key));
  if (!same[0]) return undefined;
  const head = await headObject(ctx.s3, ctx.conn.bucket, same[0].key);
  return head ? { key: same[0].key, sha256: head.Metadata?.sha256 } : undefined;
}

const walkSummary = (snap: Snapshot): Record<string, unknown> =>
  snap.walk
    ? {
        files: snap.walk.files.length,
        symlinksFollowed: snap.walk.followed,
        skippedEntries: snap.walk.skipped,
      }
    : {};
const walkLines = (snap: Snapshot): string[] => (snap.walk ? describeWalk(snap.walk) : []);

async function run(ctx: JobContext, opts: SnapshotConfigOptions): Promise<JobOutcome> {
  const snap = await loadSnapshot(opts);
  const sha256 = createHash('sha256').update(snap.body).digest('hex');
  const key = `configs/${opts.provider}/${ymd(ctx.startedAt)}/${snap.name}`;
  ctx.manifest.provider = opts.provider;
  ctx.manifest.details = {
    format: snap.format,
    source: opts.from === '-' ? 'stdin' : path.resolve(opts.from),
  };

  const prev = opts.force ? undefined : await previousSnapshot(ctx, opts.provider, snap.name);
  if (prev && prev.sha256 === sha256) {
    ctx.manifest.objects.push({
      key,
      size: snap.body.length,
      sha256,
      status: 'skipped',
      note: `same content as ${prev.key}`,
    });
    return {
      summary: { key, skipped: true, sameAs: prev.key, sha256, size: snap.body.length, ...walkSummary(snap) },
      human: [`unchanged since ${prev.key} — skipped (use --force to upload anyway)`, ...walkLines(snap)],
      bytes: 0,
      objects: 0,
    };
  }
  if (ctx.dryRun) {
    ctx.manifest.objects.push({ key, size: snap.body.length, sha256, status: 'planned' });
    return {
      summary: { key, wouldUpload: true, sha256, size: snap.body.length, ...walkSummary(snap) },
      human: [`would upload ${key} (${snap.body.length} bytes)`, ...walkLines(snap)],
      bytes: 0,
      objects: 0,
    };
  }
  const md5 = createHash('md5').update(snap.body).digest('base64');
  const out = await ctx.policy.run(() =>
    ctx.s3.send(
      new PutObjectCommand({
        Bucket: ctx.conn.bucket,
        Key: key,
        Body: snap.body,
        ContentType: snap.contentType,
        ContentMD5: md5,
        ServerSideEncryption: 'AES256',
        Metadata: objectMetadata({
          type: 'config-snapshot',
          provider: opts.provider,
          env: ctx.conn.env,
          sha256,
          extra: { format: snap.format },
        }),
      }),
    ),
  );
  ctx.manifest.objects.push({
    key,
    size: snap.body.length,
    sha256,
    versionId: out.VersionId,
    status: 'uploaded',
  });
  return {
    summary: {
      key,
      versionId: out.VersionId,
      sha256,
      size: snap.body.length,
      skipped: false,
      ...walkSummary(snap),
    },
    human: [
      `uploaded ${key} (${snap.body.length} bytes, sha256 ${sha256.slice(0, 12)}…)`,
      ...walkLines(snap),
    ],
    bytes: snap.body.length,
    objects: 1,
  };
}

export const snapshotConfigJob: JobDefinition<SnapshotConfigOptions> = {
  name: 'snapshot-config',
  purpose: 'backup-writer',
  writesManifest: true,
  validate: (o) => {
    if (!PROVIDERS.includes(o.provider))
      throw new UsageError(`--provider must be one of ${PROVIDERS.join(', ')} (got "${o.provider}")`);
    if (!o.from) throw new UsageError('--from <file|dir|-> is required');
  },
  run,
};
