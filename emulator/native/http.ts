/**
 * HTTP plumbing of the native API: JSON responses with B2's headers, error bodies, request
 * parameters from a JSON body (POST) or the query string (GET), and B2's string encoding.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { B2Error, errors } from '../core/errors';
import type { RequestTarget } from '../core/target';

const MAX_JSON_BODY = 4 << 20;

/** Headers every native response carries (b2sdk 1.x refuses responses without `Date`). */
function baseHeaders(): Record<string, string> {
  return { date: new Date().toUTCString(), 'cache-control': 'max-age=0, no-cache, no-store' };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...baseHeaders(),
    'content-type': 'application/json;charset=UTF-8',
    'content-length': String(Buffer.byteLength(text)),
    ...extra,
  });
  res.end(text);
}

/** Render a B2Error as `{"status","code","message"}` (HEAD: headers only). */
export function sendError(res: ServerResponse, err: B2Error, head = false): void {
  if (res.writableEnded) return; // answered already (a request timeout): never cut that answer off
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const extra: Record<string, string> = {};
  if (err.retryAfter !== undefined) extra['retry-after'] = String(err.retryAfter);
  if (head) {
    res.writeHead(err.status, {
      ...baseHeaders(),
      'content-type': 'application/json;charset=UTF-8',
      ...extra,
    });
    res.end();
    return;
  }
  sendJson(res, err.status, err.toJSON(), extra);
}

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw errors.badRequest(`request body is larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Fields that GET query strings carry as numbers / booleans / JSON arrays. */
const NUMERIC = new Set([
  'maxFileCount',
  'maxKeyCount',
  'maxPartCount',
  'startPartNumber',
  'validDurationInSeconds',
  'ifRevisionIs',
  'partNumber',
]);
const BOOLEAN = new Set(['fileLockEnabled', 'bypassGovernance']);
const ARRAYS = new Set(['bucketTypes', 'capabilities', 'bucketIds', 'partSha1Array']);

function fromQuery(url: RequestTarget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of url.searchParams) {
    if (NUMERIC.has(k) && /^-?\d+$/.test(val)) out[k] = Number(val);
    else if (BOOLEAN.has(k) && (val === 'true' || val === 'false')) out[k] = val === 'true';
    else if (ARRAYS.has(k)) {
      if (val.startsWith('[')) {
        try {
          out[k] = JSON.parse(val);
        } catch {
          throw errors.badRequest(`${k} is not a valid JSON array`);
        }
      } else out[k] = val === '' ? [] : val.split(',');
    } else out[k] = val;
  }
  return out;
}

/** Parameters of a JSON call: POST body (JSON object), else the query string. */
export async function callParams(req: IncomingMessage, url: RequestTarget): Promise<Record<string, unknown>> {
  if (req.method === 'GET' || req.method === 'HEAD') return fromQuery(url);
  const body = await readBody(req);
  const text = body.toString('utf8').trim();
  if (!text) return fromQuery(url);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw errors.badJson(`request body is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw errors.badJson('request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Typed access to call parameters; each failure names the field. */
export class Params {
  constructor(readonly raw: Record<string, unknown>) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  str(name: string): string {
    const v = this.raw[name];
    if (v === undefined || v === null || v === '') throw errors.badRequest(`Missing required field: ${name}`);
    if (typeof v !== 'string') throw errors.badRequest(`${name} must be a string`);
    return v;
  }

  optStr(name: string): string | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw errors.badRequest(`${name} must be a string`);
    return v;
  }

  optInt(name: string): number | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw errors.badRequest(`${name} must be an integer`);
    return v;
  }

  int(name: string): number {
    const v = this.optInt(name);
    if (v === undefined) throw errors.badRequest(`Missing required field: ${name}`);
    return v;
  }

  optBool(name: string): boolean | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw errors.badRequest(`${name} must be true or false`);
    return v;
  }

  optStrArray(name: string): string[] | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw errors.badRequest(`${name} must be an array of strings`);
    return v as string[];
  }

  /** Raw value (objects validated by the engine, which names nested fields). */
  any(name: string): unknown {
    return this.raw[name];
  }
}

/**
 * B2's string decoding for names in headers, paths and query strings: percent-encoded UTF-8,
 * `+` meaning space (docs/b2-api.md §2.2).
 */
export function b2Decode(s: string, field: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw errors.badRequest(`${field} is not valid percent-encoded UTF-8`);
  }
}

/** Encode a name for `x-bz-file-name` / info headers: `/` kept, `+` as `%2B` (b2sdk reads `+` as space). */
export function b2Encode(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/');
}
