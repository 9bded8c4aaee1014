/**
 * Process-wide test hooks shared by every region and protocol layer: call statistics, fault
 * injection rules (admin API) and the `--rate-limit` token bucket.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { FaultAction, Faults, RateLimiter, Stats } from './context';

export class StatsCollector implements Stats {
  private byOp = new Map<string, number>();
  private byRegion = new Map<string, Map<string, number>>();

  record(operation: string, region: string): void {
    this.byOp.set(operation, (this.byOp.get(operation) ?? 0) + 1);
    let r = this.byRegion.get(region);
    if (!r) this.byRegion.set(region, (r = new Map()));
    r.set(operation, (r.get(operation) ?? 0) + 1);
  }

  snapshot(): {
    total: number;
    operations: Record<string, number>;
    regions: Record<string, Record<string, number>>;
  } {
    const operations = Object.fromEntries([...this.byOp].sort(([a], [b]) => (a < b ? -1 : 1)));
    const regions = Object.fromEntries([...this.byRegion].map(([k, m]) => [k, Object.fromEntries(m)]));
    const total = [...this.byOp.values()].reduce((a, b) => a + b, 0);
    return { total, operations, regions };
  }

  reset(): void {
    this.byOp.clear();
    this.byRegion.clear();
  }
}

/** A fault rule as posted to `POST /__admin/faults`. */
export interface FaultRule {
  /** Operation name (`b2_upload_file`, `s3:PutObject`, …); omitted = any. */
  operation?: string;
  /** Regular expression on the request path (`/b2api/v2/b2_list_file_names`); omitted = any. */
  path?: string;
  /** HTTP method; omitted = any. */
  method?: string;
  /**
   * `error` (default) answers status+code; `reset` destroys the connection before the operation
   * runs; `drop-after` runs the operation (committed as usual) and then destroys the connection
   * instead of answering, so clients can be tested against a lost response to a non-idempotent call.
   */
  action?: 'error' | 'reset' | 'drop-after';
  status?: number;
  code?: string;
  message?: string;
  retryAfter?: number;
  /** Fire for the next N matching calls (default: every call, until cleared). */
  count?: number;
  /** Fire for this fraction (0–1) of matching calls. */
  fraction?: number;
}

interface ActiveRule extends FaultRule {
  id: number;
  re: RegExp | null;
  remaining: number | null;
  fired: number;
}

export class FaultInjector implements Faults {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  /** Validate and add a rule; returns its id. Throws Error with a message naming the field. */
  add(rule: FaultRule): number {
    if (rule === null || typeof rule !== 'object' || Array.isArray(rule))
      throw new Error('fault rule must be a JSON object');
    const known = new Set([
      'operation',
      'path',
      'method',
      'action',
      'status',
      'code',
      'message',
      'retryAfter',
      'count',
      'fraction',
    ]);
    for (const k of Object.keys(rule))
      if (!known.has(k))
        throw new Error(`unknown fault rule field "${k}" (fields: ${[...known].join(', ')})`);
    for (const k of ['operation', 'path', 'method', 'message'] as const)
      if (rule[k] !== undefined && (typeof rule[k] !== 'string' || rule[k] === ''))
        throw new Error(`${k} must be a non-empty string`);
    // An empty code is allowed on purpose: it answers a body without a code, which is how tests
    // reach a client's "no code in the body" fallback.
    if (rule.code !== undefined && typeof rule.code !== 'string') throw new Error('code must be a string');
    if (rule.method !== undefined && !/^[A-Za-z]{1,20}$/.test(rule.method))
      throw new Error(
        `method must be an HTTP method name such as "POST", got ${JSON.stringify(rule.method)}`,
      );
    if (rule.code !== undefined && !/^[A-Za-z0-9_]{0,64}$/.test(rule.code))
      throw new Error('code must be at most 64 letters, digits or "_"');
    if (rule.message !== undefined && (rule.message.length > 1000 || /[\r\n]/.test(rule.message)))
      throw new Error('message must be at most 1000 characters on one line');
    const action = rule.action ?? 'error';
    if (action !== 'error' && action !== 'reset' && action !== 'drop-after')
      throw new Error('action must be "error", "reset" or "drop-after"');
    if (action === 'error') {
      if (!Number.isInteger(rule.status) || rule.status! < 400 || rule.status! > 599)
        throw new Error('status must be an HTTP error status 400-599');
    }
    if (rule.count !== undefined && (!Number.isInteger(rule.count) || rule.count < 1))
      throw new Error('count must be a positive integer');
    if (
      rule.fraction !== undefined &&
      (typeof rule.fraction !== 'number' || rule.fraction <= 0 || rule.fraction > 1)
    )
      throw new Error('fraction must be a number in (0, 1]');
    if (rule.retryAfter !== undefined && (!Number.isInteger(rule.retryAfter) || rule.retryAfter < 0))
      throw new Error('retryAfter must be a non-negative integer (seconds)');
    let re: RegExp | null = null;
    if (rule.path !== undefined) {
      try {
        re = new RegExp(rule.path);
      } catch (e) {
        throw new Error(`path is not a valid regular expression: ${(e as Error).message}`, { cause: e });
      }
    }
    const id = this.nextId++;
    this.rules.push({ ...rule, action, id, re, remaining: rule.count ?? null, fired: 0 });
    return id;
  }

  clear(): void {
    this.rules = [];
  }

  list(): Omit<ActiveRule, 're'>[] {
    return this.rules.map(({ re: _re, ...r }) => r);
  }

  match(operation: string, req: IncomingMessage): FaultAction | null {
    const path = (req.url ?? '/').split('?')[0]!;
    for (const r of this.rules) {
      if (r.operation && r.operation !== operation) continue;
      if (r.method && r.method.toUpperCase() !== req.method) continue;
      if (r.re && !r.re.test(path)) continue;
      if (r.remaining !== null && r.remaining <= 0) continue;
      if (r.fraction !== undefined && Math.random() >= r.fraction) continue;
      if (r.remaining !== null) r.remaining--;
      r.fired++;
      if (r.action === 'reset') return { kind: 'reset' };
      if (r.action === 'drop-after') return { kind: 'drop-after' };
      const status = r.status!;
      return {
        kind: 'error',
        status,
        code: r.code ?? defaultCode(status),
        message: r.message ?? `injected fault (${status})`,
        retryAfter: r.retryAfter,
      };
    }
    return null;
  }
}

/**
 * `drop-after`: let the operation run and commit, then destroy the connection instead of sending
 * whatever answer it produced (success or error). Call before the operation runs.
 */
export function dropAnswer(req: IncomingMessage, res: ServerResponse): void {
  const drop = (): ServerResponse => {
    req.socket.destroy();
    return res;
  };
  res.writeHead = drop as unknown as ServerResponse['writeHead'];
  res.flushHeaders = drop as unknown as ServerResponse['flushHeaders'];
  res.write = ((): boolean => {
    drop();
    return false;
  }) as unknown as ServerResponse['write'];
  res.end = drop as unknown as ServerResponse['end'];
}

function defaultCode(status: number): string {
  switch (status) {
    case 401:
      return 'expired_auth_token';
    case 408:
      return 'request_timeout';
    case 429:
      return 'too_many_requests';
    case 500:
      return 'internal_error';
    case 503:
      return 'service_unavailable';
    default:
      return 'bad_request';
  }
}

/** Token bucket: `rps` calls per second with a burst of `rps`; shared by native and S3 layers. */
export class TokenBucketLimiter implements RateLimiter {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly rps: number | null) {
    this.tokens = rps ?? 0;
  }

  take(): number | null {
    if (!this.rps) return null;
    const now = Date.now();
    this.tokens = Math.min(this.rps, this.tokens + ((now - this.last) / 1000) * this.rps);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rps));
  }
}
