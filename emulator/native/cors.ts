/**
 * CORS for the native operations a bucket's `corsRules` govern (docs/b2-api.md §3–4):
 * b2_download_file_by_name, b2_download_file_by_id, b2_upload_file, b2_upload_part.
 * Preflights (OPTIONS) are answered from the rules; actual requests from an allowed origin get
 * `Access-Control-Allow-Origin` and the rule's exposed headers.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { CorsOperation } from '../../infra/b2/wire/cors';
import type { CorsRule } from '../core/types';
import type { Engine } from '../core/engine';
import { errors } from '../core/errors';
import { b2Decode } from './http';
import type { RequestTarget } from '../core/target';

const METHODS: Record<string, string> = {
  b2_download_file_by_name: 'GET, HEAD',
  b2_download_file_by_id: 'GET, HEAD, POST',
  b2_upload_file: 'POST',
  b2_upload_part: 'POST',
};

/** Glob-ish origin match: exact, `*`, or one `*` wildcard (`https://*.example.com`). */
function originMatches(pattern: string, origin: string): boolean {
  if (pattern === '*' || pattern === origin) return true;
  const star = pattern.indexOf('*');
  if (star < 0) return false;
  const pre = pattern.slice(0, star);
  const post = pattern.slice(star + 1);
  return origin.length >= pre.length + post.length && origin.startsWith(pre) && origin.endsWith(post);
}

function headerAllowed(rule: CorsRule, header: string): boolean {
  const h = header.toLowerCase();
  return (rule.allowedHeaders ?? []).some((a) => {
    const p = a.toLowerCase();
    return p === h || p === '*' || (p.endsWith('*') && h.startsWith(p.slice(0, -1)));
  });
}

/** The bucket a CORS-governed native request addresses, with its operation; null if not governed. */
function target(engine: Engine, url: RequestTarget): { op: CorsOperation; rules: CorsRule[] } | null {
  const p = url.pathname;
  if (p.startsWith('/file/')) {
    const rest = p.slice(6);
    const name = b2Decode(rest.slice(0, Math.max(0, rest.indexOf('/'))), 'bucket name');
    const b = engine.getBucketByName(name);
    return b ? { op: 'b2_download_file_by_name', rules: b.corsRules } : null;
  }
  const m = /^\/b2api\/v\d+\/(b2_download_file_by_id|b2_upload_file|b2_upload_part)(?:\/([^/]+))?/.exec(p);
  if (!m) return null;
  const op = m[1] as CorsOperation; // one of the three names the pattern admits
  let bucketId: string | undefined;
  if (op === 'b2_upload_file') bucketId = m[2];
  else {
    const fileId = op === 'b2_upload_part' ? m[2] : (url.searchParams.get('fileId') ?? undefined);
    bucketId = fileId ? engine.store.getFile(fileId)?.bucketId : undefined;
  }
  const b = bucketId ? engine.store.getBucket(bucketId) : undefined;
  return b ? { op, rules: b.corsRules } : null;
}

/** Answer an OPTIONS preflight; throws 403 when no rule allows it. */
export function handlePreflight(
  engine: Engine,
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget,
): void {
  const origin = req.headers.origin;
  const t = target(engine, url);
  const requested = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const rule =
    origin && t
      ? t.rules.find(
          (r) =>
            r.allowedOperations.includes(t.op) &&
            r.allowedOrigins.some((o) => originMatches(o, origin)) &&
            requested.every((h) => headerAllowed(r, h)),
        )
      : undefined;
  if (!rule || !t || !origin)
    throw errors.accessDenied('CORS preflight refused: no CORS rule of the bucket allows it');
  res.writeHead(200, {
    date: new Date().toUTCString(),
    'access-control-allow-origin': rule.allowedOrigins.includes('*') ? '*' : origin,
    'access-control-allow-methods': METHODS[t.op]!,
    ...(requested.length ? { 'access-control-allow-headers': requested.join(', ') } : {}),
    'access-control-max-age': String(rule.maxAgeSeconds),
    vary: 'Origin',
    'content-length': '0',
  });
  res.end();
}

/** CORS headers for an actual request from an allowed origin (empty otherwise). */
export function corsHeaders(
  engine: Engine,
  req: IncomingMessage,
  url: RequestTarget,
): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return {};
  const t = target(engine, url);
  const rule = t?.rules.find(
    (r) => r.allowedOperations.includes(t.op) && r.allowedOrigins.some((o) => originMatches(o, origin)),
  );
  if (!rule) return {};
  const h: Record<string, string> = {
    'access-control-allow-origin': rule.allowedOrigins.includes('*') ? '*' : origin,
    vary: 'Origin',
  };
  if (rule.exposeHeaders?.length) h['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  return h;
}
