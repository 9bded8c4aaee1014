/**
 * Admin API for tests (docs/architecture.md §4), `Authorization: Bearer <adminToken>`:
 *   POST   /__admin/clock             {"advanceSeconds":N} → move the emulator clock forward (≤ 100 years in total)
 *   GET    /__admin/clock
 *   POST   /__admin/lifecycle/run     run lifecycle rules now (hook from emulator/jobs; 501 until registered)
 *   POST   /__admin/replication/run   run replication now (same)
 *   POST   /__admin/faults            a rule or {"rules":[…]} (see FaultRule) → {"ids":[…]}
 *   GET    /__admin/faults            active rules with their fire counts
 *   DELETE /__admin/faults            clear every rule
 *   GET    /__admin/stats             calls per operation (all regions, and per region)
 *   DELETE /__admin/stats             reset the counters
 *   POST   /__admin/reset             empty every region's store (accounts and master keys stay)
 * Admin state is process-wide: any region's port serves the same clock, faults and stats.
 */
import { timingSafeEqual } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import type { JobHooks, RegionRuntime } from './core/context';
import type { Clock } from './core/clock';
import type { RequestTarget } from './core/target';
import { FaultInjector, type FaultRule, StatsCollector } from './core/runtime';

/** The clock moves at most 100 years ahead in total (dates stay valid and 4-digit). */
export const MAX_ADVANCE_SECONDS = 100 * 365 * 86_400;

export interface AdminDeps {
  adminToken: string;
  clock: Clock;
  faults: FaultInjector;
  stats: StatsCollector;
  jobs: JobHooks;
  regions: () => RegionRuntime[];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': String(Buffer.byteLength(text)),
    date: new Date().toUTCString(),
  });
  res.end(text);
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > 1 << 20) throw new Error('admin request body is larger than 1 MiB');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`body is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

function authorized(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createAdminHandler(deps: AdminDeps) {
  async function runJob(res: ServerResponse, name: 'lifecycle' | 'replication'): Promise<void> {
    const hook = deps.jobs[name];
    if (!hook)
      return send(res, 501, {
        status: 501,
        code: 'not_implemented',
        message: `${name} runner is not registered`,
      });
    const result = await hook(deps.regions());
    send(res, 200, { ok: true, result: result ?? null });
  }

  return async (req: IncomingMessage, res: ServerResponse, url: RequestTarget): Promise<void> => {
    if (!authorized(req, deps.adminToken))
      return send(res, 401, {
        status: 401,
        code: 'unauthorized',
        message: 'Authorization: Bearer <adminToken> is required',
      });
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    try {
      switch (route) {
        case 'GET /__admin/clock':
          return send(res, 200, { now: deps.clock.now(), offsetSeconds: deps.clock.offsetSeconds() });
        case 'POST /__admin/clock': {
          const b = (await jsonBody(req)) as { advanceSeconds?: unknown };
          if (
            typeof b.advanceSeconds !== 'number' ||
            !Number.isFinite(b.advanceSeconds) ||
            b.advanceSeconds < 0 ||
            b.advanceSeconds > MAX_ADVANCE_SECONDS ||
            deps.clock.offsetSeconds() + b.advanceSeconds > MAX_ADVANCE_SECONDS
          )
            return send(res, 400, {
              status: 400,
              code: 'bad_request',
              message: `advanceSeconds must be a number 0-${MAX_ADVANCE_SECONDS} (100 years in total; now ${deps.clock.offsetSeconds()} s advanced)`,
            });
          deps.clock.advance(b.advanceSeconds);
          return send(res, 200, { now: deps.clock.now(), offsetSeconds: deps.clock.offsetSeconds() });
        }
        case 'POST /__admin/lifecycle/run':
          return await runJob(res, 'lifecycle');
        case 'POST /__admin/replication/run':
          return await runJob(res, 'replication');
        case 'POST /__admin/faults': {
          const b = (await jsonBody(req)) as { rules?: FaultRule[] } & FaultRule;
          const rules = b && typeof b === 'object' && 'rules' in b ? b.rules : [b];
          if (!Array.isArray(rules) || rules.length > 100)
            return send(res, 400, {
              status: 400,
              code: 'bad_request',
              message: 'rules must be an array of at most 100 fault rules',
            });
          const ids: number[] = [];
          try {
            // validate every rule before adding any, so a refused batch adds nothing
            const probe = new FaultInjector();
            for (const [i, r] of rules.entries()) {
              try {
                probe.add(r);
              } catch (e) {
                throw new Error(
                  rules.length > 1 ? `rules[${i}]: ${(e as Error).message}` : (e as Error).message,
                  { cause: e },
                );
              }
            }
            for (const r of rules) ids.push(deps.faults.add(r));
          } catch (e) {
            return send(res, 400, { status: 400, code: 'bad_request', message: (e as Error).message });
          }
          return send(res, 200, { ids });
        }
        case 'GET /__admin/faults':
          return send(res, 200, { rules: deps.faults.list() });
        case 'DELETE /__admin/faults':
          deps.faults.clear();
          return send(res, 200, { ok: true });
        case 'GET /__admin/stats':
          return send(res, 200, deps.stats.snapshot());
        case 'DELETE /__admin/stats':
          deps.stats.reset();
          return send(res, 200, { ok: true });
        case 'POST /__admin/reset':
          for (const r of deps.regions()) await r.store.reset();
          return send(res, 200, { ok: true });
        default:
          return send(res, 404, { status: 404, code: 'not_found', message: `no admin route ${route}` });
      }
    } catch (e) {
      return send(res, 400, { status: 400, code: 'bad_request', message: (e as Error).message });
    }
  };
}
