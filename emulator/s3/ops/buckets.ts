/**
 * Bucket operations of the S3-compatible API
 * (https://www.backblaze.com/docs/cloud-storage-s3-compatible-api, docs/b2-api.md §11).
 */
import type { LifecycleRule } from '../../core/types';
import { readSmallBody } from '../body';
import { authOf, b2, bucketNamed, ownerOf, requireCapability, S3Call, S3Reply } from '../call';
import { S3Error } from '../errors';
import {
  isoTime,
  parseCorsConfiguration,
  parseCreateBucketConfiguration,
  parseEncryptionConfiguration,
  parseLifecycleConfiguration,
  renderXml,
  XmlNode,
} from '../xml';

/** ListBuckets: restricted keys need `listAllBucketNames` (docs/b2-api.md §7, §11). */
export async function listBuckets(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  if (auth.bucketIds) requireCapability(auth, 'listAllBucketNames');
  else requireCapability(auth, 'listBuckets', 'listAllBucketNames');
  const buckets = c.engine.allBuckets().sort((a, b) => (a.bucketName < b.bucketName ? -1 : 1));
  return {
    xml: renderXml('ListAllMyBucketsResult', {
      Owner: ownerOf(c),
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.bucketName, CreationDate: isoTime(b.createdAt) })) },
    }),
  };
}

export async function createBucket(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const name = c.route.bucket!;
  const location = parseCreateBucketConfiguration(await readSmallBody(c.body));
  if (location !== null && location !== '' && location !== c.ctx.region) {
    throw new S3Error(
      'InvalidArgument',
      `LocationConstraint "${location}" does not match this endpoint's region ${c.ctx.region}.`,
    );
  }
  const existing = c.engine.getBucketByName(name);
  if (existing) throw new S3Error('BucketAlreadyOwnedByYou', undefined, { BucketName: name });
  const acl = c.headers['x-amz-acl'];
  if (acl !== undefined && acl !== 'private' && acl !== 'public-read') {
    throw new S3Error(
      'InvalidArgument',
      `x-amz-acl must be private or public-read on B2, got "${String(acl)}".`,
    );
  }
  if (c.headers['x-amz-bucket-object-lock-enabled'] === 'true') {
    requireCapability(auth, 'writeBucketRetentions');
  }
  b2(() =>
    c.engine.createBucket(auth, {
      bucketName: name,
      bucketType: acl === 'public-read' ? 'allPublic' : 'allPrivate',
      fileLockEnabled: c.headers['x-amz-bucket-object-lock-enabled'] === 'true' ? true : undefined,
    }),
  );
  return { headers: { location: `/${name}` } };
}

export async function deleteBucket(c: S3Call): Promise<S3Reply> {
  const b = bucketNamed(c);
  b2(() => c.engine.deleteBucket(authOf(c), b.bucketId));
  return { status: 204 };
}

/** HeadBucket: existence and scope only (no native counterpart, no capability of its own). */
export async function headBucket(c: S3Call): Promise<S3Reply> {
  authOf(c);
  bucketNamed(c);
  return { headers: { 'x-amz-bucket-region': c.ctx.region } };
}

export async function getBucketLocation(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readBuckets');
  bucketNamed(c);
  return {
    xml: renderXml('LocationConstraint', {}).replace(
      '</LocationConstraint>',
      `${c.ctx.region}</LocationConstraint>`,
    ),
  };
}

/** Versioning is always on at B2. */
export async function getBucketVersioning(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readBuckets');
  bucketNamed(c);
  return { xml: renderXml('VersioningConfiguration', { Status: 'Enabled' }) };
}

export async function getBucketAcl(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readBuckets');
  const b = bucketNamed(c);
  return { xml: aclXml(c, b.bucketType === 'allPublic') };
}

export function aclXml(c: S3Call, isPublic: boolean): string {
  const owner = ownerOf(c);
  const grants: XmlNode[] = [
    { Grantee: { ID: owner.ID, DisplayName: owner.DisplayName }, Permission: 'FULL_CONTROL' },
  ];
  if (isPublic)
    grants.push({ Grantee: { URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' });
  // The xsi:type attribute on Grantee is required by the schema; render it by hand.
  return renderXml('AccessControlPolicy', { Owner: owner, AccessControlList: { Grant: grants } })
    .replace(
      /<Grantee><ID>/g,
      '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>',
    )
    .replace(
      /<Grantee><URI>/g,
      '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>',
    );
}

const S3_METHOD_OF_OP: Record<string, string> = {
  s3_get: 'GET',
  s3_head: 'HEAD',
  s3_put: 'PUT',
  s3_post: 'POST',
  s3_delete: 'DELETE',
};

export async function getBucketCors(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readBuckets');
  const b = bucketNamed(c);
  const rules = b.corsRules.filter((r) => r.allowedOperations.some((o) => o in S3_METHOD_OF_OP));
  if (rules.length === 0) {
    throw new S3Error('NoSuchCORSConfiguration', undefined, { BucketName: b.bucketName });
  }
  return {
    xml: renderXml('CORSConfiguration', {
      CORSRule: rules.map((r) => ({
        ID: r.corsRuleName,
        AllowedHeader: r.allowedHeaders ?? [],
        AllowedMethod: [...new Set(r.allowedOperations.map((o) => S3_METHOD_OF_OP[o]).filter(Boolean))],
        AllowedOrigin: r.allowedOrigins,
        ExposeHeader: r.exposeHeaders ?? [],
        MaxAgeSeconds: r.maxAgeSeconds,
      })),
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Default encryption

export async function getBucketEncryption(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readBucketEncryption');
  const b = bucketNamed(c);
  if (!b.defaultServerSideEncryption) {
    throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', undefined, {
      BucketName: b.bucketName,
    });
  }
  return {
    xml: renderXml('ServerSideEncryptionConfiguration', {
      Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false },
    }),
  };
}

export async function putBucketEncryption(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const b = bucketNamed(c);
  parseEncryptionConfiguration(await readSmallBody(c.body));
  b2(() =>
    c.engine.updateBucket(auth, {
      bucketId: b.bucketId,
      defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    }),
  );
  return {};
}

export async function deleteBucketEncryption(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const b = bucketNamed(c);
  b2(() =>
    c.engine.updateBucket(auth, { bucketId: b.bucketId, defaultServerSideEncryption: { mode: 'none' } }),
  );
  return { status: 204 };
}

// ---------------------------------------------------------------------------------------------
// Lifecycle (docs/b2-api.md §11 "lifecycle"): Expiration.Days → daysFromUploadingToHiding,
// NoncurrentVersionExpiration → daysFromHidingToDeleting, AbortIncompleteMultipartUpload →
// daysFromStartingToCancelingUnfinishedLargeFiles. Unlike the native API, overlapping prefixes are
// accepted (B2 then applies the most cost-saving combination — see jobs/lifecyclePlan.ruleFor).

const MAX_LIFECYCLE_RULES = 100;

export async function putBucketLifecycle(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  requireCapability(auth, 'writeBucketLifecycleRules', 'writeBuckets');
  const b = bucketNamed(c);
  const s3Rules = parseLifecycleConfiguration(await readSmallBody(c.body));
  const rules: LifecycleRule[] = s3Rules
    .filter((r) => r.enabled)
    .filter((r) => r.expirationDays !== null || r.noncurrentDays !== null || r.abortIncompleteDays !== null)
    .map((r) => ({
      fileNamePrefix: r.prefix,
      daysFromUploadingToHiding: r.expirationDays,
      daysFromHidingToDeleting: r.noncurrentDays,
      daysFromStartingToCancelingUnfinishedLargeFiles: r.abortIncompleteDays,
    }));
  if (rules.length > MAX_LIFECYCLE_RULES) {
    throw new S3Error(
      'InvalidArgument',
      `At most ${MAX_LIFECYCLE_RULES} lifecycle rules are allowed, got ${rules.length}.`,
    );
  }
  // Overlapping prefixes are accepted on this path (B2 applies the most cost-saving combination);
  // capability and name-prefix scope are the engine's (docs/b2-key-scope.md).
  b2(() => c.engine.setLifecycleRules(auth, b.bucketId, rules, { allowOverlap: true }));
  return {};
}

export async function getBucketLifecycle(c: S3Call): Promise<S3Reply> {
  requireCapability(authOf(c), 'readBucketLifecycleRules', 'readBuckets');
  const b = bucketNamed(c);
  if (b.lifecycleRules.length === 0)
    throw new S3Error('NoSuchLifecycleConfiguration', undefined, { BucketName: b.bucketName });
  const rules: XmlNode[] = [];
  b.lifecycleRules.forEach((r, i) => {
    const id = `b2-rule-${i + 1}`;
    rules.push({
      ID: id,
      Filter: { Prefix: r.fileNamePrefix },
      Status: 'Enabled',
      Expiration: r.daysFromUploadingToHiding ? { Days: r.daysFromUploadingToHiding } : undefined,
      NoncurrentVersionExpiration: r.daysFromHidingToDeleting
        ? { NoncurrentDays: r.daysFromHidingToDeleting }
        : undefined,
      AbortIncompleteMultipartUpload: r.daysFromStartingToCancelingUnfinishedLargeFiles
        ? { DaysAfterInitiation: r.daysFromStartingToCancelingUnfinishedLargeFiles }
        : undefined,
    });
    // B2 shows each hide rule a second time as the delete-marker cleanup it implies.
    if (r.daysFromUploadingToHiding) {
      rules.push({
        ID: `${id}-markers`,
        Filter: { Prefix: r.fileNamePrefix },
        Status: 'Enabled',
        Expiration: { ExpiredObjectDeleteMarker: true },
      });
    }
  });
  return { xml: renderXml('LifecycleConfiguration', { Rule: rules }) };
}

export async function deleteBucketLifecycle(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  requireCapability(auth, 'writeBucketLifecycleRules', 'writeBuckets');
  const b = bucketNamed(c);
  // a key with a namePrefix may not drop rules outside its prefix (engine: checkLifecycleScope)
  b2(() => c.engine.setLifecycleRules(auth, b.bucketId, [], { allowOverlap: true }));
  return { status: 204 };
}

const OP_OF_S3_METHOD: Record<string, string> = {
  GET: 's3_get',
  HEAD: 's3_head',
  PUT: 's3_put',
  POST: 's3_post',
  DELETE: 's3_delete',
};

/** PutBucketCors: S3 rules become B2 CORS rules over the `s3_*` operations (docs/b2-api.md §4 limits). */
export async function putBucketCors(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const b = bucketNamed(c);
  const rules = parseCorsConfiguration(await readSmallBody(c.body, 100 * 1024)).map((r, i) => {
    const ops = [...new Set(r.methods.map((m) => OP_OF_S3_METHOD[m.toUpperCase()]))];
    if (ops.some((o) => o === undefined)) {
      throw new S3Error(
        'InvalidRequest',
        `CORSRule[${i}]: AllowedMethod must be GET, HEAD, PUT, POST or DELETE.`,
      );
    }
    const validName = r.id !== null && /^[A-Za-z0-9-]{6,50}$/.test(r.id) && !/^b2-/i.test(r.id);
    return {
      corsRuleName: validName ? r.id! : `s3-cors-rule-${i + 1}`,
      allowedOrigins: r.origins,
      allowedOperations: ops,
      allowedHeaders: r.headers,
      exposeHeaders: r.expose,
      maxAgeSeconds: r.maxAgeSeconds ?? 0,
    };
  });
  b2(() => c.engine.updateBucket(auth, { bucketId: b.bucketId, corsRules: rules }));
  return {};
}

export async function deleteBucketCors(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const b = bucketNamed(c);
  b2(() => c.engine.updateBucket(auth, { bucketId: b.bucketId, corsRules: [] }));
  return { status: 204 };
}

/** Canned ACLs only: `private` ↔ allPrivate, `public-read` ↔ allPublic; grant lists are not B2's. */
export function cannedAcl(c: S3Call): 'allPrivate' | 'allPublic' {
  const acl = c.headers['x-amz-acl'];
  if (acl === undefined) {
    throw new S3Error(
      'NotImplemented',
      'Only canned ACLs (x-amz-acl: private | public-read) are supported on B2.',
    );
  }
  if (acl !== 'private' && acl !== 'public-read') {
    throw new S3Error(
      'InvalidArgument',
      `x-amz-acl must be private or public-read on B2, got "${String(acl)}".`,
    );
  }
  return acl === 'public-read' ? 'allPublic' : 'allPrivate';
}

export async function putBucketAcl(c: S3Call): Promise<S3Reply> {
  const auth = authOf(c);
  const b = bucketNamed(c);
  const bucketType = cannedAcl(c);
  b2(() => c.engine.updateBucket(auth, { bucketId: b.bucketId, bucketType }));
  return {};
}
