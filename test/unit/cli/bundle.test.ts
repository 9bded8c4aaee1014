/**
 * tools/lib/bundle.js: the CLI runs from a prebuilt bundle only while every input is unchanged; an edit
 * rebuilds it before it runs, a build that fails falls back to tsx (so an error is reported against
 * the source), concurrent starts on a stale bundle all run the current code, and the real CLI from
 * its bundle answers exactly like the CLI through tsx.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findRepoRoot } from '../../../scripts/lib/stackOutputs';

const REPO = path.resolve(__dirname, '../../..');

describe('tools/lib/bundle.js', () => {
  let dir: string;
  const bundleDir = (): string => path.join(dir, '.cache', 'bundles');

  /** A throwaway checkout: tools/lib/bundle.js, a two-file TypeScript program, the real node_modules. */
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-bundle-'));
    fs.mkdirSync(path.join(dir, 'tools', 'lib'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'src'));
    fs.copyFileSync(path.join(REPO, 'tools/lib/bundle.js'), path.join(dir, 'tools/lib/bundle.js'));
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), '{}\n');
    // Files written in the last moments before a build count as possibly changed (tools/lib/bundle.js):
    // age them, as a checkout's files are.
    const past = new Date(Date.now() - 7_200_000);
    for (const f of ['tools/lib/bundle.js', 'tsconfig.json']) fs.utimesSync(path.join(dir, f), past, past);
    writeSource('src/answer.ts', 'export const answer: number = 1;\n');
    writeSource(
      'src/entry.ts',
      "import { answer } from './answer';\nprocess.stdout.write(`answer=${answer}\\n`);\n",
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes a source file with a distinct, past mtime (edits within one second stay visible). */
  let tick = 0;
  function writeSource(rel: string, text: string): void {
    const file = path.join(dir, rel);
    fs.writeFileSync(file, text);
    const t = new Date(Date.now() - 3_600_000 + ++tick * 1000);
    fs.utimesSync(file, t, t);
  }

  const script = (): string =>
    `const how = require('./tools/lib/bundle')('prog', 'src/entry.ts', () => require('tsx/cjs'));\n` +
    `process.stderr.write('loaded-by=' + how + '\\n');`;

  function run(env: NodeJS.ProcessEnv = {}): { out: string; how: string; status: number | null } {
    const r = spawnSync(process.execPath, ['-e', script()], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    return { out: r.stdout, how: /loaded-by=(\w+)/.exec(r.stderr)?.[1] ?? r.stderr, status: r.status };
  }

  const bundleMtime = (): number => fs.statSync(path.join(bundleDir(), 'prog.cjs')).mtimeMs;

  it('builds once, then reuses the bundle while nothing changed', () => {
    expect(run()).toEqual({ out: 'answer=1\n', how: 'bundle', status: 0 });
    const built = bundleMtime();
    const inputs = JSON.parse(fs.readFileSync(path.join(bundleDir(), 'prog.inputs.json'), 'utf8')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(inputs.files)).toEqual(
      expect.arrayContaining(['src/entry.ts', 'src/answer.ts', 'tsconfig.json', 'tools/lib/bundle.js']),
    );
    expect(run()).toEqual({ out: 'answer=1\n', how: 'bundle', status: 0 });
    expect(bundleMtime()).toBe(built);
  });

  it('rebuilds before running when an imported file changed (same size, new mtime)', () => {
    run();
    writeSource('src/answer.ts', 'export const answer: number = 2;\n');
    expect(run()).toEqual({ out: 'answer=2\n', how: 'bundle', status: 0 });
  });

  it('rebuilds when an input disappears or the fingerprint file is damaged', () => {
    run();
    fs.writeFileSync(path.join(bundleDir(), 'prog.inputs.json'), '{"files": ');
    expect(run().how).toBe('bundle');
    writeSource('src/answer.ts', 'export const answer = 3;\n');
    writeSource('src/entry.ts', "process.stdout.write('no import\\n');\n");
    expect(run().out).toBe('no import\n');
    fs.rmSync(path.join(dir, 'src', 'answer.ts'));
    expect(run()).toEqual({ out: 'no import\n', how: 'bundle', status: 0 });
  });

  it('falls back to tsx when the bundle cannot be built, and never runs the stale bundle', () => {
    run();
    writeSource('src/answer.ts', 'export const answer: number = ;\n');
    const r = run();
    expect(r.status).not.toBe(0);
    expect(r.out).toBe('');
    expect(r.how).toMatch(/answer\.ts/);
  });

  it('IFB_NO_BUNDLE=1 takes the tsx path', () => {
    expect(run({ IFB_NO_BUNDLE: '1' })).toEqual({ out: 'answer=1\n', how: 'tsx', status: 0 });
    expect(fs.existsSync(bundleDir())).toBe(false);
  });

  it('concurrent starts on a stale bundle all run the current code', async () => {
    run();
    writeSource('src/answer.ts', 'export const answer: number = 4;\n');
    const outs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string>((resolve) => {
            const child = spawn(process.execPath, ['-e', script()], { cwd: dir });
            let out = '';
            child.stdout.on('data', (d: Buffer) => (out += d.toString()));
            child.once('close', () => resolve(out));
          }),
      ),
    );
    expect(outs).toEqual(Array(4).fill('answer=4\n'));
    expect(fs.readdirSync(bundleDir()).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});

describe('the CLI from its bundle', () => {
  const bin = path.join(REPO, 'bin', 'infrafabric-backup.js');

  it('prints the same help as through tsx', () => {
    const viaBundle = spawnSync(process.execPath, [bin, 'verify', '--help'], { encoding: 'utf8' });
    const viaTsx = spawnSync(process.execPath, [bin, 'verify', '--help'], {
      encoding: 'utf8',
      env: { ...process.env, IFB_NO_BUNDLE: '1' },
    });
    expect(viaBundle.status).toBe(0);
    expect(viaBundle.stdout).toBe(viaTsx.stdout);
    expect(viaBundle.stdout).toMatch(/--allow-unverified/);
  });

  it('finds the checkout root from the bundle directory (stack outputs run there)', () => {
    expect(findRepoRoot(path.join(REPO, '.cache', 'bundles'))).toBe(REPO);
    expect(findRepoRoot(path.join(REPO, 'scripts', 'lib'))).toBe(REPO);
  });
});
