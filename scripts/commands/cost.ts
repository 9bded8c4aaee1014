/** `cost`: storage and egress cost report. */
import { CostOptions, costJob } from '../jobs/cost';
import { int, str, defineCommand } from './common';

export const costCommand = defineCommand<CostOptions>({
  name: 'cost',
  description: 'storage by bucket/prefix, B2 vs S3 Standard monthly cost, egress vs the 3x free allowance',
  job: costJob,
  define: (cmd) =>
    cmd
      .option('--buckets <names>', 'comma-separated buckets (default: --bucket)', (v: string) =>
        v.split(',').filter(Boolean),
      )
      .option('--all-buckets', 'every bucket the key can list', false)
      .option(
        '--egress-per-month <size>',
        'expected monthly download, e.g. 500GB (without it the egress alert is skipped, with a note)',
      )
      .option(
        '--account-stored <size>',
        "the account's total stored bytes for B2's 3x free egress (default: --all-buckets, else the listed buckets)",
      )
      .option(
        '--alert-over-usd <dollars>',
        'alert when the projected egress charge per month exceeds this (default 0: any charge)',
        (v: string) => (/^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN),
      )
      .option(
        '--growth-per-month <size>',
        'monthly growth for the projection (default: bytes uploaded in the last 30 days)',
      )
      .option('--months <n>', 'projection length', int('--months'), 12)
      .option('--prices <file>', 'JSON overriding the default price table')
      .option('--html <file>', 'write an HTML report with an inline SVG chart')
      .option('--fail-on-alert', 'exit 1 when the egress alert fires', false),
  options: (raw) => ({
    buckets: raw.buckets as string[] | undefined,
    allBuckets: !!raw.allBuckets,
    egressPerMonth: str(raw, 'egressPerMonth'),
    growthPerMonth: str(raw, 'growthPerMonth'),
    months: raw.months as number,
    pricesFile: str(raw, 'prices'),
    html: str(raw, 'html'),
    failOnAlert: !!raw.failOnAlert,
    accountStored: str(raw, 'accountStored'),
    alertOverUsd: raw.alertOverUsd as number | undefined,
  }),
});
