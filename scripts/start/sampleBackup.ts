/**
 * The sample backup of `npm start`: the real backup CLI (`bin/infrafabric-backup.js`) uploads a
 * configuration snapshot with the stack's scoped `backup-writer` key, then restores it and verifies
 * checksums with the `restore-reader` key — the same path a scheduled job takes.
 *
 * Credentials reach the CLI through its documented environment (B2_BUCKET, B2_S3_ENDPOINT,
 * B2_KEY_ID, B2_APPLICATION_KEY), taken from `pulumi stack output --json --show-secrets` held in
 * memory: no secret is written to disk or put on a command line.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from './pulumi';

export interface ScopedKey {
  keyId: string;
  applicationKey: string;
}

export interface SampleTarget {
  provider: string;
  bucket: string;
  s3Endpoint: string;
  writer: ScopedKey;
  reader: ScopedKey;
}

export interface SampleResult {
  key: string;
  uploaded: boolean;
  sha256: string;
  size: number;
  restoredIdentical: boolean;
  verified: { checked: number; ok: number; failed: number };
}

/** Deterministic content: a second run finds it unchanged, and the CLI skips the upload. */
export const SAMPLE_CONFIG = {
  kind: 'aws-config-export',
  note: 'sample written by `npm start` against the local emulator',
  vpcs: [{ id: 'vpc-0sample', cidr: '10.0.0.0/16', subnets: ['10.0.1.0/24', '10.0.2.0/24'] }],
  iam: { roles: ['backup-writer', 'restore-reader'] },
};

/** Picks provider `provider`'s bucket and keys from the stack outputs (stacks/index.ts shape). */
export function sampleTarget(outputs: Record<string, unknown>, provider: string): SampleTarget {
  const get = (o: unknown, ...p: string[]): unknown =>
    p.reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      o,
    );
  const need = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !v)
      throw new Error(`stack output ${what} is missing (stacks/index.ts changed?)`);
    return v;
  };
  return {
    provider,
    bucket: need(get(outputs, 'buckets', provider, 'name'), `buckets.${provider}.name`),
    s3Endpoint: need(get(outputs, 'buckets', provider, 's3Endpoint'), `buckets.${provider}.s3Endpoint`),
    writer: {
      keyId: need(get(outputs, 'keys', 'writer', provider, 'keyId'), `keys.writer.${provider}.keyId`),
      applicationKey: need(
        get(outputs, 'keys', 'writer', provider, 'applicationKey'),
        `keys.writer.${provider}.applicationKey`,
      ),
    },
    reader: {
      keyId: need(get(outputs, 'keys', 'reader', provider, 'keyId'), `keys.reader.${provider}.keyId`),
      applicationKey: need(
        get(outputs, 'keys', 'reader', provider, 'applicationKey'),
        `keys.reader.${provider}.applicationKey`,
      ),
    },
  };
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the backup CLI with one scoped key and nothing else of ours in its environment. */
function backupCli(args: string[], t: SampleTarget, key: ScopedKey): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('B2_') || k.startsWith('AWS_')) delete env[k];
  Object.assign(env, {
    B2_BUCKET: t.bucket,
    B2_S3_ENDPOINT: t.s3Endpoint,
    B2_KEY_ID: key.keyId,
    B2_APPLICATION_KEY: key.applicationKey,
    BACKUP_ENV: 'local',
  });
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'infrafabric-backup.js'), ...args, '--json', '--no-progress'],
      {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The CLI's retry budget is ~10 minutes (shaped for B2); locally anything over 2 minutes is a fault.
    const timer = setTimeout(() => {
      stderr += '\n(killed by npm start after 120 s: the emulator did not answer)';
      child.kill('SIGKILL');
    }, 120_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function backupCliJson<T>(args: string[], t: SampleTarget, key: ScopedKey, what: string): Promise<T> {
  const r = await backupCli(args, t, key);
  if (r.code !== 0) {
    throw new Error(
      `${what}: \`infrafabric-backup ${args[0]}\` exited ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-8).join('\n')}`,
    );
  }
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`${what}: \`infrafabric-backup ${args[0]} --json\` printed no JSON document`);
  }
}

/** Backup with the writer key, restore + verify with the reader key; throws on any mismatch. */
export async function runSampleBackup(
  t: SampleTarget,
  workDir: string,
  log: (l: string) => void,
): Promise<SampleResult> {
  fs.mkdirSync(workDir, { recursive: true });
  const source = path.join(workDir, `${t.provider}-config.json`);
  const body = JSON.stringify(SAMPLE_CONFIG, null, 2) + '\n';
  fs.writeFileSync(source, body);

  const snap = await backupCliJson<{
    key: string;
    skipped: boolean;
    sameAs?: string;
    sha256: string;
    size: number;
  }>(
    ['snapshot-config', '--provider', t.provider, '--from', source],
    t,
    t.writer,
    'sample backup (writer key)',
  );
  const key = snap.skipped && snap.sameAs ? snap.sameAs : snap.key;
  log(
    snap.skipped
      ? `sample backup unchanged since ${key} (skipped, as the CLI does for identical content)`
      : `sample backup uploaded ${key} with the writer key`,
  );

  const restoreDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrafabric-start-restore-'));
  try {
    const restored = path.join(restoreDir, 'restored.json');
    await backupCliJson(
      ['restore', '--key', key, '--to', restored],
      t,
      t.reader,
      'sample restore (reader key)',
    );
    const identical = fs.readFileSync(restored).equals(Buffer.from(body));
    if (!identical)
      throw new Error(`sample restore: ${key} restored with the reader key differs from what was backed up`);
    const verify = await backupCliJson<Record<string, unknown>>(
      ['verify', '--prefix', `configs/${t.provider}/`],
      t,
      t.reader,
      'sample verify (reader key)',
    );
    const verified = verifyCounts(verify);
    if (verified.failed > 0 || verified.ok === 0)
      throw new Error(`sample verify: ${JSON.stringify(verified)} under configs/${t.provider}/`);
    log(`restored ${key} with the reader key (identical) and verified ${verified.ok} object(s)`);
    return {
      key,
      uploaded: !snap.skipped,
      sha256: snap.sha256,
      size: snap.size,
      restoredIdentical: identical,
      verified,
    };
  } finally {
    fs.rmSync(restoreDir, { recursive: true, force: true });
  }
}

/** Counts from `verify --json` (scripts/jobs/verify.ts summary). */
function verifyCounts(v: Record<string, unknown>): { checked: number; ok: number; failed: number } {
  const n = (k: string) => (typeof v[k] === 'number' ? (v[k] as number) : 0);
  return { checked: n('checked'), ok: n('verified'), failed: n('mismatch') + n('errors') };
}
