/**
 * Semantic validation of B2 inputs (docs/b2-api.md §4). Each failure is a B2Error whose message names
 * the field and the rule, so a caller knows what to fix.
 */
import { CORS_OPERATIONS, type CorsOperation } from '../../infra/b2/wire/cors';
import { B2Error, errors } from './errors';
import type {
  CorsRule,
  DefaultRetention,
  FileRetention,
  LifecycleRule,
  ReplicationConfiguration,
  ReplicationRule,
  SseSetting,
} from './types';

const bad = errors.badRequest;

export const MAX_FILE_NAME_BYTES = 1024;
export const MAX_FILE_INFO_ENTRIES = 10;
export const MAX_HEADER_BYTES = 7000;
export const MAX_HEADER_BYTES_SSE_OR_LOCK = 2048;
export const MIN_PART_SIZE = 5_000_000;
export const RECOMMENDED_PART_SIZE = 100_000_000;
export const MAX_PART_SIZE = 5_000_000_000;
export const MAX_SIMPLE_UPLOAD = 5_000_000_000;
export const MAX_COPY_SIZE = 5_000_000_000;
export const MAX_LARGE_FILE_SIZE = 10_000_000_000_000;
export const MAX_PART_NUMBER = 10000;
export const MAX_BUCKETS = 100;

/** Reserved `b2-*` file info names; served back as real headers on download. */
export const RESERVED_INFO_HEADERS: Record<string, string> = {
  'b2-content-disposition': 'Content-Disposition',
  'b2-content-language': 'Content-Language',
  'b2-expires': 'Expires',
  'b2-cache-control': 'Cache-Control',
  'b2-content-encoding': 'Content-Encoding',
};

export function validateBucketName(name: unknown): string {
  if (typeof name !== 'string') throw bad('bucketName must be a string');
  if (name.length < 6 || name.length > 63)
    throw bad(`Invalid bucketName: ${name}: bucket names must be 6 to 63 characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name))
    throw bad(`Invalid bucketName: ${name}: only letters, digits and "-" are allowed`);
  if (/^b2-/i.test(name)) throw bad(`Invalid bucketName: ${name}: names starting with "b2-" are reserved`);
  return name;
}

export function validateBucketType(t: unknown, field = 'bucketType'): string {
  if (t !== 'allPublic' && t !== 'allPrivate')
    throw bad(`Invalid ${field}: ${String(t)}: must be "allPublic" or "allPrivate"`);
  return t;
}

export function validateBucketInfo(info: unknown): Record<string, string> {
  const obj = stringMap(info, 'bucketInfo');
  if (Object.keys(obj).length > MAX_FILE_INFO_ENTRIES)
    throw bad(
      `bucketInfo has ${Object.keys(obj).length} entries; at most ${MAX_FILE_INFO_ENTRIES} are allowed`,
    );
  return obj;
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`${field} must be a JSON object`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw bad(`${field}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

export function validateFileName(name: unknown, field = 'fileName'): string {
  if (typeof name !== 'string') throw bad(`${field} must be a string`);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1) throw bad(`${field} must not be empty`);
  if (bytes > MAX_FILE_NAME_BYTES)
    throw bad(`${field} is ${bytes} bytes of UTF-8; at most ${MAX_FILE_NAME_BYTES} are allowed`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw bad(`${field} must not contain control characters or DEL`);
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name))
    throw bad(`${field} is not valid UTF-8`);
  return name;
}

/**
 * Can `v` be sent as an HTTP header value as is? Tab, space and visible ASCII only. CR, LF and
 * other controls can never be sent; RFC 9110 tolerates obs-text (0x80-0xff), but Node refuses it
 * in some responses (with a Content-Length, ERR_INVALID_CHAR) and clients read it differently, so
 * it is refused too: such a value would fail the whole response.
 */
export function isHeaderValue(v: string): boolean {
  return /^[\t\x20-\x7e]*$/.test(v);
}

/** A value for a response header: as is when it can be sent, else percent-encoded (stored before validation). */
export function headerSafe(v: string): string {
  return isHeaderValue(v) ? v : encodeURIComponent(v);
}

const INFO_KEY_RE = /^[A-Za-z0-9\-_.`~!#$%^&*'|+]{1,50}$/;

/** Validates file info and returns it with lower-cased keys (B2 stores them lower-case). */
export function validateFileInfo(info: unknown, field = 'fileInfo'): Record<string, string> {
  if (info === undefined || info === null) return {};
  const obj = stringMap(info, field);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!INFO_KEY_RE.test(k))
      throw bad(`${field} key "${k}" is invalid: 1-50 letters, digits or -_.\`~!#$%^&*'|+`);
    const key = k.toLowerCase();
    if (key.startsWith('b2-') && !(key in RESERVED_INFO_HEADERS))
      throw bad(
        `${field} key "${k}" is invalid: "b2-" names are reserved (${Object.keys(RESERVED_INFO_HEADERS).join(', ')})`,
      );
    // reserved values are served back as real response headers (Content-Disposition & co.)
    if (key in RESERVED_INFO_HEADERS && !isHeaderValue(v))
      throw bad(
        `${field} value of "${k}" cannot be an HTTP header value: only printable ASCII, no CR, LF or other control characters (percent-encode the rest, e.g. RFC 6266 filename*=UTF-8''…)`,
      );
    out[key] = v;
  }
  if (Object.keys(out).length > MAX_FILE_INFO_ENTRIES)
    throw bad(
      `${field} has ${Object.keys(out).length} entries; at most ${MAX_FILE_INFO_ENTRIES} are allowed`,
    );
  return out;
}

/** The name + info header budget (7000 bytes, 2048 with SSE or on an Object Lock bucket). */
export function checkHeaderBudget(fileName: string, info: Record<string, string>, tight: boolean): void {
  let n = Buffer.byteLength(fileName, 'utf8');
  for (const [k, v] of Object.entries(info)) n += Buffer.byteLength(k) + 10 + Buffer.byteLength(v);
  const max = tight ? MAX_HEADER_BYTES_SSE_OR_LOCK : MAX_HEADER_BYTES;
  if (n > max) throw bad(`file name and fileInfo take ${n} bytes; at most ${max} are allowed here`);
}

export function validateContentType(ct: unknown): string {
  if (ct === undefined || ct === null || ct === '') return 'b2/x-auto';
  if (typeof ct !== 'string') throw bad('contentType must be a string');
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/.test(ct) || !isHeaderValue(ct))
    throw bad(
      `Invalid contentType: ${JSON.stringify(ct)} (type/subtype[; parameters], header characters only)`,
    );
  return ct;
}

const MIME_BY_EXT: Record<string, string> = {
  txt: 'text/plain',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  csv: 'text/csv',
  js: 'application/javascript',
  json: 'application/json',
  xml: 'application/xml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  tar: 'application/x-tar',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  yaml: 'application/x-yaml',
  yml: 'application/x-yaml',
  sql: 'application/sql',
  md: 'text/markdown',
};

/** `b2/x-auto` → by extension, else application/octet-stream. */
export function resolveContentType(ct: string, fileName: string): string {
  if (ct !== 'b2/x-auto') return ct;
  const m = /\.([A-Za-z0-9]+)$/.exec(fileName);
  return (m && MIME_BY_EXT[m[1]!.toLowerCase()]) || 'application/octet-stream';
}

function positiveIntOrNull(v: unknown, field: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw bad(`${field} must be a positive integer or null, got ${JSON.stringify(v)}`);
  return v;
}

export function validateLifecycleRules(v: unknown): LifecycleRule[] {
  if (!Array.isArray(v)) throw bad('lifecycleRules must be an array');
  if (v.length > 100) throw bad(`lifecycleRules has ${v.length} rules; at most 100 are allowed`);
  const rules = v.map((r, i): LifecycleRule => {
    const f = `lifecycleRules[${i}]`;
    if (r === null || typeof r !== 'object') throw bad(`${f} must be an object`);
    const o = r as Record<string, unknown>;
    if (typeof o.fileNamePrefix !== 'string')
      throw bad(`${f}.fileNamePrefix is required (a string; "" = all files)`);
    const rule: LifecycleRule = {
      fileNamePrefix: o.fileNamePrefix,
      daysFromUploadingToHiding: positiveIntOrNull(
        o.daysFromUploadingToHiding,
        `${f}.daysFromUploadingToHiding`,
      ),
      daysFromHidingToDeleting: positiveIntOrNull(
        o.daysFromHidingToDeleting,
        `${f}.daysFromHidingToDeleting`,
      ),
      daysFromStartingToCancelingUnfinishedLargeFiles: positiveIntOrNull(
        o.daysFromStartingToCancelingUnfinishedLargeFiles,
        `${f}.daysFromStartingToCancelingUnfinishedLargeFiles`,
      ),
    };
    for (const k of Object.keys(o)) {
      if (
        ![
          'fileNamePrefix',
          'daysFromUploadingToHiding',
          'daysFromHidingToDeleting',
          'daysFromStartingToCancelingUnfinishedLargeFiles',
        ].includes(k)
      )
        throw bad(
          `${f}.${k} is not a lifecycle rule field (fields: fileNamePrefix, daysFromUploadingToHiding, daysFromHidingToDeleting, daysFromStartingToCancelingUnfinishedLargeFiles)`,
        );
    }
    if (
      rule.daysFromUploadingToHiding === null &&
      rule.daysFromHidingToDeleting === null &&
      !rule.daysFromStartingToCancelingUnfinishedLargeFiles
    )
      throw bad(`${f} must set at least one of the days fields`);
    return rule;
  });
  for (let i = 0; i < rules.length; i++)
    for (let j = i + 1; j < rules.length; j++) {
      const a = rules[i]!.fileNamePrefix;
      const b = rules[j]!.fileNamePrefix;
      if (a.startsWith(b) || b.startsWith(a))
        throw bad(
          `lifecycleRules[${i}] and lifecycleRules[${j}] overlap (prefixes "${a}" and "${b}"): no two rules may match one file`,
        );
    }
  return rules;
}

const CORS_OPS: ReadonlySet<string> = new Set(CORS_OPERATIONS);
const isCorsOperation = (op: string): op is CorsOperation => CORS_OPS.has(op);

function stringArray(v: unknown, field: string, optional: boolean): string[] | undefined {
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw bad(`${field} is required`);
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw bad(`${field} must be an array of strings`);
  return v as string[];
}

export function validateCorsRules(v: unknown): CorsRule[] {
  if (!Array.isArray(v)) throw bad('corsRules must be an array');
  if (v.length > 100) throw bad(`corsRules has ${v.length} rules; at most 100 are allowed`);
  const names = new Set<string>();
  return v.map((r, i): CorsRule => {
    const f = `corsRules[${i}]`;
    if (r === null || typeof r !== 'object') throw bad(`${f} must be an object`);
    const o = r as Record<string, unknown>;
    const name = o.corsRuleName;
    if (typeof name !== 'string' || !/^[A-Za-z0-9-]{6,50}$/.test(name))
      throw bad(`${f}.corsRuleName must be 6-50 letters, digits or "-"`);
    if (/^b2-/i.test(name)) throw bad(`${f}.corsRuleName must not start with "b2-"`);
    if (names.has(name)) throw bad(`${f}.corsRuleName "${name}" is used twice`);
    names.add(name);
    const origins = stringArray(o.allowedOrigins, `${f}.allowedOrigins`, false)!;
    if (origins.length === 0) throw bad(`${f}.allowedOrigins must not be empty`);
    if (origins.includes('*') && origins.length > 1)
      throw bad(`${f}.allowedOrigins: "*" must be the only origin`);
    if (origins.filter((x) => x.startsWith('https')).length > 1)
      throw bad(`${f}.allowedOrigins may contain at most one https origin`);
    const ops: CorsOperation[] = [];
    for (const op of stringArray(o.allowedOperations, `${f}.allowedOperations`, false)!) {
      if (!isCorsOperation(op)) throw bad(`${f}.allowedOperations: unknown operation "${op}"`);
      ops.push(op);
    }
    if (ops.length === 0) throw bad(`${f}.allowedOperations must not be empty`);
    const allowedHeaders = stringArray(o.allowedHeaders, `${f}.allowedHeaders`, true);
    const exposeHeaders = stringArray(o.exposeHeaders, `${f}.exposeHeaders`, true);
    const maxAge = o.maxAgeSeconds;
    if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > 86400)
      throw bad(`${f}.maxAgeSeconds must be an integer 0-86400`);
    const rule: CorsRule = {
      corsRuleName: name,
      allowedOrigins: origins,
      allowedOperations: ops,
      maxAgeSeconds: maxAge,
    };
    if (allowedHeaders) rule.allowedHeaders = allowedHeaders;
    if (exposeHeaders) rule.exposeHeaders = exposeHeaders;
    if (JSON.stringify(rule).length >= 1000)
      throw bad(`${f} is ${JSON.stringify(rule).length} bytes; must be < 1000`);
    return rule;
  });
}

/** Bucket default SSE: SSE-B2 or none (SSE-C is never a bucket default). */
export function validateDefaultSse(v: unknown): SseSetting | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') throw bad('defaultServerSideEncryption must be an object');
  const o = v as Record<string, unknown>;
  if (o.mode === 'none' || o.mode === null || o.mode === undefined) return null;
  if (o.mode !== 'SSE-B2')
    throw bad(`defaultServerSideEncryption.mode must be "SSE-B2" or "none", got ${JSON.stringify(o.mode)}`);
  if (o.algorithm !== undefined && o.algorithm !== 'AES256')
    throw bad('defaultServerSideEncryption.algorithm must be "AES256"');
  return { mode: 'SSE-B2', algorithm: 'AES256' };
}

export function validateDefaultRetention(v: unknown): DefaultRetention {
  if (v === null || typeof v !== 'object') throw bad('defaultRetention must be an object');
  const o = v as Record<string, unknown>;
  if (o.mode === null || o.mode === 'none' || o.mode === undefined) return { mode: null, period: null };
  if (o.mode !== 'governance' && o.mode !== 'compliance')
    throw bad('defaultRetention.mode must be "governance", "compliance" or "none"');
  const p = o.period as Record<string, unknown> | null | undefined;
  if (!p || typeof p !== 'object') throw bad('defaultRetention.period is required with a retention mode');
  if (p.unit !== 'days' && p.unit !== 'years')
    throw bad('defaultRetention.period.unit must be "days" or "years"');
  const d = p.duration;
  const maxD = p.unit === 'days' ? 3000 : 8;
  if (
    typeof d !== 'number' ||
    !Number.isInteger(d) ||
    d < 1 ||
    (p.unit === 'days' ? d : d * 365) > 3000 ||
    d > maxD
  )
    throw bad('defaultRetention.period.duration must be an integer giving 1-3000 days');
  return { mode: o.mode, period: { duration: d, unit: p.unit } };
}

export function validateFileRetention(v: unknown, now: number, field = 'fileRetention'): FileRetention {
  if (v === null || typeof v !== 'object') throw bad(`${field} must be an object`);
  const o = v as Record<string, unknown>;
  if (o.mode === null || o.mode === undefined || o.mode === 'none')
    return { mode: null, retainUntilTimestamp: null };
  if (o.mode !== 'governance' && o.mode !== 'compliance')
    throw bad(`${field}.mode must be "governance" or "compliance"`);
  const t = o.retainUntilTimestamp;
  if (typeof t !== 'number' || !Number.isInteger(t))
    throw bad(`${field}.retainUntilTimestamp must be milliseconds`);
  if (t <= now) throw bad(`${field}.retainUntilTimestamp must be in the future`);
  return { mode: o.mode, retainUntilTimestamp: t };
}

export function validateLegalHold(v: unknown, field = 'legalHold'): 'on' | 'off' {
  if (v !== 'on' && v !== 'off') throw bad(`${field} must be "on" or "off"`);
  return v;
}

export function validateReplication(v: unknown): ReplicationConfiguration | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') throw bad('replicationConfiguration must be an object');
  const o = v as Record<string, unknown>;
  const out: ReplicationConfiguration = { asReplicationSource: null, asReplicationDestination: null };
  const src = o.asReplicationSource as Record<string, unknown> | null | undefined;
  if (src) {
    if (typeof src.sourceApplicationKeyId !== 'string')
      throw bad('replicationConfiguration.asReplicationSource.sourceApplicationKeyId must be a string');
    if (!Array.isArray(src.replicationRules))
      throw bad('replicationConfiguration.asReplicationSource.replicationRules must be an array');
    if (src.replicationRules.length > 2)
      throw bad(
        'replicationConfiguration.asReplicationSource.replicationRules: at most 2 rules per source bucket',
      );
    const rules = src.replicationRules.map((r: unknown, i: number): ReplicationRule => {
      const f = `replicationConfiguration.asReplicationSource.replicationRules[${i}]`;
      const x = (r ?? {}) as Record<string, unknown>;
      if (typeof x.replicationRuleName !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(x.replicationRuleName))
        throw bad(`${f}.replicationRuleName must match ^[a-zA-Z0-9_-]{1,64}$`);
      if (typeof x.destinationBucketId !== 'string' || !x.destinationBucketId)
        throw bad(`${f}.destinationBucketId must be a bucket id`);
      const prefix = x.fileNamePrefix ?? '';
      if (typeof prefix !== 'string') throw bad(`${f}.fileNamePrefix must be a string`);
      const priority = x.priority ?? 128;
      if (
        typeof priority !== 'number' ||
        !Number.isInteger(priority) ||
        priority < 1 ||
        priority > 2147483647
      )
        throw bad(`${f}.priority must be an integer 1-2147483647`);
      for (const b of ['includeExistingFiles', 'isEnabled'] as const)
        if (x[b] !== undefined && typeof x[b] !== 'boolean') throw bad(`${f}.${b} must be a boolean`);
      return {
        replicationRuleName: x.replicationRuleName,
        destinationBucketId: x.destinationBucketId,
        fileNamePrefix: prefix,
        includeExistingFiles: x.includeExistingFiles === true,
        isEnabled: x.isEnabled !== false,
        priority,
      };
    });
    const names = new Set(rules.map((r) => r.replicationRuleName));
    if (names.size !== rules.length)
      throw bad('replicationConfiguration: replicationRuleName values must be unique');
    out.asReplicationSource = { sourceApplicationKeyId: src.sourceApplicationKeyId, replicationRules: rules };
  }
  const dst = o.asReplicationDestination as Record<string, unknown> | null | undefined;
  if (dst) {
    const mapping = dst.sourceToDestinationKeyMapping;
    out.asReplicationDestination = {
      sourceToDestinationKeyMapping: stringMap(
        mapping ?? {},
        'replicationConfiguration.asReplicationDestination.sourceToDestinationKeyMapping',
      ),
    };
  }
  if (!out.asReplicationSource && !out.asReplicationDestination) return null;
  return out;
}

export function isB2ErrorLike(e: unknown): e is B2Error {
  return e instanceof B2Error;
}
