/**
 * The S3 client set up for B2 (docs/architecture.md §5, docs/b2-api.md §11–12): path-style addressing, the
 * region taken from the endpoint host, checksum headers only when an operation requires them
 * (B2 has answered 400 to the SDK's default `x-amz-checksum-*`; our uploads set their own CRC32,
 * with a Content-MD5 fallback: partChecksum.ts), and the one B2 retry policy.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import * as http from 'http';
import * as https from 'https';
import {
  B2RetryStrategy,
  currentOperation,
  DEFAULT_CONNECT_TIMEOUT_MS,
  JobRetryPolicy,
  RetryPolicy,
} from './retry';
import { SecretString } from '../../infra/b2/secret';
import { TOOL_NAME, TOOL_VERSION } from './version';

const noop = (): void => undefined;
const QUIET_LOGGER = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export const DEFAULT_REGION = 'us-west-004';
const B2_S3_HOST = /^s3\.([a-z0-9-]+)\.backblazeb2\.com$/i;

/** `https://s3.us-east-005.backblazeb2.com` → `us-east-005`; else B2_REGION; else us-west-004. */
export function regionFromEndpoint(endpoint: string, fallback?: string): string {
  let host = '';
  try {
    host = new URL(endpoint).hostname;
  } catch {
    /* validated elsewhere; fall through to the fallback */
  }
  const m = B2_S3_HOST.exec(host);
  if (m) return m[1].toLowerCase();
  return fallback || DEFAULT_REGION;
}

export interface S3Connection {
  endpoint: string;
  region: string;
  keyId: string;
  applicationKey: SecretString;
}

export interface S3ClientOptions {
  policy: RetryPolicy;
  /** Sockets per host; parts upload in parallel up to this. */
  maxSockets?: number;
  /** Idle socket timeout; B2 may take long to answer a 100 MB part. */
  requestTimeoutMs?: number;
}

const CONTENT_SHA256 = 'x-amz-content-sha256';

/**
 * Uploads that carry Content-MD5 or `x-amz-checksum-crc32` are signed with `UNSIGNED-PAYLOAD`: B2
 * checks that checksum on every part and put, and B2 is HTTPS-only, so hashing each part a second
 * time for SigV4 (what the SDK does on a plain-http endpoint) would cost a full extra pass.
 */
const PAYLOAD_CHECKSUM = /^(content-md5|x-amz-checksum-crc32)$/i;

function addUnsignedPayloadForMd5Uploads(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (req.headers && Object.keys(req.headers).some((h) => PAYLOAD_CHECKSUM.test(h))) {
        req.headers[CONTENT_SHA256] = 'UNSIGNED-PAYLOAD';
      }
      return next(args);
    },
    { step: 'build', name: 'b2UnsignedPayloadWithContentMd5' },
  );
}

/** `UploadPart db/x.dump.gz #3`: what a retry line names. */
export function describeOperation(commandName: string | undefined, input: unknown): string {
  const op = (commandName ?? 'S3 request').replace(/Command$/, '');
  const i = (input ?? {}) as { Key?: unknown; Prefix?: unknown; PartNumber?: unknown };
  const target = typeof i.Key === 'string' ? ` ${i.Key}` : typeof i.Prefix === 'string' ? ` ${i.Prefix}` : '';
  return `${op}${target}${typeof i.PartNumber === 'number' ? ` #${i.PartNumber}` : ''}`;
}

/** Names the running operation for retries inside the SDK's retry middleware (retry.ts). */
function addOperationContext(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => (args) =>
      currentOperation.run(describeOperation(context.commandName, args.input), () => next(args)),
    { step: 'initialize', name: 'b2OperationContext', priority: 'high' },
  );
}

export function createS3Client(conn: S3Connection, opts: S3ClientOptions): S3Client {
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 16 };
  const client = new S3Client({
    endpoint: conn.endpoint,
    region: conn.region,
    forcePathStyle: true,
    credentials: { accessKeyId: conn.keyId, secretAccessKey: conn.applicationKey.reveal() },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryStrategy: new B2RetryStrategy(opts.policy),
    customUserAgent: `${TOOL_NAME}/${TOOL_VERSION}`,
    // The SDK falls back to console for "non-retryable streaming request" warnings; streamed parts
    // are retried by RetryPolicy.run, so that warning is noise in job logs.
    logger: QUIET_LOGGER,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent(agentOpts),
      httpsAgent: new https.Agent(agentOpts),
      // Short: a wrong endpoint must fail within the connection budget (retry.ts), and a B2
      // connect never takes seconds.
      connectionTimeout:
        opts.policy instanceof JobRetryPolicy ? opts.policy.connectTimeoutMs : DEFAULT_CONNECT_TIMEOUT_MS,
      requestTimeout: opts.requestTimeoutMs ?? 300_000,
    }),
  });
  addUnsignedPayloadForMd5Uploads(client);
  addOperationContext(client);
  return client;
}
