/**
 * The policy pack's rules (policy/rules.ts) and policies (policy/policies.ts) called directly, as
 * the engine would through @pulumi/policy: every rule passes the estate the components declare and
 * fails each way it can be broken.
 */
import fc from 'fast-check';
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { KEY_CAPABILITIES, lifecycleRulesFor } from '../../../infra/components/defaults';
import { POLICY_NAMES, buildPolicies, knownProps } from '../../../policy/policies';
import {
  BACKUP_PREFIXES,
  StackFacts,
  checkBackupPrefixLifecycle,
  checkBucketEncryption,
  checkBucketPrivate,
  checkJobKey,
  checkNoForceDestroy,
  checkProtected,
  checkReplicationInProd,
  checkReplicationKey,
  keyPurpose,
  levelFor,
  resourceKind,
  stackFactsFrom,
} from '../../../policy/rules';

const BUCKET_T = 'pulumi-nodejs:dynamic/b2:Bucket';
const KEY_T = 'pulumi-nodejs:dynamic/b2:ApplicationKey';
const REPL_T = 'pulumi-nodejs:dynamic/b2:Replication';

const prod: StackFacts = {
  env: 'prod',
  disposable: false,
  replicationEnabled: true,
  keyNamePrefix: null,
  stack: 'prod',
};
const dev: StackFacts = { ...prod, env: 'dev', replicationEnabled: false, stack: 'dev' };
const local: StackFacts = { ...prod, disposable: true, stack: 'local' };

function bucket(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bucketName: 'infrafabric-backup-prod-aws',
    bucketType: 'allPrivate',
    defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    lifecycleRules: lifecycleRulesFor('standard'),
    forceDestroy: false,
    account: 'primary',
    ...over,
  };
}

function key(purpose: keyof typeof KEY_CAPABILITIES, over: Record<string, unknown> = {}) {
  return {
    keyName: `infrafabric-backup-prod-aws-${purpose}`,
    capabilities: [...KEY_CAPABILITIES[purpose]],
    bucketIds: ['b1'],
    namePrefix: null,
    ...over,
  };
}

describe('policy rules', () => {
  it('the pack checks exactly the prefixes the retention profiles cover', () => {
    for (const profile of ['standard', 'short'] as const) {
      expect(
        lifecycleRulesFor(profile)
          .map((r) => r.fileNamePrefix)
          .sort(),
      ).toEqual([...BACKUP_PREFIXES].sort());
    }
  });

  it('reads the stack facts from PULUMI_CONFIG in both key forms', () => {
    expect(
      stackFactsFrom(
        {
          'infrafabric-backup:env': 'prod',
          'infrafabric-backup:config:disposable': 'true',
          'infrafabric-backup:replication': '{"enabled":true}',
          'infrafabric-backup:keyNamePrefix': 'backups/',
        },
        'local',
      ),
    ).toEqual({
      env: 'prod',
      disposable: true,
      replicationEnabled: true,
      keyNamePrefix: 'backups/',
      stack: 'local',
    });
    expect(stackFactsFrom({}, 'staging').env).toBe('staging');
    expect(stackFactsFrom({}, 'e2e').env).toBeNull();
    expect(stackFactsFrom({ 'infrafabric-backup:env': 'qa' }, 'x').env).toBeNull();
  });

  it('enforcement: dev advisory; staging, prod, local and an unknown env mandatory', () => {
    expect(levelFor(dev)).toBe('advisory');
    expect(levelFor({ ...prod, env: 'staging' })).toBe('mandatory');
    expect(levelFor(prod)).toBe('mandatory');
    expect(levelFor(local)).toBe('mandatory');
    expect(levelFor({ ...prod, env: null })).toBe('mandatory');
  });

  it('tells bucket, key and replication apart by type, or by inputs for a generic dynamic resource', () => {
    expect(resourceKind(BUCKET_T, {})).toBe('bucket');
    expect(resourceKind(KEY_T, {})).toBe('key');
    expect(resourceKind(REPL_T, {})).toBe('replication');
    const generic = 'pulumi-nodejs:dynamic:Resource';
    expect(resourceKind(generic, bucket())).toBe('bucket');
    expect(resourceKind(generic, key('backup-writer'))).toBe('key');
    expect(resourceKind(generic, { sourceBucketId: 'a', destinationBucketId: 'b', ruleName: 'to-eu' })).toBe(
      'replication',
    );
    expect(resourceKind(generic, { other: 1 })).toBeUndefined();
    expect(resourceKind('aws:s3/bucket:Bucket', bucket())).toBeUndefined();
  });

  it('key purpose from the B2 key name (rotated or not) or the resource name', () => {
    expect(keyPurpose('x-prod-aws-backup-writer', 'urn::k')).toBe('backup-writer');
    expect(keyPurpose('x-prod-aws-restore-reader-2026a', 'urn::k')).toBe('restore-reader');
    expect(keyPurpose('x-replication-destination', 'urn::k')).toBe('replication-destination');
    expect(keyPurpose(undefined, 'urn:pulumi:s::p::t::prod-aws-backup-writer')).toBe('backup-writer');
    expect(keyPurpose('something-else', 'urn::other')).toBeNull();
  });

  it('buckets: private, SSE-B2, lifecycle per backup prefix', () => {
    expect(checkBucketPrivate(bucket())).toEqual([]);
    expect(checkBucketPrivate(bucket({ bucketType: 'allPublic' }))[0]).toMatch(/allPublic.*allPrivate/);
    expect(checkBucketEncryption(bucket())).toEqual([]);
    expect(checkBucketEncryption(bucket({ defaultServerSideEncryption: null }))[0]).toMatch(/SSE-B2/);
    expect(checkBackupPrefixLifecycle(bucket())).toEqual([]);
    expect(checkBackupPrefixLifecycle(bucket({ lifecycleRules: lifecycleRulesFor('short') }))).toEqual([]);
    // One bucket-wide rule covers every prefix.
    expect(
      checkBackupPrefixLifecycle(
        bucket({
          lifecycleRules: [
            { fileNamePrefix: '', daysFromUploadingToHiding: null, daysFromHidingToDeleting: 30 },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it('lifecycle: any backup prefix left uncovered (or covered only by a cancel rule) is named', () => {
    fc.assert(
      fc.property(fc.subarray([...BACKUP_PREFIXES], { minLength: 1 }), (dropped) => {
        const rules = lifecycleRulesFor('standard').map((r) =>
          dropped.includes(r.fileNamePrefix as (typeof BACKUP_PREFIXES)[number])
            ? { ...r, daysFromUploadingToHiding: null, daysFromHidingToDeleting: null }
            : r,
        );
        const [msg] = checkBackupPrefixLifecycle(bucket({ lifecycleRules: rules }));
        return dropped.every((p) => msg!.includes(p));
      }),
    );
  });

  it('prod: forceDestroy and unprotected buckets refused unless disposable; dev and staging free', () => {
    expect(checkNoForceDestroy(bucket({ forceDestroy: true }), prod)[0]).toMatch(/forceDestroy in prod/);
    expect(checkNoForceDestroy(bucket({ forceDestroy: true }), local)).toEqual([]);
    expect(checkNoForceDestroy(bucket({ forceDestroy: true }), dev)).toEqual([]);
    expect(checkProtected(bucket(), false, prod)[0]).toMatch(/protect: true/);
    expect(checkProtected(bucket(), true, prod)).toEqual([]);
    expect(checkProtected(bucket(), false, local)).toEqual([]);
    expect(checkProtected(bucket(), false, { ...prod, env: 'staging' })).toEqual([]);
  });

  it('job keys: the default writer/reader pass; scope, forbidden capabilities and prefix are named', () => {
    expect(checkJobKey(key('backup-writer'), 'backup-writer', prod)).toEqual([]);
    expect(checkJobKey(key('restore-reader'), 'restore-reader', prod)).toEqual([]);
    for (const cap of ['deleteFiles', 'writeKeys', 'deleteKeys', 'bypassGovernance', 'listKeys']) {
      const [msg] = checkJobKey(
        key('backup-writer', { capabilities: [...KEY_CAPABILITIES['backup-writer'], cap] }),
        'backup-writer',
        prod,
      );
      expect(msg).toContain(cap);
    }
    expect(checkJobKey(key('backup-writer', { bucketIds: [] }), 'backup-writer', prod)[0]).toMatch(
      /exactly one bucket/,
    );
    expect(checkJobKey(key('backup-writer', { bucketIds: ['a', 'b'] }), 'backup-writer', prod)).toHaveLength(
      1,
    );
    // Unknown during preview: not judged.
    expect(checkJobKey(key('backup-writer', { bucketIds: undefined }), 'backup-writer', prod)).toEqual([]);
    const withPrefix = { ...prod, keyNamePrefix: 'db/' };
    expect(checkJobKey(key('backup-writer'), 'backup-writer', withPrefix)[0]).toMatch(/keyNamePrefix "db\/"/);
    expect(checkJobKey(key('backup-writer', { namePrefix: 'db/' }), 'backup-writer', withPrefix)).toEqual([]);
    expect(checkJobKey(key('backup-writer'), 'backup-writer', prod, true)[0]).toMatch(/no file-name prefix/);
  });

  it('replication keys: the defaults pass (the destination may delete), scope and account caps are named', () => {
    expect(checkReplicationKey(key('replication-source'), 'replication-source')).toEqual([]);
    expect(checkReplicationKey(key('replication-destination'), 'replication-destination')).toEqual([]);
    expect(
      checkReplicationKey(key('replication-source', { bucketIds: [] }), 'replication-source')[0],
    ).toMatch(/exactly one bucket/);
    expect(
      checkReplicationKey(
        key('replication-source', { capabilities: ['readFiles', 'writeKeys'] }),
        'replication-source',
      )[0],
    ).toMatch(/writeKeys/);
  });

  it('prod replication: config on and every primary bucket a source (by id, or counted while unknown)', () => {
    const b = (name: string, id?: string, account = 'primary') => ({
      kind: 'bucket' as const,
      name,
      props: { bucketName: name, bucketId: id, account },
    });
    const r = (src?: string) => ({ kind: 'replication' as const, name: 'r', props: { sourceBucketId: src } });
    expect(checkReplicationInProd([b('a', 'A'), b('a-replica', 'AR', 'replica'), r('A')], prod)).toEqual([]);
    expect(checkReplicationInProd([b('a'), r()], prod)).toEqual([]);
    // A bucket updated in place is previewed with its inputs (no bucketId) while its rule names
    // its id: the rule stands for it. A rule that belongs to another, known bucket does not.
    expect(checkReplicationInProd([b('a'), r('A')], prod)).toEqual([]);
    expect(checkReplicationInProd([b('a'), b('c', 'C'), r('C')], prod)).toEqual([
      'prod bucket a is not replicated (no Replication resource has it as source)',
    ]);
    expect(checkReplicationInProd([b('a', 'A'), b('c', 'C'), r('A')], prod)).toEqual([
      'prod bucket c is not replicated (no Replication resource has it as source)',
    ]);
    expect(checkReplicationInProd([b('a', 'A'), r('A')], { ...prod, replicationEnabled: false })[0]).toMatch(
      /replication.enabled/,
    );
    expect(checkReplicationInProd([b('a', 'A')], dev)).toEqual([]);
    // A stack without buckets of ours (another program on the same pack) has nothing to replicate.
    expect(checkReplicationInProd([], { ...prod, env: null, replicationEnabled: false })).toEqual([]);
    expect(checkReplicationInProd([b('a', 'A')], { ...prod, env: 'staging' })).toEqual([]);
  });
});

describe('policies (as the engine calls them through @pulumi/policy)', () => {
  const args = (type: string, props: Record<string, unknown>, over: Partial<ResourceValidationArgs> = {}) =>
    ({
      type,
      props,
      urn: `urn:pulumi:prod::infrafabric-backup::t::${String(props.keyName ?? props.bucketName)}`,
      name: 'n',
      opts: {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: {},
        additionalSecretOutputs: [],
      },
      stackTags: new Map(),
      getConfig: () => ({}),
      ...over,
    }) as unknown as ResourceValidationArgs;

  function violations(facts: StackFacts, type: string, props: Record<string, unknown>, protect = true) {
    const out: string[] = [];
    for (const p of buildPolicies(facts) as ResourceValidationPolicy[]) {
      if (!p.validateResource) continue;
      const fns = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
      for (const fn of fns)
        void fn(args(type, props, { opts: { protect } as ResourceValidationArgs['opts'] }), (m: string) =>
          out.push(`${p.name}: ${m}`),
        );
    }
    return out;
  }

  it('values unknown during preview (props that throw when read, as @pulumi/policy does) are left undefined, not fatal', () => {
    const props = {
      bucketName: 'b',
      get bucketId(): string {
        throw new Error("string value at .bucketId can't be known during preview");
      },
      bucketIds: [
        {
          toJSON() {
            throw new Error('unknown');
          },
        },
      ],
    };
    expect(knownProps(props, ['bucketName', 'bucketId', 'bucketIds', 'absent'])).toEqual({
      bucketName: 'b',
      bucketId: undefined,
      bucketIds: undefined,
      absent: undefined,
    });
    const p = buildPolicies(prod).find((x) => x.name === 'b2-prod-replication') as StackValidationPolicy;
    const out: string[] = [];
    const replication = {
      get sourceBucketId(): string {
        throw new Error("string value at .sourceBucketId can't be known during preview");
      },
      destinationBucketId: 'x',
      ruleName: 'to-eu',
    };
    void p.validateStack(
      {
        resources: [
          {
            type: BUCKET_T,
            props: {
              ...bucket(),
              get bucketId() {
                throw new Error('unknown');
              },
            },
            name: 'a',
            urn: 'u',
            opts: {},
          },
          { type: REPL_T, props: replication, name: 'r', urn: 'r', opts: {} },
        ],
        stackTags: new Map(),
        getConfig: () => ({}),
      } as never,
      (m: string) => out.push(m),
    );
    expect(out).toEqual([]);
  });

  it('names every policy once', () => {
    expect(buildPolicies(prod).map((p) => p.name)).toEqual([...POLICY_NAMES]);
  });

  it('a compliant prod bucket and keys pass every policy; other resource types are ignored', () => {
    expect(violations(prod, BUCKET_T, bucket())).toEqual([]);
    expect(violations(prod, KEY_T, key('backup-writer'))).toEqual([]);
    expect(violations(prod, KEY_T, key('replication-destination'))).toEqual([]);
    expect(violations(prod, 'aws:secretsmanager/secret:Secret', { bucketType: 'allPublic' })).toEqual([]);
  });

  it('a public, unencrypted, force-destroyable, unprotected prod bucket trips each policy by name', () => {
    const v = violations(
      prod,
      BUCKET_T,
      bucket({
        bucketType: 'allPublic',
        defaultServerSideEncryption: null,
        forceDestroy: true,
        lifecycleRules: [],
      }),
      false,
    );
    expect(v.map((s) => s.split(':')[0]).sort()).toEqual(
      [
        'b2-backup-prefix-lifecycle',
        'b2-bucket-default-encryption',
        'b2-bucket-private',
        'b2-prod-bucket-protected',
        'b2-prod-no-force-destroy',
      ].sort(),
    );
  });

  it('requireNamePrefix comes from the policy config', () => {
    const out: string[] = [];
    const p = buildPolicies(prod).find(
      (x) => x.name === 'b2-job-key-least-privilege',
    ) as ResourceValidationPolicy;
    void (p.validateResource as (a: ResourceValidationArgs, r: (m: string) => void) => void)(
      args(KEY_T, key('backup-writer'), { getConfig: (() => ({ requireNamePrefix: true })) as never }),
      (m) => out.push(m),
    );
    expect(out[0]).toMatch(/no file-name prefix/);
  });

  it('the stack policy sees the resources of the stack', () => {
    const p = buildPolicies(prod).find((x) => x.name === 'b2-prod-replication') as StackValidationPolicy;
    const out: string[] = [];
    void p.validateStack(
      {
        resources: [
          { type: BUCKET_T, props: bucket({ bucketId: 'A' }), name: 'a', urn: 'u', opts: {} },
          { type: 'pulumi:pulumi:Stack', props: {}, name: 's', urn: 's', opts: {} },
        ],
        stackTags: new Map(),
        getConfig: () => ({}),
      } as never,
      (m: string) => out.push(m),
    );
    expect(out).toEqual([
      'prod bucket infrafabric-backup-prod-aws is not replicated (no Replication resource has it as source)',
    ]);
  });
});
