/**
 * Output discipline: stdout carries the result (one JSON document with `--json`, else a short
 * human summary); stderr carries progress and notes. Progress redraws one line and only on a
 * TTY, so logs of scheduled runs stay clean.
 */
import { Writable } from 'stream';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  /** Whether stderr is a terminal (progress is drawn only then). */
  isTTY: boolean;
}

export class Reporter {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly io: Io,
    readonly json: boolean,
    private readonly progressEnabled = io.isTTY,
  ) {}

  /** A note for humans on stderr (also in --json mode: stdout stays machine-readable). */
  note(msg: string): void {
    this.clearProgress();
    this.io.stderr.write(msg + '\n');
  }

  progress(label: string, done: number, total?: number): void {
    if (!this.progressEnabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const pct = total ? ` ${((100 * done) / total).toFixed(1)}%` : '';
    this.io.stderr.write(
      `\r\x1b[K${label}: ${formatBytes(done)}${total ? ` / ${formatBytes(total)}` : ''}${pct}`,
    );
    this.drawn = true;
  }

  clearProgress(): void {
    if (this.drawn) {
      this.io.stderr.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  result(doc: unknown, human: string[]): void {
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
