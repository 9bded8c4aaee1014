/**
 * Backups written by the previous release still verify and restore (issue 11 "nothing healthy
 * turns red"): the CLI as of commit 40df4be (before the integrity work) is extracted from git and
 * runs snapshot-config, tf-state and audit-logs against the emulator; today's `verify` exits 0 and
 * today's `restore` restores each object, verified against the old run manifests. The tf-state
 * name change (README "Backup jobs") leaves the old objects listable and restorable.
 */
import { execFile, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { gunzipSync } from 'zlib';
import { cli, Estate, startEstate } from './fixture';

const OLD = '40df4be';
const repo = path.resolve(__dirname, '../../..');
const haveOld = spawnSync('git', ['-C', repo, 'cat-file', '-e', `${OLD}^{commit}`]).status === 0;
const describeOld = haveOld ? describe : describe.skip;
if (!haveOld)
  console.warn(`compat.test: commit ${OLD} not in this clone (shallow?): previous-release test skipped`);

const key = randomBytes(32).toString('base64');
let estate: Estate;
let tmp: string;
let oldCli: string;

async function old(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(
      process.execPath,
      ['-r', require.resolve('tsx/cjs'), oldCli, ...args],
      { env: { ...estate.env, BACKUP_ENCRYPTION_KEY: key, NODE_PATH: path.join(repo, 'node_modules') } },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describeOld(`backups written by the CLI as of ${OLD}`, () => {
  beforeAll(async () => {
    estate = await startEstate();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-compat-'));
    const src = path.join(tmp, 'old-cli');
    fs.mkdirSync(src);
    const archive = spawnSync(
      'git',
      ['-C', repo, 'archive', OLD, 'package.json', 'scripts/cli.ts', 'scripts/jobs', 'scripts/lib'],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(archive.status).toBe(0);
    expect(spawnSync('tar', ['-x', '-C', src], { input: archive.stdout }).status).toBe(0);
    oldCli = path.join(src, 'scripts', 'cli.ts');
  }, 60_000);

  afterAll(async () => {
    await estate?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('verify exits 0 and every object restores, verified against the old manifests', async () => {
    fs.writeFileSync(path.join(tmp, 'aws.json'), '{"old":true}\n');
    fs.mkdirSync(path.join(tmp, 'network'));
    fs.writeFileSync(
      path.join(tmp, 'network', 'terraform.tfstate'),
      JSON.stringify({ version: 4, terraform_version: '1.9.0', serial: 1, resources: [] }),
    );
    fs.mkdirSync(path.join(tmp, 'logs'));
    fs.writeFileSync(path.join(tmp, 'logs', 'a.log'), 'one\n');
    const runs = [
      ['snapshot-config', '--provider', 'aws', '--from', path.join(tmp, 'aws.json'), '--json'],
      ['tf-state', '--workspace', path.join(tmp, 'network'), '--json'],
      ['audit-logs', '--dir', path.join(tmp, 'logs'), '--json'],
    ];
    const keys: string[] = [];
    for (const args of runs) {
      const r = await old(args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
      const doc = JSON.parse(r.stdout) as { key?: string; objects?: { key: string }[] };
      if (doc.key) keys.push(doc.key);
      for (const o of doc.objects ?? []) keys.push(o.key);
    }
    fs.appendFileSync(path.join(tmp, 'logs', 'a.log'), 'two\n');
    expect((await old(['audit-logs', '--dir', path.join(tmp, 'logs')])).code).toBe(0);
    expect(keys).toContain('terraform-state/network/terraform.tfstate.enc'); // the old name

    const v = await cli(estate, ['verify', '--json']);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);

    for (const k of keys) {
      const r = await cli(
        estate,
        ['restore', '--key', k, '--to', '-', ...(k.endsWith('.enc') ? ['--decrypt'] : [])],
        {
          BACKUP_ENCRYPTION_KEY: key,
        },
      );
      expect({ k, code: r.code }).toEqual({ k, code: 0 });
      expect(r.stderr).toMatch(/verified sha256 [0-9a-f]{64} against manifests\//);
    }

    // Today's tf-state writes under the new, workspace-unique name; the old object stays.
    const now = await cli(estate, ['tf-state', '--workspace', path.join(tmp, 'network'), '--json'], {
      BACKUP_ENCRYPTION_KEY: key,
    });
    expect(now.code).toBe(0);
    expect(now.json<{ objects: { key: string }[] }>().objects[0].key).toMatch(
      /^terraform-state\/network-[0-9a-f]{8}\/terraform\.tfstate\.enc$/,
    );

    // Today's audit-logs continues the old state (which records no source) under the new key
    // layout audit-logs/<name>/…: old segments stay where they are, the new one starts where
    // they end, and old + new restore to the whole file.
    const oldListed = await cli(estate, ['list', '--json', '--prefix', 'audit-logs/']);
    const segments = oldListed.json<{ versions: { key: string }[] }>().versions.map((v) => v.key);
    expect(segments).toHaveLength(2);
    fs.appendFileSync(path.join(tmp, 'logs', 'a.log'), 'three\n');
    const logs = await cli(estate, ['audit-logs', '--dir', path.join(tmp, 'logs'), '--json']);
    expect(logs.code).toBe(0);
    expect(logs.json()).toMatchObject({ uploaded: 1 });
    expect(segments.every((k) => /^audit-logs\/\d{4}\/\d{2}\/\d{2}\/a\.log@/.test(k))).toBe(true);
    const listed = await cli(estate, ['list', '--json', '--prefix', 'audit-logs/logs/']);
    const fresh = listed.json<{ versions: { key: string }[] }>().versions.map((v) => v.key);
    expect(fresh).toEqual([
      expect.stringMatching(/^audit-logs\/logs\/\d{4}\/\d{2}\/\d{2}\/a\.log@8-14\.gz$/),
    ]);
    let whole = '';
    for (const k of [...segments, ...fresh].sort(
      (x, y) => Number(/@(\d+)-/.exec(x)![1]) - Number(/@(\d+)-/.exec(y)![1]),
    )) {
      const r = await cli(estate, ['restore', '--key', k, '--to', '-']);
      expect({ k, code: r.code }).toEqual({ k, code: 0 });
      whole += gunzipSync(r.stdoutBuffer).toString('utf8');
    }
    expect(whole).toBe('one\ntwo\nthree\n');
    // the old state recorded no source: adopted, and now bound to this host and directory
    const state = await cli(estate, ['restore', '--key', 'state/audit-logs/logs.json', '--to', '-']);
    expect(JSON.parse(state.stdout)).toMatchObject({
      source: { dir: path.join(tmp, 'logs'), name: 'logs' },
    });
    const again = await cli(estate, ['verify', '--json']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });
});
