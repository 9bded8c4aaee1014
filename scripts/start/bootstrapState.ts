/**
 * `npm run bootstrap-state` — B2 as the team's Pulumi state backend (docs/architecture.md §3).
 *
 * Provisions, idempotently, through the native API (infra/b2):
 * - a private state bucket: SSE-B2 by default, a lifecycle rule that deletes superseded state
 *   versions 90 days after a newer one lands (the current state is never hidden) and cancels
 *   unfinished large files after 7 days;
 * - a dedicated key scoped to that bucket with exactly what Pulumi's S3 backend needs (list, read,
 *   write, delete: lock files are deleted after every update).
 *
 * It then prints the `pulumi login` URL for B2's S3-compatible endpoint. The key's secret is
 * written only to an env file (mode 0600, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, what the
 * backend's AWS SDK reads) — never printed. A later run reuses the key in that file while B2 still
 * has it; `--rotate` makes a new key and deletes the old ones of the same name.
 *
 * Why bootstrapped outside the Pulumi program: the stack's state cannot live in a bucket the stack
 * itself manages (chicken and egg; a destroy would delete its own state).
 */
import { Command, CommanderError, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { B2Client } from '../../infra/b2';
import { REPO_ROOT } from './pulumi';

/** Bucket-scoped capabilities Pulumi's S3 backend needs (gocloud blob over aws-sdk-go-v2). */
export const STATE_KEY_CAPABILITIES = [
  'deleteFiles',
  'listBuckets',
  'listFiles',
  'readBuckets',
  'readFiles',
  'writeFiles',
];

export const STATE_LIFECYCLE = [
  {
    fileNamePrefix: '',
    daysFromUploadingToHiding: null,
    daysFromHidingToDeleting: 90,
    daysFromStartingToCancelingUnfinishedLargeFiles: 7,
  },
];

export interface BootstrapOptions {
  bucket: string;
  keyName: string;
  envFile: string;
  rotate: boolean;
  /** Region for SigV4 (B2: the endpoint's region, e.g. us-west-004). */
  region?: string;
  client: B2Client;
  log?: (line: string) => void;
}

export interface BootstrapResult {
  bucketName: string;
  bucketId: string;
  bucketCreated: boolean;
  keyId: string;
  keyCreated: boolean;
  deletedKeyIds: string[];
  s3Endpoint: string;
  region: string;
  loginUrl: string;
  envFile: string;
}

/** `s3://bucket?endpoint=…&s3ForcePathStyle=true&region=…` for `pulumi login`. */
export function stateLoginUrl(bucket: string, s3Endpoint: string, region: string): string {
  const q = new URLSearchParams({ endpoint: s3Endpoint, s3ForcePathStyle: 'true', region });
  return `s3://${bucket}?${q.toString()}`;
}

/** The SigV4 region of a B2 S3 endpoint (`s3.us-west-004.backblazeb2.com` → `us-west-004`). */
export function regionOfEndpoint(s3Endpoint: string): string | undefined {
  return /(?:^|\.)s3\.([a-z]+-[a-z]+-\d{3})\./.exec(new URL(s3Endpoint).hostname)?.[1];
}

function readEnvFile(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export async function bootstrapStateBackend(o: BootstrapOptions): Promise<BootstrapResult> {
  const log = o.log ?? (() => undefined);
  const auth = await o.client.authorize();
  const s3Endpoint = auth.s3ApiUrl;
  const region = o.region ?? regionOfEndpoint(s3Endpoint) ?? 'us-west-004';

  let bucket = await o.client.getBucketByName(o.bucket);
  const bucketCreated = !bucket;
  if (!bucket) {
    bucket = await o.client.createBucket({
      bucketName: o.bucket,
      bucketType: 'allPrivate',
      bucketInfo: { purpose: 'pulumi-state', 'managed-by': 'infrafabric-backup/bootstrap-state' },
      lifecycleRules: STATE_LIFECYCLE,
      defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    });
    log(`created state bucket ${o.bucket} (${bucket.bucketId})`);
  } else {
    if (bucket.bucketType !== 'allPrivate')
      throw new Error(
        `bucket ${o.bucket} exists but is ${bucket.bucketType}; a state bucket must be allPrivate`,
      );
    log(`state bucket ${o.bucket} already exists (${bucket.bucketId}); reusing it`);
  }

  const sameName: string[] = [];
  for await (const k of o.client.listKeys()) if (k.keyName === o.keyName) sameName.push(k.applicationKeyId);
  const saved = readEnvFile(o.envFile);
  const savedId = saved.AWS_ACCESS_KEY_ID;
  let keyId: string;
  let keyCreated = false;
  const deletedKeyIds: string[] = [];
  if (!o.rotate && savedId && saved.AWS_SECRET_ACCESS_KEY && sameName.includes(savedId)) {
    keyId = savedId;
    log(`key ${o.keyName} (${keyId}) from ${o.envFile} is still valid; reusing it`);
  } else {
    const created = await o.client.createKey({
      keyName: o.keyName,
      capabilities: STATE_KEY_CAPABILITIES,
      bucketId: bucket.bucketId,
    });
    keyId = created.applicationKeyId;
    keyCreated = true;
    writeEnvFile(o.envFile, keyId, created.applicationKey.reveal());
    log(`created key ${o.keyName} (${keyId}); its secret is in ${o.envFile} (mode 0600)`);
    if (o.rotate) {
      for (const old of sameName) {
        await o.client.deleteKey(old);
        deletedKeyIds.push(old);
      }
      if (deletedKeyIds.length)
        log(`deleted ${deletedKeyIds.length} older key(s) named ${o.keyName}: ${deletedKeyIds.join(', ')}`);
    } else if (sameName.length) {
      log(
        `note: ${sameName.length} older key(s) named ${o.keyName} exist (${sameName.join(', ')}); --rotate deletes them`,
      );
    }
  }
  return {
    bucketName: o.bucket,
    bucketId: bucket.bucketId,
    bucketCreated,
    keyId,
    keyCreated,
    deletedKeyIds,
    s3Endpoint,
    region,
    loginUrl: stateLoginUrl(o.bucket, s3Endpoint, region),
    envFile: o.envFile,
  };
}

function writeEnvFile(file: string, keyId: string, secret: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text =
    '# Pulumi S3 state backend on B2 (written by npm run bootstrap-state). Keep secret.\n' +
    `AWS_ACCESS_KEY_ID=${keyId}\nAWS_SECRET_ACCESS_KEY=${secret}\n`;
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

const HELP_AFTER = `
Credentials: B2_APPLICATION_KEY_ID / B2_APPLICATION_KEY (a key that may create buckets and keys),
realm: B2_REALM_URL (default https://api.backblazeb2.com; the emulator's URL locally).

Then:
  set -a; . <secret-file>; set +a
  npm run pulumi -- login '<printed s3:// URL>'
`;

async function main(argv: string[]): Promise<void> {
  const program = new Command('bootstrap-state')
    .description(
      'Provision a B2 bucket + dedicated key for the Pulumi state backend and print the `pulumi login` URL',
    )
    .option('--bucket <name>', 'state bucket name (globally unique on B2)', 'infrafabric-backup-pulumi-state')
    .option('--key-name <name>', 'name of the dedicated key', '')
    // Not --env-file: Node 20 consumes that flag even after the script name.
    .option(
      '--secret-file <path>',
      'env file the key id + secret are written to (0600)',
      path.join(REPO_ROOT, '.cache', 'state-backend.env'),
    )
    .option('--region <region>', 'SigV4 region (default: from the S3 endpoint, else us-west-004)')
    .option('--rotate', 'create a new key and delete older keys of the same name', false)
    .addOption(new Option('--json', 'print the result as JSON (no secret) on stdout').default(false))
    .addHelpText('after', HELP_AFTER)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    process.exit((e as CommanderError).exitCode === 0 ? 0 : 2);
  }
  const o = program.opts<{
    bucket: string;
    keyName: string;
    secretFile: string;
    region?: string;
    rotate: boolean;
    json: boolean;
  }>();
  const client = B2Client.fromEnv();
  const result = await bootstrapStateBackend({
    bucket: o.bucket,
    keyName: o.keyName || `${o.bucket}-backend`,
    envFile: path.resolve(o.secretFile),
    rotate: o.rotate,
    region: o.region,
    client,
    log: (l) => process.stderr.write(`[bootstrap-state] ${l}\n`),
  });
  if (o.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    process.stdout.write(
      `state bucket: ${result.bucketName} (${result.bucketId})\nkey: ${result.keyId} (secret in ${result.envFile})\n` +
        `login:\n  set -a; . ${result.envFile}; set +a\n  npm run pulumi -- login '${result.loginUrl}'\n`,
    );
  }
}

if (require.main === module || process.argv[1] === __filename) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`bootstrap-state: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
