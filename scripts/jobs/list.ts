/** `list`: versions and hide markers under a prefix, optionally only the recent ones. */
import { listVersions, newestFirst } from '../lib/objects';
import { formatBytes, table } from '../lib/reporter';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { parseDuration } from '../lib/timeparse';

export interface ListOptions {
  prefix?: string;
  since?: string;
}

async function run(ctx: JobContext, opts: ListOptions): Promise<JobOutcome> {
  const cutoff = opts.since ? ctx.clock.now() - parseDuration(opts.since, '--since') : undefined;
  const all = await listVersions(ctx.s3, ctx.conn.bucket, opts.prefix ?? '');
  const rows = newestFirst(all.filter((v) => cutoff === undefined || v.lastModified >= cutoff)).sort((a, b) =>
    a.key.localeCompare(b.key),
  );
  const entries = rows.map((v) => ({
    key: v.key,
    versionId: v.versionId,
    size: v.size,
    lastModified: new Date(v.lastModified).toISOString(),
    latest: v.isLatest,
    hideMarker: v.deleteMarker,
  }));
  const human = table(
    ['key', 'size', 'uploaded', 'state', 'version'],
    rows.map((v) => [
      v.key,
      v.deleteMarker ? '-' : formatBytes(v.size),
      new Date(v.lastModified).toISOString(),
      v.deleteMarker ? 'hide marker' : v.isLatest ? 'current' : 'hidden',
      v.versionId,
    ]),
  );
  return {
    summary: { bucket: ctx.conn.bucket, prefix: opts.prefix ?? '', count: entries.length, versions: entries },
    human,
    bytes: 0,
    objects: entries.length,
  };
}

export const listJob: JobDefinition<ListOptions> = {
  name: 'list',
  purpose: 'restore-reader',
  writesManifest: false,
  validate: (o) => {
    if (o.since) parseDuration(o.since, '--since');
  },
  run,
};
