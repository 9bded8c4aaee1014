/**
 * `drill`: proof that backups restore. Restores the newest db-dump into a scratch database on the
 * server given by `--scratch-url`, compares per-table row counts and checksums with those the
 * dump recorded, reports the restore time (RTO), and drops the scratch database.
 */
import {
  compareStats,
  createDatabase,
  dropDatabase,
  ENGINES,
  Engine,
  parseDbUrl,
  tableStats,
  withDatabase,
  withPasswordFile,
} from '../lib/db';
import { EXIT_INTEGRITY, messageOf, UsageError } from '../lib/errors';
import { requireExpectedHash } from '../lib/restoreSource';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { restoreDump } from './dbRestore';
import { newestDump, newestDumpSource } from './dbManifests';

export interface DrillOptions {
  engine: Engine;
  scratchUrl: string;
  database?: string;
  keep: boolean;
  passwordFile?: string;
}

async function run(ctx: JobContext, opts: DrillOptions): Promise<JobOutcome> {
  const admin = withPasswordFile(
    parseDbUrl(opts.scratchUrl, opts.engine, '--scratch-url'),
    opts.passwordFile,
  );
  const rec = await newestDump(ctx, opts.engine, opts.database);
  const scratchName = `ifb_drill_${ctx.startedAt}`;
  if (ctx.dryRun) {
    return {
      summary: {
        dump: rec.key,
        versionId: rec.versionId,
        manifest: rec.manifestKey,
        manifestSignature: rec.manifestSignature ?? null,
        scratchDatabase: scratchName,
        tables: rec.tables.length,
      },
      human: [
        `would restore ${rec.key} into scratch database ${scratchName} and check ${rec.tables.length} tables`,
      ],
      bytes: 0,
      objects: 0,
    };
  }
  await createDatabase(admin, scratchName, ctx.env);
  const scratch = withDatabase(admin, scratchName);
  try {
    const src = await newestDumpSource(ctx, rec);
    requireExpectedHash(src, false);
    const r = await restoreDump(ctx, src, scratch);
    const actual = await tableStats(scratch, ctx.env);
    const diffs = compareStats(rec.tables, actual);
    const ok = diffs.length === 0;
    const rto = Number(r.seconds.toFixed(3));
    return {
      ok,
      failureExitCode: EXIT_INTEGRITY,
      failureMessage: ok
        ? undefined
        : `restored data differs from the dump manifest: ${diffs.map((d) => `${d.table}: ${d.problem}`).join('; ')}`,
      summary: {
        dump: rec.key,
        versionId: rec.versionId,
        manifest: rec.manifestKey,
        manifestSignature: rec.manifestSignature ?? null,
        database: rec.database,
        scratchDatabase: scratchName,
        rtoSeconds: rto,
        tablesChecked: rec.tables.length,
        diffs,
      },
      human: [
        `restored ${rec.key} into ${scratchName} in ${rto} s (RTO)`,
        ok
          ? `all ${rec.tables.length} tables match their recorded row counts and checksums`
          : `MISMATCH: ${diffs.map((d) => `${d.table}: ${d.problem}`).join('; ')}`,
        ...(rec.manifestSignature ? [`${rec.manifestKey}: ${rec.manifestSignature}`] : []),
      ],
      bytes: r.bytes,
      objects: 1,
    };
  } finally {
    if (!opts.keep) {
      await dropDatabase(admin, scratchName, ctx.env).catch((e: unknown) =>
        ctx.reporter.note(`warning: could not drop ${scratchName}: ${messageOf(e)}`),
      );
    }
  }
}

export const drillJob: JobDefinition<DrillOptions> = {
  name: 'drill',
  purpose: 'restore-reader',
  writesManifest: false,
  readsManifests: true,
  validate: (o) => {
    if (!ENGINES.includes(o.engine))
      throw new UsageError(`--engine must be one of ${ENGINES.join(', ')} (got "${o.engine}")`);
    if (!o.scratchUrl)
      throw new UsageError('--scratch-url <admin connection URL of the server to restore into> is required');
    parseDbUrl(o.scratchUrl, o.engine, '--scratch-url');
  },
  run,
};
