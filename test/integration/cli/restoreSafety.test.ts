/**
 * Restores verify before they write, and never overwrite without asking (issue 11 §3–§5): the
 * target is checked before any download, the version is spooled privately and compared with the
 * SHA-256 the run manifest recorded, a mismatch, a replaced version or a listed version that is
 * gone exits 3 with nothing written, and the output names what was verified against what.
 */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { jobRetryPolicy } from '../../../scripts/lib/retry';
import { spoolObject } from '../../../scripts/lib/spool';
import { UsageError } from '../../../scripts/lib/errors';
import { cli, Estate, getObjectBytes, sdkClient, startEstate } from './fixture';

let estate: Estate;
let tmp: string;
let key: string;
let versionId: string;
let manifestKey: string;
const original = '{"vpc":"10.0.0.0/16"}\n';

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

async function getCount(): Promise<number> {
  const st = (await estate.emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> };
  return st.operations['s3:GetObject'] ?? 0;
}

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-restore-'));
  const src = path.join(tmp, 'network.json');
  fs.writeFileSync(src, original);
  const r = await cli(estate, ['snapshot-config', '--provider', 'aws', '--from', src, '--json']);
  expect(r.code).toBe(0);
  const doc = r.json<{ key: string; versionId: string; manifest: { key: string } }>();
  ({ key, versionId } = doc);
  manifestKey = doc.manifest.key;
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('restore target checks happen before any download', () => {
  it.each([
    [
      'a missing parent directory',
      () => path.join(tmp, 'no-such-dir', 'out.json'),
      /directory .*no-such-dir does not exist/,
    ],
    ['a directory target', () => tmp, /is a directory; name the file to write/],
  ])('%s: exit 2, named, no GET', async (_what, to, message) => {
    const before = await getCount();
    const r = await cli(estate, ['restore', '--key', key, '--to', to()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await getCount()).toBe(before);
  });

  it('an existing file is refused (exit 2, untouched) unless --force', async () => {
    const out = path.join(tmp, 'existing.json');
    fs.writeFileSync(out, 'precious');
    const r = await cli(estate, ['restore', '--key', key, '--to', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/existing\.json already exists; not replaced \(pass --force/);
    expect(fs.readFileSync(out, 'utf8')).toBe('precious');
    const forced = await cli(estate, ['restore', '--key', key, '--to', out, '--force', '--json']);
    expect(forced.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(original);
    expect((fs.statSync(out).mode & 0o777).toString(8)).toBe('600');
  });
});

describe('verified restores', () => {
  it('names the manifest, version id and upload time it verified against', async () => {
    const out = path.join(tmp, 'ok.json');
    const r = await cli(estate, ['restore', '--key', key, '--to', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `verified sha256 ${sha256(original)} against ${manifestKey} (version ${versionId}, uploaded 20`,
    );
    const j = await cli(estate, ['restore', '--key', key, '--to', path.join(tmp, 'ok2.json'), '--json']);
    expect(j.json()).toMatchObject({
      key,
      versionId,
      verifiedAgainst: manifestKey,
      expectedSha256: sha256(original),
      sha256: sha256(original),
      verified: true,
      chosenBy: 'current',
      uploadedAt: expect.stringMatching(/^20\d\d-\d\d-\d\dT/),
    });
  });

  it('--at prints the chosen version and its upload time', async () => {
    const r = await cli(estate, ['restore', '--key', key, '--at', '0s', '--to', '-', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(original); // data on stdout, the result document on stderr
    const doc = JSON.parse(r.stderr) as Record<string, unknown>;
    expect(doc).toMatchObject({ versionId, chosenBy: '--at 0s', uploadedAt: expect.any(String) });
  });

  it('a version whose bytes differ from the manifest exits 3 and writes nothing (file, stdout, spool)', async () => {
    // Tamper with the record rather than the bytes (the emulator stores what it is given): the
    // effect on the restore is the same — downloaded bytes and recorded hash disagree.
    const m = JSON.parse((await getObjectBytes(estate, manifestKey)).toString('utf8')) as {
      objects: { key: string; sha256: string }[];
    };
    const saved = JSON.stringify(m);
    m.objects.find((o) => o.key === key)!.sha256 = sha256('something else');
    const put = (body: string): Promise<unknown> =>
      sdkClient(estate).send(new PutObjectCommand({ Bucket: estate.bucket, Key: manifestKey, Body: body }));
    await put(JSON.stringify(m));
    try {
      const spoolDir = path.join(tmp, 'spool');
      fs.mkdirSync(spoolDir);
      const out = path.join(tmp, 'tampered.json');
      const r = await cli(estate, ['restore', '--key', key, '--to', out, '--spool-dir', spoolDir]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /downloaded SHA-256 [0-9a-f]{64} does not match [0-9a-f]{64} recorded in manifests\/snapshot-config\//,
      );
      expect(fs.existsSync(out)).toBe(false);
      expect(fs.readdirSync(spoolDir)).toEqual([]);
      const s = await cli(estate, ['restore', '--key', key, '--to', '-', '--spool-dir', spoolDir]);
      expect(s.code).toBe(3);
      expect(s.stdout).toBe('');
      expect(fs.readdirSync(spoolDir)).toEqual([]);
    } finally {
      await put(saved);
    }
  });

  it('a replaced current version (valid bytes, forged sha256 metadata, no manifest) exits 3; the listed version still restores', async () => {
    const forged = '{"vpc":"attacker"}\n';
    await sdkClient(estate).send(
      new PutObjectCommand({
        Bucket: estate.bucket,
        Key: key,
        Body: forged,
        Metadata: { sha256: sha256(forged), type: 'config-snapshot' },
      }),
    );
    const out = path.join(tmp, 'replaced.json');
    const r = await cli(estate, ['restore', '--key', key, '--to', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no run manifest of snapshot-config lists version .* \(replaced\?\)/);
    expect(fs.existsSync(out)).toBe(false);
    const good = await cli(estate, ['restore', '--key', key, '--version-id', versionId, '--to', out]);
    expect(good.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(original);
    const opted = await cli(estate, ['restore', '--key', key, '--to', '-', '--allow-unverified']);
    expect(opted.code).toBe(0);
    expect(opted.stdout).toBe(forged);
    expect(opted.stderr).toMatch(/NOT verified \(--allow-unverified\)/);
  });

  it('a listed version that is gone is a missing backup (exit 3, naming the manifest); an unknown version id is not (exit 1)', async () => {
    const src = path.join(tmp, 'gone.json');
    fs.writeFileSync(src, '{"gone":true}\n');
    const snap = await cli(estate, ['snapshot-config', '--provider', 'gcp', '--from', src, '--json']);
    expect(snap.code).toBe(0);
    const doc = snap.json<{ key: string; versionId: string; manifest: { key: string } }>();
    await sdkClient(estate).send(
      new DeleteObjectCommand({ Bucket: estate.bucket, Key: doc.key, VersionId: doc.versionId }),
    );
    const out = path.join(tmp, 'gone-restored.json');
    const r = await cli(estate, ['restore', '--key', doc.key, '--version-id', doc.versionId, '--to', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`listed in ${doc.manifest.key}, is missing from the bucket`);
    expect(fs.existsSync(out)).toBe(false);
    const unknown = await cli(estate, [
      'restore',
      '--key',
      doc.key,
      '--version-id',
      'no-such-version',
      '--to',
      out,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/version no-such-version does not exist/);
  });

  it('an object with no recorded hash anywhere is refused (exit 2) unless --allow-unverified', async () => {
    await sdkClient(estate).send(
      new PutObjectCommand({ Bucket: estate.bucket, Key: 'misc/notes.txt', Body: 'hello' }),
    );
    const r = await cli(estate, ['restore', '--key', 'misc/notes.txt', '--to', '-']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no recorded SHA-256 .* pass --allow-unverified/i);
    expect(r.stdout).toBe('');
    const ok = await cli(estate, ['restore', '--key', 'misc/notes.txt', '--to', '-', '--allow-unverified']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('hello');
  });
});

describe('a spool on another filesystem', () => {
  const shm = '/dev/shm';
  const other = fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev;
  (other ? it : it.skip)('is copied into place (EXDEV), still 0600, and removed', async () => {
    const spoolDir = fs.mkdtempSync(path.join(shm, 'ifb-spool-test-'));
    try {
      const out = path.join(tmp, 'cross-device.json');
      const r = await cli(estate, [
        'restore',
        '--key',
        key,
        '--version-id',
        versionId,
        '--to',
        out,
        '--spool-dir',
        spoolDir,
      ]);
      expect(r.code).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe(original);
      expect((fs.statSync(out).mode & 0o777).toString(8)).toBe('600');
      expect(fs.readdirSync(spoolDir)).toEqual([]);
      expect(fs.readdirSync(tmp).filter((f) => f.includes('.restore'))).toEqual([]);
    } finally {
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});

describe('the spool', () => {
  const req = (extra: Partial<Parameters<typeof spoolObject>[0]>): Parameters<typeof spoolObject>[0] => ({
    s3: sdkClient(estate),
    policy: jobRetryPolicy({ budgetMs: 2000 }),
    bucket: estate.bucket,
    key,
    versionId,
    size: original.length,
    dir: tmp,
    ...extra,
  });

  it('is a 0600 file in a private 0700 directory, hashed while written, removed by dispose', async () => {
    const spool = await spoolObject(req({}));
    expect((fs.statSync(spool.path).mode & 0o777).toString(8)).toBe('600');
    expect((fs.statSync(path.dirname(spool.path)).mode & 0o777).toString(8)).toBe('700');
    expect(spool.sha256).toBe(sha256(original));
    expect(fs.readFileSync(spool.path, 'utf8')).toBe(original);
    await spool.dispose();
    expect(fs.existsSync(path.dirname(spool.path))).toBe(false);
    await spool.dispose(); // idempotent
  });

  it('is refused before the first GET when the filesystem has less free space than the object', async () => {
    const before = await getCount();
    await expect(spoolObject(req({ size: Number.MAX_SAFE_INTEGER }))).rejects.toThrow(UsageError);
    await expect(spoolObject(req({ size: Number.MAX_SAFE_INTEGER }))).rejects.toThrow(
      /not enough free space to spool .* pass --spool-dir/,
    );
    expect(await getCount()).toBe(before);
  });
});
