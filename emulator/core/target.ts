/**
 * The request target as sent, without WHATWG URL normalisation. `new URL(req.url)` would resolve
 * dot segments (`/file/b/d/../b.txt` → `/file/b/b.txt`, `%2e%2e` included) and turn `\` into `/`,
 * serving a different file than the one named. B2 file names are opaque strings, so `.` and `..`
 * are literal name characters here, on both APIs.
 */
import type { IncomingMessage, ServerResponse } from 'http';

export interface RequestTarget {
  /** Path exactly as sent, still percent-encoded (never normalised). */
  pathname: string;
  /** Query parameters (form-decoded, as URLSearchParams does). */
  searchParams: URLSearchParams;
}

/**
 * Did the client go away (nothing can be answered), as opposed to a failure the server must
 * report? A request Node marks destroyed after its body was read still has a connection to answer on.
 */
export function clientGone(req: IncomingMessage, res: ServerResponse, e: unknown): boolean {
  if (res.writableEnded || req.socket?.destroyed) return true;
  const code = (e as NodeJS.ErrnoException)?.code;
  // 'aborted' / ECONNRESET while the body was still arriving: the connection is going down.
  return !req.complete && (code === 'ECONNRESET' || (e as Error)?.message === 'aborted');
}

/** Splits `req.url` (origin form, or absolute form from a proxy); null if it is neither. */
export function requestTarget(raw: string | undefined): RequestTarget | null {
  let t = raw ?? '/';
  const abs = /^https?:\/\/[^/?#]*/i.exec(t);
  if (abs) t = t.slice(abs[0].length) || '/';
  if (!t.startsWith('/')) return null;
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  return {
    pathname: q < 0 ? t : t.slice(0, q),
    searchParams: new URLSearchParams(q < 0 ? '' : t.slice(q + 1)),
  };
}
