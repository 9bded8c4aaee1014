/**
 * Key delivery to AWS Secrets Manager (issue 7 part 6, optional; stack config
 * `keyDelivery: aws-secrets-manager`): every generated B2 key is published as one Secrets Manager
 * secret, so the applications that back up (or restore) read their scoped key from where they
 * already read secrets instead of from `pulumi stack output`.
 *
 * Secret name `{prefix}/{env}/{provider}/{purpose}` (default prefix `infrafabric-backup`), value a
 * JSON document the backup CLI's environment maps onto directly:
 * `{"B2_KEY_ID", "B2_APPLICATION_KEY", "B2_BUCKET", "B2_S3_ENDPOINT", "B2_REGION"}`. The value is a
 * Pulumi secret end to end (encrypted in the state, `[secret]` in previews).
 *
 * NOT exercised against AWS here: the AWS provider plugin (`pulumi-resource-aws`) is a Go binary that
 * can be neither downloaded (no pulumi.com / GitHub access) nor built (the Go module proxy refuses
 * `github.com/pulumi/pulumi-aws/provider`). The component is covered by engine-mock unit tests only
 * (test/unit/components/keyDelivery.test.ts) — see README "End-to-end tests".
 *
 * `@pulumi/aws` is loaded only when this component is constructed: its index is large, and stacks
 * without key delivery should not pay for loading it.
 */
import * as pulumi from '@pulumi/pulumi';
import type * as awsTypes from '@pulumi/aws';
import {
  DEFAULT_B2_REGION,
  DEFAULT_KEY_SECRET_PREFIX,
  DEFAULT_SECRET_RECOVERY_WINDOW_DAYS,
} from './defaults';

export const KEY_DELIVERY_MODES = ['none', 'aws-secrets-manager'] as const;
export type KeyDeliveryMode = (typeof KEY_DELIVERY_MODES)[number];

export interface DeliveredKey {
  keyId: pulumi.Input<string>;
  /** Secret. */
  applicationKey: pulumi.Input<string>;
  bucketName: pulumi.Input<string>;
  s3Endpoint: pulumi.Input<string>;
}

export interface KeyDeliveryArgs {
  env: string;
  /** purpose (`backup-writer`, `restore-reader`) → cloud provider → key. */
  keys: Record<string, Partial<Record<string, DeliveredKey>>>;
  /** AWS region of the secrets. No default: the secrets live where the consuming applications run. */
  awsRegion: string;
  /** First segment of every secret name. Default `infrafabric-backup`. */
  prefix?: string;
  /** KMS key for the secrets. Default: the account's `aws/secretsmanager` key. */
  kmsKeyId?: string;
  /** Days a deleted secret stays recoverable (0 = immediately, else 7–30). Default 7. */
  recoveryWindowInDays?: number;
  /** Extra tags on every secret. */
  tags?: Record<string, string>;
}

/** `s3.us-west-004.backblazeb2.com` → `us-west-004` (what the S3 client signs with). */
export function b2RegionOf(s3Endpoint: string): string {
  try {
    return /(?:^|\.)s3\.([a-z]+-[a-z]+-\d{3})\./.exec(new URL(s3Endpoint).hostname)?.[1] ?? DEFAULT_B2_REGION;
  } catch {
    return DEFAULT_B2_REGION;
  }
}

export function secretNameFor(prefix: string, env: string, provider: string, purpose: string): string {
  return `${prefix}/${env}/${provider}/${purpose}`;
}

export function validateKeyDeliveryArgs(a: KeyDeliveryArgs): string[] {
  const problems: string[] = [];
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(a.awsRegion))
    problems.push(`awsRegion: "${a.awsRegion}" is not an AWS region like eu-central-1`);
  const w = a.recoveryWindowInDays ?? DEFAULT_SECRET_RECOVERY_WINDOW_DAYS;
  if (!(w === 0 || (Number.isInteger(w) && w >= 7 && w <= 30)))
    problems.push(`recoveryWindowInDays: must be 0 or 7–30, got ${w}`);
  if (a.prefix !== undefined && !/^[A-Za-z0-9/_+=.@-]{1,100}$/.test(a.prefix))
    problems.push(`prefix: "${a.prefix}" has characters Secrets Manager refuses`);
  return problems;
}

/** The secret's value: the backup CLI's environment as JSON, always a Pulumi secret. */
export function deliveryValue(key: DeliveredKey): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([key.keyId, key.applicationKey, key.bucketName, key.s3Endpoint])
      .apply(([keyId, applicationKey, bucket, s3Endpoint]) =>
        JSON.stringify({
          B2_KEY_ID: keyId,
          B2_APPLICATION_KEY: applicationKey,
          B2_BUCKET: bucket,
          B2_S3_ENDPOINT: s3Endpoint,
          B2_REGION: b2RegionOf(s3Endpoint),
        }),
      ),
  );
}

export class KeyDelivery extends pulumi.ComponentResource {
  /** secret name → ARN. */
  readonly secretArns: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: KeyDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super('infrafabric:backup:KeyDelivery', name, {}, opts);
    const problems = validateKeyDeliveryArgs(args);
    if (problems.length) throw new Error(`KeyDelivery "${name}": ${problems.join('; ')}`);
    const aws = require('@pulumi/aws') as typeof awsTypes;
    const provider = new aws.Provider(
      `${name}-aws`,
      { region: args.awsRegion as awsTypes.Region },
      { parent: this },
    );
    const prefix = args.prefix ?? DEFAULT_KEY_SECRET_PREFIX;
    for (const [purpose, byProvider] of Object.entries(args.keys).sort(([a], [b]) => a.localeCompare(b))) {
      for (const [cloud, key] of Object.entries(byProvider).sort(([a], [b]) => a.localeCompare(b))) {
        if (!key) continue;
        const secretName = secretNameFor(prefix, args.env, cloud, purpose);
        const secret = new aws.secretsmanager.Secret(
          `${name}-${cloud}-${purpose}`,
          {
            name: secretName,
            description: `B2 ${purpose} key for the ${args.env} ${cloud} backup bucket (managed by infrafabric-backup)`,
            kmsKeyId: args.kmsKeyId,
            recoveryWindowInDays: args.recoveryWindowInDays ?? DEFAULT_SECRET_RECOVERY_WINDOW_DAYS,
            tags: {
              env: args.env,
              provider: cloud,
              purpose,
              'managed-by': 'pulumi/infrafabric-backup',
              ...(args.tags ?? {}),
            },
          },
          { parent: this, provider },
        );
        // A new version on every key rotation; the secret (and its ARN the apps use) stays.
        new aws.secretsmanager.SecretVersion(
          `${name}-${cloud}-${purpose}`,
          { secretId: secret.id, secretString: deliveryValue(key) },
          { parent: this, provider },
        );
        this.secretArns[secretName] = secret.arn;
      }
    }
    this.registerOutputs({ secretArns: this.secretArns });
  }
}

/** Delivery inputs from EnvironmentBackup's outputs (writer and reader keys of every provider). */
export function deliveredKeysFrom(outputs: {
  buckets: Partial<Record<string, { name: pulumi.Input<string>; s3Endpoint: pulumi.Input<string> }>>;
  keys: {
    writer: Partial<Record<string, { keyId: pulumi.Input<string>; applicationKey: pulumi.Input<string> }>>;
    reader: Partial<Record<string, { keyId: pulumi.Input<string>; applicationKey: pulumi.Input<string> }>>;
  };
}): KeyDeliveryArgs['keys'] {
  const out: KeyDeliveryArgs['keys'] = { 'backup-writer': {}, 'restore-reader': {} };
  for (const [purpose, keys] of [
    ['backup-writer', outputs.keys.writer],
    ['restore-reader', outputs.keys.reader],
  ] as const) {
    for (const [cloud, k] of Object.entries(keys)) {
      const b = outputs.buckets[cloud];
      if (k && b) out[purpose]![cloud] = { ...k, bucketName: b.name, s3Endpoint: b.s3Endpoint };
    }
  }
  return out;
}
