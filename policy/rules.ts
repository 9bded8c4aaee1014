/**
 * The estate's guardrails as plain functions over a resource's inputs (README "Policy pack").
 *
 * Every check returns the violation messages it found (empty = compliant), so the same code runs
 * inside the policy pack (policy/index.ts, started by the engine) and in unit tests
 * (test/unit/policy/rules.test.ts) without an engine.
 *
 * The B2 resources are Pulumi dynamic resources: the engine calls them
 * `pulumi-nodejs:dynamic/b2:Bucket` (…`:ApplicationKey`, …`:Replication`) because the providers
 * register a module and type name (infra/providers/*.ts). Older SDKs, or a dynamic resource
 * declared without those names, give every one the type `pulumi-nodejs:dynamic:Resource`; such
 * resources are told apart by the inputs only that kind has (`resourceKind`).
 */

export type B2Kind = 'bucket' | 'key' | 'replication';
export type Environment = 'dev' | 'staging' | 'prod';
export type Level = 'mandatory' | 'advisory';

/** Prefixes the backup jobs write (README "Backup jobs"); each needs a lifecycle rule. */
export const BACKUP_PREFIXES = ['configs/', 'terraform-state/', 'audit-logs/', 'db/'] as const;

/** Key purposes whose keys the backup/restore jobs use. */
export const JOB_KEY_PURPOSES = ['backup-writer', 'restore-reader'] as const;
export const REPLICATION_KEY_PURPOSES = ['replication-source', 'replication-destination'] as const;

/** Capabilities a job key must never hold. */
export const JOB_KEY_FORBIDDEN = ['deleteFiles', 'writeKeys', 'deleteKeys', 'bypassGovernance'] as const;
/** Account-level capabilities no key of the estate may hold (B2: they make a key account-wide in effect). */
export const ACCOUNT_CAPABILITIES = [
  'listKeys',
  'writeKeys',
  'deleteKeys',
  'writeBuckets',
  'deleteBuckets',
  'listAllBucketNames',
] as const;

/** What the pack knows about the stack it checks (from the stack config, see stackFactsFrom). */
export interface StackFacts {
  /** `infrafabric-backup:env`, else the stack name when it is an environment name; null if unknown. */
  env: Environment | null;
  /** `infrafabric-backup:disposable: true` (the local stack): prod without destroy protection. */
  disposable: boolean;
  /** `infrafabric-backup:replication.enabled`. */
  replicationEnabled: boolean;
  /** `infrafabric-backup:keyNamePrefix`, when set. */
  keyNamePrefix: string | null;
  stack: string;
}

const ENVIRONMENTS: readonly string[] = ['dev', 'staging', 'prod'];
const NS = 'infrafabric-backup';

/**
 * Facts from the project config as the engine hands it to the pack (PULUMI_CONFIG: keys
 * `<ns>:<key>` or `<ns>:config:<key>`, objects as JSON strings) plus the stack name.
 */
export function stackFactsFrom(config: Record<string, string>, stack: string): StackFacts {
  const get = (k: string): string | undefined => config[`${NS}:${k}`] ?? config[`${NS}:config:${k}`];
  const json = (k: string): unknown => {
    const raw = get(k);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  };
  const envRaw = get('env') ?? (ENVIRONMENTS.includes(stack) ? stack : undefined);
  const replication = json('replication');
  return {
    env: envRaw && ENVIRONMENTS.includes(envRaw) ? (envRaw as Environment) : null,
    disposable: json('disposable') === true,
    replicationEnabled:
      !!replication &&
      typeof replication === 'object' &&
      (replication as Record<string, unknown>).enabled === true,
    keyNamePrefix: typeof json('keyNamePrefix') === 'string' ? (json('keyNamePrefix') as string) : null,
    stack,
  };
}

/**
 * Enforcement per environment: prod and staging mandatory, dev advisory. An environment the pack
 * cannot tell is treated as prod (fail safe).
 */
export function levelFor(facts: StackFacts): Level {
  return facts.env === 'dev' ? 'advisory' : 'mandatory';
}

/** True when prod's destroy protections apply (env prod and not the disposable local stack). */
export function prodProtected(facts: StackFacts): boolean {
  return (facts.env ?? 'prod') === 'prod' && !facts.disposable;
}

/** Bucket, key, replication rule, or not one of ours. */
export function resourceKind(type: string, props: Record<string, unknown>): B2Kind | undefined {
  const m = /^pulumi-nodejs:dynamic\/b2:(Bucket|ApplicationKey|Replication)$/.exec(type);
  if (m) return m[1] === 'Bucket' ? 'bucket' : m[1] === 'ApplicationKey' ? 'key' : 'replication';
  if (type !== 'pulumi-nodejs:dynamic:Resource') return undefined;
  // A generic dynamic resource: the inputs that only one kind carries.
  if ('bucketType' in props && 'lifecycleRules' in props) return 'bucket';
  if ('capabilities' in props && 'keyName' in props) return 'key';
  if ('sourceBucketId' in props && 'destinationBucketId' in props && 'ruleName' in props)
    return 'replication';
  return undefined;
}

/** The logical resource name, the last `::` segment of the URN. */
export function urnName(urn: string): string {
  return urn.split('::').pop() ?? urn;
}

/**
 * The key's purpose from its B2 name (`<bucket>-<purpose>[-<rotation>…]`, infra/components/
 * defaults.ts keyNameFor), else from its resource name (`<component>-<purpose>`); null if neither
 * names one. Longest purpose first so `replication-source` is not read as something shorter.
 */
export function keyPurpose(keyName: unknown, urn: string): string | null {
  const all = [...REPLICATION_KEY_PURPOSES, ...JOB_KEY_PURPOSES];
  for (const text of [typeof keyName === 'string' ? keyName : '', urnName(urn)]) {
    for (const p of all) if (new RegExp(`(^|-)${p}(-|$)`).test(text)) return p;
  }
  return null;
}

// ---- Bucket rules -------------------------------------------------------------------------------

export function checkBucketPrivate(props: Record<string, unknown>): string[] {
  if (props.bucketType === undefined) return []; // unknown until apply: nothing to judge yet
  return props.bucketType === 'allPrivate'
    ? []
    : [
        `bucket ${String(props.bucketName)} is ${JSON.stringify(props.bucketType)}; backup buckets must be "allPrivate" (anyone could download the backups)`,
      ];
}

export function checkBucketEncryption(props: Record<string, unknown>): string[] {
  const sse = props.defaultServerSideEncryption as { mode?: unknown } | null | undefined;
  if (sse && sse.mode === 'SSE-B2') return [];
  return [
    `bucket ${String(props.bucketName)} has no default SSE-B2 encryption (defaultServerSideEncryption is ${JSON.stringify(sse ?? null)}); set { mode: "SSE-B2", algorithm: "AES256" }`,
  ];
}

interface RuleShape {
  fileNamePrefix?: unknown;
  daysFromUploadingToHiding?: unknown;
  daysFromHidingToDeleting?: unknown;
}

/** Every backup prefix is covered by a rule (its prefix or a shorter one) that hides or deletes. */
export function checkBackupPrefixLifecycle(props: Record<string, unknown>): string[] {
  const rules = Array.isArray(props.lifecycleRules) ? (props.lifecycleRules as RuleShape[]) : [];
  const missing = BACKUP_PREFIXES.filter(
    (prefix) =>
      !rules.some(
        (r) =>
          typeof r.fileNamePrefix === 'string' &&
          prefix.startsWith(r.fileNamePrefix) &&
          (typeof r.daysFromUploadingToHiding === 'number' || typeof r.daysFromHidingToDeleting === 'number'),
      ),
  );
  return missing.length === 0
    ? []
    : [
        `bucket ${String(props.bucketName)} has no lifecycle rule that hides or deletes files under ${missing.join(', ')}; old versions would be kept (and billed) forever`,
      ];
}

export function checkNoForceDestroy(props: Record<string, unknown>, facts: StackFacts): string[] {
  if (!prodProtected(facts) || props.forceDestroy !== true) return [];
  return [
    `bucket ${String(props.bucketName)} has forceDestroy in prod: a destroy would delete every backup version; remove infrafabric-backup:forceDestroy (only a stack marked infrafabric-backup:disposable may set it)`,
  ];
}

export function checkProtected(
  props: Record<string, unknown>,
  protect: boolean,
  facts: StackFacts,
): string[] {
  if (!prodProtected(facts) || protect) return [];
  return [
    `bucket ${String(props.bucketName)} is not protected in prod: declare it with the resource option protect: true (only a stack marked infrafabric-backup:disposable may leave it unprotected)`,
  ];
}

// ---- Key rules ----------------------------------------------------------------------------------

function caps(props: Record<string, unknown>): string[] {
  return Array.isArray(props.capabilities) ? (props.capabilities as unknown[]).map(String) : [];
}

/** Bucket-scoped: exactly one bucket (an unknown id during preview still counts as one). */
function scopeProblem(props: Record<string, unknown>, what: string): string | null {
  const ids = props.bucketIds;
  if (ids === undefined) return null; // unknown until apply
  if (Array.isArray(ids) && ids.length === 1) return null;
  return `${what} ${String(props.keyName)} must be scoped to exactly one bucket (bucketIds is ${JSON.stringify(ids ?? null)})`;
}

export function checkJobKey(
  props: Record<string, unknown>,
  purpose: string,
  facts: StackFacts,
  requireNamePrefix = false,
): string[] {
  const out: string[] = [];
  const what = `${purpose} key`;
  const scope = scopeProblem(props, what);
  if (scope) out.push(scope);
  const bad = caps(props).filter(
    (c) =>
      (JOB_KEY_FORBIDDEN as readonly string[]).includes(c) ||
      (ACCOUNT_CAPABILITIES as readonly string[]).includes(c),
  );
  if (bad.length)
    out.push(
      `${what} ${String(props.keyName)} must not have ${bad.join(', ')} (a job key only reads/writes files)`,
    );
  const prefix = props.namePrefix;
  if (facts.keyNamePrefix !== null && prefix !== facts.keyNamePrefix) {
    out.push(
      `${what} ${String(props.keyName)} has file-name prefix ${JSON.stringify(prefix ?? null)}, but the stack sets infrafabric-backup:keyNamePrefix ${JSON.stringify(facts.keyNamePrefix)}`,
    );
  } else if (requireNamePrefix && (typeof prefix !== 'string' || prefix === '')) {
    out.push(
      `${what} ${String(props.keyName)} has no file-name prefix; set infrafabric-backup:keyNamePrefix (the policy config requires one)`,
    );
  }
  return out;
}

export function checkReplicationKey(props: Record<string, unknown>, purpose: string): string[] {
  const out: string[] = [];
  const scope = scopeProblem(props, `${purpose} key`);
  if (scope) out.push(scope);
  const bad = caps(props).filter(
    (c) => (ACCOUNT_CAPABILITIES as readonly string[]).includes(c) || c === 'bypassGovernance',
  );
  if (bad.length) out.push(`${purpose} key ${String(props.keyName)} must not have ${bad.join(', ')}`);
  return out;
}

// ---- Stack rules --------------------------------------------------------------------------------

export interface StackResource {
  kind: B2Kind;
  props: Record<string, unknown>;
  name: string;
}

/**
 * In prod every primary-account bucket is the source of a replication rule (and the stack config
 * turns replication on). Matched by bucket id when both ids are known, else counted.
 */
export function checkReplicationInProd(resources: StackResource[], facts: StackFacts): string[] {
  if ((facts.env ?? 'prod') !== 'prod') return [];
  const primary = resources.filter(
    (r) => r.kind === 'bucket' && (r.props.account ?? 'primary') === 'primary',
  );
  if (primary.length === 0) return []; // not an estate stack (no bucket of ours): nothing to replicate
  const out: string[] = [];
  if (!facts.replicationEnabled)
    out.push('prod must replicate every bucket: set infrafabric-backup:replication.enabled to true');
  const rules = resources.filter((r) => r.kind === 'replication');
  const sources = new Set(rules.map((r) => r.props.sourceBucketId).filter((v) => typeof v === 'string'));
  const idOf = (b: StackResource) =>
    typeof b.props.bucketId === 'string' && b.props.bucketId ? b.props.bucketId : undefined;
  // A bucket being updated in a preview carries its planned inputs, without `bucketId`; a rule whose
  // source is not a known bucket id (unknown yet, or the id of such a bucket) may stand for it.
  const knownIds = new Set(primary.map(idOf).filter((v): v is string => !!v));
  let unmatchedRules = rules.filter(
    (r) => typeof r.props.sourceBucketId !== 'string' || !knownIds.has(r.props.sourceBucketId),
  ).length;
  for (const b of primary) {
    const id = idOf(b);
    if (id && sources.has(id)) continue;
    if (unmatchedRules > 0) {
      unmatchedRules--;
      continue;
    }
    out.push(
      `prod bucket ${String(b.props.bucketName ?? b.name)} is not replicated (no Replication resource has it as source)`,
    );
  }
  return out;
}
