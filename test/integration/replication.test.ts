/**
 * Cloud Replication between two emulator regions (two accounts, docs/b2-api.md §10): configured over
 * the native API exactly as B2 wants it (destination key mapping first, then the source rule),
 * fed over S3, drained with `POST /__admin/replication/run`. Checks PENDING → COMPLETED on the
 * source, REPLICA on the destination, prefix filters, includeExistingFiles, and FAILED when the
 * destination key is gone.
 */
import { createHash } from 'crypto';
import { S3Env, s3raw, startS3Env } from '../conformance/wire/s3helpers';

let env: S3Env;
let srcBucketId: string;
let dstBucketId: string;
let srcKeyId: string;
let dstKeyId: string;

const SRC = 'repl-source-us';
const DST = 'repl-dest-eu';

interface FileInfo {
  fileId: string;
  fileName: string;
  action: string;
  contentSha1: string;
  fileInfo: Record<string, string>;
  replicationStatus?: string;
}

async function files(bucketId: string, region: number, prefix = ''): Promise<FileInfo[]> {
  const r = (await env.native('b2_list_file_names', { bucketId, prefix, maxFileCount: 1000 }, region)) as {
    files: FileInfo[];
  };
  return r.files;
}
const status = (f: FileInfo | undefined): string | undefined => f?.replicationStatus?.toUpperCase();

async function replicate(): Promise<{
  completed: number;
  failed: number;
  failures: Array<{ fileName: string; reason: string }>;
}> {
  return (
    (await env.emu.admin('POST', '/__admin/replication/run')) as {
      result: { completed: number; failed: number; failures: Array<{ fileName: string; reason: string }> };
    }
  ).result;
}

beforeAll(async () => {
  // Timer off so PENDING is observable before the explicit run.
  env = await startS3Env({
    regions: ['us-west-004', 'eu-central-003'],
    env: { B2_LOCAL_REPLICATION_TICK_MS: '0' },
  });
  srcBucketId = (
    (await env.native(
      'b2_create_bucket',
      { accountId: env.emu.info.regions[0].accountId, bucketName: SRC, bucketType: 'allPrivate' },
      0,
    )) as { bucketId: string }
  ).bucketId;
  dstBucketId = (
    (await env.native(
      'b2_create_bucket',
      { accountId: env.emu.info.regions[1].accountId, bucketName: DST, bucketType: 'allPrivate' },
      1,
    )) as { bucketId: string }
  ).bucketId;
  // Written before replication exists: only includeExistingFiles may pick it up.
  expect(
    (await s3raw(env, 'PUT', `/${SRC}/old/pre-existing.txt`, { body: 'from before the rule' })).status,
  ).toBe(200);

  srcKeyId = (
    await env.createKey(
      {
        keyName: 'repl-source',
        bucketId: srcBucketId,
        capabilities: ['readFiles', 'listFiles', 'readFileLegalHolds', 'readFileRetentions'],
      },
      0,
    )
  ).keyId;
  dstKeyId = (
    await env.createKey(
      {
        keyName: 'repl-dest',
        bucketId: dstBucketId,
        capabilities: ['writeFiles', 'writeFileLegalHolds', 'writeFileRetentions', 'deleteFiles'],
      },
      1,
    )
  ).keyId;
  await env.native(
    'b2_update_bucket',
    {
      accountId: env.emu.info.regions[1].accountId,
      bucketId: dstBucketId,
      replicationConfiguration: {
        asReplicationSource: null,
        asReplicationDestination: { sourceToDestinationKeyMapping: { [srcKeyId]: dstKeyId } },
      },
    },
    1,
  );
  await env.native(
    'b2_update_bucket',
    {
      accountId: env.emu.info.regions[0].accountId,
      bucketId: srcBucketId,
      replicationConfiguration: {
        asReplicationSource: {
          sourceApplicationKeyId: srcKeyId,
          replicationRules: [
            {
              replicationRuleName: 'to-eu',
              destinationBucketId: dstBucketId,
              fileNamePrefix: 'backup/',
              includeExistingFiles: false,
              isEnabled: true,
              priority: 128,
            },
          ],
        },
        asReplicationDestination: null,
      },
    },
    0,
  );
});
afterAll(async () => {
  await env?.stop();
});

it('new uploads under the rule go PENDING → COMPLETED, the copy is a REPLICA with the same bytes and info', async () => {
  const body = 'nightly config snapshot';
  await s3raw(env, 'PUT', `/${SRC}/backup/config.json`, {
    body,
    headers: { 'x-amz-meta-sha256': 'abc', 'content-type': 'application/json' },
  });
  await s3raw(env, 'PUT', `/${SRC}/scratch/tmp.txt`, { body: 'outside the rule prefix' });
  const before = await files(srcBucketId, 0);
  expect(status(before.find((f) => f.fileName === 'backup/config.json'))).toBe('PENDING');
  expect(status(before.find((f) => f.fileName === 'scratch/tmp.txt'))).toBeUndefined();

  const run = await replicate();
  expect(run).toMatchObject({ completed: 1, failed: 0 });
  expect(status((await files(srcBucketId, 0, 'backup/'))[0])).toBe('COMPLETED');
  const replicas = await files(dstBucketId, 1);
  expect(replicas.map((f) => f.fileName)).toEqual(['backup/config.json']);
  expect(status(replicas[0])).toBe('REPLICA');
  expect(replicas[0].contentSha1).toBe(createHash('sha1').update(body).digest('hex'));
  expect(replicas[0].fileInfo).toEqual({ sha256: 'abc' });

  // A second run has nothing left to do (no re-copy, no chaining from the replica).
  expect(await replicate()).toMatchObject({ completed: 0, failed: 0 });
});

it('includeExistingFiles back-fills files written before the rule', async () => {
  await env.native(
    'b2_update_bucket',
    {
      accountId: env.emu.info.regions[0].accountId,
      bucketId: srcBucketId,
      replicationConfiguration: {
        asReplicationSource: {
          sourceApplicationKeyId: srcKeyId,
          replicationRules: [
            {
              replicationRuleName: 'to-eu',
              destinationBucketId: dstBucketId,
              fileNamePrefix: 'backup/',
              includeExistingFiles: false,
              isEnabled: true,
              priority: 128,
            },
            {
              replicationRuleName: 'old-too',
              destinationBucketId: dstBucketId,
              fileNamePrefix: 'old/',
              includeExistingFiles: true,
              isEnabled: true,
              priority: 64,
            },
          ],
        },
        asReplicationDestination: null,
      },
    },
    0,
  );
  expect(await replicate()).toMatchObject({ completed: 1, failed: 0 });
  expect((await files(dstBucketId, 1)).map((f) => f.fileName)).toEqual([
    'backup/config.json',
    'old/pre-existing.txt',
  ]);
  expect(status((await files(srcBucketId, 0, 'old/'))[0])).toBe('COMPLETED');
});

it('a deleted destination key makes replication FAILED, visibly', async () => {
  await env.native('b2_delete_key', { applicationKeyId: dstKeyId }, 1);
  await s3raw(env, 'PUT', `/${SRC}/backup/after-key-loss.txt`, { body: 'cannot be replicated' });
  const run = await replicate();
  expect(run.failed).toBe(1);
  expect(run.failures[0].reason).toMatch(/destination key/);
  expect(status((await files(srcBucketId, 0, 'backup/after')).at(0))).toBe('FAILED');
  const get = await s3raw(env, 'HEAD', `/${SRC}/backup/after-key-loss.txt`);
  expect(get.headers.get('x-amz-replication-status')).toBe('FAILED');
});

it('replicates by itself on the timer (no admin call)', async () => {
  const timed = await startS3Env({ regions: ['us-west-004', 'eu-central-003'] });
  try {
    const a0 = timed.emu.info.regions[0].accountId;
    const a1 = timed.emu.info.regions[1].accountId;
    const src = (
      (await timed.native(
        'b2_create_bucket',
        { accountId: a0, bucketName: 'timer-src-us', bucketType: 'allPrivate' },
        0,
      )) as { bucketId: string }
    ).bucketId;
    const dst = (
      (await timed.native(
        'b2_create_bucket',
        { accountId: a1, bucketName: 'timer-dst-eu', bucketType: 'allPrivate' },
        1,
      )) as { bucketId: string }
    ).bucketId;
    const sk = (await timed.createKey({ bucketId: src, capabilities: ['readFiles', 'listFiles'] }, 0)).keyId;
    const dk = (await timed.createKey({ bucketId: dst, capabilities: ['writeFiles'] }, 1)).keyId;
    await timed.native(
      'b2_update_bucket',
      {
        accountId: a1,
        bucketId: dst,
        replicationConfiguration: {
          asReplicationSource: null,
          asReplicationDestination: { sourceToDestinationKeyMapping: { [sk]: dk } },
        },
      },
      1,
    );
    await timed.native(
      'b2_update_bucket',
      {
        accountId: a0,
        bucketId: src,
        replicationConfiguration: {
          asReplicationSource: {
            sourceApplicationKeyId: sk,
            replicationRules: [
              {
                replicationRuleName: 'all',
                destinationBucketId: dst,
                fileNamePrefix: '',
                includeExistingFiles: false,
                isEnabled: true,
                priority: 1,
              },
            ],
          },
          asReplicationDestination: null,
        },
      },
      0,
    );
    await s3raw(timed, 'PUT', '/timer-src-us/t.txt', { body: 'timer' });
    let names: string[] = [];
    for (let i = 0; i < 150 && names.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      names = (
        (await timed.native('b2_list_file_names', { bucketId: dst }, 1)) as {
          files: Array<{ fileName: string }>;
        }
      ).files.map((f) => f.fileName);
    }
    expect(names).toEqual(['t.txt']);
  } finally {
    await timed.stop();
  }
});
