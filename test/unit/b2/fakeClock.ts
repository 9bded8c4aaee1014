/** A clock whose sleep returns at once and records the wait, advancing virtual time. */
import type { Clock } from '../../../infra/b2/retry';

export interface FakeClock extends Clock {
  waits: number[];
  advance(ms: number): void;
}

export function fakeClock(start = 1_000_000): FakeClock {
  let t = start;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    advance(ms: number) {
      t += ms;
    },
  };
}
