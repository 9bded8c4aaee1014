/**
 * Nothing dangles: every repository path named by package.json (scripts, bins), bin/, deploy/,
 * the README and docs/, .ci/run and the pinned Pulumi CLI's bin dir exists; every section a code
 * comment cites in docs/ exists; the README's "What is where" table and the tree agree.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const TOP = [
  'bin',
  'tools',
  'scripts',
  'stacks',
  'infra',
  'emulator',
  'deploy',
  'bench',
  'test',
  'docs',
  'policy',
];

/** A path exists as given, or as a module (with .ts/.js or an index file). */
function resolves(rel: string): boolean {
  const abs = path.join(
    ROOT,
    rel.replace(/[/.,:;)]+$/, (m) => (m.startsWith('/') ? '' : '')),
  );
  const candidates = [abs, `${abs}.ts`, `${abs}.js`, path.join(abs, 'index.ts'), path.join(abs, 'index.js')];
  return candidates.some((c) => fs.existsSync(c));
}

/** Repository paths in free text: tokens starting with a top-level folder, no placeholders. */
function pathsIn(text: string): string[] {
  const out = new Set<string>();
  const re = new RegExp(`(?<![\\w./-])((?:${TOP.join('|')})/[A-Za-z0-9_./@-]*[A-Za-z0-9_@-])`, 'g');
  for (const m of text.matchAll(re)) {
    const p = m[1]!;
    const next = text.slice(m.index! + m[0].length, m.index! + m[0].length + 2);
    // Placeholders and patterns (`Pulumi.<env>.yaml`, `x@.{service,timer}`) are not paths.
    if (/[<>*{}]/.test(p) || /^\.?[<{*]/.test(next) || p.includes('..')) continue;
    out.add(p);
  }
  return [...out];
}

const missing = (paths: string[]): string[] => paths.filter((p) => !resolves(p));

test('package.json scripts and bins name existing files', () => {
  const pkg = JSON.parse(read('package.json')) as {
    bin: Record<string, string>;
    scripts: Record<string, string>;
  };
  expect(missing(Object.values(pkg.bin))).toEqual([]);
  const fromScripts = Object.values(pkg.scripts).flatMap(pathsIn);
  expect(fromScripts.length).toBeGreaterThan(3);
  expect(missing(fromScripts)).toEqual([]);
});

test('bin/ shims load existing sources', () => {
  const refs: string[] = [];
  for (const f of fs.readdirSync(path.join(ROOT, 'bin')).filter((x) => x.endsWith('.js'))) {
    for (const m of read(`bin/${f}`).matchAll(/require\('(\.\.?\/[^']+)'\)/g))
      refs.push(path.relative(ROOT, path.resolve(ROOT, 'bin', m[1]!)));
  }
  expect(refs.length).toBeGreaterThan(2);
  expect(missing(refs)).toEqual([]);
});

test('deploy/, .ci/run, the README and docs/ name existing paths', () => {
  const texts = ['.ci/run', 'README.md'];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else texts.push(rel);
    }
  };
  walk('deploy');
  walk('docs');
  const bad = texts.flatMap((t) => missing(pathsIn(read(t))).map((p) => `${t}: ${p}`));
  expect(bad).toEqual([]);
  // .ci/run is the README's test command on a clean clone.
  expect(read('.ci/run')).toMatch(/npm ci\s+npm test/);
});

test('relative Markdown links resolve (README, docs/, folder READMEs)', () => {
  const mds = [
    'README.md',
    ...TOP.flatMap((d) => {
      const out: string[] = [];
      const walk = (dir: string): void => {
        if (!fs.existsSync(path.join(ROOT, dir))) return;
        for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
          const rel = `${dir}/${e.name}`;
          if (e.isDirectory() && !['node_modules', 'fixtures', 'results'].includes(e.name)) walk(rel);
          else if (e.name.endsWith('.md')) out.push(rel);
        }
      };
      walk(d);
      return out;
    }),
  ];
  const bad: string[] = [];
  for (const md of mds) {
    for (const m of read(md).matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue; // http:, mailto:
      if (!fs.existsSync(path.resolve(ROOT, path.dirname(md), target))) bad.push(`${md}: ${target}`);
    }
  }
  expect(bad).toEqual([]);
});

test('every docs/ section a comment cites exists', () => {
  const heads = new Map<string, Set<string>>();
  for (const d of ['architecture', 'b2-api', 'conventions']) {
    heads.set(d, new Set([...read(`docs/${d}.md`).matchAll(/^#+ (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]!)));
  }
  const bad: string[] = [];
  const scan = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (!['node_modules', 'fixtures', 'results'].includes(e.name)) scan(rel);
      } else if (/\.(ts|js|md|py|yaml|yml)$/.test(e.name)) {
        const text = read(rel);
        for (const m of text.matchAll(
          /docs\/(architecture|b2-api|conventions)\.md((?:[ ,]+(?:and |or )?§[\d.]+(?:[–-][\d.]+)?)*)/g,
        ))
          for (const s of m[2]!.matchAll(/§([\d.]+)/g)) {
            const sec = s[1]!.replace(/\.$/, '');
            if (!heads.get(m[1]!)!.has(sec)) bad.push(`${rel}: docs/${m[1]}.md §${sec}`);
          }
        // No comment points outside the repository (the notes once lived in a shared folder).
        if (/\.\.\/shared\/|(?<![\w/.-])(design|style)\.md\b/.test(text))
          bad.push(`${rel}: cites a file outside docs/`);
      }
    }
  };
  for (const d of TOP.filter((x) => fs.existsSync(path.join(ROOT, x)))) scan(d);
  expect(bad).toEqual([]);
});

test("the README's layout table and the tree agree", () => {
  const readme = read('README.md');
  const section = readme.slice(
    readme.indexOf('## What is where'),
    readme.indexOf('\n## ', readme.indexOf('## What is where') + 5),
  );
  const rows = [...section.matchAll(/^\| (.+?) \|/gm)]
    .map((m) => m[1]!)
    .filter((c) => c !== 'path' && !/^-+$/.test(c));
  const named = rows.flatMap((c) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  // Every path in the table exists.
  expect(named.filter((p) => !/[<>*{}]/.test(p) && !fs.existsSync(path.join(ROOT, p)))).toEqual([]);
  // Every top-level source folder of the tree is in the table.
  const dirs = fs
    .readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .map((e) => e.name);
  const covered = (d: string): boolean =>
    named.some((p) => p === `${d}/` || p === d || p.startsWith(`${d}/`));
  expect(dirs.filter((d) => !covered(d))).toEqual([]);
});

test("the pinned Pulumi CLI's bin dir holds nothing dangling", () => {
  const { BIN_DIR } = require('../../../tools/lib/pulumi-cli') as { BIN_DIR: string };
  // npm test's pretest builds it; a bare `jest` run before setup has nothing to check.
  if (!fs.existsSync(BIN_DIR)) return;
  const bad: string[] = [];
  for (const name of fs.readdirSync(BIN_DIR)) {
    const p = path.join(BIN_DIR, name);
    if (!fs.existsSync(p)) bad.push(`${name}: dangling link to ${fs.readlinkSync(p)}`);
    else if (fs.statSync(p).size < 4096) {
      // Small wrappers: every absolute path they exec must exist.
      for (const m of fs.readFileSync(p, 'utf8').matchAll(/"(\/[^"$]+)"/g))
        if (!fs.existsSync(m[1]!)) bad.push(`${name}: runs missing ${m[1]}`);
    }
  }
  expect(bad).toEqual([]);
});

test('tools/README.md lists exactly the files in tools/', () => {
  const table = read('tools/README.md');
  const named = new Set(
    [...table.matchAll(/^\| (.+?) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!)),
  );
  const onDisk = ['', 'lib/'].flatMap((sub) =>
    fs
      .readdirSync(path.join(ROOT, 'tools', sub), { withFileTypes: true })
      .filter((e) => e.isFile() && e.name !== 'README.md')
      .map((e) => `${sub}${e.name}`),
  );
  expect([...named].filter((n) => !fs.existsSync(path.join(ROOT, 'tools', n)))).toEqual([]);
  expect(onDisk.filter((f) => !named.has(f))).toEqual([]);
});
