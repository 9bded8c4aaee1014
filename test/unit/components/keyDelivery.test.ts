/* eslint-disable @typescript-eslint/no-explicit-any -- mock inputs are arbitrary property bags. */
/**
 * KeyDelivery (@pulumi/aws Secrets Manager) with Pulumi engine MOCKS ONLY: the AWS provider plugin
 * cannot be fetched or built here, so nothing is sent to AWS (README "End-to-end tests"). Checked:
 * which secrets are declared for an environment's keys (names, tags, region through an explicit
 * provider), that the value is the backup CLI's environment as JSON and a Pulumi secret, that no
 * key material sits in a non-secret input, and the validation messages.
 */
import * as pulumi from '@pulumi/pulumi';
import { EnvironmentBackup } from '../../../infra/components/environmentBackup';
import {
  b2RegionOf,
  deliveredKeysFrom,
  deliveryValue,
  KeyDelivery,
  validateKeyDeliveryArgs,
} from '../../../infra/components/keyDelivery';

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  provider?: string;
}

const registered: Registered[] = [];

// setMocks is async but does all its work before its first await: nothing to wait for.
void pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
      const state: Record<string, any> = { ...args.inputs };
      if (args.type === 'pulumi-nodejs:dynamic/b2:Bucket') {
        Object.assign(state, {
          bucketId: `bucket-${args.name}`,
          s3Endpoint: 'https://s3.us-west-004.backblazeb2.com',
        });
      } else if (args.type === 'pulumi-nodejs:dynamic/b2:ApplicationKey') {
        Object.assign(state, {
          applicationKeyId: `key-id-${args.name}`,
          applicationKey: `K004-secret-${args.name}`,
        });
      } else if (args.type === 'aws:secretsmanager/secret:Secret') {
        state.arn = `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${args.inputs.name}`;
      }
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  },
  'infrafabric-backup',
  'prod',
  false,
);

const valueOf = <T>(o: pulumi.Input<T>) =>
  new Promise<T>((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
const settle = () => new Promise((r) => setTimeout(r, 50));

test('one Secrets Manager secret + version per key of the environment, region via an explicit provider', async () => {
  const estate = new EnvironmentBackup('infrafabric-backup-prod', { env: 'prod', providers: ['aws', 'gcp'] });
  const delivery = new KeyDelivery('keys', {
    env: 'prod',
    keys: deliveredKeysFrom(estate.outputs),
    awsRegion: 'eu-central-1',
  });
  await valueOf(pulumi.all(Object.values(delivery.secretArns)));
  await settle();
  const secrets = registered.filter((r) => r.type === 'aws:secretsmanager/secret:Secret');
  expect(secrets.map((s) => s.inputs.name).sort()).toEqual([
    'infrafabric-backup/prod/aws/backup-writer',
    'infrafabric-backup/prod/aws/restore-reader',
    'infrafabric-backup/prod/gcp/backup-writer',
    'infrafabric-backup/prod/gcp/restore-reader',
  ]);
  expect(secrets[0]!.inputs.tags).toMatchObject({ env: 'prod', 'managed-by': 'pulumi/infrafabric-backup' });
  expect(secrets[0]!.inputs.recoveryWindowInDays).toBe(7);
  const provider = registered.find((r) => r.type === 'pulumi:providers:aws')!;
  expect(provider.inputs.region).toBe('eu-central-1');
  for (const s of secrets) expect(s.provider).toContain('pulumi:providers:aws::keys-aws');

  const versions = registered.filter((r) => r.type === 'aws:secretsmanager/secretVersion:SecretVersion');
  expect(versions).toHaveLength(4);
  const writerAws = versions.find((v) => v.name === 'keys-aws-backup-writer')!;
  // Registered as a secret: the mock monitor receives it wrapped in Pulumi's secret signature.
  const SECRET_SIG = '4dabf18193072939515e22adb298388d';
  expect(writerAws.inputs.secretString[SECRET_SIG]).toBe('1b47061264138c4ac30d75fd1eb44270');
  expect(JSON.parse(writerAws.inputs.secretString.value)).toEqual({
    B2_KEY_ID: 'key-id-prod-aws-backup-writer-initial',
    B2_APPLICATION_KEY: 'K004-secret-prod-aws-backup-writer-initial',
    B2_BUCKET: 'infrafabric-backup-prod-aws',
    B2_S3_ENDPOINT: 'https://s3.us-west-004.backblazeb2.com',
    B2_REGION: 'us-west-004',
  });
  // Key material only in the version's secretString, never in a secret's description/tags/name.
  for (const s of secrets) expect(JSON.stringify(s.inputs)).not.toMatch(/K004-secret/);
  expect(Object.keys(delivery.secretArns)).toHaveLength(4);
});

test('the delivered value is a Pulumi secret', async () => {
  const v = deliveryValue({
    keyId: 'id',
    applicationKey: 'K004-x',
    bucketName: 'b',
    s3Endpoint: 'https://s3.eu-central-003.backblazeb2.com',
  });
  expect(await pulumi.isSecret(v)).toBe(true);
  expect(JSON.parse(await valueOf(v))).toMatchObject({
    B2_REGION: 'eu-central-003',
    B2_APPLICATION_KEY: 'K004-x',
  });
});

test('validation names the field', () => {
  expect(
    validateKeyDeliveryArgs({
      env: 'prod',
      keys: {},
      awsRegion: 'Frankfurt',
      recoveryWindowInDays: 3,
      prefix: 'bad prefix',
    }),
  ).toEqual([
    'awsRegion: "Frankfurt" is not an AWS region like eu-central-1',
    'recoveryWindowInDays: must be 0 or 7–30, got 3',
    'prefix: "bad prefix" has characters Secrets Manager refuses',
  ]);
  expect(() => new KeyDelivery('bad', { env: 'prod', keys: {}, awsRegion: 'nowhere' })).toThrow(
    'KeyDelivery "bad": awsRegion',
  );
  expect(b2RegionOf('http://127.0.0.1:9000')).toBe('us-west-004');
});
