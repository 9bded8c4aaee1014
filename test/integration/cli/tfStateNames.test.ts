/**
 * tf-state names identify the workspace (issue 11 §7): two workspaces with one directory name never
 * share an object, the default name is the same in every clone of the repository, a second
 * workspace given the same --name is refused, and a new encryption key is refused unless
 * --rotate-key (older versions still restore with the old key).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { workspaceIdentity } from '../../../scripts/jobs/tfState';
import { cli, Estate, listVersionsJson, startEstate } from './fixture';

let estate: Estate;
let tmp: string;
const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');

function workspace(repo: string, rel: string, serial: number): string {
  const dir = path.join(tmp, repo, rel);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(tmp, repo, '.git'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'terraform.tfstate'),
    JSON.stringify({ version: 4, terraform_version: '1.9.0', serial, lineage: rel, resources: [] }),
  );
  return dir;
}

const tfState = (dir: string, key: string, ...extra: string[]): ReturnType<typeof cli> =>
  cli(estate, ['tf-state', '--workspace', dir, '--json', ...extra], { BACKUP_ENCRYPTION_KEY: key });

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-tfnames-'));
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('the default name is unique per workspace path and the same in another clone', () => {
  const a = workspaceIdentity(workspace('repo', 'envs/prod/network', 1));
  const b = workspaceIdentity(workspace('repo', 'envs/staging/network', 1));
  const clone = workspaceIdentity(workspace('clone-elsewhere', 'envs/prod/network', 1));
  expect(a.defaultName).toMatch(/^network-[0-9a-f]{8}$/);
  expect(b.defaultName).toMatch(/^network-[0-9a-f]{8}$/);
  expect(a.defaultName).not.toBe(b.defaultName);
  expect(clone).toEqual(a);
  expect(a.relative).toBe('envs/prod/network');
});

it('two workspaces named network write two objects, each restoring its own state', async () => {
  const prod = workspace('repo', 'envs/prod/network', 1);
  const staging = workspace('repo', 'envs/staging/network', 1);
  const p = await tfState(prod, keyA);
  const s = await tfState(staging, keyA);
  expect([p.code, s.code]).toEqual([0, 0]);
  const pk = p.json<{ objects: { key: string }[] }>().objects[0].key;
  const sk = s.json<{ objects: { key: string }[] }>().objects[0].key;
  expect(pk).not.toBe(sk);
  for (const [key, rel] of [
    [pk, 'envs/prod/network'],
    [sk, 'envs/staging/network'],
  ]) {
    const out = path.join(tmp, `${rel.replace(/\//g, '_')}.tfstate`);
    const r = await cli(estate, ['restore', '--key', key, '--to', out, '--decrypt'], {
      BACKUP_ENCRYPTION_KEY: keyA,
    });
    expect(r.code).toBe(0);
    expect((JSON.parse(fs.readFileSync(out, 'utf8')) as { lineage: string }).lineage).toBe(rel);
  }
});

it('a second workspace given the same --name is refused (exit 2) and the object is untouched', async () => {
  const one = workspace('repo', 'team-a/dns', 1);
  const two = workspace('repo', 'team-b/dns', 1);
  expect((await tfState(one, keyA, '--name', 'dns')).code).toBe(0);
  const before = await listVersionsJson(estate, 'terraform-state/dns/');
  const r = await tfState(two, keyA, '--name', 'dns');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/was written from another workspace .* choose another --name/);
  expect(await listVersionsJson(estate, 'terraform-state/dns/')).toEqual(before);
});

it('a new encryption key is refused unless --rotate-key; the old version still restores with the old key', async () => {
  const dir = workspace('repo', 'rotating', 1);
  const first = await tfState(dir, keyA);
  expect(first.code).toBe(0);
  const { key: objectKey, versionId: oldVersion } = first.json<{
    objects: { key: string; versionId: string }[];
  }>().objects[0];
  workspace('repo', 'rotating', 2);
  const refused = await tfState(dir, keyB);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(
    /encryption key id \S+ differs from the previous version's \S+; .*--rotate-key/,
  );
  expect((await listVersionsJson(estate, objectKey)).length).toBe(1);
  const rotated = await tfState(dir, keyB, '--rotate-key');
  expect(rotated.code).toBe(0);
  expect((await listVersionsJson(estate, objectKey)).length).toBe(2);
  const out = path.join(tmp, 'old.tfstate');
  const old = await cli(
    estate,
    ['restore', '--key', objectKey, '--version-id', oldVersion, '--to', out, '--decrypt'],
    { BACKUP_ENCRYPTION_KEY: keyA },
  );
  expect(old.code).toBe(0);
  expect((JSON.parse(fs.readFileSync(out, 'utf8')) as { serial: number }).serial).toBe(1);
  // the next run with the new key is normal again
  workspace('repo', 'rotating', 3);
  expect((await tfState(dir, keyB)).code).toBe(0);
});
