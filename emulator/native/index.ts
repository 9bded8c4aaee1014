/**
 * The native B2 API of one region: routes `/b2api/v1..v4/<call>` and `/file/<bucket>/<name>`,
 * counts each call, applies injected faults, the rate limit and `X-Bz-Test-Mode`, and renders
 * results and errors as B2 does (docs/b2-api.md §1–§6).
 *
 * Per request: `admit` (stats, faults, rate limit, method, test mode) → `dispatch` → one of the
 * route handlers below; any failure goes to `answerFailure`, which renders B2 errors, stays
 * silent only when the client is gone, and answers everything else 500 `internal_error` with one
 * log line.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { ProtocolContext } from '../core/context';
import type { Engine } from '../core/engine';
import { B2Error, errors, isB2Error } from '../core/errors';
import { dropAnswer } from '../core/runtime';
import { clientGone, type RequestTarget } from '../core/target';
import { CALLS } from './calls';
import { corsHeaders, handlePreflight } from './cors';
import { b2Decode, callParams, Params, sendError, sendJson } from './http';
import { renderAuthorize } from './render';
import {
  downloadToken,
  handleUploadFile,
  handleUploadPart,
  overridesFromQuery,
  sendDownload,
  sseFromHeaders,
} from './transfer';

export type NativeHandler = (req: IncomingMessage, res: ServerResponse, url: RequestTarget) => Promise<void>;

interface Route {
  op: string;
  version: number;
  kind: 'authorize' | 'call' | 'upload' | 'part' | 'download_by_id' | 'download_by_name';
  bucketName?: string;
  fileName?: string;
}

/** Everything a route handler needs about one request. */
interface NativeRequest {
  ctx: ProtocolContext;
  req: IncomingMessage;
  res: ServerResponse;
  url: RequestTarget;
  r: Route;
}

/**
 * Resolve the path to an operation; unknown paths throw 404/400 B2 errors. The path is the one
 * sent (not normalised): in `/file/<bucket>/<name>` every character after the bucket's slash,
 * `.` and `..` segments included, is part of the file name.
 */
function route(url: RequestTarget): Route {
  const p = url.pathname;
  if (p.startsWith('/file/')) {
    const rest = p.slice('/file/'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1)
      throw errors.badRequest('download URLs look like /file/<bucketName>/<fileName>');
    return {
      op: 'b2_download_file_by_name',
      version: 2,
      kind: 'download_by_name',
      bucketName: b2Decode(rest.slice(0, slash), 'bucket name'),
      fileName: b2Decode(rest.slice(slash + 1), 'file name'),
    };
  }
  const m = /^\/b2api\/v(\d+)\/(b2_[a-z_]+)(\/.*)?$/.exec(p);
  if (!m) throw errors.notFound(`no such API path: ${p}`);
  const version = Number(m[1]);
  if (version < 1 || version > 4)
    throw errors.notFound(`unsupported API version v${version} (v1-v4 are served)`);
  const op = m[2]!;
  if (op === 'b2_authorize_account') return { op, version, kind: 'authorize' };
  if (op === 'b2_upload_file') return { op, version, kind: 'upload' };
  if (op === 'b2_upload_part') return { op, version, kind: 'part' };
  if (op === 'b2_download_file_by_id') return { op, version, kind: 'download_by_id' };
  if (!(op in CALLS)) throw errors.notFound(`no such API call: ${op}`);
  return { op, version, kind: 'call' };
}

const TEST_MODES = new Set([
  'fail_some_uploads',
  'expire_some_account_authorization_tokens',
  'force_cap_exceeded',
]);

/** `X-Bz-Test-Mode` (docs/b2-api.md §1.4): deterministic "some" = every third call. */
function applyTestMode(engine: Engine, counter: { n: number }, req: IncomingMessage, r: Route): void {
  const mode = req.headers['x-bz-test-mode'];
  if (typeof mode !== 'string' || !TEST_MODES.has(mode)) return;
  if (mode === 'force_cap_exceeded') {
    const code =
      r.kind === 'upload' || r.kind === 'part'
        ? 'storage_cap_exceeded'
        : r.kind.startsWith('download')
          ? 'download_cap_exceeded'
          : 'transaction_cap_exceeded';
    throw new B2Error(403, code, `Cap exceeded (X-Bz-Test-Mode: ${mode})`);
  }
  if (++counter.n % 3 !== 0) return;
  if (mode === 'fail_some_uploads' && (r.kind === 'upload' || r.kind === 'part'))
    throw new B2Error(503, 'service_unavailable', 'upload failed (X-Bz-Test-Mode: fail_some_uploads)');
  if (mode === 'expire_some_account_authorization_tokens' && r.kind === 'call') {
    const token = req.headers.authorization;
    if (token && engine.isAccountToken(token)) engine.expireToken(token);
  }
}

function checkMethod(req: IncomingMessage, r: Route): void {
  const m = req.method ?? 'GET';
  const ok =
    r.kind === 'upload' || r.kind === 'part'
      ? m === 'POST'
      : r.kind === 'download_by_name'
        ? m === 'GET' || m === 'HEAD'
        : r.kind === 'download_by_id'
          ? m === 'GET' || m === 'HEAD' || m === 'POST'
          : m === 'GET' || m === 'POST';
  if (!ok) throw errors.methodNotAllowed(m);
}

async function authorize({ ctx, req, res, r }: NativeRequest): Promise<void> {
  const h = req.headers.authorization ?? '';
  const m = /^Basic\s+(.+)$/i.exec(h);
  if (!m)
    throw errors.unauthorized('Authorization: Basic base64(applicationKeyId:applicationKey) is required');
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw errors.unauthorized('Basic credentials must be applicationKeyId:applicationKey');
  const { token, key } = ctx.engine.authorize(decoded.slice(0, colon), decoded.slice(colon + 1), r.version);
  sendJson(res, 200, renderAuthorize(ctx.engine, ctx.url, token, key, r.version));
}

async function jsonCall({ ctx, req, res, url, r }: NativeRequest): Promise<void> {
  const token = req.headers.authorization;
  if (!token)
    throw errors.badAuthToken('Authorization header with the account authorization token is required');
  const auth = ctx.engine.authenticate(token, r.version);
  const p = new Params(await callParams(req, url));
  const body = await CALLS[r.op]!({ engine: ctx.engine, auth, p, version: r.version, url: ctx.url });
  sendJson(res, 200, body);
}

async function downloadById({ ctx, req, res, url, r }: NativeRequest): Promise<void> {
  const p = new Params(await callParams(req, url));
  const cred = ctx.engine.downloadCredential(downloadToken(req, url), r.version);
  const plan = ctx.engine.openById(cred, p.str('fileId'), {
    range: req.headers.range,
    sseC: sseFromHeaders(req),
  });
  const reader = cred.kind === 'account' ? cred.auth : null;
  sendDownload(res, plan, req.method === 'HEAD', overridesFromQuery(url), reader);
}

async function downloadByName({ ctx, req, res, url, r }: NativeRequest): Promise<void> {
  const cred = ctx.engine.downloadCredential(downloadToken(req, url), r.version);
  const overrides = overridesFromQuery(url);
  const plan = ctx.engine.openByName(cred, r.bucketName!, r.fileName!, {
    range: req.headers.range,
    sseC: sseFromHeaders(req),
    overrides,
  });
  const reader = cred.kind === 'account' ? cred.auth : null;
  sendDownload(res, plan, req.method === 'HEAD', overrides, reader);
}

async function dispatch(n: NativeRequest): Promise<void> {
  switch (n.r.kind) {
    case 'authorize':
      return authorize(n);
    case 'call':
      return jsonCall(n);
    case 'upload':
      return handleUploadFile(n.ctx.engine, n.req, n.res, n.r.version);
    case 'part':
      return handleUploadPart(n.ctx.engine, n.req, n.res, n.r.version);
    case 'download_by_id':
      return downloadById(n);
    case 'download_by_name':
      return downloadByName(n);
  }
}

/**
 * Renders a failure: B2 errors as JSON; nothing when the client is gone; anything else is a bug,
 * answered 500 `internal_error` with one log line — also after an upload body was read, when Node
 * already marks the request destroyed but the connection is still there to answer on.
 */
function answerFailure(ctx: ProtocolContext, n: Omit<NativeRequest, 'ctx' | 'r'>, e: unknown): void {
  const { req, res, url } = n;
  const head = req.method === 'HEAD';
  if (res.writableEnded) return; // already answered (e.g. a request timeout)
  if (isB2Error(e)) return sendError(res, e, head);
  if (clientGone(req, res, e)) {
    res.destroy();
    return;
  }
  ctx.log(`internal error on ${req.method} ${url.pathname}: ${(e as Error)?.stack ?? String(e)}`);
  sendError(res, errors.internal('internal emulator error; see the emulator log'), head);
}

/** Stats, injected faults, rate limit, method and test mode; false = nothing more to do (reset). */
function admit(
  ctx: ProtocolContext,
  counter: { n: number },
  req: IncomingMessage,
  res: ServerResponse,
  r: Route,
): boolean {
  ctx.stats.record(r.op, ctx.region);
  const fault = ctx.faults.match(r.op, req);
  if (fault?.kind === 'reset') {
    req.socket.destroy();
    return false;
  }
  // drop-after: the call runs and commits, then the answer is dropped (core/runtime.ts)
  if (fault?.kind === 'drop-after') dropAnswer(req, res);
  else if (fault) throw new B2Error(fault.status, fault.code, fault.message, fault.retryAfter);
  const wait = ctx.rateLimiter.take();
  if (wait !== null) throw errors.tooManyRequests(wait);
  checkMethod(req, r);
  applyTestMode(ctx.engine, counter, req, r);
  return true;
}

export function createNativeHandler(ctx: ProtocolContext): NativeHandler {
  const testModeCounter = { n: 0 };
  return async (req, res, url) => {
    try {
      if (req.method === 'OPTIONS') {
        ctx.stats.record('cors_preflight', ctx.region);
        return handlePreflight(ctx.engine, req, res, url);
      }
      if (req.headers.origin)
        for (const [k, v] of Object.entries(corsHeaders(ctx.engine, req, url))) res.setHeader(k, v);
      const r = route(url);
      if (!admit(ctx, testModeCounter, req, res, r)) return;
      await dispatch({ ctx, req, res, url, r });
    } catch (e) {
      answerFailure(ctx, { req, res, url }, e);
    }
  };
}

/** B2's answer to a request whose body stopped arriving in time: 408 `request_timeout`. */
export function answerNativeTimeout(req: IncomingMessage, res: ServerResponse, seconds: number): void {
  res.setHeader('connection', 'close');
  sendError(
    res,
    new B2Error(408, 'request_timeout', `the request body did not arrive within ${seconds} seconds`),
    req.method === 'HEAD',
  );
}
