// @ts-check
// Runs a TypeScript entry point from a prebuilt single-file bundle when the bundle is current, so a
// CLI invocation does not pay for tsx and for resolving several hundred dependency files on every
// start (bench/README.md, "cli" 7th run: ~0.1–0.15 s CPU per invocation).
//
// The bundle lives in .cache/bundles/<name>.cjs (esbuild, CommonJS, dependencies included except
// native addons). Beside it, <name>.inputs.json records every repository file that went into it with
// its size and mtime, plus node_modules/.package-lock.json (changes on every npm install/ci), this
// file and esbuild's version. Start-up checks those (~60 stat calls, well under a millisecond):
// - all unchanged: the bundle is required;
// - anything changed or missing: the bundle is rebuilt (~0.3 s) and written atomically (temp file +
//   rename, so concurrent starts never read half a file), then required;
// - the build fails (a syntax error being edited, esbuild missing): the entry runs through tsx as
//   before, which reports the error against the TypeScript source.
// IFB_NO_BUNDLE=1 always takes the tsx path (debugging with source locations).
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, '.cache', 'bundles');
const LOCK = path.join('node_modules', '.package-lock.json');
/** Native addons and packages that must stay as files on disk. */
const EXTERNAL = ['better-sqlite3', '@node-rs/crc32'];

/**
 * @typedef {{ esbuild: string, files: Record<string, [number, number]> }} Inputs
 * files: repository-relative path → [size, mtimeMs].
 */

/** @param {string} rel @returns {[number, number] | undefined} */
function fingerprint(rel) {
  try {
    const st = fs.statSync(path.join(ROOT, rel));
    return [st.size, st.mtimeMs];
  } catch {
    return undefined;
  }
}

/** @param {string} inputsFile */
function current(inputsFile) {
  /** @type {Inputs} */
  let inputs;
  try {
    inputs = JSON.parse(fs.readFileSync(inputsFile, 'utf8'));
  } catch {
    return false;
  }
  for (const [rel, want] of Object.entries(inputs.files)) {
    const got = fingerprint(rel);
    if (!got || got[0] !== want[0] || got[1] !== want[1]) return false;
  }
  return true;
}

/**
 * Builds the bundle of `entry` (repository-relative) into `out`; returns false when it cannot.
 * @param {string} entry @param {string} out @param {string} inputsFile
 */
function build(entry, out, inputsFile) {
  /** @type {typeof import('esbuild')} */
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    return false;
  }
  const tmp = `${out}.${process.pid}.tmp`;
  const started = Date.now();
  try {
    fs.mkdirSync(DIR, { recursive: true });
    const result = esbuild.buildSync({
      absWorkingDir: ROOT,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile: tmp,
      external: EXTERNAL,
      metafile: true,
      sourcemap: 'linked',
      logLevel: 'silent',
    });
    /** @type {Inputs} */
    const inputs = { esbuild: esbuild.version, files: {} };
    const rels = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
    for (const rel of [...rels, 'tsconfig.json', LOCK, path.relative(ROOT, __filename)]) {
      const fp = fingerprint(rel);
      // A file edited while esbuild ran may not be what it read: record it as changed.
      if (fp) inputs.files[rel] = fp[1] >= started - 100 ? [-1, -1] : fp;
    }
    // The map is referenced by the bundle's basename: move it first, then the bundle, then the
    // fingerprint (a reader that sees the new fingerprint sees the new bundle).
    fs.renameSync(`${tmp}.map`, `${out}.map`);
    fs.renameSync(tmp, out);
    const tmpInputs = `${inputsFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmpInputs, JSON.stringify(inputs));
    fs.renameSync(tmpInputs, inputsFile);
    return true;
  } catch {
    for (const f of [tmp, `${tmp}.map`]) fs.rmSync(f, { force: true });
    return false;
  }
}

/**
 * Requires the bundle of `entry` (e.g. 'scripts/cli.ts') under `name`, building it when stale;
 * falls back to tsx when it cannot be built. Returns how the entry was loaded.
 * @param {string} name @param {string} entry @param {() => void} registerTs
 * @returns {'bundle' | 'tsx'}
 */
function runBundled(name, entry, registerTs) {
  const out = ensureBundle(name, entry);
  if (out) {
    require(out);
    return 'bundle';
  }
  registerTs();
  require(path.join(ROOT, entry));
  return 'tsx';
}

/**
 * The path of a current bundle of `entry`, built if stale; undefined when it cannot be built.
 * @param {string} name @param {string} entry @returns {string | undefined}
 */
function ensureBundle(name, entry) {
  if (process.env.IFB_NO_BUNDLE) return undefined;
  const out = path.join(DIR, `${name}.cjs`);
  const inputsFile = path.join(DIR, `${name}.inputs.json`);
  return current(inputsFile) || build(entry, out, inputsFile) ? out : undefined;
}

module.exports = runBundled;
module.exports.ensureBundle = ensureBundle;
