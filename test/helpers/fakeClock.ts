/** A manual clock for tests: `sleep` returns at once, records the wait and advances virtual time. */
import type { Clock } from '../../infra/b2/clock';

export class FakeClock implements Clock {
  /** Every wait asked of `sleep`, in order. */
  readonly sleeps: number[] = [];
  constructor(private t = Date.UTC(2026, 0, 1)) {}
  /** Same list as `sleeps` (the native-client tests' name). */
  get waits(): number[] {
    return this.sleeps;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

export function fakeClock(start = 1_000_000): FakeClock {
  return new FakeClock(start);
}
