/**
 * The context object the server hands to each protocol layer (native, S3) for one region.
 * The S3 layer (`emulator/s3/index.ts`, `createS3Handler(ctx)`) and the jobs (`emulator/jobs/`)
 * type their argument with `ProtocolContext`.
 */
import type { IncomingMessage } from 'http';
import type { Clock } from './clock';
import type { Engine } from './engine';
import type { Store } from '../store/types';

/** What a matched fault rule asks the protocol layer to do with the request. */
export type FaultAction =
  | { kind: 'reset' }
  | { kind: 'drop-after' }
  | { kind: 'error'; status: number; code: string; message: string; retryAfter?: number };

export interface Stats {
  /** Count one call of `operation` (native: `b2_*` names; S3: `s3:<OperationName>` e.g. `s3:PutObject`). */
  record(operation: string, region: string): void;
}

export interface Faults {
  /** The fault to inject for this call, if a rule matches (consumes one of the rule's `count`). */
  match(operation: string, req: IncomingMessage): FaultAction | null;
}

export interface RateLimiter {
  /** null if the call may proceed, else the seconds for `Retry-After`. */
  take(): number | null;
}

/** Background jobs the S3/lifecycle engineer registers (`POST /__admin/lifecycle/run` etc.). */
export interface JobHooks {
  lifecycle?: (all: RegionRuntime[]) => Promise<unknown>;
  replication?: (all: RegionRuntime[]) => Promise<unknown>;
}

export interface RegionRuntime {
  region: string;
  /** http://127.0.0.1:PORT of this region's server. */
  url: string;
  engine: Engine;
  store: Store;
}

export interface ProtocolContext {
  region: string;
  url: string;
  engine: Engine;
  store: Store;
  clock: Clock;
  stats: Stats;
  faults: Faults;
  rateLimiter: RateLimiter;
  /** Every region of this emulator process (replication crosses accounts/regions). */
  regions: RegionRuntime[];
  /** Registration point for lifecycle/replication runners (shared by all regions). */
  jobs: JobHooks;
  /** Log a line to stderr (never secrets). */
  log(message: string): void;
}
