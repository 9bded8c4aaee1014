/** Durations (`30d`, `12h`) and points in time (`--at 2026-05-01T12:00Z`, `--at 3d`). */
import { UsageError } from './errors';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string, field: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!m) throw new UsageError(`${field}: cannot parse duration "${text}" (examples: 90m, 12h, 30d, 2w)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2].toLowerCase()]);
}

/** An ISO date/time, or a duration meaning "that long ago". */
export function parseInstant(text: string, field: string, nowMs: number): number {
  if (/^\s*\d+(?:\.\d+)?\s*[smhdw]\s*$/i.test(text)) return nowMs - parseDuration(text, field);
  const t = Date.parse(text);
  if (Number.isNaN(t))
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
