/**
 * `verify` reconciles the bucket with the run manifests (issue 11 §2): nothing healthy turns red
 * (many runs of every file job, new tf-state versions, lifecycle expiry on the emulator clock),
 * and every kind of tampering — a deleted version, all versions deleted, a hidden segment, a
 * replacement with other valid bytes, an unlisted tf-state version, an unverifiable object — exits
 * 3 naming each object, however small the --sample; an empty scope no run manifest lists anything
 * in (a wiped bucket, a wrong bucket, a mistyped prefix) exits 3 too unless --allow-empty.
 */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  cli,
  EmulatorClock,
  emulatorClock,
  Estate,
  listVersionsJson,
  sdkClient,
  setLifecycleRules,
  startEstate,
} from './fixture';

const DAY = 86_400;
const KEY = Buffer.alloc(32, 7).toString('base64');
let estate: Estate;
let clock: EmulatorClock;
let tmp: string;

interface Finding {
  key: string;
  versionId?: string;
  problem: string;
}
interface VerifyDoc {
  ok: boolean;
  findings: Finding[];
  checked: number;
  verified: number;
  noChecksum: number;
  listedVersionsChecked: number;
  expiredByLifecycle: number;
}

const run = (args: string[]): ReturnType<typeof cli> =>
  cli(estate, args, { BACKUP_ENCRYPTION_KEY: KEY }, undefined, { clock });
const verify = async (...extra: string[]): Promise<{ code: number; doc: VerifyDoc; stderr: string }> => {
  const r = await run(['verify', '--json', ...extra]);
  return { code: r.code, doc: r.json<VerifyDoc>(), stderr: r.stderr };
};
async function advanceDays(days: number): Promise<void> {
  await estate.emu.admin('POST', '/__admin/clock', { advanceSeconds: days * DAY });
  await clock.sync();
}

function writeState(serial: number): void {
  fs.writeFileSync(
    path.join(tmp, 'tf', 'terraform.tfstate'),
    JSON.stringify({ version: 4, terraform_version: '1.9.0', serial, resources: [] }),
  );
}

async function runEveryJob(round: number): Promise<void> {
  fs.writeFileSync(path.join(tmp, 'aws.json'), JSON.stringify({ round }));
  expect(
    (await run(['snapshot-config', '--provider', 'aws', '--from', path.join(tmp, 'aws.json')])).code,
  ).toBe(0);
  writeState(round);
  expect((await run(['tf-state', '--workspace', path.join(tmp, 'tf')])).code).toBe(0);
  fs.appendFileSync(path.join(tmp, 'logs', 'audit.log'), `event ${round}\n`.repeat(50));
  fs.writeFileSync(path.join(tmp, 'logs', `day-${round}.log`), `day ${round}\n`);
  expect((await run(['audit-logs', '--dir', path.join(tmp, 'logs')])).code).toBe(0);
}

beforeAll(async () => {
  estate = await startEstate();
  clock = await emulatorClock(estate);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-verify-'));
  fs.mkdirSync(path.join(tmp, 'tf'));
  fs.mkdirSync(path.join(tmp, 'logs'));
  // The stack's retention shape (docs/architecture.md §1): superseded versions deleted after N days; audit-log
  // segments hidden after 7 days and deleted a day later.
  await setLifecycleRules(estate, [
    { fileNamePrefix: 'configs/', daysFromUploadingToHiding: null, daysFromHidingToDeleting: 30 },
    { fileNamePrefix: 'terraform-state/', daysFromUploadingToHiding: null, daysFromHidingToDeleting: 5 },
    { fileNamePrefix: 'audit-logs/', daysFromUploadingToHiding: 7, daysFromHidingToDeleting: 1 },
  ]);
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('nothing healthy turns red', () => {
  it('after many runs of every job, new tf-state versions and lifecycle expiry, verify exits 0', async () => {
    for (let round = 1; round <= 4; round++) {
      await runEveryJob(round);
      await advanceDays(1);
    }
    const fresh = await verify();
    expect(fresh.stderr).toBe('');
    expect(fresh.code).toBe(0);
    expect(fresh.doc.findings).toEqual([]);
    expect(fresh.doc.noChecksum).toBe(0);
    expect(fresh.doc.listedVersionsChecked).toBeGreaterThanOrEqual(12);
    // 40 days later the rules have hidden and deleted what they should: still green.
    await advanceDays(40);
    await estate.emu.admin('POST', '/__admin/lifecycle/run');
    await runEveryJob(5);
    const hiddenByRule = await verify(); // audit-log segments now hidden by the rule: accounted for
    expect(hiddenByRule.stderr).toBe('');
    expect(hiddenByRule.code).toBe(0);
    await advanceDays(2);
    await estate.emu.admin('POST', '/__admin/lifecycle/run'); // … and deleted a day after hiding
    const expired = await verify();
    expect(expired.stderr).toBe('');
    expect(expired.code).toBe(0);
    expect(expired.doc.expiredByLifecycle).toBeGreaterThan(5);
    // and the tf-state history (versioned by design) is all accounted for
    const tf = (await listVersionsJson(estate, 'terraform-state/')).filter((v) => !v.hideMarker);
    expect(tf.length).toBeGreaterThanOrEqual(1);
  });
});

describe('tampering exits 3 naming each object', () => {
  const s3 = (): ReturnType<typeof sdkClient> => sdkClient(estate);
  const problems = (d: VerifyDoc): string[] => d.findings.map((f) => `${f.problem} ${f.key}`).sort();

  it('a deleted version, a fully deleted name, a hidden segment, a replacement, an unlisted tf-state version', async () => {
    await runEveryJob(6);
    const versions = await listVersionsJson(estate);
    const current = (prefix: string): { key: string; versionId: string } =>
      versions.find((v) => v.key.startsWith(prefix) && v.latest && !v.hideMarker)!;

    // 1. delete the current version of today's config snapshot
    const cfg = current('configs/aws/');
    await s3().send(
      new DeleteObjectCommand({ Bucket: estate.bucket, Key: cfg.key, VersionId: cfg.versionId }),
    );
    // 2. hide the newest audit-log segment
    const seg = versions
      .filter((v) => v.key.startsWith('audit-logs/') && v.latest && !v.hideMarker)
      .sort((a, b) => b.lastModified.localeCompare(a.lastModified))[0];
    await s3().send(new DeleteObjectCommand({ Bucket: estate.bucket, Key: seg.key }));
    // 3. replace the Terraform state with other valid bytes (forged sha256 metadata)
    const tf = current('terraform-state/');
    const forged = Buffer.from('another valid-looking envelope');
    await s3().send(
      new PutObjectCommand({
        Bucket: estate.bucket,
        Key: tf.key,
        Body: forged,
        Metadata: { sha256: createHash('sha256').update(forged).digest('hex'), type: 'terraform-state' },
      }),
    );
    const r = await verify();
    expect(r.code).toBe(3);
    expect(problems(r.doc)).toEqual([`missing ${cfg.key}`, `hidden ${seg.key}`, `replaced ${tf.key}`].sort());
    expect(r.stderr).toMatch(/INTEGRITY FAILURE/);

    // --sample limits hashing only: existence is still checked for everything.
    const sampled = await verify('--sample', '1');
    expect(sampled.code).toBe(3);
    expect(sampled.doc.checked).toBe(1);
    expect(problems(sampled.doc)).toEqual(problems(r.doc));

    // A new tf-state run puts a listed version on top: the forged one stays as an unlisted version.
    writeState(99);
    expect((await run(['tf-state', '--workspace', path.join(tmp, 'tf')])).code).toBe(0);
    const after = await verify('--prefix', 'terraform-state/');
    expect(after.code).toBe(3);
    expect(after.doc.findings).toEqual([
      expect.objectContaining({ key: tf.key, problem: 'unlisted-version' }),
    ]);

    // 4. every version of a name deleted: each listed version is named
    const all = versions.filter((v) => v.key === cfg.key && !v.hideMarker && v.versionId !== cfg.versionId);
    for (const v of all)
      await s3().send(new DeleteObjectCommand({ Bucket: estate.bucket, Key: v.key, VersionId: v.versionId }));
    const gone = await verify('--prefix', cfg.key);
    expect(gone.code).toBe(3);
    expect(gone.doc.findings.every((f) => f.problem === 'missing' && f.key === cfg.key)).toBe(true);
  });

  it('an object with no checksum anywhere fails by default; --allow-unverified accepts it; --strict is the default', async () => {
    await s3().send(new PutObjectCommand({ Bucket: estate.bucket, Key: 'misc/readme.txt', Body: 'hi' }));
    const r = await verify('--prefix', 'misc/');
    expect(r.code).toBe(3);
    expect(r.doc.noChecksum).toBe(1);
    expect((await verify('--prefix', 'misc/', '--strict')).code).toBe(3);
    const allowed = await verify('--prefix', 'misc/', '--allow-unverified');
    expect(allowed.code).toBe(0);
  });

  it('--since limits which runs promise objects; older deletions are outside the window', async () => {
    await advanceDays(3);
    const recent = await verify('--prefix', 'configs/', '--since', '1d');
    expect(recent.doc.listedVersionsChecked).toBe(0);
    expect(recent.doc.findings.filter((f) => f.problem === 'missing')).toEqual([]);
  });

  it('nothing listed in scope is not healthy: an empty scope (wiped, wrong bucket, mistyped prefix) exits 3 unless --allow-empty', async () => {
    const typo = await verify('--prefix', 'db/postgress/');
    expect(typo.code).toBe(3);
    expect(problems(typo.doc)).toEqual(['nothing-listed db/postgress/']);
    expect(typo.stderr).toMatch(/nothing-listed/);
    const allowed = await verify('--prefix', 'db/postgress/', '--allow-empty');
    expect(allowed.code).toBe(0);
    expect(allowed.doc.findings).toEqual([]);
  });
});
