/**
 * Output discipline: stdout carries the result (one JSON document with `--json`, else a short
 * human summary); stderr carries progress and notes.
 *
 * Progress (issue 11 §10) shows what is done, the rate, and an ETA when the total is known, in
 * bytes or in objects (`verify` and `audit-logs` count objects). On a terminal it redraws one line
 * (at most 5 times a second); off a terminal (cron, systemd, Kubernetes) it prints one plain line
 * every `intervalMs` (30 s by default, `--progress-interval`) while work is in progress, so a
 * scheduled run's log shows it is alive and how fast it goes. `--no-progress` turns both off.
 */
import { Writable } from 'stream';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  /** Whether stderr is a terminal (progress redraws one line) or a log (one line per interval). */
  isTTY: boolean;
}

export type ProgressUnit = 'bytes' | 'objects';

export interface ProgressOptions {
  /** Draw or print progress at all (default true; `--no-progress` sets false). */
  enabled: boolean;
  /** Off a terminal: one line per this many ms (default 30 s). */
  intervalMs: number;
  /** Injected time for tests. */
  now: () => number;
}

export const DEFAULT_PROGRESS_INTERVAL_MS = 30_000;
const TTY_REDRAW_MS = 200;

interface ProgressState {
  label: string;
  done: number;
  total?: number;
  unit: ProgressUnit;
  startedAt: number;
}

/** `1.50 GiB / 4.00 GiB (37.5%), 85.3 MiB/s, ETA 0:31` or `12 / 40 objects (30.0%), 3.1 objects/s, ETA 0:09`. */
export function formatProgress(p: ProgressState, now: number): string {
  const elapsed = Math.max(0.001, (now - p.startedAt) / 1000);
  const rate = p.done / elapsed;
  const amount = (n: number): string => (p.unit === 'bytes' ? formatBytes(n) : String(n));
  const of = p.total !== undefined ? ` / ${amount(p.total)}` : '';
  const noun = p.unit === 'objects' ? ' objects' : '';
  const pct = p.total ? ` (${((100 * p.done) / p.total).toFixed(1)}%)` : '';
  const speed =
    p.unit === 'bytes'
      ? `${formatBytes(Math.round(rate))}/s`
      : `${rate.toFixed(rate >= 10 ? 0 : 1)} objects/s`;
  let eta = '';
  if (p.total !== undefined && p.done > 0 && p.done < p.total)
    eta = `, ETA ${formatDuration((p.total - p.done) / rate)}`;
  return `${p.label}: ${amount(p.done)}${of}${noun}${pct}, ${speed}${eta}`;
}

/** `0:09`, `12:05`, `2:03:07`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export class Reporter {
  private lastDraw = 0;
  private drawn = false;
  private state?: ProgressState;
  private timer?: NodeJS.Timeout;
  private readonly opts: ProgressOptions;

  /** `progress`: `false` = never; `true` or options = on (a TTY redraws, a log gets a line per interval). */
  constructor(
    private readonly io: Io,
    readonly json: boolean,
    progress: boolean | Partial<ProgressOptions> = true,
  ) {
    const given = typeof progress === 'boolean' ? { enabled: progress } : progress;
    this.opts = {
      enabled: true,
      intervalMs: DEFAULT_PROGRESS_INTERVAL_MS,
      now: () => Date.now(),
      ...given,
    };
  }

  /** A note for humans on stderr (also in --json mode: stdout stays machine-readable). */
  note(msg: string): void {
    this.clearProgress();
    this.io.stderr.write(msg + '\n');
  }

  /**
   * Reports `done` of `total` (bytes by default). A new label restarts the rate. On a TTY the line
   * is redrawn; off a TTY the next interval tick prints it.
   */
  progress(label: string, done: number, total?: number, unit: ProgressUnit = 'bytes'): void {
    if (!this.opts.enabled) return;
    const now = this.opts.now();
    if (!this.state || this.state.label !== label || this.state.unit !== unit)
      this.state = { label, done, total, unit, startedAt: now };
    this.state.done = done;
    this.state.total = total;
    if (!this.io.isTTY) {
      this.startTimer();
      return;
    }
    if (now - this.lastDraw < TTY_REDRAW_MS) return;
    this.lastDraw = now;
    this.io.stderr.write(`\r\x1b[K${formatProgress(this.state, now)}`);
    this.drawn = true;
  }

  /** Off a TTY: prints the current figures once per interval while work is unfinished. */
  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One log line with the current figures (what the interval timer prints). */
  tick(): void {
    const st = this.state;
    if (!st) return;
    // Finished work is not repeated every interval.
    if (st.total !== undefined && st.done >= st.total) return;
    const line = formatProgress(st, this.opts.now());
    this.io.stderr.write(line + '\n');
  }

  /** Stops the interval timer (the job is done). */
  stopProgress(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.state = undefined;
  }

  clearProgress(): void {
    if (this.drawn) {
      this.io.stderr.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  result(doc: unknown, human: string[]): void {
    this.stopProgress();
    this.clearProgress();
    if (this.json) this.io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    else if (human.length) this.io.stdout.write(human.join('\n') + '\n');
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** Fixed-width text table for terminals. */
export function table(headers: string[], rows: (string | number)[][]): string[] {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
}
