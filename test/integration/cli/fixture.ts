/**
 * Shared set-up for CLI integration tests: an emulator, a bucket and a bucket-scoped key made
 * through the native API (the emulator, like B2, refuses the master key on S3), and an
 * in-process runner for `main()` that captures stdout/stderr.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PassThrough } from 'stream';
import { CliDeps, main } from '../../../scripts/cli';
import { startEmulator, RunningEmulator } from '../../helpers/emulator';

export interface Estate {
  emu: RunningEmulator;
  endpoint: string;
  bucket: string;
  keyId: string;
  applicationKey: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function native(
  url: string,
  call: string,
  auth: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/b2api/v3/${call}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${call} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function createBucketAndKey(
  emu: RunningEmulator,
  bucket: string,
  capabilities?: string[],
): Promise<{ keyId: string; applicationKey: string; bucketId: string }> {
  const basic = 'Basic ' + Buffer.from(`${emu.info.keyId}:${emu.info.applicationKey}`).toString('base64');
  const authRes = await fetch(`${emu.url}/b2api/v3/b2_authorize_account`, {
    headers: { authorization: basic },
  });
  const auth = (await authRes.json()) as {
    authorizationToken: string;
    accountId: string;
    apiInfo: { storageApi: { apiUrl: string } };
  };
  if (!authRes.ok) throw new Error(`authorize failed: ${JSON.stringify(auth)}`);
  const token = auth.authorizationToken;
  const b = await native(emu.url, 'b2_create_bucket', token, {
    accountId: auth.accountId,
    bucketName: bucket,
    bucketType: 'allPrivate',
  });
  const k = await native(emu.url, 'b2_create_key', token, {
    accountId: auth.accountId,
    keyName: `cli-${bucket}`.slice(0, 100),
    bucketId: b.bucketId,
    capabilities: capabilities ?? [
      'listBuckets',
      'listFiles',
      'readFiles',
      'writeFiles',
      'deleteFiles',
      'readBucketLifecycleRules',
      'readBuckets',
    ],
  });
  return {
    keyId: k.applicationKeyId as string,
    applicationKey: k.applicationKey as string,
    bucketId: b.bucketId as string,
  };
}

/** Sets native lifecycle rules on a bucket with the master key (what the Pulumi stack does). */
export async function setLifecycleRules(estate: Estate, rules: Record<string, unknown>[]): Promise<void> {
  const emu = estate.emu;
  const basic = 'Basic ' + Buffer.from(`${emu.info.keyId}:${emu.info.applicationKey}`).toString('base64');
  const auth = (await (
    await fetch(`${emu.url}/b2api/v3/b2_authorize_account`, { headers: { authorization: basic } })
  ).json()) as { authorizationToken: string; accountId: string };
  const list = await native(emu.url, 'b2_list_buckets', auth.authorizationToken, {
    accountId: auth.accountId,
    bucketName: estate.bucket,
  });
  const bucketId = (list.buckets as { bucketId: string }[])[0].bucketId;
  await native(emu.url, 'b2_update_bucket', auth.authorizationToken, {
    accountId: auth.accountId,
    bucketId,
    lifecycleRules: rules,
  });
}

let counter = 0;

export async function startEstate(opts: { bucket?: string } = {}): Promise<Estate> {
  const emu = await startEmulator();
  const bucket = opts.bucket ?? `ifb-cli-test-${process.pid}-${++counter}`;
  try {
    const { keyId, applicationKey } = await createBucketAndKey(emu, bucket);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      B2_S3_ENDPOINT: emu.url,
      B2_BUCKET: bucket,
      B2_KEY_ID: keyId,
      B2_APPLICATION_KEY: applicationKey,
      // Short waits: the fault tests retry many times; the policy shape is unit-tested.
      BACKUP_RETRY_BASE_MS: '20',
      BACKUP_RETRY_MAX_MS: '200',
      BACKUP_RETRY_BUDGET_MS: '60000',
    };
    return { emu, endpoint: emu.url, bucket, keyId, applicationKey, env, stop: () => emu.stop() };
  } catch (e) {
    await emu.stop();
    throw e;
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

function collect(): { stream: PassThrough; text: () => string; buffer: () => Buffer } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), buffer: () => Buffer.concat(chunks) };
}

/** Runs the CLI in-process (same code path as the bin) with the estate's environment. */
export async function cli(
  estate: Estate | undefined,
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
  stdin?: NodeJS.ReadableStream,
  deps: Pick<CliDeps, 'clock'> = {},
): Promise<CliRun & { stdoutBuffer: Buffer }> {
  const out = collect();
  const err = collect();
  const code = await main(args, {
    io: { stdout: out.stream, stderr: err.stream, isTTY: false },
    env: { ...(estate?.env ?? { PATH: process.env.PATH }), ...extraEnv },
    stdin,
    ...deps,
  });
  await new Promise((r) => setImmediate(r));
  const stdout = out.text();
  return {
    code,
    stdout,
    stderr: err.text(),
    stdoutBuffer: out.buffer(),
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${err.text()}`);
      }
    },
  };
}

/** A plain SDK client on the estate's key, for assertions independent of the CLI's code. */
export function sdkClient(estate: Estate): S3Client {
  return new S3Client({
    endpoint: estate.endpoint,
    region: 'us-west-004',
    forcePathStyle: true,
    credentials: { accessKeyId: estate.keyId, secretAccessKey: estate.applicationKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function getObjectBytes(estate: Estate, key: string, versionId?: string): Promise<Buffer> {
  const res = await sdkClient(estate).send(
    new GetObjectCommand({ Bucket: estate.bucket, Key: key, VersionId: versionId }),
  );
  return Buffer.from(await res.Body!.transformToByteArray());
}

export interface ListedVersion {
  key: string;
  versionId: string;
  size: number;
  lastModified: string;
  latest: boolean;
  hideMarker: boolean;
}

export async function listVersionsJson(estate: Estate, prefix = ''): Promise<ListedVersion[]> {
  const r = await cli(estate, ['list', '--json', '--prefix', prefix]);
  if (r.code !== 0) throw new Error(`list failed: ${r.stderr}`);
  return r.json<{ versions: ListedVersion[] }>().versions;
}

/** A CLI clock that follows the emulator's (advanced through the admin API); `sync()` after an advance. */
export interface EmulatorClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  sync(): Promise<void>;
}

/**
 * The CLI's clock following the emulator's, so ages, `--since` and lifecycle due times agree with
 * the server's view of time.
 */
export async function emulatorClock(estate: Estate): Promise<EmulatorClock> {
  const { systemClock } = await import('../../../infra/b2/clock');
  const read = async (): Promise<number> =>
    ((await estate.emu.admin('GET', '/__admin/clock')) as { now: number }).now;
  let offset = (await read()) - Date.now();
  return {
    now: () => Date.now() + offset,
    sleep: systemClock.sleep,
    async sync() {
      offset = (await read()) - Date.now();
    },
  };
}
