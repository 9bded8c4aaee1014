/**
 * B2's native error body (docs/b2-api.md §6): `{"status":400,"code":"bad_request","message":"…"}`.
 *
 * Real B2 (and proxies in front of it) sometimes answer with a blank or HTML body, and HEAD
 * answers never have one; the codec below returns `null` for anything that is not this shape so
 * callers can fall back to the HTTP status (rclone `errorHandler`).
 */

export interface ErrorBody {
  status: number;
  code: string;
  message: string;
}

/** Code used when the body carries none (blank, HTML, truncated JSON). */
export const UNKNOWN_ERROR_CODE = 'unknown';

/** Decodes an error body; `null` when `text` is not a B2 error object. Never throws. */
export function decodeErrorBody(text: string): ErrorBody | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const o = parsed as Record<string, unknown>;
  if (typeof o.code !== 'string') return null;
  return {
    status: typeof o.status === 'number' ? o.status : 0,
    code: o.code,
    message: typeof o.message === 'string' ? o.message : '',
  };
}

export function encodeErrorBody(body: ErrorBody): string {
  return JSON.stringify({ status: body.status, code: body.code, message: body.message });
}
