/**
 * Object Lock over S3 (docs/b2-api.md §9, §11): bucket lock configuration and per-object retention /
 * legal hold, mapped onto the engine's B2 rules (one-way enablement, governance bypass,
 * compliance only extends, `bucket_missing_file_lock` on ordinary buckets).
 */
import { requireNameScope } from '../../core/engine';
import type { FileRecord } from '../../core/types';
import { readSmallBody } from '../body';
import { authOf, b2, bucketNamed, keyOf, requireCapability, S3Call, S3Reply } from '../call';
import { S3Error } from '../errors';
import { parseXml, renderXml, xmlText } from '../xml';

/** The version addressed by `?versionId=` or the newest upload of the key. */
function target(c: S3Call): FileRecord {
  const bucket = bucketNamed(c);
  const key = keyOf(c);
  // the key's name prefix before anything about the object (or its bucket's lock) is revealed
  b2(() => requireNameScope(authOf(c), key));
  if (!bucket.fileLockEnabled)
    throw new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
  const versionId = c.query.get('versionId');
  const f = versionId ? c.engine.store.getFile(versionId) : c.engine.newestVersion(bucket.bucketId, key);
  if (!f || f.bucketId !== bucket.bucketId || f.fileName !== key || f.action !== 'upload') {
    throw versionId
      ? new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId })
      : new S3Error('NoSuchKey', undefined, { Key: key });
  }
  return f;
}

export async function getObjectRetention(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readFileRetentions');
  const f = target(c);
  const r = f.fileRetention;
  if (!r?.mode || !r.retainUntilTimestamp) {
    throw new S3Error('NoSuchObjectLockConfiguration', undefined, { Key: f.fileName });
  }
  return {
    xml: renderXml('Retention', {
      Mode: r.mode.toUpperCase(),
      RetainUntilDate: new Date(r.retainUntilTimestamp).toISOString(),
    }),
  };
}

export async function putObjectRetention(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  requireCapability(auth, 'writeFileRetentions');
  const f = target(c);
  const body = parseXml(await readSmallBody(c.body), 'Retention');
  const mode = (xmlText(body.Mode, 'Mode') ?? '').toLowerCase();
  const until = Date.parse(xmlText(body.RetainUntilDate, 'RetainUntilDate') ?? '');
  if (mode !== 'governance' && mode !== 'compliance')
    throw new S3Error('MalformedXML', 'Retention.Mode must be GOVERNANCE or COMPLIANCE.');
  if (Number.isNaN(until))
    throw new S3Error('MalformedXML', 'Retention.RetainUntilDate must be an ISO 8601 date.');
  b2(() =>
    c.engine.updateFileRetention(auth, {
      fileId: f.fileId,
      fileName: f.fileName,
      fileRetention: { mode, retainUntilTimestamp: until },
      bypassGovernance: String(c.headers['x-amz-bypass-governance-retention'] ?? '').toLowerCase() === 'true',
    }),
  );
  return {};
}

export async function getObjectLegalHold(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readFileLegalHolds');
  const f = target(c);
  return { xml: renderXml('LegalHold', { Status: (f.legalHold ?? 'off').toUpperCase() }) };
}

export async function putObjectLegalHold(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  requireCapability(auth, 'writeFileLegalHolds');
  const f = target(c);
  const body = parseXml(await readSmallBody(c.body), 'LegalHold');
  const status = (xmlText(body.Status, 'Status') ?? '').toLowerCase();
  if (status !== 'on' && status !== 'off')
    throw new S3Error('MalformedXML', 'LegalHold.Status must be ON or OFF.');
  b2(() => c.engine.updateFileLegalHold(auth, { fileId: f.fileId, fileName: f.fileName, legalHold: status }));
  return {};
}

export async function getObjectLockConfiguration(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readBucketRetentions');
  const b = bucketNamed(c);
  if (!b.fileLockEnabled)
    throw new S3Error('ObjectLockConfigurationNotFoundError', undefined, { BucketName: b.bucketName });
  const d = b.defaultRetention;
  const rule =
    d.mode && d.period
      ? {
          DefaultRetention: {
            Mode: d.mode.toUpperCase(),
            Days: d.period.unit === 'days' ? d.period.duration : undefined,
            Years: d.period.unit === 'years' ? d.period.duration : undefined,
          },
        }
      : undefined;
  return { xml: renderXml('ObjectLockConfiguration', { ObjectLockEnabled: 'Enabled', Rule: rule }) };
}

export async function putObjectLockConfiguration(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const b = bucketNamed(c);
  const body = parseXml(await readSmallBody(c.body), 'ObjectLockConfiguration');
  if (body.ObjectLockEnabled !== 'Enabled')
    throw new S3Error('MalformedXML', 'ObjectLockConfiguration.ObjectLockEnabled must be Enabled.');
  const ruleNode = (Array.isArray(body.Rule) ? body.Rule[0] : body.Rule) as
    Record<string, unknown> | undefined;
  const dr = (ruleNode?.DefaultRetention ?? null) as Record<string, unknown> | null;
  let defaultRetention: unknown = undefined;
  if (dr) {
    const days = dr.Days !== undefined ? Number(dr.Days) : null;
    const years = dr.Years !== undefined ? Number(dr.Years) : null;
    if ((days === null) === (years === null))
      throw new S3Error('MalformedXML', 'DefaultRetention needs exactly one of Days or Years.');
    defaultRetention = {
      mode: (xmlText(dr.Mode, 'Mode') ?? '').toLowerCase(),
      period: days !== null ? { duration: days, unit: 'days' } : { duration: years, unit: 'years' },
    };
  }
  b2(() =>
    c.engine.updateBucket(auth, {
      bucketId: b.bucketId,
      fileLockEnabled: true,
      ...(defaultRetention !== undefined ? { defaultRetention } : {}),
    }),
  );
  return {};
}
