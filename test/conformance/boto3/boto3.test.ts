/**
 * boto3 (from .cache/venv, installed by tools/setup.js) against the emulator, with its default
 * flexible-checksum behaviour (boto3 ≥ 1.36 sends CRC32 on uploads) and with
 * `request_checksum_calculation="when_required"`. On an emulator in B2's 2024–25 mode
 * (`B2_LOCAL_S3_CHECKSUMS=reject`) the default configuration must fail the way it failed on B2,
 * and the when_required one must work.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run, S3Env, startS3Env } from '../wire/s3helpers';

const PYTHON = path.resolve(__dirname, '..', '..', '..', '.cache', 'venv', 'bin', 'python');

const SCRIPT = `
import hashlib, io, json, os, sys, urllib.request
import boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
url, key, secret, region, bucket, mode = sys.argv[1:7]
cfg = Config(request_checksum_calculation='when_required', response_checksum_validation='when_required') if mode == 'when_required' else Config()
s3 = boto3.client('s3', endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret, region_name=region, config=cfg)
out = {}
try:
    s3.create_bucket(Bucket=bucket)
    r = s3.put_object(Bucket=bucket, Key='meta/one.txt', Body=b'hello from boto3', Metadata={'sha256': 'abc', 'tool': 'boto3'})
    out['put_version'] = r['VersionId']
    g = s3.get_object(Bucket=bucket, Key='meta/one.txt', ChecksumMode='ENABLED')
    out['get_body'] = g['Body'].read().decode()
    out['get_meta'] = g['Metadata']
    data = os.urandom(12 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), bucket, 'mp/twelve.bin', Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    buf = io.BytesIO()
    s3.download_fileobj(bucket, 'mp/twelve.bin', buf)
    out['mp_same'] = hashlib.sha256(buf.getvalue()).hexdigest() == hashlib.sha256(data).hexdigest()
    out['mp_etag'] = s3.head_object(Bucket=bucket, Key='mp/twelve.bin')['ETag']
    pages = s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, PaginationConfig={'PageSize': 1})
    out['listed'] = sorted(o['Key'] for p in pages for o in p.get('Contents', []))
    d = s3.delete_objects(Bucket=bucket, Delete={'Objects': [{'Key': 'meta/one.txt'}]})
    out['deleted_marker'] = d['Deleted'][0].get('DeleteMarker')
    v = s3.list_object_versions(Bucket=bucket, Prefix='meta/')
    out['versions'] = len(v.get('Versions', []))
    out['markers'] = len(v.get('DeleteMarkers', []))
    s3.put_object(Bucket=bucket, Key='pre/p.txt', Body=b'presigned')
    u = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'pre/p.txt'}, ExpiresIn=60)
    out['presigned'] = urllib.request.urlopen(u).read().decode()
except Exception as e:
    out['error'] = type(e).__name__ + ': ' + str(e)
print(json.dumps(out))
`;

async function boto(
  env: S3Env,
  bucket: string,
  mode: 'default' | 'when_required',
): Promise<Record<string, unknown>> {
  if (!fs.existsSync(PYTHON))
    throw new Error(`${PYTHON} is missing: run "node tools/setup.js" (creates .cache/venv with boto3)`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boto3-'));
  try {
    const r = await run(PYTHON, ['-c', SCRIPT, env.url, env.keyId, env.secret, env.region, bucket, mode], {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        AWS_CONFIG_FILE: path.join(home, 'none'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    if (r.code !== 0) throw new Error(`boto3 script exited ${r.code}: ${r.stderr.slice(-3000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

function expectFullRun(out: Record<string, unknown>): void {
  expect(out.error).toBeUndefined();
  expect(out.get_body).toBe('hello from boto3');
  expect(out.get_meta).toEqual({ sha256: 'abc', tool: 'boto3' });
  expect(out.mp_same).toBe(true);
  expect(out.mp_etag).toMatch(/^"[0-9a-f]{32}-3"$/);
  expect(out.listed).toEqual(['meta/one.txt', 'mp/twelve.bin']);
  expect(out.deleted_marker).toBe(true);
  expect([out.versions, out.markers]).toEqual([1, 1]);
  expect(out.presigned).toBe('presigned');
}

describe('boto3 against the default emulator (checksums accepted and verified)', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('default checksum configuration: full round trip', async () => {
    expectFullRun(await boto(env, 'boto3-default', 'default'));
  });
  it('when_required: full round trip', async () => {
    expectFullRun(await boto(env, 'boto3-when-required', 'when_required'));
  });
});

describe('boto3 against B2 2024–25 behaviour (B2_LOCAL_S3_CHECKSUMS=reject)', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env({ env: { B2_LOCAL_S3_CHECKSUMS: 'reject' } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('the default configuration fails on its first checksummed upload, as it did on B2', async () => {
    const out = await boto(env, 'boto3-reject-default', 'default');
    expect(String(out.error)).toMatch(/InvalidArgument.*Unsupported header 'x-amz-(checksum|sdk-checksum)/);
  });
});
