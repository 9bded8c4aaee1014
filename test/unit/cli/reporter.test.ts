import { PassThrough } from 'stream';
import { formatBytes, formatDuration, formatProgress, Reporter, table } from '../../../scripts/lib/reporter';

function sink(): { s: PassThrough; text: () => string } {
  const s = new PassThrough();
  let t = '';
  s.on('data', (d: Buffer) => (t += d.toString()));
  return { s, text: () => t };
}

describe('Reporter', () => {
  it('draws progress on stderr only on a TTY and keeps stdout for the result', () => {
    const out = sink();
    const err = sink();
    const r = new Reporter({ stdout: out.s, stderr: err.s, isTTY: true }, true);
    r.progress('db-dump orders', 150 * 1024 * 1024);
    r.result({ ok: true }, ['human']);
    // CR + ESC[K (erase line), then the progress text.
    expect(err.text()).toContain('\r\u001b[Kdb-dump orders: 150 MiB');
    expect(JSON.parse(out.text())).toEqual({ ok: true });
  });

  it('off a terminal, prints nothing before the first interval (short runs keep clean logs)', () => {
    const out = sink();
    const err = sink();
    const r = new Reporter({ stdout: out.s, stderr: err.s, isTTY: false }, false);
    r.progress('upload', 10, 100);
    r.result({ ok: true }, ['line 1', 'line 2']);
    expect(err.text()).toBe('');
    expect(out.text()).toBe('line 1\nline 2\n');
  });
});

describe('formatting', () => {
  it('formats sizes and aligns tables', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.00 GiB');
    expect(
      table(
        ['key', 'size'],
        [
          ['a', 1],
          ['bbb', 22],
        ],
      ),
    ).toEqual(['key  size', '---  ----', 'a       1', 'bbb    22']);
  });
});

describe('progress figures (issue 11 §10)', () => {
  const GiB = 1024 ** 3;
  it('bytes: done, total, percent, rate and ETA in one unit system', () => {
    const line = formatProgress(
      { label: 'restore db/x', done: GiB, total: 4 * GiB, unit: 'bytes', startedAt: 0 },
      10_000,
    );
    expect(line).toBe('restore db/x: 1.00 GiB / 4.00 GiB (25.0%), 102 MiB/s, ETA 0:30');
  });

  it('bytes of unknown total: rate, no ETA', () => {
    const line = formatProgress(
      { label: 'db-dump orders', done: 150 * 1024 ** 2, unit: 'bytes', startedAt: 0 },
      3_000,
    );
    expect(line).toBe('db-dump orders: 150 MiB, 50.0 MiB/s');
  });

  it('objects are counted as objects, never as bytes', () => {
    const line = formatProgress(
      { label: 'verify', done: 12, total: 40, unit: 'objects', startedAt: 0 },
      4_000,
    );
    expect(line).toBe('verify: 12 / 40 objects (30.0%), 3.0 objects/s, ETA 0:09');
    expect(line).not.toMatch(/\bB\b|KiB|MiB/);
  });

  it('formats durations', () => {
    expect(formatDuration(9.4)).toBe('0:09');
    expect(formatDuration(725)).toBe('12:05');
    expect(formatDuration(7387)).toBe('2:03:07');
  });

  it('on a TTY: redraws one line with rate and ETA', () => {
    const err = sink();
    let now = 1_000;
    const r = new Reporter({ stdout: sink().s, stderr: err.s, isTTY: true }, false, { now: () => now });
    r.progress('restore k', 0, 100 * 1024 ** 2);
    now += 2_000;
    r.progress('restore k', 50 * 1024 ** 2, 100 * 1024 ** 2);
    expect(err.text()).toContain('\r\u001b[Krestore k: 50.0 MiB / 100 MiB (50.0%), 25.0 MiB/s, ETA 0:02');
    expect(err.text()).not.toContain('\n');
  });

  it('off a TTY: one plain line per interval while work is in progress, none after it ends', async () => {
    const err = sink();
    const r = new Reporter({ stdout: sink().s, stderr: err.s, isTTY: false }, false, { intervalMs: 40 });
    const started = Date.now();
    r.progress('audit-logs', 3, 10, 'objects');
    const lines = (): string[] => err.text().split('\n').filter(Boolean);
    // Timers run late on a loaded machine: wait (bounded) for two lines, then check the pace.
    while (lines().length < 2 && Date.now() - started < 3_000)
      await new Promise((res) => setTimeout(res, 10));
    expect(lines().length).toBeGreaterThanOrEqual(2);
    expect(lines().length).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 40));
    for (const l of lines())
      expect(l).toMatch(/^audit-logs: 3 \/ 10 objects \(30\.0%\), [\d.]+ objects\/s, ETA \d+:\d\d$/);
    expect(err.text()).not.toContain('\r');
    expect(err.text()).not.toContain('\u001b');
    // Finished: no more lines; after the result, the timer is gone.
    r.progress('audit-logs', 10, 10, 'objects');
    const before = err.text();
    await new Promise((res) => setTimeout(res, 100));
    expect(err.text()).toBe(before);
    r.progress('audit-logs', 11, 20, 'objects');
    r.result({}, []);
    await new Promise((res) => setTimeout(res, 100));
    expect(err.text()).toBe(before);
  });

  it('--no-progress: nothing, on a TTY or off it', async () => {
    for (const isTTY of [true, false]) {
      const err = sink();
      const r = new Reporter({ stdout: sink().s, stderr: err.s, isTTY }, false, {
        enabled: false,
        intervalMs: 10,
      });
      r.progress('restore', 5, 10);
      await new Promise((res) => setTimeout(res, 40));
      expect(err.text()).toBe('');
    }
  });
});
