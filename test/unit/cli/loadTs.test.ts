/**
 * bin/load-ts.js: the CLI's loader hands the CommonJS files of dependencies to Node's own loader
 * (start-up CPU) and must still load a dependency that is an ES module — by `"type": "module"` or
 * by import/export syntax alone — through tsx, and the repository's TypeScript as before.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const loader = path.resolve(__dirname, '../../../bin/load-ts.js');

describe('bin/load-ts.js', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-load-ts-'));
    const pkg = (name: string, json: object, code: string): void => {
      fs.mkdirSync(path.join(dir, 'node_modules', name), { recursive: true });
      fs.writeFileSync(path.join(dir, 'node_modules', name, 'package.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(dir, 'node_modules', name, 'index.js'), code);
    };
    pkg('typed-esm', { name: 'typed-esm', type: 'module', main: 'index.js' }, 'export const x = 40 + 2;\n');
    pkg('untyped-esm', { name: 'untyped-esm', main: 'index.js' }, 'export default 7;\n');
    pkg(
      'plain-cjs',
      { name: 'plain-cjs', main: 'index.js' },
      'exports.loads = (globalThis.__loads = (globalThis.__loads || 0) + 1);\n',
    );
    pkg('broken', { name: 'broken', main: 'index.js' }, 'module.exports = {;\n');
    fs.writeFileSync(path.join(dir, 'main.ts'), 'const n: number = 5;\nexport const typed = n;\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (code: string): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, ['-e', `require(${JSON.stringify(loader)})();\n${code}`], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: path.join(dir, 'node_modules') },
    });

  it('loads ES-module dependencies, CommonJS dependencies once, and TypeScript', () => {
    const r = run(
      `const esm = require('typed-esm'); const d = require('untyped-esm'); const c = require('plain-cjs');
       const ts = require(require('path').join(process.cwd(), 'main.ts'));
       console.log(JSON.stringify([esm.x, d.default ?? d, c.loads, ts.typed]));`,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(String(r.stdout))).toEqual([42, 7, 1, 5]);
  });

  it('still reports a real syntax error in a dependency', () => {
    const r = run(`require('broken');`);
    expect(r.status).not.toBe(0);
    expect(String(r.stderr)).toMatch(/SyntaxError|Unexpected|Transform failed/);
  });
});
