/**
 * S3-compatible API of the emulator (docs/b2-api.md §10–12). The server dispatches every request that
 * is not native (`/b2api/`, `/file/`) or admin (`/__admin/`) here.
 *
 * Pipeline per request: route → stats → injected faults → rate limit (503 SlowDown) → SigV4 →
 * key rules (master key refused, expiry) → checksum policy → handler → render. Handlers return
 * data (`S3Reply`); this file alone writes responses, and renders every failure as S3 XML.
 */
import { randomBytes } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import type { ProtocolContext } from '../core/context';
import { B2Error } from '../core/errors';
import { dropAnswer } from '../core/runtime';
import { clientGone } from '../core/target';
import type { AuthContext } from '../core/types';
import { registerJobs } from '../jobs';
import { checksumPolicyFromEnv, ChecksumPolicy, rejectChecksumHeaders, verifiedBody } from './body';
import type { S3Call, S3Reply } from './call';
import { fromB2Error, S3Error } from './errors';
import * as buckets from './ops/buckets';
import * as listing from './ops/listing';
import * as lock from './ops/lock';
import * as multipart from './ops/multipart';
import * as objects from './ops/objects';
import { refineForCopy, route, Route, S3Operation } from './router';
import { hasCredentials, parseQuery, signableFrom, VerifiedAuth, verifyRequest } from './sigv4';
import { escapeXml } from './xml';

export type S3Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

type OpHandler = (c: S3Call) => Promise<S3Reply>;

const HANDLERS: Record<S3Operation, OpHandler> = {
  ListBuckets: buckets.listBuckets,
  CreateBucket: buckets.createBucket,
  DeleteBucket: buckets.deleteBucket,
  HeadBucket: buckets.headBucket,
  GetBucketLocation: buckets.getBucketLocation,
  GetBucketVersioning: buckets.getBucketVersioning,
  GetBucketEncryption: buckets.getBucketEncryption,
  PutBucketEncryption: buckets.putBucketEncryption,
  DeleteBucketEncryption: buckets.deleteBucketEncryption,
  GetBucketLifecycleConfiguration: buckets.getBucketLifecycle,
  PutBucketLifecycleConfiguration: buckets.putBucketLifecycle,
  DeleteBucketLifecycle: buckets.deleteBucketLifecycle,
  GetBucketAcl: buckets.getBucketAcl,
  GetBucketCors: buckets.getBucketCors,
  ListObjects: listing.listObjectsV1,
  ListObjectsV2: listing.listObjectsV2,
  ListObjectVersions: listing.listObjectVersions,
  ListMultipartUploads: multipart.listMultipartUploads,
  DeleteObjects: objects.deleteObjects,
  GetObject: objects.getObject,
  HeadObject: objects.headObject,
  PutObject: objects.putObject,
  CopyObject: objects.copyObject,
  DeleteObject: objects.deleteObject,
  GetObjectAcl: objects.getObjectAcl,
  CreateMultipartUpload: multipart.createMultipartUpload,
  UploadPart: multipart.uploadPart,
  UploadPartCopy: multipart.uploadPartCopy,
  CompleteMultipartUpload: multipart.completeMultipartUpload,
  AbortMultipartUpload: multipart.abortMultipartUpload,
  ListParts: multipart.listParts,
  GetObjectRetention: lock.getObjectRetention,
  PutObjectRetention: lock.putObjectRetention,
  GetObjectLegalHold: lock.getObjectLegalHold,
  PutObjectLegalHold: lock.putObjectLegalHold,
  GetObjectLockConfiguration: lock.getObjectLockConfiguration,
  PutObjectLockConfiguration: lock.putObjectLockConfiguration,
  PutBucketCors: buckets.putBucketCors,
  DeleteBucketCors: buckets.deleteBucketCors,
  PutBucketAcl: buckets.putBucketAcl,
  PutObjectAcl: objects.putObjectAcl,
};

/** Operations an anonymous caller may attempt (reads of `allPublic` buckets; the engine decides). */
const ANONYMOUS_OK = new Set<S3Operation>(['GetObject', 'HeadObject']);

export interface S3Options {
  checksums?: ChecksumPolicy;
  /** Wall clock for signature time checks (tests). */
  nowMs?: () => number;
}

export function createS3Handler(ctx: ProtocolContext, opts: S3Options = {}): S3Handler {
  registerJobs(ctx);
  const policy = opts.checksums ?? checksumPolicyFromEnv();
  const wallNow = opts.nowMs ?? Date.now;
  return async (req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
    try {
      const r: Route = refineForCopy(
        route(req.method ?? 'GET', req.headers.host, rawPath, new Map(parseQuery(rawQuery))),
        req.headers['x-amz-copy-source'] !== undefined,
      );
      const opName = `s3:${r.operation}`;
      ctx.stats.record(opName, ctx.region);
      const fault = ctx.faults.match(opName, req);
      if (fault?.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'drop-after') dropAnswer(req, res);
      if (fault?.kind === 'error') {
        const headers: Record<string, string> =
          fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
        sendError(res, req, requestId, rawPath, {
          status: fault.status,
          code: fault.code,
          message: fault.message,
          headers,
          fields: {},
        });
        return;
      }
      const wait = ctx.rateLimiter.take();
      if (wait !== null) throw new S3Error('SlowDown', undefined, {}, { 'Retry-After': String(wait) });

      const verified = authenticate(ctx, req, r, wallNow());
      if (policy === 'reject') rejectChecksumHeaders(req.headers);
      const call: S3Call = {
        ctx,
        engine: ctx.engine,
        auth: verified?.auth ?? null,
        route: r,
        req,
        headers: req.headers,
        query: r.query,
        // Only single PUTs keep a full-object checksum (multipart objects have composite ones).
        body: verifiedBody(req, verified?.sig ?? null, { defaultChecksum: r.operation === 'PutObject' }),
        requestId,
      };
      const reply = await HANDLERS[r.operation](call);
      send(res, req, requestId, reply);
    } catch (e) {
      if (res.writableEnded) return; // answered already (a request timeout)
      const err = e instanceof S3Error ? e : e instanceof B2Error ? fromB2Error(e) : null;
      if (!err && clientGone(req, res, e)) {
        res.destroy();
        return;
      }
      if (!err)
        ctx.log(`s3: internal error on ${req.method} ${rawPath}: ${(e as Error)?.stack ?? String(e)}`);
      const s3 = err ?? new S3Error('InternalError');
      sendError(res, req, requestId, rawPath, {
        status: s3.status,
        code: s3.code,
        message: s3.message,
        headers: s3.headers,
        fields: s3.fields,
      });
    }
  };
}

/**
 * SigV4 + B2 key rules. Returns null for an anonymous request to an operation that allows it.
 * The master key is refused on S3 (docs/b2-api.md §11), as is an expired key (emulator clock).
 */
function authenticate(
  ctx: ProtocolContext,
  req: IncomingMessage,
  r: Route,
  nowMs: number,
): { auth: AuthContext; sig: VerifiedAuth } | null {
  const signable = signableFrom(req.method ?? 'GET', req.url ?? '/', req.rawHeaders);
  if (!hasCredentials(signable)) {
    if (ANONYMOUS_OK.has(r.operation)) return null;
    throw new S3Error(
      'AccessDenied',
      'Anonymous access is not allowed; sign the request with an application key (SigV4).',
    );
  }
  const sig = verifyRequest(signable, {
    nowMs,
    lookupSecret: (id) => {
      const key = ctx.engine.findKey(id);
      if (key?.isMaster) {
        throw new S3Error(
          'InvalidAccessKeyId',
          'The master application key cannot be used with the S3-compatible API; create an application key.',
          {
            AWSAccessKeyId: id,
          },
        );
      }
      return key?.applicationKey;
    },
  });
  const key = ctx.engine.findKey(sig.accessKeyId)!;
  if (key.expirationTimestamp !== null && key.expirationTimestamp <= ctx.clock.now()) {
    throw new S3Error('InvalidAccessKeyId', 'The application key has expired.', {
      AWSAccessKeyId: sig.accessKeyId,
    });
  }
  return { auth: ctx.engine.authContextForKey(key, 4), sig };
}

/** S3's answer to a request whose body stopped arriving in time: 400 RequestTimeout, then close. */
export function answerS3Timeout(req: IncomingMessage, res: ServerResponse, seconds: number): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const s3 = new S3Error(
    'RequestTimeout',
    `Your socket connection to the server was not read from or written to within the timeout period (${seconds} s).`,
  );
  res.setHeader('connection', 'close');
  sendError(res, req, requestId, qi < 0 ? url : url.slice(0, qi), {
    status: s3.status,
    code: s3.code,
    message: s3.message,
    headers: s3.headers,
    fields: s3.fields,
  });
}

function baseHeaders(requestId: string): Record<string, string> {
  return {
    'x-amz-request-id': requestId,
    'x-amz-id-2': requestId.toLowerCase(),
    date: new Date().toUTCString(),
    server: 'b2-local',
  };
}

/** Drain an unread request body so a keep-alive connection stays usable, or close it. */
function finishRequest(req: IncomingMessage, res: ServerResponse): void {
  if (!req.complete) {
    res.setHeader('connection', 'close');
    req.resume();
  }
}

function send(res: ServerResponse, req: IncomingMessage, requestId: string, reply: S3Reply): void {
  const headers: Record<string, string> = { ...baseHeaders(requestId), ...(reply.headers ?? {}) };
  const status = reply.status ?? 200;
  if (req.method === 'HEAD') {
    if (reply.length !== undefined) headers['content-length'] = String(reply.length);
    finishRequest(req, res);
    res.writeHead(status, headers);
    res.end();
    return;
  }
  if (reply.stream) {
    headers['content-length'] = String(reply.length ?? '');
    res.writeHead(status, headers);
    reply.stream.on('error', () => res.destroy());
    reply.stream.pipe(res);
    return;
  }
  const body = reply.xml ?? '';
  if (reply.xml !== undefined) headers['content-type'] = 'application/xml';
  headers['content-length'] = String(Buffer.byteLength(body));
  finishRequest(req, res);
  res.writeHead(status, headers);
  res.end(body);
}

interface ErrorShape {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
  fields: Record<string, string>;
}

function sendError(
  res: ServerResponse,
  req: IncomingMessage,
  requestId: string,
  resource: string,
  e: ErrorShape,
): void {
  if (res.writableEnded) return; // answered already (a request timeout): never cut that answer off
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...baseHeaders(requestId), ...e.headers };
  finishRequest(req, res);
  // HEAD and 304 responses carry no body.
  if (req.method === 'HEAD' || e.status === 304) {
    res.writeHead(e.status, headers);
    res.end();
    return;
  }
  const extra = Object.entries(e.fields)
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message>` +
    `${extra}<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  headers['content-type'] = 'application/xml';
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(e.status, headers);
  res.end(body);
}
