/**
 * Connection configuration parsed at the edge (docs/conventions.md §7): flags win over environment, which
 * wins over a stack's outputs. Missing values produce one UsageError naming every missing field
 * and where it can come from.
 */
import * as fs from 'fs';
import { UsageError } from './errors';
import { regionFromEndpoint } from './s3client';
import { SecretString } from '../../infra/b2/secret';
import { KeyPurpose, pickFromStack, StackOutputs } from './stackOutputs';

export interface ConnectionFlags {
  endpoint?: string;
  bucket?: string;
  keyId?: string;
  applicationKeyFile?: string;
  region?: string;
  fromStack?: string;
  stackOutputs?: string;
  provider?: string;
  env?: string;
}

export interface ResolvedConnection {
  endpoint: string;
  region: string;
  bucket: string;
  keyId: string;
  applicationKey: SecretString;
  /** Environment name stamped into metadata (`x-amz-meta-env`). */
  env: string;
}

export interface ConfigDeps {
  env: NodeJS.ProcessEnv;
  readStack: (stack: string) => Promise<StackOutputs>;
  readStackFile: (file: string) => StackOutputs;
}

export async function resolveConnection(
  flags: ConnectionFlags,
  purpose: KeyPurpose,
  deps: ConfigDeps,
): Promise<ResolvedConnection> {
  const env = deps.env;
  let stack: ReturnType<typeof pickFromStack> | undefined;
  if (flags.fromStack || flags.stackOutputs) {
    const outputs = flags.stackOutputs
      ? deps.readStackFile(flags.stackOutputs)
      : await deps.readStack(flags.fromStack!);
    stack = pickFromStack(outputs, { provider: flags.provider, purpose });
  }
  const fileKey = flags.applicationKeyFile ? readKeyFile(flags.applicationKeyFile) : undefined;
  // An empty variable (e.g. `B2_BUCKET=` in an env file) counts as unset, not as a value.
  const fromEnv = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const endpoint = flags.endpoint ?? fromEnv('B2_S3_ENDPOINT') ?? stack?.endpoint;
  const bucket = flags.bucket ?? fromEnv('B2_BUCKET') ?? stack?.bucket;
  const keyId = flags.keyId ?? fromEnv('B2_KEY_ID') ?? stack?.keyId;
  const appKey = fileKey ?? fromEnv('B2_APPLICATION_KEY') ?? stack?.applicationKey;

  const missing: string[] = [];
  const stackHint = stack ? '' : ' or --from-stack <env>';
  if (!endpoint) missing.push(`S3 endpoint (--endpoint or B2_S3_ENDPOINT${stackHint})`);
  if (!bucket) {
    const seen = stack?.bucketsSeen.length
      ? `; the stack has ${stack.bucketsSeen.join(', ')} — pick one with --provider`
      : '';
    missing.push(`bucket (--bucket or B2_BUCKET${stackHint}${seen})`);
  }
  if (!keyId) missing.push(`key id (--key-id or B2_KEY_ID${stackHint}, ${purpose} key)`);
  if (!appKey)
    missing.push(
      `application key (B2_APPLICATION_KEY or --application-key-file${stackHint}, ${purpose} key)`,
    );
  if (missing.length) throw new UsageError(`missing configuration: ${missing.join('; ')}`);

  validateEndpoint(endpoint!);
  return {
    endpoint: endpoint!.replace(/\/+$/, ''),
    region: flags.region ?? regionFromEndpoint(endpoint!, fromEnv('B2_REGION') ?? stack?.region),
    bucket: bucket!,
    keyId: keyId!,
    applicationKey: new SecretString(appKey!),
    env: flags.env ?? fromEnv('BACKUP_ENV') ?? flags.fromStack ?? stack?.env ?? 'dev',
  };
}

function validateEndpoint(endpoint: string): void {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new UsageError(
      `S3 endpoint "${endpoint}" is not a URL (expected e.g. https://s3.us-west-004.backblazeb2.com)`,
    );
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new UsageError(`S3 endpoint "${endpoint}" must be http(s)`);
  }
}

function readKeyFile(file: string): string {
  try {
    const v = fs.readFileSync(file, 'utf8').trim();
    if (!v) throw new UsageError(`--application-key-file ${file} is empty`);
    return v;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--application-key-file ${file}: cannot read (${(e as Error).message})`);
  }
}
