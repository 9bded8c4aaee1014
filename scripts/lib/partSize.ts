/**
 * Multipart part sizing for B2's S3 API (docs/b2-api.md §4, §11): parts 5 MiB..5 GiB, at most 10,000
 * parts, and parts of one upload may differ in size (only the last may be under 5 MiB).
 *
 * The streaming uploader holds parts in memory (no temp-file write and re-read), so the default
 * part is 16 MiB rather than B2's recommended 100 MB: 4 parts in flight plus the one filling stay
 * at 80 MiB. A stream of unknown length must still fit 10,000 parts, so the part size doubles
 * every 2,000 parts (`partSizeFor`): 16 MiB parts carry the first 31 GiB, a 500 GiB stream needs
 * ~8,300 parts, and the schedule tops out near 1 TB (as 100 MB parts did). When the expected size
 * is known the starting part is raised so the stream keeps 25% headroom below 10,000 parts even
 * without growth (a dump that outgrows its estimate still fits).
 */
import { UsageError } from './errors';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;
/** Starting part of a stream whose size is not known: small enough to keep in memory. */
export const DEFAULT_PART_SIZE = 16 * MiB;
/** The part size doubles after every this many parts (see `partSizeFor`). */
export const GROWTH_EVERY_PARTS = 2_000;
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

/**
 * Size of part `partNumber` (1-based) of a stream that starts with `base`-byte parts: doubled
 * every GROWTH_EVERY_PARTS parts, capped at 5 GiB. Sizes depend only on the part number, so a
 * stream that outgrows its estimate keeps fitting instead of failing at part 10,001.
 */
export function partSizeFor(partNumber: number, base: number): number {
  const doublings = Math.floor((partNumber - 1) / GROWTH_EVERY_PARTS);
  return Math.min(MAX_PART_SIZE, base * 2 ** doublings);
}

/** Parts `partSizeFor` needs for a stream of `bytes` starting at `base` (0 bytes → 1 part). */
export function partsNeeded(bytes: number, base: number): number {
  let parts = 0;
  let left = bytes;
  do {
    parts += 1;
    left -= partSizeFor(parts, base);
  } while (left > 0);
  return parts;
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
