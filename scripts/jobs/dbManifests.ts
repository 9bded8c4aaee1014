/** Finding db-dump runs through their manifests (newest first). */
import { Engine, TableStat } from '../lib/db';
import { IntegrityError, JobError } from '../lib/errors';
import { Manifest } from '../lib/manifest';
import { ManifestReader } from '../lib/manifestIndex';
import { resolveRestoreSource, RestoreSource, signatureNote } from '../lib/restoreSource';
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
  /** The manifest's signature as checked (see restoreSource `signatureNote`). */
  manifestSignature?: string;
}

interface DbDetails {
  database?: { engine?: Engine; name?: string; tables?: TableStat[] };
}

/**
 * Newest successful db-dump of `engine` (and `database` when given) in a trusted manifest; reads at
 * most `limit` manifests. A newer matching manifest that is not trusted (signature does not verify,
 * or unsigned after signing began: scripts/lib/manifestIndex.ts) is refused, naming it (exit 3):
 * it may be a forgery listing a replacement, and silently restoring an older dump would hide that.
 */
export async function newestDump(
  ctx: JobContext,
  engine: Engine,
  database?: string,
  limit = 200,
): Promise<DumpRecord> {
  const reader = await ManifestReader.open(ctx);
  const keys = reader.keys('db-dump').reverse();
  for (const mk of keys.slice(0, limit)) {
    const r = await reader.read(mk);
    const m = r.manifest;
    const d = (m.details as DbDetails).database;
    const obj = m.objects.find((o) => o.status === 'uploaded');
    if (m.status !== 'ok' || !d || d.engine !== engine || !obj) continue;
    if (database && d.name !== database) continue;
    const v = await reader.verdict(r);
    if (!v.trusted)
      throw new IntegrityError(
        `the newest db-dump manifest for ${engine}${database ? ` database ${database}` : ''}, ${mk}, is not trusted (${v.reason}): it may be forged to list a replacement; refusing. Run \`verify\`, then restore a listed dump with --key and --version-id`,
      );
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
      manifestSignature: signatureNote({
        signedBy: r.check?.state === 'valid' ? m.signature?.keyId : undefined,
        notChecked: !r.check && v.signed,
      }),
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
      manifestSignature: rec.manifestSignature,
    },
  );
}
