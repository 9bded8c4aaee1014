/**
 * The emulator clock: wall time plus an offset that the admin API can advance
 * (`POST /__admin/clock {"advanceSeconds":N}`), so tests can expire tokens and age lifecycle rules
 * without waiting. Every time-dependent rule in the emulator reads this clock, never `Date.now()`.
 */
export class Clock {
  private offsetMs = 0;

  /** Milliseconds since the epoch, emulator time. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(seconds: number): void {
    this.offsetMs += Math.round(seconds * 1000);
  }

  /** Total advance applied so far (seconds), for the admin API. */
  offsetSeconds(): number {
    return this.offsetMs / 1000;
  }
}
