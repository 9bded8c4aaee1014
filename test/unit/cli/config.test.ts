import { inspect } from 'util';
import { resolveConnection, ConfigDeps } from '../../../scripts/lib/config';
import { UsageError } from '../../../scripts/lib/errors';
import { regionFromEndpoint } from '../../../scripts/lib/s3client';
import { SecretString } from '../../../infra/b2/secret';
import { pickFromStack } from '../../../scripts/lib/stackOutputs';

function deps(env: NodeJS.ProcessEnv, outputs: Record<string, unknown> = {}): ConfigDeps {
  return { env, readStack: async () => outputs, readStackFile: () => outputs };
}

const fullEnv = {
  B2_S3_ENDPOINT: 'https://s3.eu-central-003.backblazeb2.com',
  B2_BUCKET: 'infrafabric-backup-dev-aws',
  B2_KEY_ID: '003abc',
  B2_APPLICATION_KEY: 'K003secretsecret',
};

describe('SecretString', () => {
  it('prints **redacted** everywhere but reveal()', () => {
    const s = new SecretString('K003topsecret');
    expect(String(s)).toBe('**redacted**');
    expect(`${s}`).toBe('**redacted**');
    expect(JSON.stringify({ s })).toBe('{"s":"**redacted**"}');
    expect(inspect({ s })).not.toContain('topsecret');
    expect(s.reveal()).toBe('K003topsecret');
  });
});

describe('regionFromEndpoint', () => {
  it('reads the region from a B2 S3 host, else falls back', () => {
    expect(regionFromEndpoint('https://s3.us-east-005.backblazeb2.com')).toBe('us-east-005');
    expect(regionFromEndpoint('https://s3.eu-central-003.backblazeb2.com/')).toBe('eu-central-003');
    expect(regionFromEndpoint('http://127.0.0.1:9000', 'us-west-002')).toBe('us-west-002');
    expect(regionFromEndpoint('http://127.0.0.1:9000')).toBe('us-west-004');
  });
});

describe('resolveConnection', () => {
  it('reads the environment and derives the region', async () => {
    const c = await resolveConnection({}, 'backup-writer', deps(fullEnv));
    expect(c).toMatchObject({
      endpoint: fullEnv.B2_S3_ENDPOINT,
      bucket: fullEnv.B2_BUCKET,
      keyId: '003abc',
      region: 'eu-central-003',
      env: 'dev',
    });
    expect(c.applicationKey.reveal()).toBe('K003secretsecret');
    expect(JSON.stringify(c)).not.toContain('K003secretsecret');
  });

  it('lets flags win over the environment; B2_REGION applies to non-B2 hosts', async () => {
    const c = await resolveConnection(
      { bucket: 'other', endpoint: 'http://127.0.0.1:1234' },
      'backup-writer',
      deps({ ...fullEnv, B2_REGION: 'us-east-005' }),
    );
    expect(c.bucket).toBe('other');
    expect(c.region).toBe('us-east-005');
  });

  it('names every missing field and where it comes from', async () => {
    const err = await resolveConnection({}, 'restore-reader', deps({ B2_BUCKET: 'b' })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/S3 endpoint \(--endpoint or B2_S3_ENDPOINT or --from-stack <env>\)/);
    expect(msg).toMatch(/key id \(--key-id or B2_KEY_ID/);
    expect(msg).toMatch(/application key \(B2_APPLICATION_KEY or --application-key-file/);
    expect(msg).not.toMatch(/bucket \(/);
  });

  it('treats an empty variable as unset', async () => {
    const err = await resolveConnection({}, 'backup-writer', deps({ ...fullEnv, B2_BUCKET: '' })).catch(
      (e: Error) => e.message,
    );
    expect(err).toMatch(/missing configuration: bucket/);
  });

  it('rejects an endpoint that is not a URL', async () => {
    await expect(
      resolveConnection(
        { endpoint: 's3.example' },
        'backup-writer',
        deps({ ...fullEnv, B2_S3_ENDPOINT: undefined }),
      ),
    ).rejects.toThrow(/is not a URL/);
  });

  it('takes bucket, endpoint and the purpose key from stack outputs', async () => {
    const outputs = {
      s3Endpoint: 'https://s3.us-west-004.backblazeb2.com',
      buckets: { aws: { name: 'infrafabric-backup-prod-aws' }, gcp: { name: 'infrafabric-backup-prod-gcp' } },
      keys: {
        'backup-writer': { keyId: '004writer', applicationKey: 'K004w' },
        'restore-reader': { keyId: '004reader', applicationKey: 'K004r' },
      },
    };
    const w = await resolveConnection(
      { fromStack: 'prod', provider: 'gcp' },
      'backup-writer',
      deps({}, outputs),
    );
    expect(w).toMatchObject({
      bucket: 'infrafabric-backup-prod-gcp',
      keyId: '004writer',
      env: 'prod',
      region: 'us-west-004',
    });
    const r = await resolveConnection(
      { fromStack: 'prod', provider: 'aws' },
      'restore-reader',
      deps({}, outputs),
    );
    expect(r.keyId).toBe('004reader');
    const none = await resolveConnection({ fromStack: 'prod' }, 'restore-reader', deps({}, outputs)).catch(
      (e: Error) => e.message,
    );
    expect(none).toMatch(
      /the stack has infrafabric-backup-prod-aws, infrafabric-backup-prod-gcp — pick one with --provider/,
    );
  });
});

describe('pickFromStack', () => {
  // The shape stacks/index.ts exports (buckets per provider with their endpoint; keys per purpose).
  const stackIndexShape = {
    env: 'staging',
    uploadEncryption: 'SSE-B2',
    buckets: {
      aws: {
        name: 'infrafabric-backup-staging-aws',
        id: 'b1',
        s3Endpoint: 'https://s3.us-west-004.backblazeb2.com',
      },
      gcp: {
        name: 'infrafabric-backup-staging-gcp',
        id: 'b2',
        s3Endpoint: 'https://s3.us-west-004.backblazeb2.com',
        replica: { name: 'x-replica', id: 'b3', s3Endpoint: 'https://s3.eu-central-003.backblazeb2.com' },
      },
    },
    keys: {
      writer: {
        aws: { keyId: 'w-aws', applicationKey: 'sw-aws' },
        gcp: { keyId: 'w-gcp', applicationKey: 'sw-gcp' },
      },
      reader: {
        aws: { keyId: 'r-aws', applicationKey: 'sr-aws' },
        gcp: { keyId: 'r-gcp', applicationKey: 'sr-gcp' },
      },
    },
    keyIds: { writer: { aws: 'w-aws' }, reader: { aws: 'r-aws' } },
  };

  it('reads the stacks/index.ts output shape', () => {
    expect(pickFromStack(stackIndexShape, { provider: 'gcp', purpose: 'backup-writer' })).toMatchObject({
      bucket: 'infrafabric-backup-staging-gcp',
      endpoint: 'https://s3.us-west-004.backblazeb2.com',
      keyId: 'w-gcp',
      applicationKey: 'sw-gcp',
      env: 'staging',
    });
    expect(pickFromStack(stackIndexShape, { provider: 'aws', purpose: 'restore-reader' })).toMatchObject({
      bucket: 'infrafabric-backup-staging-aws',
      keyId: 'r-aws',
      applicationKey: 'sr-aws',
    });
  });

  it('understands per-provider key maps and flat fields', () => {
    const p = pickFromStack(
      {
        s3ApiUrl: 'https://s3.us-west-004.backblazeb2.com',
        bucketNames: ['infrafabric-backup-dev-azure'],
        keys: { 'backup-writer': { azure: { applicationKeyId: 'k1', applicationKey: 's1' } } },
      },
      { provider: 'azure', purpose: 'backup-writer' },
    );
    expect(p).toMatchObject({ bucket: 'infrafabric-backup-dev-azure', keyId: 'k1', applicationKey: 's1' });
    const flat = pickFromStack(
      { endpoint: 'http://x', bucketName: 'b1', restoreReaderKeyId: 'r1', restoreReaderApplicationKey: 'rs' },
      { purpose: 'restore-reader' },
    );
    expect(flat).toMatchObject({ bucket: 'b1', keyId: 'r1', applicationKey: 'rs' });
  });
});
