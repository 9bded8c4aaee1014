import fc from 'fast-check';
import {
  DEFAULT_PRICES,
  egressCheck,
  formatGB,
  mergePrices,
  monthCost,
  project,
  projectionSvg,
  renderHtml,
} from '../../../scripts/lib/cost';

const TB = 1e12;
const GiB = 1024 ** 3;

describe('monthCost', () => {
  it('prices B2 at $6.95/TB-month after the free 10 GB', () => {
    const c = monthCost(1 * TB, 0);
    expect(c.b2Storage).toBeCloseTo(6.95 * 0.99, 6);
    expect(c.b2Egress).toBe(0);
    expect(monthCost(5e9, 0).b2Storage).toBe(0);
  });

  it('prices S3 Standard in tiers of GiB-months', () => {
    const c = monthCost(100 * 1024 * GiB, 0); // 100 TiB
    expect(c.s3Storage).toBeCloseTo(50 * 1024 * 0.023 + 50 * 1024 * 0.022, 6);
  });

  it('gives B2 egress free up to 3x stored, then $0.01/GB; S3 after 100 GB free', () => {
    const stored = 100e9;
    expect(monthCost(stored, 300e9).b2Egress).toBe(0);
    expect(monthCost(stored, 400e9).b2Egress).toBeCloseTo(1.0, 6);
    expect(monthCost(stored, 200 * GiB).s3Egress).toBeCloseTo(100 * 0.09, 6);
    expect(monthCost(stored, 250e9).egressMultiple).toBeCloseTo(2.5, 9);
  });

  it('projects linear growth', () => {
    const p = project(1 * TB, 0.1 * TB, 0, 12);
    expect(p).toHaveLength(12);
    expect(p[11].storedBytes).toBeCloseTo(2.2 * TB, 0);
    expect(p[11].b2Total).toBeGreaterThan(p[0].b2Total);
  });

  it('accepts partial price overrides', () => {
    const prices = mergePrices(DEFAULT_PRICES, { b2: { storagePerTBMonth: 6 } });
    expect(monthCost(1.01 * TB, 0, prices).b2Storage).toBeCloseTo(6, 6);
    expect(prices.b2.egressFreeMultiple).toBe(3);
  });
});

describe('HTML report', () => {
  const proj = project(1 * TB, 0.05 * TB, 0, 12);

  it('draws both series as inline SVG paths', () => {
    const svg = projectionSvg(proj);
    expect(svg.match(/<path d="M/g)).toHaveLength(2);
    expect(svg).toContain('S3 Standard');
  });

  it('is self-contained (no external assets) and escapes names', () => {
    const html = renderHtml({
      generatedAt: '2026-01-01T00:00:00.000Z',
      buckets: [{ bucket: 'b<script>', bytes: 1, prefixes: [{ prefix: 'db/', bytes: 1, objects: 1 }] }],
      totalBytes: TB,
      growthBytesPerMonth: 0.05 * TB,
      current: monthCost(TB, 0),
      projection: proj,
      prices: DEFAULT_PRICES,
    });
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src=|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('b&lt;script&gt;');
  });
});

describe('egress alert on the account total (issue 11 §15)', () => {
  const GB = 1e9;

  it('is skipped, with a note naming the flag, when no egress figure is given', () => {
    expect(egressCheck(undefined, 500 * GB, 'all buckets', 0)).toEqual({
      status: 'skipped',
      reason: expect.stringContaining('no --egress-per-month given'),
    });
  });

  it('measures egress against 3x the account total and alerts on the dollar charge', () => {
    // 500 GB stored in the account: 1,500 GB free; 2,000 GB egress → 500 GB billable → $5.00.
    const c = egressCheck(2000 * GB, 500 * GB, 'all buckets', 4);
    expect(c).toMatchObject({ status: 'alert', billableBytes: 500 * GB, egressMultiple: 4 });
    if (c.status === 'skipped') throw new Error('unexpected');
    expect(c.chargeUsd).toBeCloseTo(5, 10);
    expect(c.message).toBe(
      "egress 2,000 GB/month is 4.00× the account's 500 GB stored (all buckets); B2's free allowance is 1,500 GB (3× stored), so 500 GB is billable at $0.01/GB: $5.00/month, over the $4.00 alert threshold",
    );
    expect(egressCheck(2000 * GB, 500 * GB, 'all buckets', 5).status).toBe('ok');
    // Within the allowance: $0, no alert even at the default $0 threshold.
    expect(egressCheck(1500 * GB, 500 * GB, 'all buckets', 0).status).toBe('ok');
    expect(egressCheck(1501 * GB, 500 * GB, 'all buckets', 0).status).toBe('alert');
  });

  it('never says Infinity: nothing stored, egress given', () => {
    const c = egressCheck(10 * GB, 0, 'all buckets', 0);
    expect(c).toMatchObject({ status: 'alert', egressMultiple: null });
    expect(JSON.stringify(c)).not.toMatch(/Infinity|NaN/);
    if (c.status !== 'skipped') expect(c.message).toContain('with nothing stored in the account');
    expect(monthCost(0, 10 * GB).egressMultiple).toBeNull();
  });

  it('one unit system per sentence: decimal GB only, for any sizes', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1e15 }),
        fc.nat({ max: 1e15 }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        (egress, stored, usd) => {
          const c = egressCheck(egress, stored, 'all buckets', usd);
          if (c.status === 'skipped') return;
          expect(c.message).not.toMatch(/[KMGTP]iB|Infinity|NaN/);
          expect(c.message).toMatch(/ GB\//);
          expect(c.chargeUsd > usd).toBe(c.status === 'alert');
        },
      ),
      { numRuns: 300, seed: 11 },
    );
    expect(formatGB(1234.5 * GB)).toBe('1,235 GB');
    expect(formatGB(12.34 * GB)).toBe('12.3 GB');
    expect(formatGB(0.5 * GB)).toBe('0.500 GB');
  });
});

describe('chart', () => {
  const proj = project(1 * TB, 0.05 * TB, 0, 12);

  it('labels the y axis in USD per month', () => {
    expect(projectionSvg(proj)).toMatch(/<text[^>]*rotate\(-90[^>]*>USD per month<\/text>/);
  });

  it('keeps the legend above the plot area, where no line can pass', () => {
    for (const p of [proj, project(0, 5 * TB, 100 * TB, 24), project(TB, 0, 0, 1)]) {
      const svg = projectionSvg(p);
      const legend = /<g class="legend">([\s\S]*?)<\/g>/.exec(svg)![1];
      const legendBottom = Math.max(
        ...[...legend.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="\d+" height="(\d+)"/g)].map(
          (m) => Number(m[1]) + Number(m[2]),
        ),
        ...[...legend.matchAll(/<text x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1]) + 3),
      );
      const ys = [...svg.matchAll(/<path d="([^"]+)"/g)].flatMap((m) =>
        [...m[1].matchAll(/[ML][\d.]+,([\d.]+)/g)].map((x) => Number(x[1])),
      );
      expect(ys.length).toBeGreaterThan(0);
      expect(Math.min(...ys)).toBeGreaterThan(legendBottom);
    }
  });
});
