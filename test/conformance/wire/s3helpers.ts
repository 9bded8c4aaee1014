/**
 * Shared set-up for the S3 conformance and integration tests: an emulator on port 0 with an
 * S3-usable application key (the master key is refused on S3), created over the native API with
 * plain fetch — no project client involved.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { spawn } from 'child_process';
import { createHash, createHmac, Hash, Hmac } from 'crypto';
import { RunningEmulator, startEmulator, StartOptions } from '../../helpers/emulator';

export interface S3Env {
  emu: RunningEmulator;
  url: string;
  region: string;
  accountId: string;
  keyId: string;
  secret: string;
  /** Native API call with the master key's token on region `i`. */
  native(call: string, body: Record<string, unknown>, i?: number): Promise<Record<string, unknown>>;
  /** A new application key on region `i` (default all capabilities the key type allows). */
  createKey(
    opts: { capabilities?: string[]; bucketId?: string; namePrefix?: string; keyName?: string },
    i?: number,
  ): Promise<{ keyId: string; secret: string }>;
  stop(): Promise<void>;
}

export const ALL_KEY_CAPS = [
  'listKeys',
  'writeKeys',
  'deleteKeys',
  'listAllBucketNames',
  'listBuckets',
  'readBuckets',
  'writeBuckets',
  'deleteBuckets',
  'readBucketEncryption',
  'writeBucketEncryption',
  'readBucketRetentions',
  'writeBucketRetentions',
  'readBucketReplications',
  'writeBucketReplications',
  'listFiles',
  'readFiles',
  'shareFiles',
  'writeFiles',
  'deleteFiles',
  'readFileLegalHolds',
  'writeFileLegalHolds',
  'readFileRetentions',
  'writeFileRetentions',
  'bypassGovernance',
  'readBucketLifecycleRules',
  'writeBucketLifecycleRules',
];

export async function startS3Env(opts: StartOptions = {}): Promise<S3Env> {
  const emu = await startEmulator(opts);
  const tokens = new Map<number, { apiUrl: string; token: string }>();
  async function auth(i: number): Promise<{ apiUrl: string; token: string }> {
    const cached = tokens.get(i);
    if (cached) return cached;
    const r = emu.info.regions[i];
    const res = await fetch(`${r.url}/b2api/v2/b2_authorize_account`, {
      headers: { authorization: 'Basic ' + Buffer.from(`${r.keyId}:${r.applicationKey}`).toString('base64') },
    });
    if (!res.ok) throw new Error(`authorize failed: ${res.status} ${await res.text()}`);
    const j = (await res.json()) as { apiUrl: string; authorizationToken: string };
    const t = { apiUrl: j.apiUrl, token: j.authorizationToken };
    tokens.set(i, t);
    return t;
  }
  async function native(
    call: string,
    body: Record<string, unknown>,
    i = 0,
    retried = false,
  ): Promise<Record<string, unknown>> {
    const a = await auth(i);
    const res = await fetch(`${a.apiUrl}/b2api/v2/${call}`, {
      method: 'POST',
      headers: { authorization: a.token, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    // Tests advance the emulator clock by days: 24 h tokens expire, so re-authorize once.
    if (res.status === 401 && text.includes('expired_auth_token') && !retried) {
      tokens.delete(i);
      return native(call, body, i, true);
    }
    if (!res.ok) throw new Error(`${call} -> ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }
  async function createKey(
    o: { capabilities?: string[]; bucketId?: string; namePrefix?: string; keyName?: string },
    i = 0,
  ) {
    const accountId = emu.info.regions[i].accountId;
    const k = await native(
      'b2_create_key',
      {
        accountId,
        keyName: o.keyName ?? `k-${Math.random().toString(36).slice(2, 10)}`,
        capabilities: o.capabilities ?? ALL_KEY_CAPS,
        ...(o.bucketId ? { bucketId: o.bucketId } : {}),
        ...(o.namePrefix ? { namePrefix: o.namePrefix } : {}),
      },
      i,
    );
    return { keyId: k.applicationKeyId as string, secret: k.applicationKey as string };
  }
  const key = await createKey({ keyName: 's3-all' });
  return {
    emu,
    url: emu.url,
    region: emu.info.region,
    accountId: emu.info.accountId,
    keyId: key.keyId,
    secret: key.secret,
    native,
    createKey,
    stop: () => emu.stop(),
  };
}

/** Environment for CLI clients talking plain http to the emulator (no user config, no CA bundle). */
export function awsEnv(env: S3Env, home: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: env.keyId,
    AWS_SECRET_ACCESS_KEY: env.secret,
    AWS_DEFAULT_REGION: env.region,
    AWS_REGION: env.region,
    AWS_CONFIG_FILE: `${home}/nonexistent-aws-config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/nonexistent-aws-credentials`,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  return e;
}

// ---------------------------------------------------------------------------------------------
// Raw signed requests (third-party signer, so wire tests never go through a project client)

/** @smithy Checksum over node:crypto (the SDK's own sha256 package is not installed here). */
class Sha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: string | Uint8Array) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
  reset(): void {
    this.h = this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
}

export function signer(keyId: string, secret: string, region: string): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: keyId, secretAccessKey: secret },
    region,
    service: 's3',
    sha256: Sha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]['sha256'],
    uriEscapePath: false,
    applyChecksum: false,
  });
}

export const s3Encode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

export interface RawOpts {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  keyId?: string;
  secret?: string;
  /** Payload hash to sign (default: SHA-256 of the body). */
  payloadHash?: string;
  signingDate?: Date;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
  /** `<Code>` of an S3 error body, if any. */
  code: string | null;
}

/** A SigV4-signed request with fetch. `path` is the decoded `/bucket/key`. */
export async function s3raw(env: S3Env, method: string, path: string, o: RawOpts = {}): Promise<RawResponse> {
  const url = new URL(env.url);
  const encPath = path.split('/').map(s3Encode).join('/');
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256':
      o.payloadHash ??
      createHash('sha256')
        .update(body ?? Buffer.alloc(0))
        .digest('hex'),
    ...(o.headers ?? {}),
  };
  const signed = await signer(o.keyId ?? env.keyId, o.secret ?? env.secret, env.region).sign(
    {
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: encPath,
      query: o.query ?? {},
      headers,
    },
    { signingDate: o.signingDate ?? new Date() },
  );
  const qs = Object.entries(o.query ?? {})
    .map(([k, v]) => `${s3Encode(k)}=${s3Encode(v)}`)
    .join('&');
  const h = { ...signed.headers };
  delete h.host;
  const res = await fetch(`${env.url}${encPath}${qs ? '?' + qs : ''}`, { method, headers: h, body });
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString('utf8');
  const m = /<Code>([^<]+)<\/Code>/.exec(text);
  return { status: res.status, headers: res.headers, body: buf, text, code: m ? m[1] : null };
}

// ---------------------------------------------------------------------------------------------
// Running third-party client binaries

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client binary with a bounded time; never throws on exit code (callers assert). */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    p.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}

/** Asserts a successful exit, showing the client's output otherwise. */
export function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0)
    throw new Error(
      `${what} exited ${r.code}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-4000)}`,
    );
  return r;
}
