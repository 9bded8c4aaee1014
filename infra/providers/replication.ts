/**
 * `b2:Replication` — one Cloud Replication rule from a source bucket (primary, US-West account) to a
 * destination bucket (replica, EU account); type `pulumi-nodejs:dynamic/b2:Replication`.
 *
 * B2 stores replication inside BOTH buckets' `replicationConfiguration` (docs/b2-api.md §10): the
 * destination maps the source key id to a destination key id, the source holds the rule and its
 * key. Modelling it as its own resource that depends on both buckets and both keys keeps the
 * dependency graph acyclic (the buckets need nothing from each other), and lets keys rotate:
 * new key ids update this resource in place before the old keys are deleted.
 *
 * Setup writes the destination first, then the source (B2's order); delete removes the source rule
 * first, then the mapping. Other rules and mappings on either bucket are preserved.
 *
 * Key rotation (new key ids, an in-place update) is ordered so that the source always holds a key
 * the destination maps: 1. the destination gets the NEW mapping next to the old one; 2. the source
 * switches to the new key; 3. the old mapping is removed. A failure between steps leaves both
 * mappings, which is valid; the next `up` finishes the switch.
 */
import * as pulumi from '@pulumi/pulumi';
import type { B2Client, ReplicationConfiguration, ReplicationRule } from '../b2';
import { clientFor, configureFromStack } from './credentials';
import { LiveBucket, findBucketById, updateBucketWithRetry } from './b2ops';
import { thinLoader } from './loader';
import { isUnknown, sameValue } from './normalize';
import { ACCOUNT_ROLES, AccountRole } from './types';
import { Problem } from './validation/problem';
import { validateKnownProperties } from './validation/unknownProperties';

export interface ReplicationArgs {
  /** Source bucket (in `sourceAccount`). Changing it replaces the rule. */
  sourceBucketId: pulumi.Input<string>;
  /** Destination bucket (in `destinationAccount`). Changing it replaces the rule. */
  destinationBucketId: pulumi.Input<string>;
  /** Source-side key: readFiles, readFileLegalHolds, readFileRetentions, scoped to the source. */
  sourceKeyId: pulumi.Input<string>;
  /** Destination-side key: writeFiles, writeFileLegalHolds, writeFileRetentions, deleteFiles. */
  destinationKeyId: pulumi.Input<string>;
  /** `^[a-zA-Z0-9_-]{1,64}$`, unique on the source bucket. https://www.backblaze.com/docs/cloud-storage-cloud-replication */
  ruleName: pulumi.Input<string>;
  /** Only names starting with this replicate. Default `""` (everything). */
  fileNamePrefix?: pulumi.Input<string>;
  /** Back-fill files that existed before the rule. Default false. */
  includeExistingFiles?: pulumi.Input<boolean>;
  /** Default true. */
  isEnabled?: pulumi.Input<boolean>;
  /** 1–2147483647; default 128 (b2sdk's). */
  priority?: pulumi.Input<number>;
  /** Default `primary`. */
  sourceAccount?: pulumi.Input<AccountRole>;
  /** Default `replica`. */
  destinationAccount?: pulumi.Input<AccountRole>;
}

export interface ReplicationInputs {
  sourceBucketId: string;
  destinationBucketId: string;
  sourceKeyId: string;
  destinationKeyId: string;
  ruleName: string;
  fileNamePrefix: string;
  includeExistingFiles: boolean;
  isEnabled: boolean;
  priority: number;
  sourceAccount: AccountRole;
  destinationAccount: AccountRole;
}

export type ReplicationOutputs = ReplicationInputs;

export const REPLICATION_REPLACES = [
  'sourceBucketId',
  'destinationBucketId',
  'ruleName',
  'sourceAccount',
  'destinationAccount',
] as const;
export const REPLICATION_UPDATABLE = [
  'sourceKeyId',
  'destinationKeyId',
  'fileNamePrefix',
  'includeExistingFiles',
  'isEnabled',
  'priority',
] as const;

export function normalizeReplicationInputs(raw: Partial<ReplicationInputs>): ReplicationInputs {
  return {
    sourceBucketId: raw.sourceBucketId as string,
    destinationBucketId: raw.destinationBucketId as string,
    sourceKeyId: raw.sourceKeyId as string,
    destinationKeyId: raw.destinationKeyId as string,
    ruleName: raw.ruleName as string,
    fileNamePrefix: raw.fileNamePrefix ?? '',
    includeExistingFiles: raw.includeExistingFiles ?? false,
    isEnabled: raw.isEnabled ?? true,
    priority: raw.priority ?? 128,
    sourceAccount: raw.sourceAccount ?? 'primary',
    destinationAccount: raw.destinationAccount ?? 'replica',
  };
}

export function checkReplication(news: Record<string, unknown>): Problem[] {
  const problems: Problem[] = validateKnownProperties(news, [
    ...REPLICATION_REPLACES,
    ...REPLICATION_UPDATABLE,
  ]);
  for (const f of ['sourceBucketId', 'destinationBucketId', 'sourceKeyId', 'destinationKeyId'] as const) {
    if (typeof news[f] !== 'string' || !news[f]) problems.push({ property: f, reason: 'required' });
  }
  if (typeof news.ruleName !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(news.ruleName)) {
    problems.push({ property: 'ruleName', reason: 'must match ^[a-zA-Z0-9_-]{1,64}$' });
  }
  const p = news.priority;
  if (p !== undefined && (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 2147483647)) {
    problems.push({ property: 'priority', reason: 'must be a whole number from 1 to 2147483647' });
  }
  for (const f of ['sourceAccount', 'destinationAccount'] as const) {
    if (news[f] !== undefined && !(ACCOUNT_ROLES as readonly unknown[]).includes(news[f])) {
      problems.push({ property: f, reason: `must be one of ${ACCOUNT_ROLES.join(', ')}` });
    }
  }
  if (
    news.sourceBucketId &&
    !isUnknown(news.sourceBucketId) &&
    news.sourceBucketId === news.destinationBucketId
  ) {
    problems.push({ property: 'destinationBucketId', reason: 'must differ from sourceBucketId' });
  }
  return problems;
}

const log = (line: string) => process.stderr.write(`[b2:Replication] ${line}\n`);

/** The bucket's replication configuration; fails closed when the key may not read it. */
function replicationOf(bucket: LiveBucket): ReplicationConfiguration {
  const guarded = (
    bucket as {
      replicationConfiguration?: {
        isClientAuthorizedToRead: boolean;
        value: ReplicationConfiguration | null;
      };
    }
  ).replicationConfiguration;
  if (guarded && guarded.isClientAuthorizedToRead === false) {
    throw new Error(
      `bucket ${bucket.bucketName} (${bucket.bucketId}): the B2 key in use may not read replicationConfiguration ` +
        '(needs readBucketReplications); refusing to treat it as empty.',
    );
  }
  // Absent (older responses) means no replication, as b2sdk reads it.
  return {
    asReplicationSource: guarded?.value?.asReplicationSource ?? null,
    asReplicationDestination: guarded?.value?.asReplicationDestination ?? null,
  };
}

function ruleOf(i: ReplicationInputs): ReplicationRule {
  return {
    replicationRuleName: i.ruleName,
    destinationBucketId: i.destinationBucketId,
    fileNamePrefix: i.fileNamePrefix,
    includeExistingFiles: i.includeExistingFiles,
    isEnabled: i.isEnabled,
    priority: i.priority,
  };
}

/**
 * Patch for the destination: our source key maps to our destination key (`remove`: that mapping
 * goes), and the mapping of `dropSourceKeyId` (a replaced source key) goes. Other mappings stay.
 */
export function destinationPatch(
  live: LiveBucket,
  i: ReplicationInputs,
  dropSourceKeyId: string | null,
  remove: boolean,
) {
  const cfg = replicationOf(live);
  const mapping = { ...(cfg.asReplicationDestination?.sourceToDestinationKeyMapping ?? {}) };
  if (dropSourceKeyId && dropSourceKeyId !== i.sourceKeyId) delete mapping[dropSourceKeyId];
  if (remove) delete mapping[i.sourceKeyId];
  else mapping[i.sourceKeyId] = i.destinationKeyId;
  const next: ReplicationConfiguration = {
    asReplicationSource: cfg.asReplicationSource,
    asReplicationDestination: Object.keys(mapping).length ? { sourceToDestinationKeyMapping: mapping } : null,
  };
  return sameValue(next, cfg) ? null : { replicationConfiguration: next };
}

/** Patch for the source: our rule (by name) and the source key; other rules kept. */
function sourcePatch(live: LiveBucket, i: ReplicationInputs, remove: boolean) {
  const cfg = replicationOf(live);
  // On removal only OUR rule goes: same name AND same destination, so deleting a replaced
  // resource never removes the rule its replacement wrote.
  const ours = (r: ReplicationRule) =>
    r.replicationRuleName === i.ruleName && (!remove || r.destinationBucketId === i.destinationBucketId);
  const others = (cfg.asReplicationSource?.replicationRules ?? []).filter((r) => !ours(r));
  const rules = remove ? others : [...others, ruleOf(i)];
  const next: ReplicationConfiguration = {
    asReplicationSource: rules.length
      ? {
          sourceApplicationKeyId: remove ? cfg.asReplicationSource!.sourceApplicationKeyId : i.sourceKeyId,
          replicationRules: rules,
        }
      : null,
    asReplicationDestination: cfg.asReplicationDestination,
  };
  return sameValue(next, cfg) ? null : { replicationConfiguration: next };
}

async function apply(i: ReplicationInputs, previous: ReplicationInputs | null): Promise<ReplicationOutputs> {
  const src: B2Client = clientFor(i.sourceAccount);
  const dst: B2Client = clientFor(i.destinationAccount);
  const what = `replication ${i.ruleName}`;
  // 1. the new mapping, next to the old one (the source still uses the old key).
  await updateBucketWithRetry(
    dst,
    i.destinationBucketId,
    what,
    (b) => destinationPatch(b, i, null, false),
    log,
  );
  // 2. the source switches to the new key: both keys are mapped at this moment.
  await updateBucketWithRetry(src, i.sourceBucketId, what, (b) => sourcePatch(b, i, false), log);
  // 3. only now the old source key's mapping goes.
  const old = previous?.sourceKeyId;
  if (old && old !== i.sourceKeyId) {
    await updateBucketWithRetry(
      dst,
      i.destinationBucketId,
      what,
      (b) => destinationPatch(b, i, old, false),
      log,
    );
  }
  return i;
}

export const replicationProvider: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    configureFromStack(req.config);
  },

  async check(_olds, news) {
    const failures = checkReplication(news);
    if (failures.length) return { inputs: news, failures };
    return { inputs: normalizeReplicationInputs(news) };
  },

  async diff(_id, olds: ReplicationOutputs, news: ReplicationInputs) {
    const o = normalizeReplicationInputs(olds);
    const n = normalizeReplicationInputs(news);
    const changed = [...REPLICATION_REPLACES, ...REPLICATION_UPDATABLE].filter((f) => !sameValue(o[f], n[f]));
    const replaces = changed.filter((f) => (REPLICATION_REPLACES as readonly string[]).includes(f));
    // A replacement removes the old rule first: B2 allows at most two rules per source bucket and
    // the new rule may reuse the old name.
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs: ReplicationInputs) {
    const i = normalizeReplicationInputs(inputs);
    return { id: `${i.sourceBucketId}/${i.ruleName}`, outs: await apply(i, null) };
  },

  async read(id, props?: Partial<ReplicationOutputs>) {
    const i = normalizeReplicationInputs(props ?? {});
    const [sourceBucketId, ruleName] = id.split('/');
    const source = await findBucketById(clientFor(i.sourceAccount), sourceBucketId);
    if (!source) return { id: '', props: {} };
    const srcCfg = replicationOf(source).asReplicationSource;
    const rule = srcCfg?.replicationRules.find((r) => r.replicationRuleName === ruleName);
    if (!srcCfg || !rule) return { id: '', props: {} };
    const dest = await findBucketById(clientFor(i.destinationAccount), rule.destinationBucketId);
    const mapping = dest
      ? (replicationOf(dest).asReplicationDestination?.sourceToDestinationKeyMapping ?? {})
      : {};
    const live: ReplicationOutputs = {
      ...i,
      sourceBucketId,
      ruleName,
      destinationBucketId: rule.destinationBucketId,
      sourceKeyId: srcCfg.sourceApplicationKeyId,
      destinationKeyId: mapping[srcCfg.sourceApplicationKeyId] ?? '',
      fileNamePrefix: rule.fileNamePrefix,
      includeExistingFiles: rule.includeExistingFiles,
      isEnabled: rule.isEnabled,
      priority: rule.priority,
    };
    return { id, props: live };
  },

  async update(_id, olds: ReplicationOutputs, news: ReplicationInputs) {
    return { outs: await apply(normalizeReplicationInputs(news), normalizeReplicationInputs(olds)) };
  },

  async delete(_id, props: ReplicationOutputs) {
    const i = normalizeReplicationInputs(props);
    const what = `replication ${i.ruleName}`;
    if (await findBucketById(clientFor(i.sourceAccount), i.sourceBucketId)) {
      await updateBucketWithRetry(
        clientFor(i.sourceAccount),
        i.sourceBucketId,
        what,
        (b) => sourcePatch(b, i, true),
        log,
      );
    }
    if (await findBucketById(clientFor(i.destinationAccount), i.destinationBucketId)) {
      await updateBucketWithRetry(
        clientFor(i.destinationAccount),
        i.destinationBucketId,
        what,
        (b) => destinationPatch(b, i, null, true),
        log,
      );
    }
  },
};

export class Replication extends pulumi.dynamic.Resource {
  declare readonly sourceBucketId: pulumi.Output<string>;
  declare readonly destinationBucketId: pulumi.Output<string>;
  declare readonly sourceKeyId: pulumi.Output<string>;
  declare readonly destinationKeyId: pulumi.Output<string>;
  declare readonly ruleName: pulumi.Output<string>;
  declare readonly fileNamePrefix: pulumi.Output<string>;
  declare readonly isEnabled: pulumi.Output<boolean>;
  declare readonly priority: pulumi.Output<number>;

  constructor(name: string, args: ReplicationArgs, opts?: pulumi.CustomResourceOptions) {
    super(thinLoader('replication', 'replicationProvider'), name, { ...args }, opts, 'b2', 'Replication');
  }
}
