/**
 * The Pulumi program: reads the stack configuration once, declares the environment's backup
 * estate, and exports what the backup CLI reads from
 * `pulumi stack output --json --show-secrets` (shape documented in the README, "The estate").
 */
import { EnvironmentBackup } from '../infra/components/environmentBackup';
import { KeyDelivery, deliveredKeysFrom } from '../infra/components/keyDelivery';
import { EnvironmentSmokeTest, smokeTargetsFrom } from '../infra/components/smokeTest';
import { loadStackConfig } from '../infra/config';

const config = loadStackConfig();
const estate = new EnvironmentBackup(`infrafabric-backup-${config.env}`, config);
const smoke = config.smokeTest.enabled
  ? new EnvironmentSmokeTest(`infrafabric-backup-${config.env}-smoke`, {
      targets: smokeTargetsFrom(estate.outputs),
      trigger: config.smokeTest.trigger,
    })
  : undefined;
const kd = config.keyDelivery;
const delivery =
  kd.mode === 'aws-secrets-manager'
    ? new KeyDelivery(`infrafabric-backup-${config.env}-key-delivery`, {
        env: config.env,
        keys: deliveredKeysFrom(estate.outputs),
        awsRegion: kd.awsRegion!,
        prefix: kd.prefix ?? undefined,
        kmsKeyId: kd.kmsKeyId ?? undefined,
        recoveryWindowInDays: kd.recoveryWindowInDays ?? undefined,
      })
    : undefined;

export const env = config.env;
export const uploadEncryption = config.uploadEncryption;
/** `{aws: {name, id, s3Endpoint, replica?: {name, id, s3Endpoint}}}` — no secrets. */
export const buckets = estate.outputs.buckets;
/** `{writer: {aws: {keyId, applicationKey}}, reader: {...}}` — applicationKey is a Pulumi secret. */
export const keys = estate.outputs.keys;
/**
 * The previous key generation (`previousKeyRotation`), same shape as `keys`; `{writer: {}, reader: {}}`
 * before the first rotation. Still valid until the next rotation — for consumers mid-switch.
 */
export const previousKeys = estate.outputs.previousKeys;
/** Key ids only, readable without `--show-secrets`. */
export const keyIds = {
  writer: mapValues(estate.outputs.keys.writer, (k) => k.keyId),
  reader: mapValues(estate.outputs.keys.reader, (k) => k.keyId),
};
/** `{aws: {ruleName, sourceBucketId, destinationBucketId}}` when replication is on. */
export const replication = estate.outputs.replication;
/** When the smoke test is on: provider → time of the last passing run. */
export const smokeTest = smoke ? mapValues(smoke.tests, (t) => t.checkedAt) : undefined;
/** With key delivery to AWS Secrets Manager: secret name → ARN. */
export const keyDeliverySecretArns = delivery?.secretArns;

function mapValues<T, U>(obj: Partial<Record<string, T>>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, f(v as T)]));
}
