import { PassThrough } from 'stream';
import { formatBytes, Reporter, table } from '../../../scripts/lib/reporter';

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

  it('draws nothing when stderr is not a terminal (scheduled runs keep clean logs)', () => {
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
