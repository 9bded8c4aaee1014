/**
 * The stack configuration: one typed, validated schema, read from Pulumi config once at the edge
 * (docs/conventions.md §7). Components never read config; they take the `StackConfig` this returns.
 *
 * Every key lives in the project namespace `infrafabric-backup:` and is documented in the README
 * (## Stack configuration). Unknown keys in that namespace are refused, so a typo such as
 * `namePrefx` fails the preview instead of being silently ignored.
 */
import * as pulumi from '@pulumi/pulumi';
import {
  CLOUD_PROVIDERS,
  CloudProvider,
  DEFAULT_COST_CENTER,
  DEFAULT_KEY_DELIVERY_MODE,
  DEFAULT_OBJECT_LOCK_MODE,
  DEFAULT_PROVIDERS,
  DEFAULT_SMOKE_TEST_TRIGGER,
  DEFAULT_UPLOAD_ENCRYPTION,
  defaultRetentionFor,
  OPT_IN_DEFAULT,
  DEFAULT_LOCK_DAYS,
  DEFAULT_REPLICA_SUFFIX,
  DEFAULT_ROTATION,
  ENVIRONMENTS,
  Environment,
  RETENTION_PROFILES,
  ROTATION_PATTERN,
  RetentionProfile,
  bucketNameFor,
} from './components/defaults';
import { KEY_DELIVERY_MODES, KeyDeliveryMode, validateKeyDeliveryArgs } from './components/keyDelivery';
import { UploadEncryption, validateEncryptionWithReplication } from './components/validation/encryption';
import { parseProviderNames } from './components/validation/providerNames';
import { validateBucketName } from './providers/validation/bucketName';
import { Problem, throwIfProblems } from './providers/validation/problem';

export const CONFIG_NAMESPACE = 'infrafabric-backup';

export interface ReplicationConfig {
  /** Replicate every bucket of the primary (US-West) account to a twin in the replica (EU) account. */
  enabled: boolean;
  /** Appended to the source bucket name to name its twin. */
  replicaSuffix: string;
}

export interface ObjectLockConfig {
  enabled: boolean;
  mode: 'governance';
  /** Default retention in days (1–3000). */
  days: number;
  /**
   * Must be true to enable Object Lock on a bucket that already exists: B2 can never disable it
   * again, so the preview refuses the change without this acknowledgement.
   */
  acknowledgeIrreversible: boolean;
}

export interface SmokeTestConfig {
  /** Prove after each provisioning that the writer/reader keys can and cannot do what they should. */
  enabled: boolean;
  /** Change to re-run the smoke test without another change. */
  trigger: string;
}

export interface KeyDeliveryConfig {
  /** `none` (default) or `aws-secrets-manager` (infra/components/keyDelivery.ts). */
  mode: KeyDeliveryMode;
  /** AWS region of the secrets; required for aws-secrets-manager. */
  awsRegion: string | null;
  /** First segment of every secret name. Default `infrafabric-backup`. */
  prefix: string | null;
  /** KMS key for the secrets. Default: the account's `aws/secretsmanager` key. */
  kmsKeyId: string | null;
  /** Days a deleted secret stays recoverable (0, or 7–30). Default 7. */
  recoveryWindowInDays: number | null;
}

export interface StackConfig {
  env: Environment;
  providers: CloudProvider[];
  namePrefix: string;
  nameSuffix: string;
  costCenter: string;
  retention: RetentionProfile;
  replication: ReplicationConfig;
  objectLock: ObjectLockConfig;
  /** The current key generation: change it to rotate (new keys are created, then published as `keys`). */
  keyRotation: string;
  /**
   * The generation before `keyRotation`, kept valid (and published as `previousKeys`) until the next
   * rotation; null before the first rotation. Rotating = `previousKeyRotation` ← old `keyRotation`,
   * `keyRotation` ← a new value; the generation that drops out of both is deleted.
   */
  previousKeyRotation: string | null;
  /** Optional lifetime of the writer/reader keys (B2 `validDurationInSeconds`); null = no expiry. */
  keyValidDurationInSeconds: number | null;
  /** Optional file-name prefix the writer/reader keys are restricted to. */
  keyNamePrefix: string | null;
  /** What the backup jobs use when uploading; SSE-C is refused with replication. */
  uploadEncryption: UploadEncryption;
  /** Let `pulumi destroy` empty non-empty buckets (every version is deleted first). Refused in prod unless `disposable`. */
  forceDestroy: boolean;
  /**
   * The stack is explicitly throw-away (the `local` stack): the one flag that lets a prod stack have
   * `forceDestroy` and unprotected buckets, and that lets force-destroy bypass governance retention.
   */
  disposable: boolean;
  /** Buckets are created with `protect: true`: env prod and not `disposable`. */
  protectBuckets: boolean;
  /** Post-provision key smoke test (infra/components/smokeTest.ts). */
  smokeTest: SmokeTestConfig;
  /** Where generated keys are published besides the stack outputs. */
  keyDelivery: KeyDeliveryConfig;
  /**
   * Deliberate take-over of existing buckets: provider → bucket id. The bucket (whose name must be
   * this stack's bucket name for that provider) is adopted and its ownership marker rewritten to
   * this stack. Without it, a same-name bucket not marked as this stack's is refused.
   */
  adoptBucketIds: Partial<Record<CloudProvider, string>>;
}

/**
 * Keys read by the dynamic providers at run time (never by the program): credentials and realm URL
 * of both accounts. Listed here so they are not reported as unknown.
 */
export const PROVIDER_CONFIG_KEYS = [
  'b2ApplicationKeyId',
  'b2ApplicationKey',
  'b2RealmUrl',
  'replicaApplicationKeyId',
  'replicaApplicationKey',
  'replicaRealmUrl',
] as const;

const PROGRAM_KEYS = [
  'env',
  'providers',
  'namePrefix',
  'nameSuffix',
  'costCenter',
  'retention',
  'replication',
  'objectLock',
  'keyRotation',
  'keyNamePrefix',
  'uploadEncryption',
  'forceDestroy',
  'disposable',
  'previousKeyRotation',
  'keyValidDurationInSeconds',
  'smokeTest',
  'keyDelivery',
  'adoptBucketIds',
] as const;

/**
 * Master/primary keys: accepted in stack config only as Pulumi secrets (`pulumi config set
 * --secret`). A plaintext value would sit in Pulumi.<stack>.yaml and, because the engine hands the
 * whole stack config to the default `pulumi-nodejs` provider as its inputs, in the state too.
 */
export const SECRET_ONLY_CONFIG_KEYS = ['b2ApplicationKey', 'replicaApplicationKey'] as const;

/** Whether a full config key (`project:key`) holds a Pulumi secret (what the engine marked as such). */
export type IsConfigSecret = (fullKey: string) => boolean;

/**
 * Values arrive as text from `pulumi.runtime.allConfig()`: a scalar as its text (`keyRotation: 2026`
 * and `keyRotation: "2026"` both arrive as `2026`), a mapping or list as JSON. So only JSON objects,
 * lists and the booleans are decoded; anything else stays the string it is — a number-like value
 * of a string field (`keyRotation: "2026"`, `costCenter: "4711"`) is that string. Fields inside a
 * mapping keep their JSON types; string fields there accept a YAML number as its decimal text.
 */
function decode(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  const t = raw.trim();
  if (t.startsWith('{') || t.startsWith('[') || t === 'true' || t === 'false') {
    try {
      return JSON.parse(t);
    } catch {
      return raw;
    }
  }
  return raw;
}

const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  name: string,
  problems: Problem[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  problems.push({
    property: key(name),
    reason: `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
  });
  return fallback;
}

function str(value: unknown, name: string, problems: Problem[], fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === 'string') return value;
  // An unquoted YAML number inside a mapping (`smokeTest: {trigger: 2026}`) means its text.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  problems.push({ property: key(name), reason: `must be a string, got ${JSON.stringify(value)}` });
  return fallback;
}

function bool(value: unknown, name: string, problems: Problem[], fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  problems.push({ property: key(name), reason: `must be true or false, got ${JSON.stringify(value)}` });
  return fallback;
}

function objectOf(value: unknown, name: string, problems: Problem[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  problems.push({
    property: key(name),
    reason: `must be an object (YAML mapping), got ${JSON.stringify(value)}`,
  });
  return {};
}

function unknownFields(
  obj: Record<string, unknown>,
  allowed: string[],
  name: string,
  problems: Problem[],
): void {
  for (const f of Object.keys(obj)) {
    if (!allowed.includes(f)) {
      problems.push({
        property: `${key(name)}.${f}`,
        reason: `unknown field; known fields: ${allowed.join(', ')}`,
      });
    }
  }
}

/**
 * Parses the raw config map (`project:key` → string, as `pulumi.runtime.allConfig()` returns it).
 * Pure: throws a ValidationError listing every problem, each naming the key and what to do.
 */
export function parseStackConfig(
  raw: Record<string, string>,
  stackName: string,
  isSecret: IsConfigSecret = () => false,
): StackConfig {
  const problems: Problem[] = [];
  const get = (k: string) => decode(raw[key(k)]);
  // A string field takes the text as given, whatever it looks like ("2026", "4711", "true").
  const text = (k: string): string | undefined => raw[key(k)];

  problems.push(...checkKeys(raw, isSecret));

  const env = parseEnv(text('env'), stackName, problems);

  const parsedProviders = parseProviderNames(get('providers') ?? [...DEFAULT_PROVIDERS], key('providers'));
  problems.push(...parsedProviders.problems);

  const namePrefix = str(text('namePrefix'), 'namePrefix', problems, '');
  const nameSuffix = str(text('nameSuffix'), 'nameSuffix', problems, '');
  const costCenter = str(text('costCenter'), 'costCenter', problems, DEFAULT_COST_CENTER);
  const retention = oneOf(
    text('retention'),
    RETENTION_PROFILES,
    'retention',
    problems,
    defaultRetentionFor(env),
  );

  const rep = objectOf(get('replication'), 'replication', problems);
  unknownFields(rep, ['enabled', 'replicaSuffix'], 'replication', problems);
  const replication: ReplicationConfig = {
    enabled: bool(rep.enabled, 'replication.enabled', problems, OPT_IN_DEFAULT),
    replicaSuffix: str(rep.replicaSuffix, 'replication.replicaSuffix', problems, DEFAULT_REPLICA_SUFFIX),
  };

  const objectLock = parseObjectLock(get('objectLock'), env, problems);

  const { keyRotation, previousKeyRotation, keyValidDurationInSeconds, keyNamePrefix } = parseKeySettings(
    text,
    problems,
  );
  const uploadEncryption = (text('uploadEncryption') ?? DEFAULT_UPLOAD_ENCRYPTION) as UploadEncryption;
  problems.push(
    ...validateEncryptionWithReplication(uploadEncryption, replication.enabled, key('uploadEncryption')),
  );
  const forceDestroy = bool(get('forceDestroy'), 'forceDestroy', problems, OPT_IN_DEFAULT);
  const disposable = bool(get('disposable'), 'disposable', problems, OPT_IN_DEFAULT);
  if (env === 'prod' && forceDestroy && !disposable) {
    problems.push({
      property: key('forceDestroy'),
      reason:
        'refused for env prod (ProdForceDestroyRefused): one config line must not be able to erase prod backups. ' +
        'Remove it (destroy then refuses non-empty buckets), or, only for a throw-away copy of prod such as the ' +
        'local stack, also set `infrafabric-backup:disposable: true`.',
    });
  }

  const keyDelivery = parseKeyDelivery(get('keyDelivery'), problems);

  const adoptBucketIds = parseAdoptBucketIds(get('adoptBucketIds'), parsedProviders.providers, problems);

  const smoke = objectOf(get('smokeTest'), 'smokeTest', problems);
  unknownFields(smoke, ['enabled', 'trigger'], 'smokeTest', problems);
  const smokeTest: SmokeTestConfig = {
    enabled: bool(smoke.enabled, 'smokeTest.enabled', problems, OPT_IN_DEFAULT),
    trigger: str(smoke.trigger, 'smokeTest.trigger', problems, DEFAULT_SMOKE_TEST_TRIGGER),
  };

  // Every bucket name this config produces must be valid before anything is planned.
  problems.push(...checkBucketNames(env, parsedProviders.providers, namePrefix, nameSuffix, replication));

  throwIfProblems(`invalid stack configuration for stack "${stackName}"`, problems);
  return {
    env,
    providers: parsedProviders.providers,
    namePrefix,
    nameSuffix,
    costCenter,
    retention,
    replication,
    objectLock,
    keyRotation,
    previousKeyRotation,
    keyValidDurationInSeconds,
    keyNamePrefix,
    uploadEncryption,
    forceDestroy,
    disposable,
    protectBuckets: env === 'prod' && !disposable,
    smokeTest,
    keyDelivery,
    adoptBucketIds,
  };
}

/** Master keys only as secrets; no unknown `infrafabric-backup:` key. */
function checkKeys(raw: Record<string, string>, isSecret: IsConfigSecret): Problem[] {
  const problems: Problem[] = [];
  for (const k of SECRET_ONLY_CONFIG_KEYS) {
    if (raw[key(k)] !== undefined && !isSecret(key(k))) {
      problems.push({
        property: key(k),
        reason:
          'is stored in plaintext (PlaintextCredentialRefused): a master key must be a Pulumi secret, or the stack file ' +
          `and the state would hold it in clear. Fix: \`pulumi config set --secret ${key(k)}\` (it reads the value ` +
          `from stdin when omitted), or remove it and use the environment instead (README "Stack configuration").`,
      });
    }
  }

  const known = new Set<string>([...PROGRAM_KEYS, ...PROVIDER_CONFIG_KEYS].map(key));
  for (const k of Object.keys(raw)) {
    if (k.startsWith(`${CONFIG_NAMESPACE}:`) && !known.has(k)) {
      problems.push({
        property: k,
        reason: `unknown config key; known keys: ${[...PROGRAM_KEYS, ...PROVIDER_CONFIG_KEYS].join(', ')} (see README "Stack configuration")`,
      });
    }
  }
  return problems;
}

/** `env`, defaulting to the stack name when that is an environment. */
function parseEnv(rawEnv: string | undefined, stackName: string, problems: Problem[]): Environment {
  let env: Environment;
  if (rawEnv === undefined && (ENVIRONMENTS as readonly string[]).includes(stackName)) {
    env = stackName as Environment;
  } else if (rawEnv === undefined) {
    problems.push({
      property: key('env'),
      reason: `required for stack "${stackName}": set it with \`pulumi config set env <${ENVIRONMENTS.join('|')}>\``,
    });
    env = 'dev';
  } else {
    env = oneOf(rawEnv, ENVIRONMENTS, 'env', problems, 'dev');
  }
  return env;
}

/** `objectLock`: prod only, governance mode, 1-3000 days, irreversibility acknowledged. */
function parseObjectLock(raw: unknown, env: Environment, problems: Problem[]): ObjectLockConfig {
  const lock = objectOf(raw, 'objectLock', problems);
  unknownFields(lock, ['enabled', 'mode', 'days', 'acknowledgeIrreversible'], 'objectLock', problems);
  const objectLock: ObjectLockConfig = {
    enabled: bool(lock.enabled, 'objectLock.enabled', problems, OPT_IN_DEFAULT),
    mode: oneOf(
      lock.mode,
      [DEFAULT_OBJECT_LOCK_MODE] as const,
      'objectLock.mode',
      problems,
      DEFAULT_OBJECT_LOCK_MODE,
    ),
    days: DEFAULT_LOCK_DAYS,
    acknowledgeIrreversible: bool(
      lock.acknowledgeIrreversible,
      'objectLock.acknowledgeIrreversible',
      problems,
      false,
    ),
  };
  if (lock.days !== undefined) {
    const days = typeof lock.days === 'string' && /^\d+$/.test(lock.days) ? Number(lock.days) : lock.days;
    if (Number.isInteger(days) && (days as number) >= 1 && (days as number) <= 3000) {
      objectLock.days = days as number;
    } else {
      problems.push({
        property: key('objectLock.days'),
        reason: `must be a whole number of days from 1 to 3000, got ${JSON.stringify(lock.days)}`,
      });
    }
  }
  if (objectLock.enabled && env !== 'prod') {
    problems.push({
      property: key('objectLock.enabled'),
      reason: `Object Lock is for prod only (it can never be disabled once on); env is "${env}"`,
    });
  }
  return objectLock;
}

/** Key generations (`keyRotation`, `previousKeyRotation`), lifetime and name prefix. */
function parseKeySettings(
  text: (k: string) => string | undefined,
  problems: Problem[],
): Pick<StackConfig, 'keyRotation' | 'previousKeyRotation' | 'keyValidDurationInSeconds' | 'keyNamePrefix'> {
  const keyRotation = str(text('keyRotation'), 'keyRotation', problems, DEFAULT_ROTATION);
  if (!ROTATION_PATTERN.test(keyRotation)) {
    problems.push({
      property: key('keyRotation'),
      reason: `${JSON.stringify(keyRotation)} must be 1-24 letters, digits or "-" (it becomes part of key names), e.g. 2026-12`,
    });
  }
  const rawPrevious = text('previousKeyRotation');
  const previousKeyRotation =
    rawPrevious === undefined || rawPrevious === '' || rawPrevious === null
      ? null
      : str(rawPrevious, 'previousKeyRotation', problems, '');
  if (previousKeyRotation !== null && !ROTATION_PATTERN.test(previousKeyRotation)) {
    problems.push({
      property: key('previousKeyRotation'),
      reason: `${JSON.stringify(previousKeyRotation)} must be 1-24 letters, digits or "-": the keyRotation value before the last rotation`,
    });
  } else if (previousKeyRotation !== null && previousKeyRotation === keyRotation) {
    problems.push({
      property: key('previousKeyRotation'),
      reason: `equals keyRotation (${JSON.stringify(keyRotation)}); to rotate, set previousKeyRotation to the old keyRotation and keyRotation to a new value`,
    });
  }
  // A number field: its text must be a whole number.
  const validText = text('keyValidDurationInSeconds')?.trim();
  const rawValid = validText && /^\d+$/.test(validText) ? Number(validText) : validText;
  let keyValidDurationInSeconds: number | null = null;
  if (rawValid !== undefined && rawValid !== null && rawValid !== '') {
    if (Number.isInteger(rawValid) && (rawValid as number) >= 1 && (rawValid as number) <= 86_400_000) {
      keyValidDurationInSeconds = rawValid as number;
    } else {
      problems.push({
        property: key('keyValidDurationInSeconds'),
        reason: `must be a whole number of seconds from 1 to 86400000 (1000 days), got ${JSON.stringify(rawValid)}`,
      });
    }
  }
  const rawPrefix = text('keyNamePrefix');
  const keyNamePrefix =
    rawPrefix === undefined || rawPrefix === '' ? null : str(rawPrefix, 'keyNamePrefix', problems, '');
  return { keyRotation, previousKeyRotation, keyValidDurationInSeconds, keyNamePrefix };
}

/** `adoptBucketIds`: per provider of this stack, the id of an existing bucket to adopt. */
function parseAdoptBucketIds(
  raw: unknown,
  providers: readonly CloudProvider[],
  problems: Problem[],
): Partial<Record<CloudProvider, string>> {
  const adopt = objectOf(raw, 'adoptBucketIds', problems);
  const adoptBucketIds: Partial<Record<CloudProvider, string>> = {};
  for (const [p, id] of Object.entries(adopt)) {
    if (!providers.includes(p as CloudProvider)) {
      problems.push({
        property: key(`adoptBucketIds.${p}`),
        reason: `not one of this stack's providers (${providers.join(', ')})`,
      });
    } else if (typeof id !== 'string' || !/^[A-Za-z0-9]{1,64}$/.test(id)) {
      problems.push({
        property: key(`adoptBucketIds.${p}`),
        reason: `must be a B2 bucket id (letters and digits), got ${JSON.stringify(id)}`,
      });
    } else adoptBucketIds[p as CloudProvider] = id;
  }
  return adoptBucketIds;
}

/** Every bucket name (and replica name) the config produces. */
function checkBucketNames(
  env: Environment,
  providers: readonly CloudProvider[],
  namePrefix: string,
  nameSuffix: string,
  replication: ReplicationConfig,
): Problem[] {
  const problems: Problem[] = [];
  for (const p of providers) {
    const name = bucketNameFor(env, p, namePrefix, nameSuffix);
    problems.push(...validateBucketName(name, `${key('namePrefix')}/${key('nameSuffix')} (${p})`));
    if (replication.enabled) {
      problems.push(
        ...validateBucketName(name + replication.replicaSuffix, `${key('replication.replicaSuffix')} (${p})`),
      );
    }
  }
  return problems;
}

/**
 * `keyDelivery` is either the mode alone (`aws-secrets-manager`) or an object
 * `{mode, awsRegion, prefix?, kmsKeyId?, recoveryWindowInDays?}`.
 */
function parseKeyDelivery(raw: unknown, problems: Problem[]): KeyDeliveryConfig {
  const obj = typeof raw === 'string' ? { mode: raw } : objectOf(raw, 'keyDelivery', problems);
  unknownFields(
    obj,
    ['mode', 'awsRegion', 'prefix', 'kmsKeyId', 'recoveryWindowInDays'],
    'keyDelivery',
    problems,
  );
  const out: KeyDeliveryConfig = {
    mode: oneOf(obj.mode, KEY_DELIVERY_MODES, 'keyDelivery.mode', problems, DEFAULT_KEY_DELIVERY_MODE),
    awsRegion: obj.awsRegion === undefined ? null : str(obj.awsRegion, 'keyDelivery.awsRegion', problems, ''),
    prefix: obj.prefix === undefined ? null : str(obj.prefix, 'keyDelivery.prefix', problems, ''),
    kmsKeyId: obj.kmsKeyId === undefined ? null : str(obj.kmsKeyId, 'keyDelivery.kmsKeyId', problems, ''),
    recoveryWindowInDays: null,
  };
  if (obj.recoveryWindowInDays !== undefined) {
    if (typeof obj.recoveryWindowInDays === 'number') out.recoveryWindowInDays = obj.recoveryWindowInDays;
    else
      problems.push({
        property: key('keyDelivery.recoveryWindowInDays'),
        reason: 'must be a number (0, or 7-30)',
      });
  }
  if (out.mode === 'aws-secrets-manager') {
    if (!out.awsRegion) {
      problems.push({
        property: key('keyDelivery.awsRegion'),
        reason:
          'required for aws-secrets-manager: the region where the consuming applications read their secrets',
      });
    } else {
      for (const p of validateKeyDeliveryArgs({
        env: 'x',
        keys: {},
        awsRegion: out.awsRegion,
        prefix: out.prefix ?? undefined,
        recoveryWindowInDays: out.recoveryWindowInDays ?? undefined,
      })) {
        const field = p.split(':')[0];
        problems.push({ property: key(`keyDelivery.${field}`), reason: p.slice(field.length + 1).trim() });
      }
    }
  }
  return out;
}

/** Reads the whole stack configuration once and validates it. */
export function loadStackConfig(): StackConfig {
  return parseStackConfig(pulumi.runtime.allConfig(), pulumi.getStack(), engineIsConfigSecret);
}

/**
 * The engine's own answer (the language host passes the secret keys in PULUMI_CONFIG_SECRET_KEYS);
 * `isConfigSecret` is internal to @pulumi/pulumi, so it is looked up, and its absence fails closed.
 */
function engineIsConfigSecret(fullKey: string): boolean {
  const rt = require('@pulumi/pulumi/runtime/config') as { isConfigSecret?: (k: string) => boolean };
  if (typeof rt.isConfigSecret !== 'function') return false;
  return rt.isConfigSecret(fullKey);
}

export { CLOUD_PROVIDERS };
