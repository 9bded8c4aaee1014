import {
  DEFAULT_PRICES,
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
