/**
 * One manifest per run at `manifests/<job>/<timestamp>.json` (docs/architecture.md §5): every object the
 * run touched with size, SHA-256 and version id. Written even when the job fails (status
 * `failed` with the error), so a dashboard sees failed runs and `verify` has the checksums of
 * multipart objects whose metadata cannot carry one.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import { objectMetadata } from './metadata';
import { ManifestKey, ManifestSignature, signManifest } from './manifestSignature';
import { RetryPolicy } from './retry';
import { stamp } from './timeparse';
import { TOOL_NAME, TOOL_VERSION } from './version';

export type ObjectStatus = 'uploaded' | 'skipped' | 'failed' | 'aborted' | 'planned';

export interface ManifestObject {
  key: string;
  size: number;
  sha256: string;
  versionId?: string;
  status: ObjectStatus;
  /** Why skipped/failed, e.g. "same content as <key>". */
  note?: string;
  [extra: string]: unknown;
}

export interface Manifest {
  job: string;
  tool: string;
  toolVersion: string;
  env: string;
  provider?: string;
  bucket: string;
  startedAt: string;
  finishedAt?: string;
  status: 'ok' | 'failed' | 'dry-run';
  error?: string;
  objects: ManifestObject[];
  /** Job-specific facts (database table stats, audit-log positions, …). */
  details: Record<string, unknown>;
  /** HMAC over the rest when a manifest key is configured (scripts/lib/manifestSignature.ts). */
  signature?: ManifestSignature;
}

export function newManifest(
  job: string,
  bucket: string,
  env: string,
  startedAtMs: number,
  provider?: string,
): Manifest {
  return {
    job,
    tool: TOOL_NAME,
    toolVersion: TOOL_VERSION,
    env,
    provider,
    bucket,
    startedAt: new Date(startedAtMs).toISOString(),
    status: 'ok',
    objects: [],
    details: {},
  };
}

export function manifestKey(job: string, startedAtMs: number): string {
  return `manifests/${job}/${stamp(startedAtMs)}.json`;
}

export async function writeManifest(
  s3: S3Client,
  policy: RetryPolicy,
  m: Manifest,
  key: string,
  signingKey?: ManifestKey,
): Promise<{ key: string; versionId?: string; signedWith?: string }> {
  const stored = signingKey ? signManifest(m, signingKey) : m;
  const body = Buffer.from(JSON.stringify(stored, null, 2) + '\n');
  const sha256 = createHash('sha256').update(body).digest('hex');
  const md5 = createHash('md5').update(body).digest('base64');
  const out = await policy.run(() =>
    s3.send(
      new PutObjectCommand({
        Bucket: m.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ContentMD5: md5,
        ServerSideEncryption: 'AES256',
        Metadata: objectMetadata({
          type: 'manifest',
          provider: m.provider,
          env: m.env,
          sha256,
          extra: { job: m.job, status: m.status },
        }),
      }),
    ),
  );
  return { key, versionId: out.VersionId, ...(signingKey ? { signedWith: signingKey.keyId } : {}) };
}
