/**
 * Monthly cost of what the bucket stores: B2 versus AWS S3 Standard (us-east-1), with egress
 * measured against B2's free allowance (3× the average stored per month). Prices are defaults
 * with their dates (docs/b2-api.md §13) and can be overridden with `--prices file.json`.
 *
 * Units: B2 bills decimal GB/TB; AWS bills GB-months of 2^30 bytes. Hidden (non-current)
 * versions are stored, so they are billed and counted here.
 */
export interface Prices {
  b2: {
    storagePerTBMonth: number;
    freeStorageGB: number;
    egressFreeMultiple: number;
    egressPerGB: number;
    asOf: string;
    note: string;
  };
  s3: {
    storageTiersPerGBMonth: { upToGB: number; price: number }[];
    egressFreeGB: number;
    egressTiersPerGB: { upToGB: number; price: number }[];
    asOf: string;
    note: string;
  };
  /** Alert when monthly egress exceeds this multiple of the average stored (B2 free is 3×). */
  egressAlertMultiple: number;
}

export const DEFAULT_PRICES: Prices = {
  b2: {
    storagePerTBMonth: 6.95,
    freeStorageGB: 10,
    egressFreeMultiple: 3,
    egressPerGB: 0.01,
    asOf: '2026-05-01',
    note: 'B2 $6.95/TB-month effective 2026-05-01 per 2026 secondary notes ($6 from 2023-10-03); egress free to 3x average stored, then $0.01/GB',
  },
  s3: {
    storageTiersPerGBMonth: [
      { upToGB: 50 * 1024, price: 0.023 },
      { upToGB: 500 * 1024, price: 0.022 },
      { upToGB: Infinity, price: 0.021 },
    ],
    egressFreeGB: 100,
    egressTiersPerGB: [
      { upToGB: 10 * 1024, price: 0.09 },
      { upToGB: 50 * 1024, price: 0.085 },
      { upToGB: 150 * 1024, price: 0.07 },
      { upToGB: Infinity, price: 0.05 },
    ],
    asOf: '2026-08-16',
    note: 'S3 Standard us-east-1 via aggregators read 2026-08-16 (tiers unchanged since at least 2022)',
  },
  egressAlertMultiple: 2.5,
};

const GB = 1e9;
const GiB = 1024 ** 3;

function tiered(amount: number, tiers: { upToGB: number; price: number }[]): number {
  let cost = 0;
  let prev = 0;
  for (const t of tiers) {
    if (amount <= prev) break;
    const inTier = Math.min(amount, t.upToGB) - prev;
    cost += inTier * t.price;
    prev = t.upToGB;
  }
  return cost;
}

export interface MonthCost {
  storedBytes: number;
  egressBytes: number;
  b2Storage: number;
  b2Egress: number;
  b2Total: number;
  s3Storage: number;
  s3Egress: number;
  s3Total: number;
  /** Egress ÷ stored; null when nothing is stored (never Infinity: JSON and prose stay finite). */
  egressMultiple: number | null;
  b2FreeEgressBytes: number;
}

export function monthCost(storedBytes: number, egressBytes: number, p: Prices = DEFAULT_PRICES): MonthCost {
  const storedGB = storedBytes / GB;
  const b2Storage = (Math.max(0, storedGB - p.b2.freeStorageGB) / 1000) * p.b2.storagePerTBMonth;
  const b2Free = storedBytes * p.b2.egressFreeMultiple;
  const b2Egress = (Math.max(0, egressBytes - b2Free) / GB) * p.b2.egressPerGB;
  const s3Storage = tiered(storedBytes / GiB, p.s3.storageTiersPerGBMonth);
  const s3Egress = tiered(Math.max(0, egressBytes / GiB - p.s3.egressFreeGB), p.s3.egressTiersPerGB);
  return {
    storedBytes,
    egressBytes,
    b2Storage,
    b2Egress,
    b2Total: b2Storage + b2Egress,
    s3Storage,
    s3Egress,
    s3Total: s3Storage + s3Egress,
    egressMultiple: storedBytes > 0 ? egressBytes / storedBytes : egressBytes > 0 ? null : 0,
    b2FreeEgressBytes: b2Free,
  };
}

/** Linear projection: stored grows by `growthBytesPerMonth` each month (lifecycle deletions ignored). */
export function project(
  storedBytes: number,
  growthBytesPerMonth: number,
  egressBytesPerMonth: number,
  months: number,
  p: Prices = DEFAULT_PRICES,
): MonthCost[] {
  return Array.from({ length: months }, (_, m) =>
    monthCost(storedBytes + growthBytesPerMonth * (m + 1), egressBytesPerMonth, p),
  );
}

export function mergePrices(base: Prices, override: unknown): Prices {
  const o = (override ?? {}) as Partial<Prices>;
  return {
    b2: { ...base.b2, ...(o.b2 ?? {}) },
    s3: { ...base.s3, ...(o.s3 ?? {}) },
    egressAlertMultiple: o.egressAlertMultiple ?? base.egressAlertMultiple,
  };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Decimal gigabytes, B2's billing unit: `1,234.5 GB` (one unit system in every cost sentence). */
export function formatGB(bytes: number): string {
  const gb = bytes / GB;
  const digits = gb >= 100 ? 0 : gb >= 1 ? 1 : 3;
  return `${gb.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} GB`;
}

/**
 * Inline SVG line chart of the monthly projection (no external assets): a y-axis labelled in USD
 * per month, and the legend in the top margin, above the plot area, so no line can cross it.
 */
export function projectionSvg(months: MonthCost[], width = 640, height = 300): string {
  const pad = { l: 78, r: 20, t: 44, b: 40 };
  const maxY = Math.max(0.01, ...months.map((m) => Math.max(m.b2Total, m.s3Total)));
  const x = (i: number): number =>
    pad.l + (months.length <= 1 ? 0 : (i * (width - pad.l - pad.r)) / (months.length - 1));
  const y = (v: number): number => height - pad.b - (v / maxY) * (height - pad.t - pad.b);
  const line = (pick: (m: MonthCost) => number): string =>
    months.map((m, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(pick(m)).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = maxY * f;
    return `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">$${v.toFixed(2)}</text>`;
  });
  const labels = months.map(
    (_, i) =>
      `<text x="${x(i).toFixed(1)}" y="${height - pad.b + 16}" font-size="11" text-anchor="middle">${i + 1}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Projected monthly cost, B2 vs S3 Standard">`,
    ...ticks,
    ...labels,
    `<text x="${(width / 2).toFixed(0)}" y="${height - 6}" font-size="12" text-anchor="middle">month</text>`,
    `<text x="14" y="${((pad.t + height - pad.b) / 2).toFixed(0)}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${((pad.t + height - pad.b) / 2).toFixed(0)})">USD per month</text>`,
    `<path d="${line((m) => m.s3Total)}" fill="none" stroke="#d9534f" stroke-width="2"><title>S3 Standard</title></path>`,
    `<path d="${line((m) => m.b2Total)}" fill="none" stroke="#0275d8" stroke-width="2"><title>B2</title></path>`,
    // Legend in the top margin (y < pad.t): the plot's highest point is y = pad.t.
    `<g class="legend"><rect x="${pad.l}" y="8" width="10" height="10" fill="#0275d8"/><text x="${pad.l + 16}" y="17" font-size="12">B2</text>`,
    `<rect x="${pad.l + 56}" y="8" width="10" height="10" fill="#d9534f"/><text x="${pad.l + 72}" y="17" font-size="12">S3 Standard</text></g>`,
    '</svg>',
  ].join('\n');
}

export interface CostReport {
  generatedAt: string;
  buckets: {
    bucket: string;
    bytes: number;
    prefixes: { prefix: string; bytes: number; objects: number }[];
  }[];
  totalBytes: number;
  growthBytesPerMonth: number;
  current: MonthCost;
  projection: MonthCost[];
  alert?: string;
  /** The egress check: on the account total, with a dollar threshold; skipped without a figure. */
  egressAlert?: EgressCheck;
  prices: Prices;
}

export type EgressCheck =
  | { status: 'skipped'; reason: string }
  | {
      status: 'ok' | 'alert';
      egressBytes: number;
      accountStoredBytes: number;
      /** Where the account total came from: `--account-stored`, `--all-buckets`, or the listed buckets. */
      accountBasis: string;
      freeBytes: number;
      billableBytes: number;
      chargeUsd: number;
      thresholdUsd: number;
      egressMultiple: number | null;
      message: string;
    };

/**
 * B2 egress is free up to 3× the account's average stored bytes (all buckets together), then
 * $0.01/GB. The check alerts when this month's projected egress charge exceeds `thresholdUsd`
 * (0 = any charge at all). Every sentence is in decimal GB, B2's billing unit.
 */
export function egressCheck(
  egressBytes: number | undefined,
  accountStoredBytes: number,
  accountBasis: string,
  thresholdUsd: number,
  p: Prices = DEFAULT_PRICES,
): EgressCheck {
  if (egressBytes === undefined)
    return {
      status: 'skipped',
      reason:
        'egress alert skipped: no --egress-per-month given (the S3 API reports no egress; pass the figure from your B2 usage report or CDN)',
    };
  const freeBytes = accountStoredBytes * p.b2.egressFreeMultiple;
  const billableBytes = Math.max(0, egressBytes - freeBytes);
  const chargeUsd = (billableBytes / GB) * p.b2.egressPerGB;
  const egressMultiple =
    accountStoredBytes > 0 ? egressBytes / accountStoredBytes : egressBytes > 0 ? null : 0;
  const alert = chargeUsd > thresholdUsd;
  const times =
    egressMultiple === null
      ? 'with nothing stored in the account, all of it billable'
      : `${egressMultiple.toFixed(2)}× the account's ${formatGB(accountStoredBytes)} stored (${accountBasis})`;
  const message =
    `egress ${formatGB(egressBytes)}/month is ${times}; B2's free allowance is ${formatGB(freeBytes)} ` +
    `(${p.b2.egressFreeMultiple}× stored), so ${formatGB(billableBytes)} is billable at $${p.b2.egressPerGB}/GB: ` +
    `$${chargeUsd.toFixed(2)}/month, ${alert ? 'over' : 'within'} the $${thresholdUsd.toFixed(2)} alert threshold`;
  return {
    status: alert ? 'alert' : 'ok',
    egressBytes,
    accountStoredBytes,
    accountBasis,
    freeBytes,
    billableBytes,
    chargeUsd,
    thresholdUsd,
    egressMultiple,
    message,
  };
}

export function renderHtml(r: CostReport): string {
  const money = (v: number): string => `$${v.toFixed(2)}`;
  const rows = r.buckets
    .flatMap((b) =>
      b.prefixes.map(
        (p) =>
          `<tr><td>${esc(b.bucket)}</td><td>${esc(p.prefix)}</td><td>${p.objects}</td><td>${(p.bytes / GB).toFixed(3)}</td></tr>`,
      ),
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backup storage cost</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}.alert{color:#b00;font-weight:bold}</style>
</head><body>
<h1>Backup storage cost</h1>
<p>Generated ${esc(r.generatedAt)}. Stored ${formatGB(r.totalBytes)}, growing ${formatGB(r.growthBytesPerMonth)}/month.</p>
${r.alert ? `<p class="alert">ALERT: ${esc(r.alert)}</p>` : ''}
${r.egressAlert && !r.alert ? `<p>${esc(r.egressAlert.status === 'skipped' ? r.egressAlert.reason : r.egressAlert.message)}</p>` : ''}
<h2>This month</h2>
<table><tr><th></th><th>storage</th><th>egress</th><th>total</th></tr>
<tr><td>B2</td><td>${money(r.current.b2Storage)}</td><td>${money(r.current.b2Egress)}</td><td>${money(r.current.b2Total)}</td></tr>
<tr><td>S3 Standard</td><td>${money(r.current.s3Storage)}</td><td>${money(r.current.s3Egress)}</td><td>${money(r.current.s3Total)}</td></tr></table>
<h2>Projection (${r.projection.length} months)</h2>
${projectionSvg(r.projection)}
<h2>By bucket and prefix</h2>
<table><tr><th>bucket</th><th>prefix</th><th>versions</th><th>GB</th></tr>
${rows}
</table>
<p><small>Prices: ${esc(r.prices.b2.note)} (as of ${esc(r.prices.b2.asOf)}); ${esc(r.prices.s3.note)} (as of ${esc(r.prices.s3.asOf)}).</small></p>
</body></html>
`;
}
