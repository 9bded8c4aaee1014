/**
 * `tf-state`: Terraform state files (a file, or every state under a workspace directory) and
 * Pulumi stack exports, encrypted client-side with AES-256-GCM before upload to
 * `terraform-state/<name>/<file>.enc`. The key never leaves the machine; its id goes into
 * metadata (`x-amz-meta-key-id`). The object name is stable per workspace so B2 keeps the history
 * as versions (the lifecycle rule deletes superseded ones after 90 days, docs/architecture.md §1).
 * Unchanged state (same HMAC of the plaintext under the key) is not uploaded again.
 *
 * Names: `<name>` defaults to `<directory name>-<8 hex>`, the hex a hash of the workspace path
 * relative to the enclosing git repository's root (the absolute path outside a repository), so
 * two workspaces that share a directory name never write the same object. The same hash goes into
 * metadata (`workspace-id`): a second workspace given the same `--name` is refused. A backup whose
 * encryption key id differs from the previous version's is refused unless `--rotate-key`.
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, createHmac } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { encrypt, EncryptionKey, loadKey } from '../lib/crypto';
import { UsageError } from '../lib/errors';
import { objectMetadata } from '../lib/metadata';
import { headObject } from '../lib/objects';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';

export interface TfStateOptions {
  file?: string;
  workspace?: string;
  name?: string;
  keyFile?: string;
  keyEnv?: string;
  /** Accept an encryption key id that differs from the previous version's. */
  rotateKey?: boolean;
}

/** The enclosing git repository's root (a `.git` directory or file), if any. */
function gitRoot(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/** Name characters kept as typed; anything else becomes `_`. */
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_') || 'root';

/**
 * The workspace's stable identity: a hash of its path relative to the repository root (so a
 * clone elsewhere gets the same id), and the default name `<dir name>-<first 8 hex>`.
 */
export function workspaceIdentity(dir: string): { id: string; defaultName: string; relative: string } {
  const abs = path.resolve(dir);
  const root = gitRoot(abs);
  const relative = root ? path.relative(root, abs).split(path.sep).join('/') || '.' : abs;
  const id = createHash('sha256')
    .update(root ? `repo:${relative}` : `abs:${relative}`)
    .digest('hex')
    .slice(0, 16);
  const base = relative === '.' && root ? path.basename(root) : path.basename(abs);
  return { id, defaultName: `${safeName(base)}-${id.slice(0, 8)}`, relative };
}

interface StateFile {
  abs: string;
  rel: string; // path under the workspace, used in the object key
  kind: 'terraform' | 'pulumi';
}

function kindOf(abs: string): 'terraform' | 'pulumi' {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(fs.readFileSync(abs, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${abs}: not a JSON state file (${(e as Error).message})`);
  }
  if (doc && typeof doc === 'object' && 'deployment' in doc) return 'pulumi';
  if (
    doc &&
    typeof doc === 'object' &&
    ('terraform_version' in doc || 'resources' in doc || 'modules' in doc)
  )
    return 'terraform';
  throw new UsageError(
    `${abs}: neither Terraform state (terraform_version/resources) nor a Pulumi export (deployment)`,
  );
}

/** Finds `terraform.tfstate`, `terraform.tfstate.d/<ws>/terraform.tfstate` and `*.pulumi.json`. */
export function findStateFiles(opts: TfStateOptions): StateFile[] {
  if (opts.file) {
    if (!fs.existsSync(opts.file)) throw new UsageError(`--file ${opts.file}: no such file`);
    const abs = path.resolve(opts.file);
    return [{ abs, rel: path.basename(abs), kind: kindOf(abs) }];
  }
  const dir = path.resolve(opts.workspace!);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new UsageError(`--workspace ${opts.workspace}: not a directory`);
  const found: StateFile[] = [];
  const add = (rel: string): void => {
    const abs = path.join(dir, rel);
    if (fs.existsSync(abs) && fs.statSync(abs).isFile() && fs.statSync(abs).size > 0)
      found.push({ abs, rel, kind: kindOf(abs) });
  };
  add('terraform.tfstate');
  const wsDir = path.join(dir, 'terraform.tfstate.d');
  if (fs.existsSync(wsDir)) {
    for (const ws of fs.readdirSync(wsDir).sort())
      add(path.posix.join('terraform.tfstate.d', ws, 'terraform.tfstate'));
  }
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.pulumi.json')) add(f);
  if (found.length === 0)
    throw new UsageError(
      `--workspace ${opts.workspace}: no terraform.tfstate, terraform.tfstate.d/*/terraform.tfstate or *.pulumi.json found`,
    );
  return found;
}

function contentMac(plain: Buffer, k: EncryptionKey): string {
  // Keyed, so the metadata cannot confirm a guess of the plaintext to someone without the key.
  return createHmac('sha256', Buffer.from(k.key.reveal(), 'base64')).update(plain).digest('hex');
}

/**
 * The target this workspace was backed up under by releases before the name change (the bare
 * directory name), when objects are still there: this run's manifest names it in `supersedes`, so
 * `verify --max-age` reports that idle target as replaced rather than stale (scripts/lib/freshness.ts).
 * Only with the default name: an explicit `--name` chose its target.
 */
async function legacyTarget(
  ctx: JobContext,
  opts: TfStateOptions,
  name: string,
): Promise<string | undefined> {
  if (opts.name !== undefined) return undefined;
  const legacyName = path.basename(path.resolve(opts.workspace ?? path.dirname(path.resolve(opts.file!))));
  if (legacyName === name || !/^[A-Za-z0-9._-]+$/.test(legacyName)) return undefined;
  const prefix = `terraform-state/${legacyName}/`;
  try {
    const found = await ctx.policy.run(
      () => ctx.s3.send(new ListObjectsV2Command({ Bucket: ctx.conn.bucket, Prefix: prefix, MaxKeys: 1 })),
      { operation: `ListObjectsV2 ${prefix}` },
    );
    return found.KeyCount ? prefix : undefined;
  } catch {
    // A key scoped to this workspace's own prefix may not list the old one. The note is only a
    // hint for freshness: without it verify names the idle old target and suggests --retired.
    return undefined;
  }
}

async function run(ctx: JobContext, opts: TfStateOptions): Promise<JobOutcome> {
  const key = loadKey(opts, ctx.env);
  const files = findStateFiles(opts);
  const ws = workspaceIdentity(opts.workspace ?? path.dirname(path.resolve(opts.file!)));
  const name = opts.name ?? ws.defaultName;
  ctx.manifest.details = {
    name,
    workspaceId: ws.id,
    workspace: ws.relative,
    keyId: key.keyId,
    files: files.map((f) => f.rel),
  };
  const legacy = await legacyTarget(ctx, opts, name);
  if (legacy) ctx.manifest.details.supersedes = [legacy];
  // Every check before the first upload: a refusal leaves nothing half-written.
  const planned = [];
  for (const f of files) {
    const objectKey = `terraform-state/${name}/${f.rel}.enc`;
    const head = await headObject(ctx.s3, ctx.conn.bucket, objectKey);
    const prevWorkspace = head?.Metadata?.['workspace-id'];
    if (prevWorkspace && prevWorkspace !== ws.id)
      throw new UsageError(
        `${objectKey} was written from another workspace (workspace id ${prevWorkspace}, this one is ${ws.id} for ${ws.relative}); ` +
          'two workspaces must not share a name: choose another --name (or drop --name for the default, unique per workspace)',
      );
    const prevKey = head?.Metadata?.['key-id'];
    if (prevKey && prevKey !== key.keyId && !opts.rotateKey)
      throw new UsageError(
        `${objectKey}: the encryption key id ${key.keyId} differs from the previous version's ${prevKey}; ` +
          'if this is a deliberate key rotation pass --rotate-key (keep the old key: older versions need it to decrypt), else use the old key',
      );
    planned.push({ f, objectKey, head });
  }
  const human: string[] = [];
  let bytes = 0;
  let uploaded = 0;
  for (const { f, objectKey, head } of planned) {
    const plain = fs.readFileSync(f.abs);
    const mac = contentMac(plain, key);
    if (head?.Metadata?.['content-hmac'] === mac && head.Metadata?.['key-id'] === key.keyId) {
      ctx.manifest.objects.push({
        key: objectKey,
        size: head.ContentLength ?? 0,
        sha256: head.Metadata?.sha256 ?? '',
        versionId: head.VersionId,
        status: 'skipped',
        note: 'state unchanged',
      });
      human.push(`unchanged ${objectKey}`);
      continue;
    }
    const sealed = encrypt(plain, key);
    const sha256 = createHash('sha256').update(sealed).digest('hex');
    if (ctx.dryRun) {
      ctx.manifest.objects.push({ key: objectKey, size: sealed.length, sha256, status: 'planned' });
      human.push(`would upload ${objectKey} (${sealed.length} bytes encrypted, key id ${key.keyId})`);
      continue;
    }
    const md5 = createHash('md5').update(sealed).digest('base64');
    const out = await ctx.policy.run(() =>
      ctx.s3.send(
        new PutObjectCommand({
          Bucket: ctx.conn.bucket,
          Key: objectKey,
          Body: sealed,
          ContentType: 'application/octet-stream',
          ContentMD5: md5,
          ServerSideEncryption: 'AES256',
          Metadata: objectMetadata({
            type: 'terraform-state',
            provider: ctx.manifest.provider,
            env: ctx.conn.env,
            sha256,
            extra: {
              encryption: 'AES-256-GCM',
              'key-id': key.keyId,
              'content-hmac': mac,
              'state-kind': f.kind,
              'workspace-id': ws.id,
            },
          }),
        }),
      ),
    );
    ctx.manifest.objects.push({
      key: objectKey,
      size: sealed.length,
      sha256,
      versionId: out.VersionId,
      status: 'uploaded',
      keyId: key.keyId,
    });
    human.push(`uploaded ${objectKey} (${f.kind}, ${sealed.length} bytes, key id ${key.keyId})`);
    bytes += sealed.length;
    uploaded += 1;
  }
  return {
    summary: {
      name,
      workspaceId: ws.id,
      workspace: ws.relative,
      keyId: key.keyId,
      objects: ctx.manifest.objects,
    },
    human,
    bytes,
    objects: uploaded,
  };
}

export const tfStateJob: JobDefinition<TfStateOptions> = {
  name: 'tf-state',
  purpose: 'backup-writer',
  writesManifest: true,
  validate: (o, deps) => {
    if (!!o.file === !!o.workspace)
      throw new UsageError('give exactly one of --file <state> or --workspace <dir>');
    loadKey(o, deps.env); // fail on a missing/bad key before touching the network
    if (o.name !== undefined && !/^[A-Za-z0-9._-]+$/.test(o.name))
      throw new UsageError(
        `--name "${o.name}": use letters, digits, '.', '_' and '-' only (it is one path segment)`,
      );
  },
  run,
};
