/**
 * Manifest key rotation against the emulator (README "Signed manifests" → rotating the key):
 * manifests signed with K1, then the key rotated to K2 (new runs signed with K2). Readers given K2
 * only distrust K1's manifests (exit 3, naming K1's key id); given K2 plus K1 as a previous key
 * (env BACKUP_MANIFEST_PREVIOUS_KEYS or --manifest-previous-key-file) they trust both, and verify
 * notes how many manifests K1 still signs and the newest one's upload time. A manifest signed with a
 * third key stays untrusted; writers sign with the current key only; keys are never printed; a bad
 * previous key is a usage error (exit 2) naming where it came from.
 */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseManifestKey, signManifest } from '../../../scripts/lib/manifestSignature';
import { cli, EmulatorClock, emulatorClock, Estate, getObjectBytes, sdkClient, startEstate } from './fixture';

const DAY = 86_400;
const K1_TEXT = Buffer.alloc(32, 21).toString('base64');
const K2_TEXT = Buffer.alloc(32, 22).toString('hex');
const K1 = parseManifestKey(K1_TEXT, 'test');
const K2 = parseManifestKey(K2_TEXT, 'test');
const K3 = parseManifestKey(Buffer.alloc(32, 23).toString('base64'), 'test');
const onlyK1 = { BACKUP_MANIFEST_KEY: K1_TEXT };
const onlyK2 = { BACKUP_MANIFEST_KEY: K2_TEXT };
const rotated = { BACKUP_MANIFEST_KEY: K2_TEXT, BACKUP_MANIFEST_PREVIOUS_KEYS: K1_TEXT };

let estate: Estate;
let clock: EmulatorClock;
let tmp: string;

interface VerifyDoc {
  findings: { key: string; problem: string; detail: string }[];
  signatures: {
    keyId: string | null;
    previousKeyIds: string[];
    previousKeys: { keyId: string; manifests: number; newestUpload: string | null }[];
    verified: number;
    signingBegan: string | null;
  };
}

const run = (args: string[], env: NodeJS.ProcessEnv): ReturnType<typeof cli> =>
  cli(estate, args, env, undefined, { clock });
async function verify(env: NodeJS.ProcessEnv, extra: string[] = []) {
  const r = await run(['verify', '--json', ...extra], env);
  const h = await run(['verify', ...extra], env);
  return { code: r.code, doc: r.json<VerifyDoc>(), human: h.stdout + h.stderr };
}
async function advanceDays(days: number): Promise<void> {
  await estate.emu.admin('POST', '/__admin/clock', { advanceSeconds: days * DAY });
  await clock.sync();
}
async function manifestOf(
  key: string,
): Promise<{ signature?: { keyId: string }; objects: { key: string }[] }> {
  return JSON.parse((await getObjectBytes(estate, key)).toString('utf8')) as {
    signature?: { keyId: string };
    objects: { key: string }[];
  };
}
async function snapshot(round: number, env: NodeJS.ProcessEnv): Promise<{ key: string; manifest: string }> {
  fs.writeFileSync(path.join(tmp, 'aws.json'), JSON.stringify({ round }));
  const r = await run(
    ['snapshot-config', '--provider', 'aws', '--from', path.join(tmp, 'aws.json'), '--json'],
    env,
  );
  expect(r.code).toBe(0);
  const manifest = r.json<{ manifest: { key: string } }>().manifest.key;
  return { key: (await manifestOf(manifest)).objects[0].key, manifest };
}
const noKeys = (text: string): void => {
  for (const k of [K1_TEXT, K2_TEXT, Buffer.from(K2_TEXT, 'hex').toString('base64')])
    expect(text).not.toContain(k);
};

let k1: { key: string; manifest: string };
let k2: { key: string; manifest: string };
let k1Uploaded: string;

beforeAll(async () => {
  estate = await startEstate();
  clock = await emulatorClock(estate);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-rot-'));
  k1 = await snapshot(1, onlyK1);
  k1Uploaded = new Date(clock.now()).toISOString();
  await advanceDays(1);
  // Rotated: writers get K2; a writer given previous keys as well still signs with K2 only.
  k2 = await snapshot(2, rotated);
  await advanceDays(1);
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('rotating the manifest key', () => {
  it('writers sign with the current key only', async () => {
    expect((await manifestOf(k1.manifest)).signature?.keyId).toBe(K1.keyId);
    expect((await manifestOf(k2.manifest)).signature?.keyId).toBe(K2.keyId);
  });

  it('K2 only: the K1-signed manifest is untrusted, named with K1 key id (exit 3)', async () => {
    const v = await verify(onlyK2);
    expect(v.code).toBe(3);
    const f = v.doc.findings.find((x) => x.problem === 'forged-manifest');
    expect(f?.key).toBe(k1.manifest);
    expect(f?.detail).toContain(`signed with key id ${K1.keyId}, not the configured key id ${K2.keyId}`);
    expect(v.doc.signatures.signingBegan).not.toBe(null);
    expect(Date.parse(v.doc.signatures.signingBegan!)).toBeGreaterThan(Date.parse(k1Uploaded));
  });

  it('K2 + previous K1 (env): exit 0, both accepted, a one-line note on K1; signing began at K1', async () => {
    const v = await verify(rotated);
    expect(v.doc.findings).toEqual([]);
    expect(v.code).toBe(0);
    expect(v.doc.signatures).toMatchObject({
      keyId: K2.keyId,
      previousKeyIds: [K1.keyId],
      verified: 2,
      previousKeys: [{ keyId: K1.keyId, manifests: 1, newestUpload: expect.any(String) }],
    });
    const newest = v.doc.signatures.previousKeys[0].newestUpload!;
    // "signing began" counts signatures under any accepted key: K1's manifest, a day before K2's.
    expect(Date.parse(v.doc.signatures.signingBegan!)).toBeLessThanOrEqual(Date.parse(newest));
    expect(Math.abs(Date.parse(newest) - Date.parse(k1Uploaded))).toBeLessThan(60_000);
    expect(v.human).toContain(
      `manifest signatures (key id ${K2.keyId}; previous key ids ${K1.keyId}): 2 verified`,
    );
    const notes = v.human.split('\n').filter((l) => l.includes(`previous manifest key id ${K1.keyId}`));
    expect(notes).toEqual([
      `previous manifest key id ${K1.keyId}: still signs 1 manifest(s) in the bucket, newest uploaded ${newest}; keep it until the backups those list have expired`,
    ]);
    noKeys(v.human + JSON.stringify(v.doc));
  });

  it('--manifest-previous-key-file works like the environment variable (repeatable)', async () => {
    const f1 = path.join(tmp, 'k1.key');
    const f3 = path.join(tmp, 'k3.key');
    fs.writeFileSync(f1, K1_TEXT + '\n', { mode: 0o600 });
    fs.writeFileSync(f3, Buffer.alloc(32, 23).toString('base64'), { mode: 0o600 });
    const v = await verify(onlyK2, ['--manifest-previous-key-file', f1, '--manifest-previous-key-file', f3]);
    expect(v.code).toBe(0);
    expect(v.doc.signatures.previousKeyIds).toEqual([K1.keyId, K3.keyId]);
    expect(v.human).toContain(`previous manifest key id ${K3.keyId}: signs no manifest in the bucket`);
  });

  it('restore of a K1-signed backup: refused with K2 only, works with K2 + previous K1', async () => {
    const refusedTo = path.join(tmp, 'refused.json');
    const refused = await run(['restore', '--key', k1.key, '--to', refusedTo], onlyK2);
    expect(refused.code).toBe(3);
    expect(fs.existsSync(refusedTo)).toBe(false);
    const to = path.join(tmp, 'restored.json');
    const r = await run(['restore', '--key', k1.key, '--to', to], rotated);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`against ${k1.manifest}`);
    expect(r.stdout).toContain(`manifest signature verified, key id ${K1.keyId}`);
    expect(JSON.parse(fs.readFileSync(to, 'utf8'))).toEqual({ round: 1 });
    noKeys(r.stdout + r.stderr);
  });

  it('a manifest signed with a third key K3 stays untrusted with K2 + previous K1', async () => {
    const evil = Buffer.from(JSON.stringify({ evil: true }));
    const put = await sdkClient(estate).send(
      new PutObjectCommand({ Bucket: estate.bucket, Key: k1.key, Body: evil }),
    );
    const real = (await manifestOf(k2.manifest)) as unknown as Record<string, unknown>;
    delete real.signature;
    const started = new Date(clock.now());
    real.startedAt = started.toISOString();
    real.objects = [
      {
        key: k1.key,
        size: evil.length,
        sha256: createHash('sha256').update(evil).digest('hex'),
        versionId: put.VersionId,
        status: 'uploaded',
      },
    ];
    const mk = `manifests/snapshot-config/${started.toISOString().replace(/[:.]/g, '-')}.json`;
    const mput = await sdkClient(estate).send(
      new PutObjectCommand({ Bucket: estate.bucket, Key: mk, Body: JSON.stringify(signManifest(real, K3)) }),
    );
    try {
      const v = await verify(rotated);
      expect(v.code).toBe(3);
      const f = v.doc.findings.find((x) => x.problem === 'forged-manifest');
      expect(f?.key).toBe(mk);
      expect(f?.detail).toContain(
        `signed with key id ${K3.keyId}, not the configured key id ${K2.keyId} nor a previous key id (${K1.keyId})`,
      );
      const to = path.join(tmp, 'k3.json');
      const r = await run(['restore', '--key', k1.key, '--version-id', put.VersionId!, '--to', to], rotated);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`listed only in untrusted run manifest(s): ${mk}`);
      expect(fs.existsSync(to)).toBe(false);
    } finally {
      const c = sdkClient(estate);
      await c.send(new DeleteObjectCommand({ Bucket: estate.bucket, Key: k1.key, VersionId: put.VersionId }));
      await c.send(new DeleteObjectCommand({ Bucket: estate.bucket, Key: mk, VersionId: mput.VersionId }));
    }
    expect((await verify(rotated)).code).toBe(0);
  });

  it('--help: readers offer --manifest-previous-key-file, writers do not', async () => {
    for (const cmd of ['verify', 'restore', 'db-restore', 'drill']) {
      const h = await run([cmd, '--help'], {});
      expect(h.code).toBe(0);
      expect(h.stdout).toContain('--manifest-previous-key-file');
      expect(h.stdout).toContain('BACKUP_MANIFEST_PREVIOUS_KEYS');
    }
    const w = await run(['snapshot-config', '--help'], {});
    expect(w.code).toBe(0);
    expect(w.stdout).toContain('--manifest-key-file');
    expect(w.stdout).not.toContain('--manifest-previous-key-file');
  });

  it('a bad previous key is a usage error (exit 2) naming the variable or flag and the accepted forms, never echoing it', async () => {
    const bad = 'not-a-key-' + 'x'.repeat(20);
    const r = await run(['verify'], { ...onlyK2, BACKUP_MANIFEST_PREVIOUS_KEYS: `${K1_TEXT},${bad}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'environment variable BACKUP_MANIFEST_PREVIOUS_KEYS (item 2, comma-separated)',
    );
    expect(r.stderr).toContain('64 hex digits or base64');
    expect(r.stderr + r.stdout).not.toContain(bad);
    noKeys(r.stderr + r.stdout);
    const file = path.join(tmp, 'bad.key');
    fs.writeFileSync(file, 'abcd');
    const f = await run(
      ['restore', '--key', k1.key, '--to', path.join(tmp, 'x.json'), '--manifest-previous-key-file', file],
      onlyK2,
    );
    expect(f.code).toBe(2);
    expect(f.stderr).toContain(`--manifest-previous-key-file ${file}`);
    const none = await run(['verify'], { BACKUP_MANIFEST_PREVIOUS_KEYS: K1_TEXT });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('need the current key too');
  });
});
