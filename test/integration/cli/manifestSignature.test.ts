/**
 * Signed run manifests against the emulator (README "Backup jobs" → "Signed manifests"): with
 * BACKUP_MANIFEST_KEY, backups are written with signed manifests and verify as before, and old
 * unsigned manifests uploaded before signing began keep counting; a replacement listed by a forged
 * manifest — unsigned, signed with another key, or a signed manifest edited after signing — is
 * named (forged-manifest, and the object as replaced) with exit 3; without the key at read time
 * the result is unchanged and the output says signatures were not checked.
 */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseManifestKey, signManifest } from '../../../scripts/lib/manifestSignature';
import { cli, EmulatorClock, emulatorClock, Estate, getObjectBytes, sdkClient, startEstate } from './fixture';

const DAY = 86_400;
const SIGNING = Buffer.alloc(32, 11).toString('base64');
const OTHER = parseManifestKey(Buffer.alloc(32, 12).toString('base64'), 'test');
const withKey = { BACKUP_MANIFEST_KEY: SIGNING };
let estate: Estate;
let clock: EmulatorClock;
let tmp: string;

interface VerifyDoc {
  ok: boolean;
  findings: { key: string; versionId?: string; problem: string; detail: string }[];
  signatures: {
    keyId: string | null;
    verified: number;
    unsignedTrusted: number;
    notChecked: number;
    signingBegan: string | null;
  };
  manifests: number;
}

const run = (args: string[], env: NodeJS.ProcessEnv = withKey): ReturnType<typeof cli> =>
  cli(estate, args, env, undefined, { clock });
async function verify(
  env: NodeJS.ProcessEnv = withKey,
): Promise<{ code: number; doc: VerifyDoc; human: string }> {
  const r = await run(['verify', '--json'], env);
  const h = await run(['verify'], env);
  return { code: r.code, doc: r.json<VerifyDoc>(), human: h.stdout + h.stderr };
}
async function advanceDays(days: number): Promise<void> {
  await estate.emu.admin('POST', '/__admin/clock', { advanceSeconds: days * DAY });
  await clock.sync();
}
async function snapshot(round: number, env: NodeJS.ProcessEnv): Promise<{ key: string; manifest: string }> {
  fs.writeFileSync(path.join(tmp, 'aws.json'), JSON.stringify({ round }));
  const r = await run(
    ['snapshot-config', '--provider', 'aws', '--from', path.join(tmp, 'aws.json'), '--json'],
    env,
  );
  expect(r.code).toBe(0);
  const doc = r.json<{ manifest: { key: string }; uploaded?: unknown }>();
  const m = JSON.parse((await getObjectBytes(estate, doc.manifest.key)).toString('utf8')) as {
    objects: { key: string }[];
  };
  return { key: m.objects[0].key, manifest: doc.manifest.key };
}
const s3 = (): ReturnType<typeof sdkClient> => sdkClient(estate);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The writer-key attack: a new version of `key` and a manifest listing it with its hash. */
async function forge(
  key: string,
  template: string,
  sign?: (m: Record<string, unknown>) => Record<string, unknown>,
): Promise<{ versionId: string; manifest: string; cleanup: () => Promise<void> }> {
  const evil = Buffer.from(JSON.stringify({ evil: true }));
  const put = await s3().send(new PutObjectCommand({ Bucket: estate.bucket, Key: key, Body: evil }));
  const real = JSON.parse((await getObjectBytes(estate, template)).toString('utf8')) as Record<
    string,
    unknown
  >;
  delete real.signature;
  const started = new Date(clock.now());
  real.startedAt = started.toISOString();
  real.objects = [
    { key, size: evil.length, sha256: sha(evil), versionId: put.VersionId, status: 'uploaded' },
  ];
  const mk = `manifests/snapshot-config/${started.toISOString().replace(/[:.]/g, '-')}.json`;
  const body = JSON.stringify(sign ? sign(real) : real, null, 2);
  const mput = await s3().send(new PutObjectCommand({ Bucket: estate.bucket, Key: mk, Body: body }));
  return {
    versionId: put.VersionId!,
    manifest: mk,
    cleanup: async () => {
      await s3().send(new DeleteObjectCommand({ Bucket: estate.bucket, Key: key, VersionId: put.VersionId }));
      await s3().send(new DeleteObjectCommand({ Bucket: estate.bucket, Key: mk, VersionId: mput.VersionId }));
    },
  };
}

let oldUnsigned: { key: string; manifest: string };
let beforeSigning: { code: number; doc: VerifyDoc; human: string };
let signed: { key: string; manifest: string };

beforeAll(async () => {
  estate = await startEstate();
  clock = await emulatorClock(estate);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-sig-'));
  // Before signing was enabled: an unsigned manifest (e).
  oldUnsigned = await snapshot(1, {});
  beforeSigning = await verify();
  await advanceDays(1);
  signed = await snapshot(2, withKey);
  await advanceDays(1);
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('with a key, backups verify as before', () => {
  it('a key given to verify before any manifest is signed: unsigned manifests are trusted (signing not enabled yet)', () => {
    expect(beforeSigning.doc.findings).toEqual([]);
    expect(beforeSigning.code).toBe(0);
    expect(beforeSigning.doc.signatures).toMatchObject({
      verified: 0,
      unsignedTrusted: 1,
      signingBegan: null,
    });
    expect(beforeSigning.human).toContain('no signed manifest yet: signing not enabled');
  });

  it('(a, e) the job signs its manifest; verify exits 0; the unsigned manifest from before signing began still counts', async () => {
    const m = JSON.parse((await getObjectBytes(estate, signed.manifest)).toString('utf8')) as {
      signature?: { alg: string; keyId: string; value: string };
    };
    const keyId = parseManifestKey(SIGNING, 'test').keyId;
    expect(m.signature).toEqual({
      alg: 'HMAC-SHA256',
      keyId,
      value: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const old = JSON.parse((await getObjectBytes(estate, oldUnsigned.manifest)).toString('utf8')) as object;
    expect(old).not.toHaveProperty('signature');
    const v = await verify();
    expect(v.doc.findings).toEqual([]);
    expect(v.code).toBe(0);
    expect(v.doc.signatures).toMatchObject({ keyId, verified: 1, unsignedTrusted: 1 });
    expect(v.human).toContain(
      `manifest signatures (key id ${keyId}): 1 verified, 1 unsigned from before signing began`,
    );
    expect(v.human).not.toContain(SIGNING);
  });

  it('(f) without the key at read time: the same result, and the output says signatures were not checked', async () => {
    const v = await verify({});
    expect(v.code).toBe(0);
    expect(v.doc.findings).toEqual([]);
    expect(v.doc.signatures).toMatchObject({ keyId: null, notChecked: 1 });
    expect(v.human).toContain('signatures not checked: no --manifest-key-file / BACKUP_MANIFEST_KEY');
  });

  it('(a, f) restore verifies against the signed manifest; without the key it says the signature was not checked', async () => {
    const keyId = parseManifestKey(SIGNING, 'test').keyId;
    const r = await run(['restore', '--key', signed.key, '--to', path.join(tmp, 'a.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`against ${signed.manifest}`);
    expect(r.stdout).toContain(`manifest signature verified, key id ${keyId}`);
    const old = await run([
      'restore',
      '--key',
      oldUnsigned.key,
      '--to',
      path.join(tmp, 'old.json'),
      '--json',
    ]);
    expect(old.code).toBe(0);
    expect(old.json()).toMatchObject({ verifiedAgainst: oldUnsigned.manifest, manifestSignature: null });
    const nokey = await run(['restore', '--key', signed.key, '--to', path.join(tmp, 'f.json')], {});
    expect(nokey.code).toBe(0);
    expect(nokey.stdout).toContain('signatures not checked: no --manifest-key-file / BACKUP_MANIFEST_KEY');
  });

  it('--manifest-key-file works like the environment variable', async () => {
    const file = path.join(tmp, 'manifest.key');
    fs.writeFileSync(file, SIGNING + '\n', { mode: 0o600 });
    const r = await run(['verify', '--json', '--manifest-key-file', file], {});
    expect(r.code).toBe(0);
    expect(r.json<VerifyDoc>().signatures.verified).toBe(1);
  });
});

async function expectRestoreRefused(
  key: string,
  versionId: string | undefined,
  manifest: string,
): Promise<void> {
  const to = path.join(tmp, `refused-${Date.now()}.json`);
  const r = await run([
    'restore',
    '--key',
    key,
    ...(versionId ? ['--version-id', versionId] : []),
    '--to',
    to,
  ]);
  expect(r.code).toBe(3);
  expect(r.stderr).toContain(`listed only in untrusted run manifest(s): ${manifest}`);
  expect(fs.existsSync(to)).toBe(false);
}

describe('forged manifests are untrusted: verify exits 3 naming the manifest and the replaced object; restore refuses', () => {
  const expectForged = (
    v: { code: number; doc: VerifyDoc },
    manifest: string,
    key: string,
    why: RegExp,
  ): void => {
    expect(v.code).toBe(3);
    const f = v.doc.findings.find((x) => x.problem === 'forged-manifest');
    expect(f?.key).toBe(manifest);
    expect(f?.detail).toMatch(why);
    expect(v.doc.findings).toContainEqual(expect.objectContaining({ problem: 'replaced', key }));
  };

  it('(b) a replacement plus an UNSIGNED manifest listing it, uploaded after signing began', async () => {
    const f = await forge(signed.key, signed.manifest);
    try {
      const v = await verify();
      expectForged(v, f.manifest, signed.key, /unsigned, uploaded .* after signing began/);
      expect(v.human).toContain(f.manifest);
      await expectRestoreRefused(signed.key, f.versionId, f.manifest);
    } finally {
      await f.cleanup();
    }
    expect((await verify()).code).toBe(0);
  });

  it('(c) a replacement plus a manifest signed with ANOTHER key', async () => {
    const f = await forge(signed.key, signed.manifest, (m) => signManifest(m, OTHER));
    try {
      expectForged(await verify(), f.manifest, signed.key, new RegExp(`signed with key id ${OTHER.keyId}`));
      await expectRestoreRefused(signed.key, f.versionId, f.manifest);
    } finally {
      await f.cleanup();
    }
  });

  it('(d) a signed manifest edited after signing (sha256 changed), re-uploaded as a new version of its key', async () => {
    const body = JSON.parse((await getObjectBytes(estate, signed.manifest)).toString('utf8')) as {
      objects: { sha256: string }[];
    };
    body.objects[0].sha256 = '0'.repeat(64);
    const put = await s3().send(
      new PutObjectCommand({
        Bucket: estate.bucket,
        Key: signed.manifest,
        Body: JSON.stringify(body, null, 2),
      }),
    );
    try {
      const v = await verify();
      expect(v.code).toBe(3);
      expect(v.doc.findings).toContainEqual(
        expect.objectContaining({
          problem: 'forged-manifest',
          key: signed.manifest,
          detail: expect.stringMatching(/signature does not verify/),
        }),
      );
      // the real version, listed only by the now-untrusted manifest, is not restored "verified"
      await expectRestoreRefused(signed.key, undefined, signed.manifest);
    } finally {
      await s3().send(
        new DeleteObjectCommand({ Bucket: estate.bucket, Key: signed.manifest, VersionId: put.VersionId }),
      );
    }
    expect((await verify()).code).toBe(0);
  });
});

describe('db-dump manifests: drill and db-restore take the newest dump only from a trusted manifest', () => {
  const drill = (env: NodeJS.ProcessEnv = withKey): ReturnType<typeof cli> =>
    run(
      [
        'drill',
        '--engine',
        'postgres',
        '--scratch-url',
        'postgres://backup@127.0.0.1:1/postgres',
        '--dry-run',
        '--json',
      ],
      env,
    );
  const dumpManifest = (
    key: string,
    versionId: string | undefined,
    body: Buffer,
  ): Record<string, unknown> => ({
    job: 'db-dump',
    tool: 'infrafabric-backup',
    toolVersion: 'test',
    env: 'dev',
    bucket: estate.bucket,
    startedAt: new Date(clock.now()).toISOString(),
    status: 'ok',
    objects: [{ key, size: body.length, sha256: sha(body), versionId, status: 'uploaded' }],
    details: { database: { engine: 'postgres', name: 'orders', tables: [] } },
  });
  const putManifest = async (m: Record<string, unknown>): Promise<string> => {
    const mk = `manifests/db-dump/${String(m.startedAt).replace(/[:.]/g, '-')}.json`;
    await s3().send(
      new PutObjectCommand({ Bucket: estate.bucket, Key: mk, Body: JSON.stringify(m, null, 2) }),
    );
    return mk;
  };

  it('a signed dump manifest is used; a newer unsigned one listing a replacement is refused, naming it (exit 3)', async () => {
    const key = 'db/postgres/orders/2026-01-01.dump.gz';
    const real = Buffer.from('real dump');
    const put = await s3().send(new PutObjectCommand({ Bucket: estate.bucket, Key: key, Body: real }));
    const good = await putManifest(
      signManifest(dumpManifest(key, put.VersionId, real), parseManifestKey(SIGNING, 'x')),
    );
    const ok = await drill();
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({
      manifest: good,
      versionId: put.VersionId,
      manifestSignature: `manifest signature verified, key id ${parseManifestKey(SIGNING, 'x').keyId}`,
    });
    expect((await drill({})).json()).toMatchObject({
      manifest: good,
      manifestSignature: 'signatures not checked: no --manifest-key-file / BACKUP_MANIFEST_KEY',
    });
    await advanceDays(1);
    const evil = Buffer.from('evil dump');
    const eput = await s3().send(new PutObjectCommand({ Bucket: estate.bucket, Key: key, Body: evil }));
    const forged = await putManifest(dumpManifest(key, eput.VersionId, evil));
    const refused = await drill();
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`${forged}, is not trusted (unsigned, uploaded`);
    // without the key nothing is checked (as before), and nothing claims it was
    expect((await drill({})).json()).toMatchObject({ manifest: forged });
  });
});

describe('a validly signed manifest copied to another key', () => {
  it('is not trusted: an old run cannot be passed off as a newer one', async () => {
    const body = await getObjectBytes(estate, signed.manifest);
    const copy = `manifests/snapshot-config/${new Date(clock.now()).toISOString().replace(/[:.]/g, '-')}.json`;
    const put = await s3().send(new PutObjectCommand({ Bucket: estate.bucket, Key: copy, Body: body }));
    try {
      const v = await verify();
      expect(v.code).toBe(3);
      expect(v.doc.findings).toContainEqual(
        expect.objectContaining({
          problem: 'forged-manifest',
          key: copy,
          detail: expect.stringContaining(`signed as ${signed.manifest}, stored as ${copy}`),
        }),
      );
    } finally {
      await s3().send(
        new DeleteObjectCommand({ Bucket: estate.bucket, Key: copy, VersionId: put.VersionId }),
      );
    }
  });
});

describe('overwriting history does not switch signing off', () => {
  it('every signed manifest overwritten by an unsigned copy (one listing a replacement): still untrusted, named', async () => {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: estate.bucket, Prefix: 'manifests/' }));
    const evil = Buffer.from('{"evil":"again"}');
    const put = await s3().send(new PutObjectCommand({ Bucket: estate.bucket, Key: signed.key, Body: evil }));
    let overwritten = 0;
    for (const o of listed.Contents ?? []) {
      const m = JSON.parse((await getObjectBytes(estate, o.Key!)).toString('utf8')) as Record<
        string,
        unknown
      >;
      if (!m.signature) continue;
      delete m.signature;
      if (o.Key === signed.manifest)
        m.objects = [
          {
            key: signed.key,
            size: evil.length,
            sha256: sha(evil),
            versionId: put.VersionId,
            status: 'uploaded',
          },
        ];
      await s3().send(
        new PutObjectCommand({ Bucket: estate.bucket, Key: o.Key!, Body: JSON.stringify(m, null, 2) }),
      );
      overwritten += 1;
    }
    expect(overwritten).toBeGreaterThanOrEqual(2); // snapshot-config and db-dump
    const v = await verify();
    expect(v.code).toBe(3);
    expect(v.doc.findings).toContainEqual(
      expect.objectContaining({
        problem: 'forged-manifest',
        key: signed.manifest,
        detail: expect.stringMatching(/unsigned, uploaded .* after signing began/),
      }),
    );
    expect(v.doc.findings).toContainEqual(expect.objectContaining({ problem: 'replaced', key: signed.key }));
    await expectRestoreRefused(signed.key, put.VersionId, signed.manifest);
  });
});
