/**
 * `prune --report`: what the bucket's lifecycle rules will hide and delete, and when. B2 does
 * the deleting itself (lifecycle), so this command never deletes: it makes the retention policy
 * visible before it bites (e.g. "this config snapshot disappears in 3 days").
 */
import { GetBucketLifecycleConfigurationCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import * as fs from 'fs';
import { JobError, UsageError } from '../lib/errors';
import { B2Rule, checkB2Rules, fromS3Rules, planLifecycle, UnfinishedUpload } from '../lib/lifecycle';
import { listVersions } from '../lib/objects';
import { formatBytes, table } from '../lib/reporter';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { parseDuration } from '../lib/timeparse';

export interface PruneOptions {
  report: boolean;
  prefix?: string;
  within?: string;
  rulesFile?: string;
}

/** The bucket's lifecycle rules: from a native rules file, else over S3. Shared with `verify`. */
export async function loadRules(
  ctx: JobContext,
  opts: { rulesFile?: string },
): Promise<{ rules: B2Rule[]; source: string }> {
  if (opts.rulesFile) {
    let doc: B2Rule[] | { lifecycleRules?: B2Rule[] };
    try {
      doc = JSON.parse(fs.readFileSync(opts.rulesFile, 'utf8')) as B2Rule[] | { lifecycleRules?: B2Rule[] };
    } catch (err) {
      throw new UsageError(`--rules ${opts.rulesFile}: cannot read it as JSON (${(err as Error).message})`);
    }
    const rules = Array.isArray(doc) ? doc : doc.lifecycleRules;
    if (!Array.isArray(rules))
      throw new UsageError(
        `--rules ${opts.rulesFile}: expected a JSON array of rules or {"lifecycleRules": [...]}`,
      );
    try {
      return { rules: checkB2Rules(rules, `--rules ${opts.rulesFile}`), source: opts.rulesFile };
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  try {
    const out = await ctx.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: ctx.conn.bucket }));
    return { rules: fromS3Rules(out.Rules ?? []), source: 'GetBucketLifecycleConfiguration' };
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'NoSuchLifecycleConfiguration')
      return { rules: [], source: 'GetBucketLifecycleConfiguration (none set)' };
    throw new JobError(
      `could not read lifecycle rules over S3 (${name}); pass the bucket's native rules with --rules <file.json> (b2_list_buckets lifecycleRules)`,
      { cause: err },
    );
  }
}

async function unfinishedUploads(ctx: JobContext, prefix?: string): Promise<UnfinishedUpload[]> {
  try {
    const out = await ctx.s3.send(
      new ListMultipartUploadsCommand({ Bucket: ctx.conn.bucket, Prefix: prefix || undefined }),
    );
    return (out.Uploads ?? []).map((u) => ({
      key: u.Key!,
      uploadId: u.UploadId!,
      initiated: u.Initiated?.getTime() ?? 0,
    }));
  } catch {
    return []; // a key without listFiles on uploads still gets the version report
  }
}

async function run(ctx: JobContext, opts: PruneOptions): Promise<JobOutcome> {
  const now = ctx.clock.now();
  const { rules, source } = await loadRules(ctx, opts);
  const versions = await listVersions(ctx.s3, ctx.conn.bucket, opts.prefix ?? '');
  const horizon = opts.within ? now + parseDuration(opts.within, '--within') : Infinity;
  const actions = planLifecycle(rules, versions, await unfinishedUploads(ctx, opts.prefix)).filter(
    (a) => a.dueAt <= horizon,
  );
  const sum = (kind: string): number =>
    actions.filter((a) => a.action === kind).reduce((s, a) => s + a.size, 0);
  const rows = actions.map((a) => ({
    ...a,
    dueAt: new Date(a.dueAt).toISOString(),
    overdue: a.dueAt <= now,
    inDays: Number(((a.dueAt - now) / 86_400_000).toFixed(1)),
  }));
  return {
    summary: {
      rulesSource: source,
      rules,
      actions: rows,
      bytesToHide: sum('hide'),
      bytesToDelete: sum('delete'),
    },
    human: [
      `rules (${source}): ${rules.map((r) => `${r.fileNamePrefix || '*'} hide=${r.daysFromUploadingToHiding ?? '-'}d delete=${r.daysFromHidingToDeleting ?? '-'}d`).join('; ') || 'none'}`,
      ...table(
        ['key', 'action', 'due', 'in days', 'size'],
        rows.map((r) => [r.key, r.action, r.dueAt, r.inDays, formatBytes(r.size)]),
      ),
      `${actions.length} action(s); ${formatBytes(sum('delete'))} to be deleted, ${formatBytes(sum('hide'))} to be hidden`,
    ],
    bytes: 0,
    objects: actions.length,
  };
}

export const pruneJob: JobDefinition<PruneOptions> = {
  name: 'prune',
  purpose: 'restore-reader',
  writesManifest: false,
  validate: (o) => {
    if (!o.report)
      throw new UsageError('prune only reports (B2 lifecycle rules do the deleting): run `prune --report`');
    if (o.within) parseDuration(o.within, '--within');
    if (o.rulesFile && !fs.existsSync(o.rulesFile))
      throw new UsageError(`--rules ${o.rulesFile}: no such file`);
  },
  run,
};
