/**
 * Symlinks in snapshot-config directories and audit-log directories (issue 11 §11): followed —
 * to files and to directories — with a loop guard; broken links, loops and FIFOs are named in the
 * output and in --json, never dropped silently.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import { walkFiles } from '../../../scripts/lib/walk';
import { cli, Estate, getObjectBytes, startEstate } from './fixture';

let estate: Estate;
let tmp: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-links-'));
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** real.json, a link to it, a linked directory, a loop back to the root, a broken link, a FIFO. */
function tree(name: string): string {
  const root = path.join(tmp, name);
  const outside = path.join(tmp, `${name}-outside`);
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, 'real.json'), '{"a":1}\n');
  fs.writeFileSync(path.join(outside, 'shared.json'), '{"shared":true}\n');
  fs.symlinkSync(path.join(root, 'real.json'), path.join(root, 'link.json'));
  fs.symlinkSync(outside, path.join(root, 'linked-dir'));
  fs.symlinkSync('..', path.join(root, 'sub', 'loop'));
  fs.symlinkSync(path.join(tmp, 'nowhere.json'), path.join(root, 'broken.json'));
  execFileSync('mkfifo', [path.join(root, 'pipe')]);
  return root;
}

it('walkFiles follows links to files and directories and reports loops, broken links and FIFOs', () => {
  const w = walkFiles(tree('walk'));
  expect([...w.files].sort()).toEqual(['link.json', 'linked-dir/shared.json', 'real.json']);
  expect(w.followed.map((f) => f.path).sort()).toEqual(['link.json', 'linked-dir']);
  expect(w.skipped.map((s) => [s.path, s.reason.split(' (')[0]]).sort()).toEqual([
    ['broken.json', 'broken symlink'],
    ['pipe', 'not a regular file'],
    ['sub/loop', 'symlink loop'],
  ]);
});

it('snapshot-config tars the link targets and names what it skipped (human and --json)', async () => {
  const dir = tree('snap');
  const r = await cli(estate, ['snapshot-config', '--provider', 'gcp', '--from', dir, '--json']);
  expect(r.code).toBe(0);
  const doc = r.json<{ key: string; skippedEntries: { path: string }[]; symlinksFollowed: unknown[] }>();
  expect(doc.skippedEntries.map((s) => s.path).sort()).toEqual(['broken.json', 'pipe', 'sub/loop']);
  expect(doc.symlinksFollowed).toHaveLength(2);
  const archive = path.join(tmp, 'snap.tar.gz');
  fs.writeFileSync(archive, await getObjectBytes(estate, doc.key));
  const listed: string[] = [];
  await tar.t({ file: archive, onReadEntry: (e) => void listed.push(e.path) });
  expect(listed.sort()).toEqual(['link.json', 'linked-dir/shared.json', 'real.json']);
  const human = await cli(estate, ['snapshot-config', '--provider', 'gcp', '--from', dir, '--force']);
  expect(human.stdout).toMatch(/skipped broken\.json: broken symlink/);
  expect(human.stdout).toMatch(/skipped sub\/loop: symlink loop/);
  expect(human.stdout).toMatch(/followed 2 symlink\(s\)/);
});

it('audit-logs uploads linked log files and names what it skipped', async () => {
  const dir = tree('logs');
  const r = await cli(estate, ['audit-logs', '--dir', dir, '--json']);
  expect(r.code).toBe(0);
  const doc = r.json<{ uploaded: number; skippedEntries: { path: string }[] }>();
  expect(doc.uploaded).toBe(3); // real.json, link.json, linked-dir/shared.json
  expect(doc.skippedEntries.map((s) => s.path).sort()).toEqual(['broken.json', 'pipe', 'sub/loop']);
});
