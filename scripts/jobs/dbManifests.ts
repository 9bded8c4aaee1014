/** Finding db-dump runs through their manifests (newest first). */
import { Engine, TableStat } from '../lib/db';
import { JobError } from '../lib/errors';
import { Manifest } from '../lib/manifest';
import { getBuffer, listKeys } from '../lib/objects';
import { resolveRestoreSource, RestoreSource } from '../lib/restoreSource';
import { JobContext } from '../lib/runner';

export interface DumpRecord {
  manifestKey: string;
  manifest: Manifest;
  key: string;
  versionId?: string;
  sha256: string;
  size: number;
  engine: Engine;
  database: string;
  tables: TableStat[];
}

interface DbDetails {
  database?: { engine?: Engine; name?: string; tables?: TableStat[] };
}

/** Newest successful db-dump of `engine` (and `database` when given); reads at most `limit` manifests. */
export async function newestDump(
  ctx: JobContext,
  engine: Engine,
  database?: string,
  limit = 200,
): Promise<DumpRecord> {
  const keys = (await listKeys(ctx.s3, ctx.conn.bucket, 'manifests/db-dump/'))
    .map((k) => k.key)
    .sort()
    .reverse();
  for (const mk of keys.slice(0, limit)) {
    const m = JSON.parse(
      (await getBuffer(ctx.s3, ctx.policy, ctx.conn.bucket, mk)).body.toString('utf8'),
    ) as Manifest;
    const d = (m.details as DbDetails).database;
    const obj = m.objects.find((o) => o.status === 'uploaded');
    if (m.status !== 'ok' || !d || d.engine !== engine || !obj) continue;
    if (database && d.name !== database) continue;
    return {
      manifestKey: mk,
      manifest: m,
      key: obj.key,
      versionId: obj.versionId,
      sha256: obj.sha256,
      size: obj.size,
      engine,
      database: d.name ?? '',
      tables: d.tables ?? [],
    };
  }
  throw new JobError(
    `no successful db-dump manifest for engine ${engine}${database ? ` and database ${database}` : ''} under manifests/db-dump/`,
  );
}

/**
 * The restore source for a dump found by `newestDump`: the exact version its manifest lists, with
 * the manifest's SHA-256 and size as the expected values. Shared by `db-restore` and `drill`.
 */
export function newestDumpSource(ctx: JobContext, rec: DumpRecord): Promise<RestoreSource> {
  return resolveRestoreSource(
    ctx,
    rec.key,
    { versionId: rec.versionId },
    {
      sha256: rec.sha256,
      manifestKey: rec.manifestKey,
      size: rec.size,
      chosenBy: `newest dump (${rec.manifestKey})`,
    },
  );
}
