/**
 * An honest manifest: every package the code imports is declared in package.json, and in the
 * right section — product and tooling code (what `npm ci --omit=dev` must be able to run) only
 * from `dependencies`; tests and benchmarks from either.
 */
import { builtinModules } from 'module';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const RUNTIME = ['infra', 'stacks', 'scripts', 'emulator', 'tools', 'bin', 'policy'];
const DEV = ['test', 'bench'];

function files(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !f.includes(`${path.sep}fixtures${path.sep}`) && !f.includes('node_modules'));
}

/** Package names imported by a file (import/export from, require(), import()), comments skipped. */
function importedPackages(file: string): string[] {
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    // Template literals are text, not this file's imports (e.g. code a test runs in a child
    // process against packages it creates in a temp dir).
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, '``');
  const out = new Set<string>();
  // `require(` not preceded by `.` (config.require('x') is not an import); `requireFromRoot(` is
  // the language host's resolver for packages.
  const re =
    /(?:\bfrom\s+|(?<![.\w$])require(?:FromRoot)?\(\s*|\bimport\(\s*|^\s*import\s+)['"]([^'"./$][^'"$]*)['"]/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[1]!;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
    if (name.startsWith('node:') || builtinModules.includes(name)) continue;
    out.add(name);
  }
  return [...out];
}

function imports(dirs: string[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const d of dirs)
    for (const f of files(d))
      for (const p of importedPackages(f)) by.set(p, [...(by.get(p) ?? []), path.relative(ROOT, f)]);
  return by;
}

test('product and tooling import only packages in dependencies', () => {
  const wrong = [...imports(RUNTIME)].filter(([p]) => !(p in pkg.dependencies));
  expect(wrong.map(([p, where]) => `${p} (${where.slice(0, 3).join(', ')})`)).toEqual([]);
});

test('tests and benchmarks import only declared packages', () => {
  const declared = { ...pkg.dependencies, ...pkg.devDependencies };
  const wrong = [...imports(DEV)].filter(([p]) => !(p in declared));
  expect(wrong.map(([p, where]) => `${p} (${where.slice(0, 3).join(', ')})`)).toEqual([]);
});

test('no runtime dependency is used only by tests or benchmarks', () => {
  const runtime = imports(RUNTIME);
  // tsx is the loader of bin/ and npm scripts (required as `tsx/cjs`), counted above.
  const testOnly = Object.keys(pkg.dependencies).filter((p) => !runtime.has(p));
  expect(testOnly).toEqual([]);
});
