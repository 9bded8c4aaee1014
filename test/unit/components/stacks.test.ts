/* eslint-disable @typescript-eslint/no-explicit-any -- registered inputs and stack exports are arbitrary property bags. */
/**
 * The stack program under Pulumi mocks, once per stack file: which buckets, keys and replication
 * rules each environment declares (prod must match design.md §1 exactly), with which inputs, and
 * which outputs are secret.
 */
import type * as pulumiT from '@pulumi/pulumi';
import type { Registered } from './mocks';

interface Loaded {
  reg: Registered[];
  exports: Record<string, any>;
  pulumi: typeof pulumiT;
  valueOf: <T>(o: any) => Promise<T>;
}

/** Runs stacks/index.ts for `stack` in a fresh module registry (fresh Pulumi runtime state). */
async function loadStack(stack: string, overrides: Record<string, string> = {}): Promise<Loaded> {
  let loaded!: Loaded;
  jest.isolateModules(() => {
    const pulumi = require('@pulumi/pulumi') as typeof pulumiT;
    const mocks = require('./mocks') as typeof import('./mocks');
    const reg = mocks.installMocks(stack);
    pulumi.runtime.setAllConfig({ ...mocks.stackConfigFromFile(stack), ...overrides });
    const exports = require('../../../stacks/index');
    loaded = { reg, exports, pulumi, valueOf: mocks.valueOf };
  });
  // Every resource is registered once the exported outputs (which depend on all of them) resolve;
  // then wait until the count of registrations stops moving (bounded), so a loaded machine does
  // not make this flaky.
  const { exports, pulumi } = loaded;
  await new Promise((resolve) =>
    pulumi
      .output({ b: exports.buckets, k: exports.keys, r: exports.replication })
      .apply(() => resolve(undefined)),
  );
  for (let stable = 0, last = -1, i = 0; stable < 3 && i < 250; i++) {
    await new Promise((r) => setTimeout(r, 20));
    stable = loaded.reg.length === last ? stable + 1 : 0;
    last = loaded.reg.length;
  }
  return loaded;
}

const BUCKET = 'pulumi-nodejs:dynamic/b2:Bucket';
const KEY = 'pulumi-nodejs:dynamic/b2:ApplicationKey';
const REPL = 'pulumi-nodejs:dynamic/b2:Replication';
const SMOKE = 'pulumi-nodejs:dynamic/b2:KeySmokeTest';
const ofType = (reg: Registered[], t: string) => reg.filter((r) => r.type === t);

const STANDARD_RULES = [
  {
    fileNamePrefix: 'audit-logs/',
    daysFromUploadingToHiding: 30,
    daysFromHidingToDeleting: 150,
    daysFromStartingToCancelingUnfinishedLargeFiles: 7,
  },
  {
    fileNamePrefix: 'configs/',
    daysFromUploadingToHiding: 90,
    daysFromHidingToDeleting: 365,
    daysFromStartingToCancelingUnfinishedLargeFiles: 7,
  },
  {
    fileNamePrefix: 'db/',
    daysFromUploadingToHiding: 30,
    daysFromHidingToDeleting: 1,
    daysFromStartingToCancelingUnfinishedLargeFiles: 7,
  },
  {
    fileNamePrefix: 'terraform-state/',
    daysFromUploadingToHiding: null,
    daysFromHidingToDeleting: 90,
    daysFromStartingToCancelingUnfinishedLargeFiles: 7,
  },
];

describe('prod stack (design.md §1)', () => {
  let s: Loaded;
  beforeAll(async () => {
    s = await loadStack('prod');
  });

  test('declares exactly one source and one EU twin bucket per provider', () => {
    const buckets = ofType(s.reg, BUCKET)
      .map((b) => `${b.inputs.account}:${b.inputs.bucketName}`)
      .sort();
    expect(buckets).toEqual([
      'primary:infrafabric-backup-prod-aws',
      'primary:infrafabric-backup-prod-azure',
      'primary:infrafabric-backup-prod-gcp',
      'replica:infrafabric-backup-prod-aws-replica',
      'replica:infrafabric-backup-prod-azure-replica',
      'replica:infrafabric-backup-prod-gcp-replica',
    ]);
  });

  test('every bucket: private, SSE-B2, standard lifecycle, bucket info, no lock, no forceDestroy', () => {
    for (const b of ofType(s.reg, BUCKET)) {
      expect(b.inputs.bucketType).toBe('allPrivate');
      expect(b.inputs.defaultServerSideEncryption).toEqual({ mode: 'SSE-B2', algorithm: 'AES256' });
      expect(b.inputs.lifecycleRules).toEqual(STANDARD_RULES);
      expect(b.inputs.fileLockEnabled).toBe(false);
      expect(b.inputs.forceDestroy).toBe(false);
      const provider = /prod-(aws|azure|gcp)/.exec(b.inputs.bucketName)![1];
      expect(b.inputs.bucketInfo).toEqual({
        'cost-center': 'platform',
        env: 'prod',
        'managed-by': 'pulumi/infrafabric-backup',
        provider,
      });
    }
  });

  test('keys: writer, reader, replication source and destination per provider, each scoped to the right bucket', () => {
    const keys = ofType(s.reg, KEY)
      .map((k) => `${k.inputs.account}:${k.inputs.keyName}`)
      .sort();
    const expected: string[] = [];
    for (const p of ['aws', 'azure', 'gcp']) {
      expected.push(
        `primary:infrafabric-backup-prod-${p}-backup-writer`,
        `primary:infrafabric-backup-prod-${p}-restore-reader`,
        `primary:infrafabric-backup-prod-${p}-replication-source`,
        `replica:infrafabric-backup-prod-${p}-replication-destination`,
      );
    }
    expect(keys).toEqual(expected.sort());
    const byName = Object.fromEntries(ofType(s.reg, KEY).map((k) => [k.inputs.keyName, k.inputs]));
    const w = byName['infrafabric-backup-prod-aws-backup-writer'];
    expect(w.bucketIds).toEqual(['bucket-id-prod-aws-source-bucket']);
    expect(w.capabilities).not.toContain('deleteFiles');
    expect(w.capabilities).toContain('writeFiles');
    expect(byName['infrafabric-backup-prod-aws-restore-reader'].capabilities).toEqual([
      'listBuckets',
      'listFiles',
      'readBuckets',
      'readFiles',
    ]);
    expect(byName['infrafabric-backup-prod-aws-replication-source'].capabilities).toEqual([
      'readFileLegalHolds',
      'readFileRetentions',
      'readFiles',
    ]);
    expect(byName['infrafabric-backup-prod-aws-replication-destination'].bucketIds).toEqual([
      'bucket-id-prod-aws-replica-bucket',
    ]);
    for (const k of ofType(s.reg, KEY)) expect(k.inputs.rotation).toBe('initial');
  });

  test('replication: one rule per provider from the source to its twin, with the replication keys', () => {
    const reps = ofType(s.reg, REPL);
    expect(reps).toHaveLength(3);
    const aws = reps.find((r) => r.name === 'prod-aws-replication')!.inputs;
    expect(aws).toMatchObject({
      sourceBucketId: 'bucket-id-prod-aws-source-bucket',
      destinationBucketId: 'bucket-id-prod-aws-replica-bucket',
      sourceKeyId: 'key-id-prod-aws-replication-source',
      destinationKeyId: 'key-id-prod-aws-replication-destination',
      ruleName: 'to-eu',
      fileNamePrefix: '',
      isEnabled: true,
      priority: 128,
      sourceAccount: 'primary',
      destinationAccount: 'replica',
    });
  });

  test('outputs: bucket refs plain, key secrets secret, key ids readable, nothing secret leaks into plain outputs', async () => {
    const { exports, pulumi } = s;
    const buckets = await s.valueOf<any>(exports.buckets);
    expect(buckets.aws).toEqual({
      name: 'infrafabric-backup-prod-aws',
      id: 'bucket-id-prod-aws-source-bucket',
      s3Endpoint: 'https://s3.us-west-004.backblazeb2.com',
      replica: {
        name: 'infrafabric-backup-prod-aws-replica',
        id: 'bucket-id-prod-aws-replica-bucket',
        s3Endpoint: 'https://s3.eu-central-003.backblazeb2.com',
      },
    });
    expect(await pulumi.isSecret(exports.keys.writer.aws.applicationKey)).toBe(true);
    expect(await pulumi.isSecret(exports.keys.reader.gcp.applicationKey)).toBe(true);
    expect(await pulumi.isSecret(exports.keys.writer.aws.keyId)).toBe(false);
    expect(await s.valueOf(exports.keys.writer.aws.applicationKey)).toBe(
      'K005-fake-secret-for-prod-aws-source-backup-writer',
    );
    const plain = JSON.stringify([
      buckets,
      await s.valueOf(pulumi.output(exports.keyIds)),
      await s.valueOf(pulumi.output(exports.replication)),
    ]);
    expect(plain).toContain('key-id-prod-aws-source-backup-writer');
    expect(plain).not.toContain('fake-secret');
    for (const out of [exports.buckets, exports.keyIds, exports.replication]) {
      expect(await pulumi.isSecret(pulumi.output(out))).toBe(false);
    }
  });

  test('a key smoke test per source bucket (none on the EU twins, which have no writer/reader keys)', async () => {
    const smoke = ofType(s.reg, SMOKE);
    expect(smoke.map((t) => t.inputs.bucketName).sort()).toEqual([
      'infrafabric-backup-prod-aws',
      'infrafabric-backup-prod-azure',
      'infrafabric-backup-prod-gcp',
    ]);
    expect(
      Object.keys(await s.valueOf<Record<string, string>>(s.pulumi.output(s.exports.smokeTest))).sort(),
    ).toEqual(['aws', 'azure', 'gcp']);
  });

  test('the serialised provider of every resource is the thin loader and holds no key material', () => {
    for (const r of [...ofType(s.reg, BUCKET), ...ofType(s.reg, KEY), ...ofType(s.reg, REPL)]) {
      const text: string = r.inputs.__provider;
      expect(text).toContain('exports.handler');
      expect(text).toMatch(/moduleName: "(bucket|applicationKey|replication)"/);
      expect(text).not.toMatch(/fake-secret|applicationKey:\s*"K|B2Client|@aws-sdk/);
      expect(text.length).toBeLessThan(10_000);
    }
  });
});

describe('dev stack', () => {
  let s: Loaded;
  beforeAll(async () => {
    s = await loadStack('dev');
  });
  test('aws only, short retention, forceDestroy, writer+reader keys, no replication', () => {
    const buckets = ofType(s.reg, BUCKET);
    expect(buckets.map((b) => b.inputs.bucketName)).toEqual(['infrafabric-backup-dev-aws']);
    expect(buckets[0].inputs.forceDestroy).toBe(true);
    const tf = buckets[0].inputs.lifecycleRules.find((r: any) => r.fileNamePrefix === 'terraform-state/');
    expect(tf).toEqual({
      fileNamePrefix: 'terraform-state/',
      daysFromUploadingToHiding: null,
      daysFromHidingToDeleting: 7,
      daysFromStartingToCancelingUnfinishedLargeFiles: 7,
    });
    expect(
      ofType(s.reg, KEY)
        .map((k) => k.inputs.keyName)
        .sort(),
    ).toEqual(['infrafabric-backup-dev-aws-backup-writer', 'infrafabric-backup-dev-aws-restore-reader']);
    expect(ofType(s.reg, REPL)).toHaveLength(0);
  });
  test('the key smoke test is on: one per bucket, wired to that bucket and its two keys', () => {
    const smoke = ofType(s.reg, SMOKE);
    expect(smoke).toHaveLength(1);
    expect(smoke[0].inputs).toMatchObject({
      bucketId: 'bucket-id-dev-aws-bucket',
      bucketName: 'infrafabric-backup-dev-aws',
      writerKeyId: 'key-id-dev-aws-backup-writer',
      readerKeyId: 'key-id-dev-aws-restore-reader',
    });
  });
});

describe('staging stack', () => {
  test('one staging-multi bucket with standard retention', async () => {
    const s = await loadStack('staging');
    const buckets = ofType(s.reg, BUCKET);
    expect(buckets.map((b) => b.inputs.bucketName)).toEqual(['infrafabric-backup-staging-multi']);
    expect(buckets[0].inputs.lifecycleRules).toEqual(STANDARD_RULES);
    expect(ofType(s.reg, KEY)).toHaveLength(2);
    expect(ofType(s.reg, REPL)).toHaveLength(0);
  });
});

describe('local stack', () => {
  test("prod's topology with local- names", async () => {
    const s = await loadStack('local');
    expect(
      ofType(s.reg, BUCKET)
        .map((b) => b.inputs.bucketName)
        .sort(),
    ).toEqual([
      'local-infrafabric-backup-prod-aws',
      'local-infrafabric-backup-prod-aws-replica',
      'local-infrafabric-backup-prod-azure',
      'local-infrafabric-backup-prod-azure-replica',
      'local-infrafabric-backup-prod-gcp',
      'local-infrafabric-backup-prod-gcp-replica',
    ]);
    expect(ofType(s.reg, KEY)).toHaveLength(12);
    expect(ofType(s.reg, REPL)).toHaveLength(3);
    expect(ofType(s.reg, SMOKE)).toHaveLength(3);
  });
});

describe('prod with governance Object Lock', () => {
  test('the lock and its default retention go on the EU twins only (B2 refuses lock on a replication source)', async () => {
    const s = await loadStack('prod', {
      'infrafabric-backup:objectLock': JSON.stringify({ enabled: true, mode: 'governance', days: 45 }),
    });
    for (const b of ofType(s.reg, BUCKET)) {
      if (b.inputs.account === 'replica') {
        expect(b.inputs.fileLockEnabled).toBe(true);
        expect(b.inputs.defaultRetention).toEqual({
          mode: 'governance',
          period: { duration: 45, unit: 'days' },
        });
      } else {
        expect(b.inputs.fileLockEnabled).toBe(false);
        expect(b.inputs.defaultRetention).toBeNull();
      }
    }
  });
});

describe('key rotation from config', () => {
  test('keyRotation reaches every key', async () => {
    const s = await loadStack('staging', { 'infrafabric-backup:keyRotation': '2027-01' });
    const keys = ofType(s.reg, KEY);
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(k.inputs.rotation).toBe('2027-01');
    // The rotation is part of the name, so a leftover of an interrupted create is unambiguous.
    expect(keys.map((k) => k.inputs.keyName).sort()).toEqual([
      'infrafabric-backup-staging-multi-backup-writer-2027-01',
      'infrafabric-backup-staging-multi-restore-reader-2027-01',
    ]);
    for (const k of keys) expect(k.inputs.deleteUnrecordedSameName).toBe(true);
  });
});

describe('key delivery to AWS Secrets Manager (mocks only: the AWS plugin is unobtainable here)', () => {
  test('one secret per writer/reader key, in the configured region; value secret; ARNs exported', async () => {
    const s = await loadStack('staging', {
      'infrafabric-backup:keyDelivery': JSON.stringify({
        mode: 'aws-secrets-manager',
        awsRegion: 'eu-central-1',
      }),
    });
    const secrets = ofType(s.reg, 'aws:secretsmanager/secret:Secret');
    expect(secrets.map((r) => r.inputs.name).sort()).toEqual([
      'infrafabric-backup/staging/multi/backup-writer',
      'infrafabric-backup/staging/multi/restore-reader',
    ]);
    expect(ofType(s.reg, 'pulumi:providers:aws')[0].inputs.region).toBe('eu-central-1');
    const arns = await s.valueOf<Record<string, string>>(s.pulumi.output(s.exports.keyDeliverySecretArns));
    expect(Object.keys(arns).sort()).toEqual([
      'infrafabric-backup/staging/multi/backup-writer',
      'infrafabric-backup/staging/multi/restore-reader',
    ]);
  });
  test('off unless configured', async () => {
    const s = await loadStack('staging');
    expect(ofType(s.reg, 'aws:secretsmanager/secret:Secret')).toHaveLength(0);
    expect(s.exports.keyDeliverySecretArns).toBeUndefined();
  });
});
