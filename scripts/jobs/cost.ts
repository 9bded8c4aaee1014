/**
 * `cost`: bytes by bucket and top-level prefix from version listings, this month's cost on B2 vs
 * S3 Standard, a 12-month projection, and an egress alert on the account total: B2's free egress is
 * 3× what the whole account stores, so the alert fires when the projected egress charge passes
 * `--alert-over-usd` (default $0: any charge). The account total is `--account-stored`, else the sum
 * over `--all-buckets`, else the listed buckets (said so in the output). Without
 * `--egress-per-month` the alert is skipped with a note, never silently green. `--fail-on-alert`
 * makes the alert fail a pipeline (exit 1); `--html` writes a self-contained report with an inline
 * SVG chart. Sizes in sentences are decimal GB, B2's billing unit.
 */
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import * as fs from 'fs';
import {
  CostReport,
  DEFAULT_PRICES,
  egressCheck,
  formatGB,
  mergePrices,
  monthCost,
  project,
  renderHtml,
} from '../lib/cost';
import { UsageError } from '../lib/errors';
import { listVersions } from '../lib/objects';
import { parseSize } from '../lib/partSize';
import { table } from '../lib/reporter';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';

export interface CostOptions {
  buckets?: string[];
  allBuckets: boolean;
  egressPerMonth?: string;
  growthPerMonth?: string;
  months: number;
  pricesFile?: string;
  html?: string;
  failOnAlert: boolean;
  /** The account's stored bytes for the egress allowance (a bucket-scoped key cannot list them all). */
  accountStored?: string;
  /** Alert when the month's projected egress charge exceeds this many dollars (default 0). */
  alertOverUsd?: number;
}

const MONTH = 30 * 86_400_000;

function topPrefix(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? '(root)' : key.slice(0, i + 1);
}

async function run(ctx: JobContext, opts: CostOptions): Promise<JobOutcome> {
  const prices = opts.pricesFile
    ? mergePrices(DEFAULT_PRICES, JSON.parse(fs.readFileSync(opts.pricesFile, 'utf8')))
    : DEFAULT_PRICES;
  let bucketNames = opts.buckets?.length ? opts.buckets : [ctx.conn.bucket];
  if (opts.allBuckets)
    bucketNames = ((await ctx.s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name!);
  const now = ctx.clock.now();
  let recent = 0;
  const buckets: CostReport['buckets'] = [];
  for (const bucket of bucketNames) {
    const versions = await listVersions(ctx.s3, bucket);
    const byPrefix = new Map<string, { bytes: number; objects: number }>();
    for (const v of versions) {
      if (v.deleteMarker) continue;
      const p = byPrefix.get(topPrefix(v.key)) ?? { bytes: 0, objects: 0 };
      p.bytes += v.size;
      p.objects += 1;
      byPrefix.set(topPrefix(v.key), p);
      if (v.lastModified >= now - MONTH) recent += v.size;
    }
    const prefixes = [...byPrefix.entries()]
      .map(([prefix, s]) => ({ prefix, ...s }))
      .sort((a, b) => b.bytes - a.bytes);
    buckets.push({ bucket, bytes: prefixes.reduce((s, p) => s + p.bytes, 0), prefixes });
  }
  const totalBytes = buckets.reduce((s, b) => s + b.bytes, 0);
  const egressGiven =
    opts.egressPerMonth !== undefined ? parseSize(opts.egressPerMonth, '--egress-per-month') : undefined;
  const egress = egressGiven ?? 0;
  const growth = opts.growthPerMonth ? parseSize(opts.growthPerMonth, '--growth-per-month') : recent;
  const current = monthCost(totalBytes, egress, prices);
  const accountStored =
    opts.accountStored !== undefined ? parseSize(opts.accountStored, '--account-stored') : undefined;
  const basis =
    accountStored !== undefined
      ? '--account-stored'
      : opts.allBuckets
        ? 'all buckets'
        : `only ${bucketNames.join(', ')}: pass --account-stored or --all-buckets for the account total`;
  const check = egressCheck(egressGiven, accountStored ?? totalBytes, basis, opts.alertOverUsd ?? 0, prices);
  const alert = check.status === 'alert' ? check.message : undefined;
  const report: CostReport = {
    generatedAt: new Date(now).toISOString(),
    buckets,
    totalBytes,
    growthBytesPerMonth: growth,
    current,
    projection: project(totalBytes, growth, egress, opts.months, prices),
    alert,
    egressAlert: check,
    prices,
  };
  if (opts.html && !ctx.dryRun) fs.writeFileSync(opts.html, renderHtml(report));
  const money = (v: number): string => `$${v.toFixed(2)}`;
  const human = [
    ...table(
      ['bucket / prefix', 'versions', 'stored'],
      buckets.flatMap((b) =>
        b.prefixes.map((p) => [`${b.bucket}/${p.prefix}`, p.objects, formatGB(p.bytes)]),
      ),
    ),
    '',
    ...table(
      ['per month', 'storage', 'egress', 'total'],
      [
        ['B2', money(current.b2Storage), money(current.b2Egress), money(current.b2Total)],
        ['S3 Standard', money(current.s3Storage), money(current.s3Egress), money(current.s3Total)],
      ],
    ),
    `in ${opts.months} months: B2 ${money(report.projection.at(-1)?.b2Total ?? 0)}, S3 ${money(report.projection.at(-1)?.s3Total ?? 0)} per month`,
    alert
      ? `ALERT: ${alert}`
      : check.status === 'skipped'
        ? `note: ${check.reason}`
        : `egress: ${check.message}`,
    ...(opts.html ? [ctx.dryRun ? `would write html report ${opts.html}` : `html report: ${opts.html}`] : []),
  ];
  return {
    ok: !(alert && opts.failOnAlert),
    failureMessage: alert && opts.failOnAlert ? `cost alert: ${alert}` : undefined,
    summary: { ...report },
    human,
    bytes: 0,
    objects: buckets.reduce((s, b) => s + b.prefixes.reduce((t, p) => t + p.objects, 0), 0),
  };
}

export const costJob: JobDefinition<CostOptions> = {
  name: 'cost',
  purpose: 'restore-reader',
  writesManifest: false,
  validate: (o) => {
    // An empty value (an unset CI variable) is an error, not "no figure": the alert must not go quiet.
    if (o.egressPerMonth !== undefined) parseSize(o.egressPerMonth, '--egress-per-month');
    if (o.growthPerMonth) parseSize(o.growthPerMonth, '--growth-per-month');
    if (o.accountStored !== undefined) parseSize(o.accountStored, '--account-stored');
    if (o.alertOverUsd !== undefined && !(Number.isFinite(o.alertOverUsd) && o.alertOverUsd >= 0))
      throw new UsageError(`--alert-over-usd must be a dollar amount ≥ 0 (got "${o.alertOverUsd}")`);
    if (!Number.isInteger(o.months) || o.months < 1 || o.months > 120)
      throw new UsageError('--months must be 1..120');
    if (o.pricesFile && !fs.existsSync(o.pricesFile))
      throw new UsageError(`--prices ${o.pricesFile}: no such file`);
  },
  run,
};
