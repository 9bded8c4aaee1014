/**
 * Reads a Pulumi stack's outputs (`pulumi stack output --json --show-secrets`, docs/architecture.md §1
 * "outputs") and picks the bucket, S3 endpoint and scoped key a job needs.
 *
 * The extractor is deliberately tolerant about the output layout (maps keyed by provider or
 * purpose, or flat fields) so a refactor of `stacks/index.ts` degrades into a clear "missing
 * …" error instead of a wrong bucket.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from './errors';
import { TOOL_NAME } from './version';

export type StackOutputs = Record<string, unknown>;
export type KeyPurpose = 'backup-writer' | 'restore-reader';

export interface StackPick {
  endpoint?: string;
  region?: string;
  bucket?: string;
  keyId?: string;
  applicationKey?: string;
  env?: string;
  /** Buckets seen, for the error message when the provider matches none. */
  bucketsSeen: string[];
}

/**
 * The checkout's root: the nearest directory above this file whose package.json is this project's.
 * Searched rather than fixed, because the CLI also runs from its bundle in .cache/bundles/
 * (tools/lib/bundle.js), where `__dirname` is not scripts/lib.
 */
export function findRepoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === TOOL_NAME) return dir;
    } catch {
      // no package.json here (or not JSON): keep going up
    }
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..');
  }
}

/** Runs the pinned Pulumi CLI through `npm run pulumi` (docs/architecture.md §3). */
export async function readStackOutputs(stack: string, cwd: string = findRepoRoot()): Promise<StackOutputs> {
  const args = [
    'run',
    '--silent',
    'pulumi',
    '--',
    'stack',
    'output',
    '--json',
    '--show-secrets',
    '--stack',
    stack,
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    },
  );
  if (code !== 0) {
    throw new UsageError(
      `--from-stack ${stack}: \`npm run pulumi -- stack output\` failed (exit ${code}): ${stderr.trim().slice(-500)}`,
    );
  }
  return parseOutputsJson(stdout, `--from-stack ${stack}`);
}

export function readStackOutputsFile(file: string): StackOutputs {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--stack-outputs ${file}: cannot read (${(e as Error).message})`);
  }
  return parseOutputsJson(text, `--stack-outputs ${file}`);
}

function parseOutputsJson(text: string, what: string): StackOutputs {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as StackOutputs;
  } catch {
    /* reported below */
  }
  throw new UsageError(`${what}: stack outputs are not a JSON object`);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function first(o: Record<string, unknown> | undefined, ...names: string[]): string | undefined {
  if (!o) return undefined;
  for (const n of names) {
    const v = str(o[n]);
    if (v) return v;
  }
  return undefined;
}

interface BucketEntry {
  provider?: string;
  name: string;
  s3Endpoint?: string;
}

/** Buckets as a list, from `buckets` (map provider→{name}|name, or list) or `bucketNames`. */
function bucketsOf(out: StackOutputs): BucketEntry[] {
  const res: BucketEntry[] = [];
  const add = (provider: string | undefined, v: unknown): void => {
    const name = str(v) ?? first(obj(v), 'bucketName', 'name');
    if (name)
      res.push({
        provider: provider ?? first(obj(v), 'provider'),
        name,
        s3Endpoint: first(obj(v), 's3Endpoint', 's3ApiUrl'),
      });
  };
  for (const field of ['buckets', 'bucketNames', 'bucketsByProvider']) {
    const v = out[field];
    if (Array.isArray(v)) v.forEach((b) => add(undefined, b));
    else if (obj(v)) for (const [k, b] of Object.entries(obj(v)!)) add(k, b);
  }
  const single = first(out, 'bucketName', 'bucket');
  if (single) res.push({ name: single });
  return res;
}

function providerOfName(name: string): string | undefined {
  const m = /-(aws|azure|gcp|multi)(?:-|$)/.exec(name);
  return m?.[1];
}

/** Keys from `keys` (map purpose→{keyId,applicationKey}, possibly nested per provider) or flat fields. */
function keyFor(
  out: StackOutputs,
  purpose: KeyPurpose,
  provider?: string,
): { keyId?: string; applicationKey?: string } {
  const candidates: Record<string, unknown>[] = [];
  const keys = obj(out.keys) ?? obj(out.applicationKeys);
  if (keys) {
    // stacks/index.ts exports `keys: {writer: {<provider>: {keyId, applicationKey}}, reader: {…}}`.
    const direct = obj(keys[purpose]) ?? obj(keys[PURPOSE_ALIAS[purpose]]);
    if (direct) {
      // Either {keyId, applicationKey} or a map provider → {keyId, applicationKey}.
      if (first(direct, 'keyId', 'applicationKeyId', 'accessKeyId')) candidates.push(direct);
      else if (provider && obj(direct[provider])) candidates.push(obj(direct[provider])!);
      else for (const v of Object.values(direct)) if (obj(v)) candidates.push(obj(v)!);
    }
    if (provider && obj(keys[provider])) {
      const per = obj(obj(keys[provider])![purpose]);
      if (per) candidates.push(per);
    }
  }
  const camel = purpose.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase()); // backupWriter
  const flatId = first(out, `${camel}KeyId`);
  const flatKey = first(out, `${camel}ApplicationKey`, `${camel}Key`);
  if (flatId) candidates.push({ keyId: flatId, applicationKey: flatKey });
  for (const c of candidates) {
    const keyId = first(c, 'keyId', 'applicationKeyId', 'accessKeyId');
    const applicationKey = first(c, 'applicationKey', 'secret', 'secretAccessKey', 'key');
    if (keyId) return { keyId, applicationKey };
  }
  return {};
}

const PURPOSE_ALIAS: Record<KeyPurpose, string> = { 'backup-writer': 'writer', 'restore-reader': 'reader' };

export function pickFromStack(
  out: StackOutputs,
  opts: { provider?: string; purpose: KeyPurpose },
): StackPick {
  const buckets = bucketsOf(out);
  let provider = opts.provider;
  let bucket: BucketEntry | undefined;
  if (provider) bucket = buckets.find((b) => (b.provider ?? providerOfName(b.name)) === provider);
  else if (buckets.length === 1) bucket = buckets[0];
  provider ??= bucket?.provider ?? (bucket ? providerOfName(bucket.name) : undefined);
  const endpoint = bucket?.s3Endpoint ?? first(out, 's3Endpoint', 's3ApiUrl', 's3Url', 'endpoint');
  const key = keyFor(out, opts.purpose, provider);
  return {
    endpoint,
    region: first(out, 'region', 's3Region'),
    bucket: bucket?.name,
    keyId: key.keyId,
    applicationKey: key.applicationKey,
    env: first(out, 'env', 'environment'),
    bucketsSeen: buckets.map((b) => b.name),
  };
}
