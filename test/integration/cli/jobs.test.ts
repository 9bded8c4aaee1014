/**
 * Backup jobs against the emulator: snapshot-config, tf-state, list, restore (point in time),
 * verify, manifests (also on failure), metrics, prune --report and cost.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { cli, Estate, getObjectBytes, listVersionsJson, startEstate } from './fixture';

let estate: Estate;
let tmp: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-jobs-'));
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(async () => {
  await fetch(`${estate.emu.url}/__admin/faults`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${estate.emu.info.adminToken}` },
  });
});

function file(name: string, content: string | Buffer): string {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}

interface ManifestDoc {
  job: string;
  status: string;
  error?: string;
  objects: { key: string; size: number; sha256: string; versionId?: string; status: string }[];
}

async function manifest(key: string): Promise<ManifestDoc> {
  return JSON.parse((await getObjectBytes(estate, key)).toString('utf8')) as ManifestDoc;
}

describe('snapshot-config', () => {
  it('uploads a JSON snapshot with metadata and a manifest, then skips identical content', async () => {
    const src = file('aws/config.json', JSON.stringify({ vpc: { cidr: '10.0.0.0/16' } }));
    const r1 = await cli(estate, [
      'snapshot-config',
      '--provider',
      'aws',
      '--from',
      src,
      '--json',
      '--env',
      'staging',
    ]);
    expect(r1.code).toBe(0);
    const d1 = r1.json<{ key: string; versionId: string; sha256: string; manifest: { key: string } }>();
    expect(d1.key).toMatch(/^configs\/aws\/\d{4}-\d{2}-\d{2}\/config\.json$/);
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const { sdkClient } = await import('./fixture');
    const head = await sdkClient(estate).send(new HeadObjectCommand({ Bucket: estate.bucket, Key: d1.key }));
    expect(head.Metadata).toMatchObject({
      sha256: d1.sha256,
      type: 'config-snapshot',
      provider: 'aws',
      env: 'staging',
      'tool-version': expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(head.ServerSideEncryption).toBe('AES256');
    const m = await manifest(d1.manifest.key);
    expect(m).toMatchObject({ job: 'snapshot-config', status: 'ok' });
    expect(m.objects[0]).toMatchObject({
      key: d1.key,
      versionId: d1.versionId,
      sha256: d1.sha256,
      status: 'uploaded',
    });

    const r2 = await cli(estate, ['snapshot-config', '--provider', 'aws', '--from', src, '--json']);
    expect(r2.code).toBe(0);
    expect(r2.json()).toMatchObject({ skipped: true, sameAs: d1.key });
    const versions = (await listVersionsJson(estate, 'configs/aws/')).filter((v) => v.key === d1.key);
    expect(versions).toHaveLength(1);

    const r3 = await cli(estate, [
      'snapshot-config',
      '--provider',
      'aws',
      '--from',
      src,
      '--json',
      '--force',
    ]);
    expect(r3.json()).toMatchObject({ skipped: false });
    expect((await listVersionsJson(estate, 'configs/aws/')).filter((v) => v.key === d1.key)).toHaveLength(2);
  });

  it('tars a directory deterministically and reads YAML from stdin', async () => {
    file('gcp-export/project.yaml', 'project: infrafabric\nregion: europe-west1\n');
    file('gcp-export/iam/roles.json', '{"roles":["viewer"]}');
    const r1 = await cli(estate, [
      'snapshot-config',
      '--provider',
      'gcp',
      '--from',
      path.join(tmp, 'gcp-export'),
      '--json',
    ]);
    expect(r1.code).toBe(0);
    expect(r1.json()).toMatchObject({
      key: expect.stringMatching(/^configs\/gcp\/.*\/gcp-export\.tar\.gz$/),
      skipped: false,
    });
    // touching mtimes changes nothing: the archive is byte-identical, so it is skipped
    fs.utimesSync(path.join(tmp, 'gcp-export/project.yaml'), new Date(), new Date(2020, 1, 1));
    const r2 = await cli(estate, [
      'snapshot-config',
      '--provider',
      'gcp',
      '--from',
      path.join(tmp, 'gcp-export'),
      '--json',
    ]);
    expect(r2.json()).toMatchObject({ skipped: true });

    const yaml = Readable.from([Buffer.from('subscriptions:\n  - id: abc\n')]);
    const r3 = await cli(
      estate,
      ['snapshot-config', '--provider', 'azure', '--from', '-', '--json'],
      {},
      yaml,
    );
    expect(r3.code).toBe(0);
    expect(r3.json()).toMatchObject({ key: expect.stringMatching(/^configs\/azure\/.*\/config\.yaml$/) });
  });

  it('rejects bad input with exit 2 and writes nothing', async () => {
    const bad = file('broken.json', '{"vpc": ');
    const r = await cli(estate, ['snapshot-config', '--provider', 'aws', '--from', bad, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid JSON/);
    expect(
      (await cli(estate, ['snapshot-config', '--provider', 'aws', '--from', path.join(tmp, 'nope.json')]))
        .code,
    ).toBe(2);
    expect((await listVersionsJson(estate, 'configs/aws/')).some((v) => v.key.endsWith('broken.json'))).toBe(
      false,
    );
  });

  it('--dry-run writes neither the object nor a manifest', async () => {
    const before = (await listVersionsJson(estate)).length;
    const src = file('dry.json', '{"x":1}');
    const r = await cli(estate, [
      'snapshot-config',
      '--provider',
      'aws',
      '--from',
      src,
      '--json',
      '--dry-run',
    ]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ dryRun: true, wouldUpload: true });
    expect((await listVersionsJson(estate)).length).toBe(before);
  });

  it('writes a failed manifest and metrics when the upload is refused', async () => {
    await estate.emu.admin('POST', '/__admin/faults', {
      operation: 's3:PutObject',
      path: 'configs/aws/.*/refused\\.json',
      status: 403,
      code: 'AccessDenied',
      message: 'no',
      count: 5,
    });
    const metrics = path.join(tmp, 'snap.prom');
    const r = await cli(estate, [
      'snapshot-config',
      '--provider',
      'aws',
      '--from',
      file('refused.json', '{"a":2}'),
      '--json',
      '--metrics-file',
      metrics,
    ]);
    expect(r.code).toBe(1);
    const doc = r.json<{ ok: boolean; manifest: { key: string } }>();
    expect(doc.ok).toBe(false);
    const m = await manifest(doc.manifest.key);
    expect(m.status).toBe('failed');
    expect(m.error).toBeTruthy();
    expect(fs.readFileSync(metrics, 'utf8')).toMatch(
      /backup_job_success\{job="snapshot-config",env="dev"\} 0/,
    );
  });

  it('stops at once on a 403 cap exceeded (no retries)', async () => {
    await estate.emu.admin('POST', '/__admin/faults', {
      operation: 's3:PutObject',
      path: 'capped\\.json',
      status: 403,
      code: 'AccessDenied',
      message: 'storage_cap_exceeded: Cannot upload files, storage cap exceeded',
      count: 10,
    });
    const r = await cli(estate, [
      'snapshot-config',
      '--provider',
      'aws',
      '--from',
      file('capped.json', '{"a":3}'),
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ ok: false, retries: 0, error: expect.stringMatching(/cap/) });
    const faults = (await estate.emu.admin('GET', '/__admin/faults')) as
      { rules: { fired: number }[] } | { fired: number }[];
    const rules = Array.isArray(faults) ? faults : faults.rules;
    expect(rules[0].fired).toBe(1);
  });
});

describe('configuration from stack outputs', () => {
  it('takes bucket, endpoint and the purpose key from a saved `pulumi stack output` (stacks/index.ts shape)', async () => {
    const outputs = {
      env: 'staging',
      buckets: {
        aws: { name: estate.bucket, id: 'x', s3Endpoint: estate.endpoint },
        gcp: { name: 'other-bucket', id: 'y', s3Endpoint: 'http://127.0.0.1:1' },
      },
      keys: {
        writer: { aws: { keyId: estate.keyId, applicationKey: estate.applicationKey } },
        reader: { aws: { keyId: estate.keyId, applicationKey: estate.applicationKey } },
      },
    };
    const f = file('outputs.json', JSON.stringify(outputs));
    const bare = {
      PATH: process.env.PATH,
      B2_S3_ENDPOINT: '',
      B2_BUCKET: '',
      B2_KEY_ID: '',
      B2_APPLICATION_KEY: '',
    };
    const up = await cli(
      undefined,
      [
        'snapshot-config',
        '--provider',
        'aws',
        '--from',
        file('from-stack.json', '{"s":1}'),
        '--stack-outputs',
        f,
        '--json',
      ],
      bare,
    );
    expect(up.code).toBe(0);
    expect(up.json()).toMatchObject({ key: expect.stringMatching(/^configs\/aws\//) });
    const list = await cli(
      undefined,
      ['list', '--stack-outputs', f, '--provider', 'aws', '--json', '--prefix', 'configs/aws/'],
      bare,
    );
    expect(list.code).toBe(0);
    expect(list.json<{ bucket: string }>().bucket).toBe(estate.bucket);
    const missing = await cli(undefined, ['list', '--stack-outputs', f, '--provider', 'azure'], bare);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /bucket \(--bucket or B2_BUCKET; the stack has .* pick one with --provider\)/,
    );
  });
});

describe('tf-state', () => {
  const key = randomBytes(32).toString('base64');
  const state = JSON.stringify({
    version: 4,
    terraform_version: '1.9.5',
    resources: [{ type: 'aws_db_instance', instances: [{ attributes: { password: 'S3cr3t-db-password' } }] }],
  });

  it('encrypts client-side; the object is unreadable without the key and restores with it', async () => {
    const ws = path.join(tmp, 'network');
    file('network/terraform.tfstate', state);
    file('network/terraform.tfstate.d/staging/terraform.tfstate', state.replace('1.9.5', '1.9.6'));
    // --name pins the 0.1.0 layout (terraform-state/<dir name>/…); the default is unique per workspace
    const r = await cli(estate, ['tf-state', '--workspace', ws, '--name', 'network', '--json'], {
      BACKUP_ENCRYPTION_KEY: key,
    });
    expect(r.code).toBe(0);
    const doc = r.json<{ keyId: string; objects: { key: string; status: string }[] }>();
    expect(doc.objects.map((o) => o.key).sort()).toEqual([
      'terraform-state/network/terraform.tfstate.d/staging/terraform.tfstate.enc',
      'terraform-state/network/terraform.tfstate.enc',
    ]);
    const raw = await getObjectBytes(estate, 'terraform-state/network/terraform.tfstate.enc');
    expect(raw.includes(Buffer.from('S3cr3t-db-password'))).toBe(false);
    expect(raw.includes(Buffer.from('terraform_version'))).toBe(false);

    // without the key: usage error naming the variable
    const noKey = await cli(estate, [
      'restore',
      '--key',
      'terraform-state/network/terraform.tfstate.enc',
      '--to',
      path.join(tmp, 'out.tfstate'),
      '--decrypt',
    ]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/BACKUP_ENCRYPTION_KEY/);
    // with a wrong key: both key ids named, nothing written
    const wrong = await cli(
      estate,
      [
        'restore',
        '--key',
        'terraform-state/network/terraform.tfstate.enc',
        '--to',
        path.join(tmp, 'out.tfstate'),
        '--decrypt',
        '--json',
      ],
      {
        BACKUP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      },
    );
    expect(wrong.code).toBe(1);
    expect(wrong.json<{ error: string }>().error).toMatch(new RegExp(`encrypted with key id ${doc.keyId}`));
    expect(fs.existsSync(path.join(tmp, 'out.tfstate'))).toBe(false);
    // with the key
    const ok = await cli(
      estate,
      [
        'restore',
        '--key',
        'terraform-state/network/terraform.tfstate.enc',
        '--to',
        path.join(tmp, 'out.tfstate'),
        '--decrypt',
      ],
      { BACKUP_ENCRYPTION_KEY: key },
    );
    expect(ok.code).toBe(0);
    expect(fs.readFileSync(path.join(tmp, 'out.tfstate'), 'utf8')).toBe(state);

    // unchanged state is not uploaded again
    const again = await cli(estate, ['tf-state', '--workspace', ws, '--name', 'network', '--json'], {
      BACKUP_ENCRYPTION_KEY: key,
    });
    expect(again.json<{ objects: { status: string }[] }>().objects.map((o) => o.status)).toEqual([
      'skipped',
      'skipped',
    ]);
  });

  it('rejects a file that is not state', async () => {
    const r = await cli(estate, ['tf-state', '--file', file('notstate.json', '{"hello":1}')], {
      BACKUP_ENCRYPTION_KEY: key,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/neither Terraform state .* nor a Pulumi export/);
  });
});

describe('restore and list', () => {
  it('point in time picks the newest version at or before --at; hide markers are listed', async () => {
    const contents = ['{"v":1}', '{"v":2}', '{"v":3}'];
    const keys: string[] = [];
    for (const c of contents) {
      const r = await cli(estate, [
        'snapshot-config',
        '--provider',
        'aws',
        '--from',
        file('pit.json', c),
        '--json',
        '--force',
      ]);
      expect(r.code).toBe(0);
      keys.push(r.json<{ key: string }>().key);
      await estate.emu.admin('POST', '/__admin/clock', { advanceSeconds: 3600 });
    }
    const key = keys[0];
    const versions = (await listVersionsJson(estate, key))
      .filter((v) => v.key === key)
      .sort((a, b) => a.lastModified.localeCompare(b.lastModified));
    expect(versions).toHaveLength(3);
    const t2 = Date.parse(versions[1].lastModified);
    const between = new Date(t2 + 1800_000).toISOString(); // after v2, before v3
    const out = path.join(tmp, 'pit-out.json');
    const r = await cli(estate, ['restore', '--key', key, '--at', between, '--to', out, '--json']);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(contents[1]);
    expect(r.json()).toMatchObject({ versionId: versions[1].versionId });
    // exact version to stdout
    const s = await cli(estate, [
      'restore',
      '--key',
      key,
      '--version-id',
      versions[0].versionId,
      '--to',
      '-',
    ]);
    expect(s.code).toBe(0);
    expect(s.stdout).toBe(contents[0]);
    // before the first version: nothing to restore
    // the restored file exists now: replaced only with --force
    const clobber = await cli(estate, [
      'restore',
      '--key',
      key,
      '--version-id',
      versions[0].versionId,
      '--to',
      out,
    ]);
    expect(clobber.code).toBe(2);
    expect(clobber.stderr).toMatch(/pit-out\.json already exists; not replaced \(pass --force/);
    expect(fs.readFileSync(out, 'utf8')).toBe(contents[1]);
    const early = await cli(estate, [
      'restore',
      '--key',
      key,
      '--at',
      '2000-01-01T00:00:00Z',
      '--to',
      out,
      '--force',
    ]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/no version of .* at or before 2000-01-01/);

    // hide the object (S3 DeleteObject without a version id) → a hide marker in the listing
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const { sdkClient } = await import('./fixture');
    await sdkClient(estate).send(new DeleteObjectCommand({ Bucket: estate.bucket, Key: key }));
    const after = (await listVersionsJson(estate, key)).filter((v) => v.key === key);
    expect(after.filter((v) => v.hideMarker)).toHaveLength(1);
    const now = await cli(estate, [
      'restore',
      '--key',
      key,
      '--at',
      new Date(Date.parse(versions[2].lastModified) + 7200_000 * 10).toISOString(),
      '--to',
      out,
      '--force',
    ]);
    expect(now.code).toBe(1);
    expect(now.stderr).toMatch(/hide marker/);
  });

  it('--since filters by age', async () => {
    // The CLI's "now" is the wall clock and earlier tests advance the emulator's clock, so this
    // test runs on its own emulator and makes the age gap explicit: one version, 4 s, another,
    // then a window that starts ~2 s before the second upload (room for CLI start-up under load).
    const own = await startEstate();
    try {
      const snap = (name: string) =>
        cli(own, ['snapshot-config', '--provider', 'aws', '--from', file(name, `{"${name}":1}`), '--json']);
      expect((await snap('older.json')).code).toBe(0);
      await new Promise((r) => setTimeout(r, 4000));
      expect((await snap('recent.json')).code).toBe(0);
      const all = await listVersionsJson(own);
      const recent = all.filter((v) => v.key.endsWith('recent.json'));
      expect(recent).toHaveLength(1);
      const ageS = (Date.now() - Date.parse(recent[0].lastModified)) / 1000;
      const r = await cli(own, ['list', '--json', '--since', `${(ageS + 2).toFixed(3)}s`]);
      expect(r.code).toBe(0);
      const listed = r.json<{ versions: { key: string }[] }>().versions.map((v) => v.key);
      expect(listed).toContain(recent[0].key);
      expect(listed.some((k) => k.endsWith('older.json'))).toBe(false);
      expect(listed.length).toBeLessThan(all.length);
    } finally {
      await own.stop();
    }
  });
});

describe('verify', () => {
  it('checks every current object against metadata and counts no failures', async () => {
    // The restore test above hid pit.json by hand (no lifecycle rule): verify names exactly that.
    const hidden = await cli(estate, ['verify', '--json']);
    expect(hidden.code).toBe(3);
    const found = hidden.json<{ findings: { key: string; problem: string }[] }>().findings;
    expect(found).toEqual([
      expect.objectContaining({ problem: 'hidden', key: expect.stringMatching(/pit\.json$/) }),
    ]);
    // Unhide it (delete the hide marker): healthy again.
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const { sdkClient } = await import('./fixture');
    const marker = (await listVersionsJson(estate, found[0].key)).find((v) => v.hideMarker)!;
    await sdkClient(estate).send(
      new DeleteObjectCommand({ Bucket: estate.bucket, Key: marker.key, VersionId: marker.versionId }),
    );
    const r = await cli(estate, ['verify', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = r.json<{ checked: number; verified: number; mismatch: number }>();
    expect(d.checked).toBeGreaterThan(3);
    expect(d.mismatch).toBe(0);
    const s = await cli(estate, ['verify', '--json', '--sample', '2']);
    expect(s.json<{ checked: number }>().checked).toBe(2);
  });

  it('fails on an object whose bytes do not match its recorded sha256', async () => {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const { sdkClient } = await import('./fixture');
    await sdkClient(estate).send(
      new PutObjectCommand({
        Bucket: estate.bucket,
        Key: 'configs/aws/tampered.json',
        Body: 'tampered',
        Metadata: { sha256: '0'.repeat(64) },
      }),
    );
    const r = await cli(estate, ['verify', '--json', '--prefix', 'configs/aws/tampered']);
    expect(r.code).toBe(3); // integrity failure
    expect(r.json()).toMatchObject({
      ok: false,
      mismatch: 1,
      // written by no backup run: also reported as replaced
      findings: [expect.objectContaining({ key: 'configs/aws/tampered.json', problem: 'replaced' })],
    });
  });
});

describe('cost', () => {
  it('reports bytes by prefix, both prices, and an egress alert that can fail the run', async () => {
    const html = path.join(tmp, 'cost.html');
    const r = await cli(estate, ['cost', '--json', '--html', html]);
    expect(r.code).toBe(0);
    // No egress figure: the alert is skipped, and says so.
    expect(r.json<{ egressAlert: unknown }>().egressAlert).toEqual({
      status: 'skipped',
      reason: expect.stringContaining('no --egress-per-month given'),
    });
    expect(r.stdout).not.toMatch(/Infinity|NaN/);
    const d = r.json<{
      totalBytes: number;
      buckets: { prefixes: { prefix: string }[] }[];
      current: { b2Total: number; s3Total: number };
      projection: unknown[];
    }>();
    expect(d.totalBytes).toBeGreaterThan(0);
    expect(d.buckets[0].prefixes.map((p) => p.prefix)).toEqual(
      expect.arrayContaining(['configs/', 'manifests/', 'terraform-state/']),
    );
    expect(d.projection).toHaveLength(12);
    expect(fs.readFileSync(html, 'utf8')).toMatch(/<svg[\s\S]*<path d="M/);

    // The allowance is 3x the account total: the bucket-scoped key sees one bucket, so the
    // account's stored bytes are given; 1 TB stored → 3 TB free; 3.6 TB egress → 600 GB → $6.
    const account = ['--account-stored', '1TB'];
    const within = await cli(estate, [
      'cost',
      '--json',
      ...account,
      '--egress-per-month',
      '3TB',
      '--fail-on-alert',
    ]);
    expect(within.code).toBe(0);
    expect(within.json<{ egressAlert: { status: string } }>().egressAlert.status).toBe('ok');
    const over = ['cost', '--json', ...account, '--egress-per-month', '3.6TB', '--fail-on-alert'];
    const alert = await cli(estate, over);
    expect(alert.code).toBe(1);
    expect(alert.json<{ alert: string }>().alert).toMatch(
      /^egress 3,600 GB\/month is 3\.60× the account's 1,000 GB stored \(--account-stored\).*: \$6\.00\/month, over the \$0\.00 alert threshold$/,
    );
    // A dollar threshold above the charge: no alert.
    const under = await cli(estate, [...over, '--alert-over-usd', '10']);
    expect(under.code).toBe(0);
    expect(under.json<{ egressAlert: { status: string } }>().egressAlert.status).toBe('ok');
    const noFail = await cli(estate, ['cost', ...account, '--egress-per-month', '3.6TB']);
    expect(noFail.code).toBe(0);
    expect(noFail.stdout).toMatch(/ALERT: egress/);
    // Without --account-stored the output says the total covers only the listed bucket.
    const listed = await cli(estate, ['cost', '--json', '--egress-per-month', '1GB']);
    expect(listed.json<{ egressAlert: { accountBasis: string } }>().egressAlert.accountBasis).toMatch(
      /^only .*: pass --account-stored or --all-buckets/,
    );
    const bad = await cli(estate, ['cost', '--alert-over-usd', 'lots']);
    expect(bad.code).toBe(2);
  });
});
