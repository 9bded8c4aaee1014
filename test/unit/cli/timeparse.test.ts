/**
 * `--at`: an absolute time needs an explicit UTC offset (else the same command picks different
 * versions in different time zones); ages keep working.
 */
import { spawnSync } from 'child_process';
import fc from 'fast-check';
import * as path from 'path';
import { UsageError } from '../../../scripts/lib/errors';
import { parseInstant } from '../../../scripts/lib/timeparse';

const NOW = Date.parse('2026-06-10T00:00:00Z');

describe('parseInstant', () => {
  it.each([
    ['2026-05-01T12:00:00Z', Date.parse('2026-05-01T12:00:00Z')],
    ['2026-05-01T12:00:00.250z', Date.parse('2026-05-01T12:00:00.250Z')],
    ['2026-05-01T14:00:00+02:00', Date.parse('2026-05-01T12:00:00Z')],
    ['2026-05-01T06:30:00-0530', Date.parse('2026-05-01T12:00:00Z')],
    ['2026-05-01 12:00Z', Date.parse('2026-05-01T12:00:00Z')],
    ['2d', NOW - 2 * 86_400_000],
    ['90m', NOW - 90 * 60_000],
  ])('%s', (text, expected) => {
    expect(parseInstant(text, '--at', NOW)).toBe(expected);
  });

  it.each(['2026-05-01T12:00:00', '2026-05-01T12:00', '2026-05-01 12:00:00.5', '2026-05-01T12:00+02'])(
    'refuses %s (no offset) naming the fix',
    (text) => {
      expect(() => parseInstant(text, '--at', NOW)).toThrow(UsageError);
      expect(() => parseInstant(text, '--at', NOW)).toThrow(/--at: .* add Z \(UTC\) or ±hh:mm/);
    },
  );

  it('refuses a bare date and garbage', () => {
    expect(() => parseInstant('2026-05-01', '--at', NOW)).toThrow(/date without a time and UTC offset/);
    expect(() => parseInstant('yesterday', '--at', NOW)).toThrow(/cannot parse time/);
    expect(() => parseInstant('May 1 2026 12:00 GMT', '--at', NOW)).toThrow(/cannot parse time/);
  });

  it('any accepted time means the same instant in every time zone', () => {
    // Property: whatever the offset, the parsed instant is the UTC instant the text names.
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2099-01-01T00:00:00Z') }),
        fc.integer({ min: -12 * 60, max: 14 * 60 }),
        (ms, offsetMin) => {
          const t = Math.floor(ms / 1000) * 1000;
          const local = new Date(t + offsetMin * 60_000).toISOString().slice(0, 19);
          const sign = offsetMin < 0 ? '-' : '+';
          const a = Math.abs(offsetMin);
          const off = `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
          expect(parseInstant(local + off, '--at', NOW)).toBe(t);
        },
      ),
    );
  });

  it('the CLI gives the same answer under three TZ settings and refuses offset-less times in each', () => {
    const script = `
      const { parseInstant } = require(${JSON.stringify(path.resolve(__dirname, '../../../scripts/lib/timeparse.ts'))});
      let refused = false;
      try { parseInstant('2026-05-01T12:00:00', '--at', 0); } catch { refused = true; }
      process.stdout.write(JSON.stringify([parseInstant('2026-05-01T12:00:00+02:00', '--at', 0), refused]));
    `;
    const answers = ['UTC', 'America/Los_Angeles', 'Asia/Kolkata'].map((tz) => {
      const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      return r.stdout;
    });
    expect(new Set(answers).size).toBe(1);
    expect(JSON.parse(answers[0])).toEqual([Date.parse('2026-05-01T10:00:00Z'), true]);
  });
});
