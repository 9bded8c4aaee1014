/** Durations (`30d`, `12h`) and points in time (`--at 2026-05-01T12:00Z`, `--at 3d`). */
import { UsageError } from './errors';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string, field: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!m) throw new UsageError(`${field}: cannot parse duration "${text}" (examples: 90m, 12h, 30d, 2w)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2].toLowerCase()]);
}

/** An explicit UTC offset at the end of an ISO time: `Z`, `+02:00`, `-0530`. */
const OFFSET = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d/;

/**
 * An ISO date/time with an explicit offset, or a duration meaning "that long ago". A time without
 * an offset is refused: `Date.parse` would read it as the machine's local time, so the same
 * command would pick different versions in different time zones.
 */
export function parseInstant(text: string, field: string, nowMs: number): number {
  if (/^\s*\d+(?:\.\d+)?\s*[smhdw]\s*$/i.test(text)) return nowMs - parseDuration(text, field);
  const trimmed = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    throw new UsageError(
      `${field}: "${text}" is a date without a time and UTC offset; write e.g. ${trimmed}T00:00:00Z (UTC) or ${trimmed}T00:00:00+02:00, or an age like 3d`,
    );
  }
  if (DATE_TIME.test(trimmed) && !OFFSET.test(trimmed)) {
    throw new UsageError(
      `${field}: "${text}" has no UTC offset, so it would be read as this machine's local time; add Z (UTC) or ±hh:mm, e.g. ${trimmed}Z or ${trimmed}+02:00, or give an age like 3d`,
    );
  }
  const t = Date.parse(trimmed);
  if (Number.isNaN(t) || !DATE_TIME.test(trimmed))
    throw new UsageError(
      `${field}: cannot parse time "${text}" (ISO 8601, e.g. 2026-05-01T12:00:00Z, or an age like 3d)`,
    );
  return t;
}

/** `2026-11-28T11-05-09-123Z`: sortable, and safe in object keys and file names. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '-').replace('.', '-');
}

export function ymd(ms: number, sep = '-'): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, sep);
}
