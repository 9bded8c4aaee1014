/**
 * Per-request time limits, so a client that stops sending (or trickles) a body cannot hold a
 * connection, an upload slot and a pending blob forever (slow-loris bodies):
 *
 * - idle: no byte in either direction for `idleMs` while the body is still arriving → the
 *   protocol's named timeout answer (S3 400 RequestTimeout, native 408 request_timeout), then the
 *   connection closes; the handler reading the body sees it end and drops what it had. While the
 *   body is complete and the server is still working, idleness is the server's, and is allowed;
 *   once a response has started, an idle reader is cut off (there is nothing left to answer).
 * - total: the whole body must have arrived within `totalMs` of the request's start (a trickle of
 *   one byte a minute defeats an idle limit alone).
 *
 * Headers have their own limit (`headersTimeout` on the server). 0 switches a limit off.
 */
import type { IncomingMessage, ServerResponse } from 'http';

export interface RequestTimeouts {
  idleMs: number;
  totalMs: number;
}

/** Defaults: 60 s without a byte, 15 min for a whole body (a 5 GB upload needs ~6 MB/s). */
export const DEFAULT_TIMEOUTS: RequestTimeouts = { idleMs: 60_000, totalMs: 15 * 60_000 };

/** Calls `answer(seconds)` at most once if the body is late; clears itself when the response ends. */
export function guardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  limits: RequestTimeouts,
  answer: (seconds: number) => void,
): void {
  let fired = false;
  const fire = (ms: number): void => {
    if (fired || req.complete || res.headersSent) return;
    fired = true;
    answer(Math.round(ms / 1000));
  };
  if (limits.idleMs > 0) {
    req.setTimeout(limits.idleMs);
    // Emitted by Node only while the request is incomplete: the body stalled.
    req.on('timeout', () => fire(limits.idleMs));
    // Emitted for any idle period of this request's socket. A listener keeps Node from destroying
    // the socket while the server itself is busy; a stalled reader of a started response is cut.
    res.on('timeout', () => {
      if (res.headersSent && !res.writableEnded) res.destroy();
    });
  }
  if (limits.totalMs > 0) {
    const t = setTimeout(() => fire(limits.totalMs), limits.totalMs);
    t.unref();
    res.once('close', () => clearTimeout(t));
  }
}
