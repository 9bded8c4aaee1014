/**
 * The stack configuration: one typed, validated schema, read from Pulumi config once at the edge
 * (style.md §7). Components never read config; they take the `StackConfig` this returns.
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
  /** Change it to rotate every key of the stack (new keys are created before the old are deleted). */
  keyRotation: string;
  /** Optional file-name prefix the writer/reader keys are restricted to. */
  keyNamePrefix: string | null;
  /** What the backup jobs use when uploading; SSE-C is refused with replication. */
  uploadEncryption: UploadEncryption;
  /** Let `pulumi destroy` empty non-empty buckets (every version is deleted first). */
  forceDestroy: boolean;
  /** Post-provision key smoke test (infra/components/smokeTest.ts). */
  smokeTest: SmokeTestConfig;
  /** Where generated keys are published besides the stack outputs. */
  keyDelivery: KeyDeliveryConfig;
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
  'smokeTest',
  'keyDelivery',
] as const;

/** Structured values arrive as JSON text from `pulumi.runtime.allConfig()`. */
function decode(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  const t = raw.trim();
  if (t.startsWith('{') || t.startsWith('[') || t === 'true' || t === 'false' || /^-?\d+$/.test(t)) {
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
export function parseStackConfig(raw: Record<string, string>, stackName: string): StackConfig {
  const problems: Problem[] = [];
  const get = (k: string) => decode(raw[key(k)]);

  const known = new Set<string>([...PROGRAM_KEYS, ...PROVIDER_CONFIG_KEYS].map(key));
  for (const k of Object.keys(raw)) {
    if (k.startsWith(`${CONFIG_NAMESPACE}:`) && !known.has(k)) {
      problems.push({
        property: k,
        reason: `unknown config key; known keys: ${[...PROGRAM_KEYS, ...PROVIDER_CONFIG_KEYS].join(', ')} (see README "Stack configuration")`,
      });
    }
  }

  let env: Environment;
  const rawEnv = get('env');
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

  const parsedProviders = parseProviderNames(get('providers') ?? ['aws'], key('providers'));
  problems.push(...parsedProviders.problems);

  const namePrefix = str(get('namePrefix'), 'namePrefix', problems, '');
  const nameSuffix = str(get('nameSuffix'), 'nameSuffix', problems, '');
  const costCenter = str(get('costCenter'), 'costCenter', problems, DEFAULT_COST_CENTER);
  const retention = oneOf(
    get('retention'),
    RETENTION_PROFILES,
    'retention',
    problems,
    env === 'dev' ? 'short' : 'standard',
  );

  const rep = objectOf(get('replication'), 'replication', problems);
  unknownFields(rep, ['enabled', 'replicaSuffix'], 'replication', problems);
  const replication: ReplicationConfig = {
    enabled: bool(rep.enabled, 'replication.enabled', problems, false),
    replicaSuffix: str(rep.replicaSuffix, 'replication.replicaSuffix', problems, DEFAULT_REPLICA_SUFFIX),
  };

  const lock = objectOf(get('objectLock'), 'objectLock', problems);
  unknownFields(lock, ['enabled', 'mode', 'days'], 'objectLock', problems);
  const objectLock: ObjectLockConfig = {
    enabled: bool(lock.enabled, 'objectLock.enabled', problems, false),
    mode: oneOf(lock.mode, ['governance'] as const, 'objectLock.mode', problems, 'governance'),
    days: DEFAULT_LOCK_DAYS,
  };
  if (lock.days !== undefined) {
    if (Number.isInteger(lock.days) && (lock.days as number) >= 1 && (lock.days as number) <= 3000) {
      objectLock.days = lock.days as number;
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

  const keyRotation = str(get('keyRotation'), 'keyRotation', problems, DEFAULT_ROTATION);
  if (!ROTATION_PATTERN.test(keyRotation)) {
    problems.push({
      property: key('keyRotation'),
      reason: `${JSON.stringify(keyRotation)} must be 1-24 letters, digits or "-" (it becomes part of key names), e.g. 2026-12`,
    });
  }
  const rawPrefix = get('keyNamePrefix');
  const keyNamePrefix =
    rawPrefix === undefined || rawPrefix === '' ? null : str(rawPrefix, 'keyNamePrefix', problems, '');
  const uploadEncryption = (get('uploadEncryption') ?? 'SSE-B2') as UploadEncryption;
  problems.push(
    ...validateEncryptionWithReplication(uploadEncryption, replication.enabled, key('uploadEncryption')),
  );
  const forceDestroy = bool(get('forceDestroy'), 'forceDestroy', problems, false);

  const keyDelivery = parseKeyDelivery(get('keyDelivery'), problems);

  const smoke = objectOf(get('smokeTest'), 'smokeTest', problems);
  unknownFields(smoke, ['enabled', 'trigger'], 'smokeTest', problems);
  const smokeTest: SmokeTestConfig = {
    enabled: bool(smoke.enabled, 'smokeTest.enabled', problems, false),
    trigger: str(smoke.trigger, 'smokeTest.trigger', problems, 'initial'),
  };

  // Every bucket name this config produces must be valid before anything is planned.
  for (const p of parsedProviders.providers) {
    const name = bucketNameFor(env, p, namePrefix, nameSuffix);
    problems.push(...validateBucketName(name, `${key('namePrefix')}/${key('nameSuffix')} (${p})`));
    if (replication.enabled) {
      problems.push(
        ...validateBucketName(name + replication.replicaSuffix, `${key('replication.replicaSuffix')} (${p})`),
      );
    }
  }

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
    keyNamePrefix,
    uploadEncryption,
    forceDestroy,
    smokeTest,
    keyDelivery,
  };
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
    mode: oneOf(obj.mode, KEY_DELIVERY_MODES, 'keyDelivery.mode', problems, 'none'),
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
  return parseStackConfig(pulumi.runtime.allConfig(), pulumi.getStack());
}

export { CLOUD_PROVIDERS };
