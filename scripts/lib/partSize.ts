/**
 * Multipart part sizing for B2's S3 API (b2-api.md §4, §11): parts 5 MiB..5 GiB, at most 10,000
 * parts; B2 recommends 100 MB parts. For a stream of unknown length the default (100 MB) allows
 * objects up to 1 TB; when the expected size is known the part grows so that the upload keeps
 * 25% headroom below the 10,000-part limit (a dump that outgrows its estimate still fits).
 */
import { UsageError } from './errors';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;
export const DEFAULT_PART_SIZE = 100 * 1000 * 1000; // B2's recommended 100 MB
const HEADROOM = 1.25;

export function choosePartSize(expectedBytes?: number, requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < MIN_PART_SIZE || requested > MAX_PART_SIZE) {
      throw new UsageError(`--part-size must be between 5 MiB and 5 GiB (got ${requested} bytes)`);
    }
  }
  let size = requested ?? DEFAULT_PART_SIZE;
  if (expectedBytes !== undefined && expectedBytes > 0) {
    const needed = Math.ceil((expectedBytes * HEADROOM) / MAX_PARTS);
    if (needed > size) size = Math.ceil(needed / MiB) * MiB;
  }
  if (size > MAX_PART_SIZE) {
    throw new UsageError(`an object of ${expectedBytes} bytes cannot fit 10,000 parts of at most 5 GiB`);
  }
  return size;
}

/** Parses sizes like `100MB`, `64MiB`, `5GiB`, `1048576`. */
export function parseSize(text: string, field = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${field}: cannot parse "${text}" (examples: 100MB, 64MiB, 5GiB)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const pow = { b: 0, k: 1, m: 2, g: 3, t: 4 }[unit[0] as 'b' | 'k' | 'm' | 'g' | 't'];
  const base = unit.includes('i') ? 1024 : unit === 'b' ? 1 : 1000;
  return Math.round(n * Math.pow(base, pow));
}
