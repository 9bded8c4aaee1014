/* eslint-disable @typescript-eslint/no-explicit-any -- registered inputs and stack exports are arbitrary property bags. */
/**
 * The stack program under Pulumi mocks, once per stack file: which buckets, keys and replication
 * rules each environment declares (prod must match docs/architecture.md §1 exactly), with which inputs, and
 * which outputs are secret.
 */
import { lifecycleRulesFor } from '../../../infra/components/defaults';
import type * as pulumiT from '@pulumi/pulumi';
import type { Registered } from './mocks';
import { stackDiscriminator } from '../../../infra/providers/ownership';

/** The key-name suffix of stack `infrafabric-backup/<stack>` (ownership discriminator). */
const D = (stack: string) => `-${stackDiscriminator(`infrafabric-backup/${stack}`)}`;

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

/** Staging narrowed to one `multi` bucket without replication (tests that look at two keys). */
const SINGLE_BUCKET: Record<string, string> = {
  'infrafabric-backup:providers': '["multi"]',
  'infrafabric-backup:replication': '{"enabled":false}',
};

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

describe('prod stack (docs/architecture.md §1)', () => {
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
        `primary:infrafabric-backup-prod-${p}-backup-writer${D('prod')}`,
        `primary:infrafabric-backup-prod-${p}-restore-reader${D('prod')}`,
        `primary:infrafabric-backup-prod-${p}-replication-source${D('prod')}`,
        `replica:infrafabric-backup-prod-${p}-replication-destination${D('prod')}`,
      );
    }
    expect(keys).toEqual(expected.sort());
    const byName = Object.fromEntries(ofType(s.reg, KEY).map((k) => [k.inputs.keyName, k.inputs]));
    const w = byName[`infrafabric-backup-prod-aws-backup-writer${D('prod')}`];
    expect(w.bucketIds).toEqual(['bucket-id-prod-aws-source-bucket']);
    expect(w.capabilities).not.toContain('deleteFiles');
    expect(w.capabilities).toContain('writeFiles');
    expect(byName[`infrafabric-backup-prod-aws-restore-reader${D('prod')}`].capabilities).toEqual([
      'listBuckets',
      'listFiles',
      'readBuckets',
      'readFiles',
    ]);
    expect(byName[`infrafabric-backup-prod-aws-replication-source${D('prod')}`].capabilities).toEqual([
      'readFileLegalHolds',
      'readFileRetentions',
      'readFiles',
    ]);
    expect(byName[`infrafabric-backup-prod-aws-replication-destination${D('prod')}`].bucketIds).toEqual([
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
      'K005-fake-secret-for-prod-aws-source-backup-writer-initial',
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
    ).toEqual([
      `infrafabric-backup-dev-aws-backup-writer${D('dev')}`,
      `infrafabric-backup-dev-aws-restore-reader${D('dev')}`,
    ]);
    expect(ofType(s.reg, REPL)).toHaveLength(0);
  });
  test('the key smoke test is on: one per bucket, wired to that bucket and its two keys', () => {
    const smoke = ofType(s.reg, SMOKE);
    expect(smoke).toHaveLength(1);
    expect(smoke[0].inputs).toMatchObject({
      bucketId: 'bucket-id-dev-aws-bucket',
      bucketName: 'infrafabric-backup-dev-aws',
      writerKeyId: 'key-id-dev-aws-backup-writer-initial',
      readerKeyId: 'key-id-dev-aws-restore-reader-initial',
    });
  });
});

describe('staging stack', () => {
  test("prod's shape (three providers, each replicated to an EU twin) with the short retention", async () => {
    const s = await loadStack('staging');
    const prod = await loadStack('prod');
    const names = (l: Loaded) =>
      ofType(l.reg, BUCKET)
        .map((b) => String(b.inputs.bucketName).replace(/-(staging|prod)-/, '-ENV-'))
        .sort();
    expect(names(s)).toEqual(names(prod));
    expect(names(s)).toHaveLength(6);
    for (const b of ofType(s.reg, BUCKET))
      expect(b.inputs.lifecycleRules).toEqual(lifecycleRulesFor('short'));
    expect(ofType(s.reg, KEY)).toHaveLength(ofType(prod.reg, KEY).length);
    expect(ofType(s.reg, REPL)).toHaveLength(3);
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
    // One multi bucket without replication: two keys to look at.
    const s = await loadStack('staging', {
      'infrafabric-backup:keyRotation': '2027-01',
      'infrafabric-backup:providers': '["multi"]',
      'infrafabric-backup:replication': '{"enabled":false}',
    });
    const keys = ofType(s.reg, KEY);
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(k.inputs.rotation).toBe('2027-01');
    // The rotation is part of the name, so a leftover of an interrupted create is unambiguous.
    expect(keys.map((k) => k.inputs.keyName).sort()).toEqual([
      `infrafabric-backup-staging-multi-backup-writer-2027-01${D('staging')}`,
      `infrafabric-backup-staging-multi-restore-reader-2027-01${D('staging')}`,
    ]);
    for (const k of keys) expect(k.inputs.deleteUnrecordedSameName).toBe(true);
  });
});

describe('key delivery to AWS Secrets Manager (mocks only: the AWS plugin is unobtainable here)', () => {
  test('one secret per writer/reader key, in the configured region; value secret; ARNs exported', async () => {
    const s = await loadStack('staging', {
      'infrafabric-backup:providers': '["multi"]',
      'infrafabric-backup:replication': '{"enabled":false}',
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

/**
 * URNs as the engine derives them from what the program registers, and the URNs each resource
 * answers to through aliases: its own alias specs, and (the engine's inheritance rule) its parent's
 * aliases applied to its name when the name starts with the parent's. The e2e tests
 * (test/e2e/aliases.test.ts) prove the same moves against the real engine.
 */
function urnIndex(reg: Registered[], stack: string) {
  const prefix = `urn:pulumi:${stack}::infrafabric-backup::`;
  const lastType = (urn: string) => urn.split('::')[2]!.split('$').pop()!;
  // The mock monitor names a parent by `<parent's type>$<type>::<name>`; the engine uses the
  // whole type chain. Records are found by the mock URN, URNs computed the engine's way.
  const mockUrn = (r: Registered) =>
    `${prefix}${r.parent ? lastType(r.parent) + '$' : ''}${r.type}::${r.name}`;
  const byMock = new Map(reg.map((r) => [mockUrn(r), r]));
  const urnFor = (parentUrn: string, type: string, name: string) =>
    `${prefix}${parentUrn ? parentUrn.split('::')[2] + '$' : ''}${type}::${name}`;
  const realUrn = (r: Registered): string =>
    urnFor(r.parent ? realUrn(byMock.get(r.parent)!) : '', r.type, r.name);
  const real = (urn: string) => (byMock.has(urn) ? realUrn(byMock.get(urn)!) : urn);
  const byUrn = new Map<string, Registered>(reg.map((r) => [realUrn(r), r]));
  const memo = new Map<string, string[]>();
  const answersTo = (urn: string): string[] => {
    if (memo.has(urn)) return memo.get(urn)!;
    const r = byUrn.get(urn)!;
    const parentUrn = r.parent ? real(r.parent) : '';
    const out = new Set<string>([urn]);
    const own = (r.aliases ?? []).map((a: any) => ({
      name: a.spec?.name || r.name,
      parent: a.spec?.parenturn ? real(a.spec.parenturn) : parentUrn,
    }));
    for (const a of own) out.add(urnFor(a.parent, r.type, a.name));
    const parent = r.parent ? byMock.get(r.parent) : undefined;
    if (parent) {
      for (const pa of answersTo(parentUrn)) {
        if (pa === parentUrn) continue;
        const paName = pa.split('::').pop()!;
        for (const n of [r.name, ...own.map((x) => x.name)]) {
          if (n.startsWith(parent.name)) out.add(urnFor(pa, r.type, paName + n.slice(parent.name.length)));
        }
      }
    }
    memo.set(urn, [...out]);
    return [...out];
  };
  return { urns: [...byUrn.keys()], byUrn, answersTo };
}

/** For each bucket/key URN of `before`, the resource of `after` that takes it over (or undefined). */
function moves(before: Registered[], after: Registered[], stack: string, types = [BUCKET, KEY]) {
  const a = urnIndex(before, stack);
  const b = urnIndex(after, stack);
  const out: Record<string, string | undefined> = {};
  for (const u of a.urns) {
    if (!types.includes(a.byUrn.get(u)!.type)) continue;
    out[u.split('::').pop()!] = b.urns
      .find((v) => b.answersTo(v).includes(u))
      ?.split('::')
      .pop();
  }
  return out;
}

describe('refactors do not replace: moves are kept by aliases', () => {
  const on = { 'infrafabric-backup:replication': JSON.stringify({ enabled: true }) };
  test('replication switched on: the bucket and its writer/reader keys move to the replicated source', async () => {
    const off = await loadStack('dev');
    const repl = await loadStack('dev', on);
    expect(moves(off.reg, repl.reg, 'dev')).toEqual({
      'dev-aws-bucket': 'dev-aws-source-bucket',
      'dev-aws-backup-writer-initial': 'dev-aws-source-backup-writer-initial',
      'dev-aws-restore-reader-initial': 'dev-aws-source-restore-reader-initial',
    });
  });
  test('replication switched off: the source bucket and its keys move back (the twin is dropped)', async () => {
    const repl = await loadStack('dev', on);
    const off = await loadStack('dev');
    const m = moves(repl.reg, off.reg, 'dev');
    expect(m['dev-aws-source-bucket']).toBe('dev-aws-bucket');
    expect(m['dev-aws-source-backup-writer-initial']).toBe('dev-aws-backup-writer-initial');
    expect(m['dev-aws-source-restore-reader-initial']).toBe('dev-aws-restore-reader-initial');
    expect(m['dev-aws-replica-bucket']).toBeUndefined();
  });
  test('the check can fail: without the aliases the same switch would replace the bucket', async () => {
    const off = await loadStack('dev');
    const repl = await loadStack('dev', on);
    const stripped = repl.reg.map((r) => ({ ...r, aliases: [] }));
    expect(moves(off.reg, stripped, 'dev')['dev-aws-bucket']).toBeUndefined();
  });
});

describe('key generations (rotation with an overlap window)', () => {
  const rot = (current: string, previous?: string) => ({
    'infrafabric-backup:keyRotation': current,
    ...(previous ? { 'infrafabric-backup:previousKeyRotation': previous } : {}),
  });
  /** Key URNs as a stack deployed before generations existed registered them. */
  const legacy = (reg: Registered[]) =>
    reg.map((r) =>
      r.type === KEY ? { ...r, name: r.name.replace(/-(initial|2026-12|2027-01)$/, ''), aliases: [] } : r,
    );

  test('previousKeys is empty before the first rotation; keys has the current generation', async () => {
    const s = await loadStack('prod');
    const prev = await s.valueOf<any>(s.pulumi.output(s.exports.previousKeys));
    expect(prev).toEqual({ writer: {}, reader: {} });
    const keys = await s.valueOf<any>(s.pulumi.output(s.exports.keys));
    expect(Object.keys(keys.writer).sort()).toEqual(['aws', 'azure', 'gcp']);
  });

  test('after a rotation both generations are declared; previousKeys has the shape of keys, secrets secret', async () => {
    const s = await loadStack('prod', rot('2026-12', 'initial'));
    const names = ofType(s.reg, KEY)
      .filter((k) => k.inputs.account === 'primary' && !k.name.includes('replication'))
      .map((k) => k.inputs.keyName)
      .sort();
    expect(names.filter((n) => n.includes('prod-aws-'))).toEqual([
      `infrafabric-backup-prod-aws-backup-writer-2026-12${D('prod')}`,
      `infrafabric-backup-prod-aws-backup-writer${D('prod')}`,
      `infrafabric-backup-prod-aws-restore-reader-2026-12${D('prod')}`,
      `infrafabric-backup-prod-aws-restore-reader${D('prod')}`,
    ]);
    const keys = await s.valueOf<any>(s.pulumi.output(s.exports.keys));
    const prev = await s.valueOf<any>(s.pulumi.output(s.exports.previousKeys));
    expect(Object.keys(prev)).toEqual(Object.keys(keys));
    for (const purpose of ['writer', 'reader']) {
      expect(Object.keys(prev[purpose]).sort()).toEqual(Object.keys(keys[purpose]).sort());
      expect(Object.keys(prev[purpose].aws).sort()).toEqual(['applicationKey', 'keyId']);
      expect(prev[purpose].aws.keyId).not.toBe(keys[purpose].aws.keyId);
    }
    expect(await s.pulumi.isSecret(s.exports.previousKeys.writer.aws.applicationKey)).toBe(true);
    expect(keys.writer.aws.keyId).toBe('key-id-prod-aws-source-backup-writer-2026-12');
    expect(prev.writer.aws.keyId).toBe('key-id-prod-aws-source-backup-writer-initial');
    // Replication keys are one generation (the Replication resource switches in place).
    expect(ofType(s.reg, KEY).filter((k) => k.name.includes('replication'))).toHaveLength(6);
  });

  test('each generation keeps its resource: current → previous → deleted', async () => {
    const g0 = await loadStack('staging', SINGLE_BUCKET);
    const g1 = await loadStack('staging', { ...SINGLE_BUCKET, ...rot('2026-12', 'initial') });
    const g2 = await loadStack('staging', { ...SINGLE_BUCKET, ...rot('2027-01', '2026-12') });
    expect(moves(g0.reg, g1.reg, 'staging', [KEY])).toEqual({
      'staging-multi-backup-writer-initial': 'staging-multi-backup-writer-initial',
      'staging-multi-restore-reader-initial': 'staging-multi-restore-reader-initial',
    });
    expect(moves(g1.reg, g2.reg, 'staging', [KEY])).toEqual({
      'staging-multi-backup-writer-initial': undefined,
      'staging-multi-restore-reader-initial': undefined,
      'staging-multi-backup-writer-2026-12': 'staging-multi-backup-writer-2026-12',
      'staging-multi-restore-reader-2026-12': 'staging-multi-restore-reader-2026-12',
    });
  });

  test('upgrade: keys deployed before generations existed are kept, by the oldest declared generation', async () => {
    const old = legacy((await loadStack('staging', SINGLE_BUCKET)).reg);
    expect(moves(old, (await loadStack('staging', SINGLE_BUCKET)).reg, 'staging', [KEY])).toEqual({
      'staging-multi-backup-writer': 'staging-multi-backup-writer-initial',
      'staging-multi-restore-reader': 'staging-multi-restore-reader-initial',
    });
    // upgrading and rotating at once: the old keys become the previous generation
    expect(
      moves(
        old,
        (await loadStack('staging', { ...SINGLE_BUCKET, ...rot('2026-12', 'initial') })).reg,
        'staging',
        [KEY],
      ),
    ).toEqual({
      'staging-multi-backup-writer': 'staging-multi-backup-writer-initial',
      'staging-multi-restore-reader': 'staging-multi-restore-reader-initial',
    });
  });

  test('keyValidDurationInSeconds reaches the writer/reader keys only', async () => {
    const s = await loadStack('prod', { 'infrafabric-backup:keyValidDurationInSeconds': '604800' });
    for (const k of ofType(s.reg, KEY)) {
      expect(k.inputs.validDurationInSeconds).toBe(k.name.includes('replication') ? undefined : 604800);
    }
  });
});

describe('prod protection', () => {
  test('prod buckets are protected, and carry no disposable flag', async () => {
    const s = await loadStack('prod');
    const buckets = ofType(s.reg, BUCKET);
    expect(buckets).toHaveLength(6);
    for (const b of buckets) {
      expect(b.protect).toBe(true);
      expect(b.inputs.disposable).toBeUndefined();
    }
    // keys stay unprotected: rotation must be able to delete the old generation
    for (const k of ofType(s.reg, KEY)) expect(k.protect).toBe(false);
  });
  test('"prod" is env: prod, not the stack name', async () => {
    const s = await loadStack('staging', { 'infrafabric-backup:env': 'prod' });
    for (const b of ofType(s.reg, BUCKET)) expect(b.protect).toBe(true);
  });
  test('local (env prod, disposable): unprotected, disposable reaches every bucket', async () => {
    const s = await loadStack('local');
    for (const b of ofType(s.reg, BUCKET)) {
      expect(b.protect).toBe(false);
      expect(b.inputs).toMatchObject({ disposable: true, forceDestroy: true });
    }
  });
  test('dev and staging: unprotected', async () => {
    for (const stack of ['dev', 'staging']) {
      for (const b of ofType((await loadStack(stack)).reg, BUCKET)) expect(b.protect).toBe(false);
    }
  });
});
