/**
 * S3 XML: rendering by hand (small, predictable, no surprises with empty or repeated elements)
 * and parsing of the request bodies the emulator accepts, with fast-xml-parser. Parsers return
 * plain typed objects and throw `MalformedXML` naming what is wrong.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors';

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

// ---------------------------------------------------------------------------------------------
// Rendering

/** A node: element name → text, nested nodes, or a list (repeated element). Undefined/null skipped. */
export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

/** Escapes text content (the renderer writes no attributes, so quotes stay as they are). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function renderValue(name: string, v: XmlValue): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => renderValue(name, x)).join('');
  if (typeof v === 'object') return `<${name}>${renderChildren(v)}</${name}>`;
  return `<${name}>${escapeXml(String(v))}</${name}>`;
}

function renderChildren(node: XmlNode): string {
  return Object.entries(node)
    .map(([k, v]) => renderValue(k, v))
    .join('');
}

/** One element (or a list of repeated elements) as a fragment, for documents built in order. */
export function renderElement(name: string, v: XmlValue): string {
  return renderValue(name, v);
}

/** A full document from pre-rendered inner XML. */
export function renderXmlRaw(root: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${inner}</${root}>`;
}

/** A full document: `<?xml …?><Root xmlns="…">…</Root>`. */
export function renderXml(root: string, body: XmlNode, withNamespace = true): string {
  const ns = withNamespace ? ` xmlns="${S3_NS}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${renderChildren(body)}</${root}>`;
}

/** S3 timestamps: ISO 8601 with milliseconds, UTC. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Parsing

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false, // keep "0001" and ETags as strings
  trimValues: true,
  // Go's encoding/xml (rclone, restic's minio-go) writes quotes as numeric references (&#34;).
  processEntities: true,
  htmlEntities: true,
  isArray: (name) =>
    [
      'Part',
      'Object',
      'Rule',
      'CORSRule',
      'AllowedOrigin',
      'AllowedMethod',
      'AllowedHeader',
      'ExposeHeader',
    ].includes(name),
});

type Parsed = Record<string, unknown>;

/** Elements nested deeper than this are refused before parsing (S3 documents need < 10). */
const MAX_DEPTH = 32;

/**
 * Parses an S3 request document. Everything the parser refuses — malformed text, a DTD (entity
 * definitions are never needed and could expand), nesting beyond `MAX_DEPTH`, element names such
 * as `__proto__` or `constructor` — is 400 MalformedXML, never an internal error.
 */
export function parseXml(body: Buffer | string, root: string): Parsed {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '')
    throw new S3Error('MalformedXML', `The request body is empty; expected a <${root}> document.`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new S3Error('MalformedXML', 'Document type declarations (DOCTYPE, ENTITY) are not allowed.');
  if (nestingDepth(text) > MAX_DEPTH)
    throw new S3Error('MalformedXML', `The document nests elements deeper than ${MAX_DEPTH} levels.`);
  let doc: Parsed;
  try {
    if (XMLValidator.validate(text) !== true) throw new S3Error('MalformedXML');
    doc = parser.parse(text) as Parsed;
  } catch (e) {
    if (e instanceof S3Error) throw e;
    throw new S3Error('MalformedXML', `The XML could not be parsed: ${(e as Error)?.message ?? String(e)}`);
  }
  if (doc === null || typeof doc !== 'object')
    throw new S3Error('MalformedXML', `Expected a <${root}> document.`);
  const node = Object.prototype.hasOwnProperty.call(doc, root) ? doc[root] : undefined;
  if (node === undefined) throw new S3Error('MalformedXML', `Expected a <${root}> document.`);
  return (node === '' ? {} : node) as Parsed;
}

/** Deepest element nesting of `text` (a cheap scan, before the parser recurses). */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  const tag = /<(\/?)[^>!?]*?(\/?)>/g;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    if (m[1]) depth--;
    else if (!m[2]) max = Math.max(max, ++depth);
  }
  return max;
}

/**
 * The text of an element that must hold text: absent → undefined; elements inside it (e.g.
 * `<Key><x/></Key>`) → MalformedXML naming the element, never a stringified object.
 */
export function xmlText(v: unknown, element: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new S3Error('MalformedXML', `<${element}> must contain text, not elements.`);
}

function str(v: unknown, element = 'element'): string | undefined {
  return xmlText(v, element);
}

function list(v: unknown): Parsed[] {
  if (v === undefined || v === null || v === '') return [];
  return (Array.isArray(v) ? v : [v]) as Parsed[];
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…` */
export function parseCompleteMultipartUpload(body: Buffer): CompletedPart[] {
  const root = parseXml(body, 'CompleteMultipartUpload');
  const parts = list(root.Part).map((p, i) => {
    const n = Number(str(p.PartNumber, 'PartNumber'));
    const etag = str(p.ETag, 'ETag');
    if (!Number.isInteger(n) || n < 1 || n > 10000) {
      throw new S3Error(
        'InvalidArgument',
        `Part[${i}].PartNumber must be an integer 1–10000, got "${str(p.PartNumber, 'PartNumber')}".`,
      );
    }
    if (!etag) throw new S3Error('MalformedXML', `Part[${i}] (PartNumber ${n}) has no ETag.`);
    return { partNumber: n, etag: etag.trim().replace(/^"|"$/g, '') };
  });
  if (parts.length === 0) throw new S3Error('MalformedXML', 'CompleteMultipartUpload lists no Part.');
  return parts;
}

export interface DeleteObjectsRequest {
  quiet: boolean;
  objects: Array<{ key: string; versionId: string | null }>;
}

/** `<Delete><Quiet/><Object><Key/><VersionId/></Object>…` (at most 1000 objects). */
export function parseDeleteObjects(body: Buffer): DeleteObjectsRequest {
  const root = parseXml(body, 'Delete');
  const objects = list(root.Object).map((o, i) => {
    const key = str(o.Key, 'Key');
    if (key === undefined || key === '') throw new S3Error('MalformedXML', `Object[${i}] has no Key.`);
    return { key, versionId: str(o.VersionId, 'VersionId') ?? null };
  });
  if (objects.length === 0) throw new S3Error('MalformedXML', 'Delete lists no Object.');
  if (objects.length > 1000)
    throw new S3Error('MalformedXML', `Delete lists ${objects.length} objects; at most 1000 are allowed.`);
  return { quiet: str(root.Quiet, 'Quiet')?.toLowerCase() === 'true', objects };
}

export interface S3LifecycleRule {
  id: string | null;
  prefix: string;
  enabled: boolean;
  expirationDays: number | null;
  expiredObjectDeleteMarker: boolean;
  noncurrentDays: number | null;
  abortIncompleteDays: number | null;
}

function optDays(v: unknown, field: string): number | null {
  const s = str(v);
  if (s === undefined) return null;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1)
    throw new S3Error('InvalidArgument', `${field} must be a positive integer, got "${s}".`);
  return n;
}

/**
 * `<LifecycleConfiguration><Rule>` with ID, Filter/Prefix (or legacy Prefix), Status, Expiration
 * (Days | ExpiredObjectDeleteMarker), NoncurrentVersionExpiration, AbortIncompleteMultipartUpload.
 * Transitions and date-based or tag filters do not exist on B2: refused with NotImplemented.
 */
export function parseLifecycleConfiguration(body: Buffer): S3LifecycleRule[] {
  const root = parseXml(body, 'LifecycleConfiguration');
  return list(root.Rule).map((r, i) => {
    const where = `Rule[${i}]${str(r.ID, 'ID') ? ` (ID ${str(r.ID, 'ID')})` : ''}`;
    if (r.Transition !== undefined || r.NoncurrentVersionTransition !== undefined) {
      throw new S3Error(
        'NotImplemented',
        `${where}: B2 has no storage classes, so transitions are not supported.`,
      );
    }
    const filter = (r.Filter ?? {}) as Parsed;
    if (
      filter.Tag !== undefined ||
      filter.And !== undefined ||
      filter.ObjectSizeGreaterThan !== undefined ||
      filter.ObjectSizeLessThan !== undefined
    ) {
      throw new S3Error('NotImplemented', `${where}: only a Prefix filter is supported on B2.`);
    }
    const exp = (r.Expiration ?? undefined) as Parsed | undefined;
    if (exp && exp.Date !== undefined)
      throw new S3Error('NotImplemented', `${where}: Expiration.Date is not supported on B2; use Days.`);
    const status = str(r.Status, 'Status');
    if (status !== 'Enabled' && status !== 'Disabled') {
      throw new S3Error(
        'MalformedXML',
        `${where}: Status must be Enabled or Disabled, got "${status ?? ''}".`,
      );
    }
    const nce = (r.NoncurrentVersionExpiration ?? undefined) as Parsed | undefined;
    const abort = (r.AbortIncompleteMultipartUpload ?? undefined) as Parsed | undefined;
    return {
      id: str(r.ID, 'ID') ?? null,
      prefix: str(filter.Prefix, 'Prefix') ?? str(r.Prefix, 'Prefix') ?? '',
      enabled: status === 'Enabled',
      expirationDays: exp ? optDays(exp.Days, `${where}.Expiration.Days`) : null,
      expiredObjectDeleteMarker:
        str(exp?.ExpiredObjectDeleteMarker, 'ExpiredObjectDeleteMarker')?.toLowerCase() === 'true',
      noncurrentDays: nce
        ? optDays(nce.NoncurrentDays, `${where}.NoncurrentVersionExpiration.NoncurrentDays`)
        : null,
      abortIncompleteDays: abort
        ? optDays(abort.DaysAfterInitiation, `${where}.AbortIncompleteMultipartUpload.DaysAfterInitiation`)
        : null,
    };
  });
}

/** `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>` → algorithm. */
export function parseEncryptionConfiguration(body: Buffer): 'AES256' {
  const root = parseXml(body, 'ServerSideEncryptionConfiguration');
  const rules = list(root.Rule);
  if (rules.length !== 1)
    throw new S3Error('MalformedXML', 'ServerSideEncryptionConfiguration needs exactly one Rule.');
  const apply = (rules[0].ApplyServerSideEncryptionByDefault ?? {}) as Parsed;
  const alg = str(apply.SSEAlgorithm, 'SSEAlgorithm');
  if (alg !== 'AES256') {
    throw new S3Error('InvalidArgument', `SSEAlgorithm must be AES256 on B2 (SSE-B2), got "${alg ?? ''}".`);
  }
  return 'AES256';
}

/** Optional `<CreateBucketConfiguration><LocationConstraint>`. */
export function parseCreateBucketConfiguration(body: Buffer): string | null {
  if (body.length === 0 || body.toString('utf8').trim() === '') return null;
  const root = parseXml(body, 'CreateBucketConfiguration');
  return str(root.LocationConstraint, 'LocationConstraint') ?? null;
}

export interface S3CorsRule {
  id: string | null;
  origins: string[];
  methods: string[];
  headers: string[];
  expose: string[];
  maxAgeSeconds: number | null;
}

/** `<CORSConfiguration><CORSRule>…` */
export function parseCorsConfiguration(body: Buffer): S3CorsRule[] {
  const root = parseXml(body, 'CORSConfiguration');
  const rules = list(root.CORSRule);
  if (rules.length === 0) throw new S3Error('MalformedXML', 'CORSConfiguration lists no CORSRule.');
  const strings = (v: unknown): string[] =>
    (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => xmlText(x, 'CORSRule element') ?? '');
  return rules.map((r, i) => {
    const origins = strings(r.AllowedOrigin);
    const methods = strings(r.AllowedMethod);
    if (origins.length === 0 || methods.length === 0) {
      throw new S3Error(
        'MalformedXML',
        `CORSRule[${i}] needs at least one AllowedOrigin and one AllowedMethod.`,
      );
    }
    const max = str(r.MaxAgeSeconds, 'MaxAgeSeconds');
    return {
      id: str(r.ID, 'ID') ?? null,
      origins,
      methods,
      headers: strings(r.AllowedHeader),
      expose: strings(r.ExposeHeader),
      maxAgeSeconds: max === undefined ? null : Number(max),
    };
  });
}
