// @ts-check
'use strict';
/**
 * The pinned Pulumi CLI: find it, or build it from the Go module proxy, and the environment every
 * invocation runs with. Used by tools/ensure-pulumi.js, tools/pulumi.js and tools/setup.js;
 * tests and `npm start` should call `ensurePulumi()` + `pulumiEnv()` rather than guess paths.
 *
 * Recipe (see README "Pulumi CLI"):
 *  1. A `pulumi` on PATH at least PINNED_VERSION is used as is.
 *  2. Otherwise, with Go, a generated module in .cache/pulumi/<v>/src requires
 *     github.com/pulumi/pulumi/{pkg,sdk}/v3 at the pinned tag, repeats upstream pkg/go.mod's
 *     non-local `replace` lines (read from the module cache), and builds
 *     github.com/pulumi/pulumi/pkg/v3/cmd/pulumi into .cache/pulumi/<v>/bin.
 *  3. The Node.js language host module is built the same way when the proxy serves it (its tag, or
 *     the pseudo-version of the release commit); where it does not, the repository's own host
 *     (tools/lib/pulumi-language-nodejs.js) is installed as `pulumi-language-nodejs`.
 *  4. The dynamic-provider plugin script shipped in @pulumi/pulumi is linked into the bin dir.
 */
const fs = require('fs');
const path = require('path');
const { ROOT, CACHE_DIR, SetupError, log, which, run, probe, isExecutable } = require('./proc');
const { readStamp, writeStep } = require('./stamp');
const { withLock } = require('./lock');

/** Pinned CLI version. Must be >= the @pulumi/pulumi SDK in package-lock (checked below). */
const PINNED_VERSION = '3.274.1';
/** Bump when the build recipe changes so cached builds are redone. */
const RECIPE_REVISION = 1;
const STAMP_KEY = `${PINNED_VERSION}#${RECIPE_REVISION}`;

const PULUMI_CACHE = path.join(CACHE_DIR, 'pulumi');
const BIN_DIR = path.join(PULUMI_CACHE, PINNED_VERSION, 'bin');
const SRC_DIR = path.join(PULUMI_CACHE, PINNED_VERSION, 'src');
const PULUMI_HOME = path.join(PULUMI_CACHE, 'home');
const BUILD_LOG = path.join(PULUMI_CACHE, 'build.log');

const CLI_PKG = 'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi';
const PKG_MOD = 'github.com/pulumi/pulumi/pkg/v3';
const SDK_MOD = 'github.com/pulumi/pulumi/sdk/v3';
const HOST_MOD = 'github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3';
const VERSION_VAR = 'github.com/pulumi/pulumi/sdk/v3/go/common/version.Version';

const OFFICIAL_INSTALL_HINT =
  `install the official Pulumi CLI >= ${PINNED_VERSION} (https://www.pulumi.com/docs/install/, e.g. ` +
  `"curl -fsSL https://get.pulumi.com | sh -s -- --version ${PINNED_VERSION}") and put it on PATH, ` +
  'or install Go >= 1.26 (https://go.dev/dl/) so tools/ensure-pulumi.js can build it from the Go module proxy';

/**
 * `major.minor.patch` and the pre-release identifiers of a version string (a leading `v` and any
 * trailing text after the version, such as build metadata, are ignored), or null.
 * @param {string} v
 * @returns {{ core: number[], pre: string[] } | null}
 */
function parseSemver(v) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?/.exec(v.trim());
  if (!m) return null;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}

/**
 * Semver precedence of two pre-release identifier lists (both non-empty): numeric identifiers
 * compare numerically and sort before alphanumeric ones; a shorter list that is a prefix is lower.
 * @param {string[]} a @param {string[]} b @returns {number} <0, 0, >0
 */
function comparePre(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const an = /^\d+$/.test(a[i]);
    const bn = /^\d+$/.test(b[i]);
    if (an && bn && Number(a[i]) !== Number(b[i])) return Number(a[i]) - Number(b[i]);
    if (an !== bn) return an ? -1 : 1;
    if (!an && a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * a >= b in semver precedence. A pre-release is older than its release (3.274.1-alpha.1 <
 * 3.274.1), so a development build of the pinned version does not count as the pinned version.
 * Unparseable versions are never "at least" anything.
 * @param {string} a @param {string} b
 */
function versionAtLeast(a, b) {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return false;
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] > y.core[i];
  if (!x.pre.length || !y.pre.length) return !x.pre.length; // release >= anything with its core
  return comparePre(x.pre, y.pre) >= 0;
}

/** The installed @pulumi/pulumi SDK version (the CLI must not be older). */
function sdkVersion() {
  const file = require.resolve('@pulumi/pulumi/package.json', { paths: [ROOT] });
  return String(JSON.parse(fs.readFileSync(file, 'utf8')).version);
}

/**
 * The environment every pinned-CLI invocation uses: its own PULUMI_HOME inside the cache, no
 * update checks or plugin downloads (nothing but package registries is reachable), bin dir first
 * on PATH so the engine finds the language host and the dynamic-provider plugin.
 * @param {string} binDir
 * @param {NodeJS.ProcessEnv} [base]
 * @returns {NodeJS.ProcessEnv}
 */
function pulumiEnv(binDir = BIN_DIR, base = process.env) {
  const extra = binDir === BIN_DIR ? [BIN_DIR] : [BIN_DIR, binDir];
  return {
    ...base,
    PATH: [...extra, base.PATH ?? ''].join(path.delimiter),
    // Always ours: plugins, credentials and workspace settings stay inside the project cache.
    PULUMI_HOME,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_DISABLE_REGISTRY_RESOLVE: 'true',
    PULUMI_SUPPRESS_NEO_LINK: 'true',
    // Telemetry: the CLI only reports usage to the Pulumi Cloud backend, which is never used here.
  };
}

/**
 * Version printed by `<pulumi> version`, or null when it does not run.
 * @param {string} exe
 */
function cliVersion(exe) {
  const res = probe(exe, ['version'], { env: pulumiEnv(path.dirname(exe)), timeoutMs: 30_000 });
  if (res.status !== 0) return null;
  const v = res.stdout.trim().replace(/^v/, '');
  return parseSemver(v) ? v : null;
}

/** A `pulumi` on PATH (not our cache) that is new enough, or null. */
function pulumiOnPath() {
  const pathWithoutCache = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((d) => d && !path.resolve(d).startsWith(PULUMI_CACHE))
    .join(path.delimiter);
  const exe = which('pulumi', pathWithoutCache);
  if (!exe) return null;
  const version = cliVersion(exe);
  if (!version) {
    log('pulumi', `ignoring ${exe}: \`pulumi version\` failed`);
    return null;
  }
  if (!versionAtLeast(version, PINNED_VERSION)) {
    log('pulumi', `ignoring ${exe}: version ${version} is older than the pinned ${PINNED_VERSION}`);
    return null;
  }
  return { exe, version };
}

/**
 * Links the plugins the engine resolves from the bin dir: the dynamic-provider script from
 * @pulumi/pulumi, and (when the Go host was not built) our Node.js language host.
 * @param {boolean} needHost
 */
function installPlugins(needHost) {
  fs.mkdirSync(BIN_DIR, { recursive: true });
  const sdkRoot = path.dirname(require.resolve('@pulumi/pulumi/package.json', { paths: [ROOT] }));
  const dynamic = path.join(sdkRoot, 'pulumi-resource-pulumi-nodejs');
  if (!fs.existsSync(dynamic)) {
    throw new SetupError(
      `${dynamic} is missing, so dynamic providers cannot be loaded`,
      'reinstall dependencies (npm ci); @pulumi/pulumi ships this script',
    );
  }
  linkFile(dynamic, path.join(BIN_DIR, 'pulumi-resource-pulumi-nodejs'));
  const hostExe = path.join(BIN_DIR, 'pulumi-language-nodejs');
  if (needHost) {
    // A wrapper, not a symlink: the engine execs it directly and node must find our script. The
    // script is found relative to the wrapper (<root>/.cache/pulumi/<version>/bin), never by an
    // absolute path: a checkout whose .cache is shared (a symlink from a clone or worktree) would
    // otherwise point every user of the cache at whichever checkout installed it last, and at a
    // deleted one once that checkout is gone.
    const script = path.relative(BIN_DIR, path.join(ROOT, 'tools', 'lib', 'pulumi-language-nodejs.js'));
    const body = `#!/bin/sh\n# Installed by tools/ensure-pulumi.js: the repository's Node.js language host.\nexec node "$(dirname "$0")/${script}" "$@"\n`;
    if (!fs.existsSync(hostExe) || fs.readFileSync(hostExe, 'utf8') !== body) {
      fs.rmSync(hostExe, { force: true });
      fs.writeFileSync(hostExe, body, { mode: 0o755 });
    }
  }
}

/** @param {string} target @param {string} link */
function linkFile(target, link) {
  try {
    if (fs.readlinkSync(link) === target) return;
  } catch {
    // not a link yet
  }
  fs.rmSync(link, { force: true });
  fs.symlinkSync(target, link);
}

/**
 * `replace` lines of a module's go.mod that point at other modules (local `../x` paths are
 * dropped: in our generated module those modules come from the proxy at the pinned version).
 * @param {string} goModText
 * @returns {string[]}
 */
function nonLocalReplaces(goModText) {
  /** @type {string[]} */
  const out = [];
  const body = goModText.replace(/\r/g, '');
  const lines = [];
  for (const block of body.matchAll(/^replace\s*\(\n([\s\S]*?)\n\)/gm)) lines.push(...block[1].split('\n'));
  for (const single of body.matchAll(/^replace\s+([^(\n].*)$/gm)) lines.push(single[1]);
  for (const raw of lines) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const m = /^(\S+)(?:\s+(\S+))?\s+=>\s+(\S+)(?:\s+(\S+))?$/.exec(line);
    if (!m) continue;
    const target = m[3];
    if (target.startsWith('.') || target.startsWith('/')) continue;
    out.push(line);
  }
  return out;
}

/**
 * `go` runner for the build: default GOPATH/GOCACHE (so machines that keep them rebuild fast),
 * the proxy for modules, output appended to the build log.
 * @param {string[]} args @param {string} fix
 */
function go(args, fix) {
  return run('go', args, {
    cwd: SRC_DIR,
    logFile: BUILD_LOG,
    fix,
    env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' },
  });
}

/** @param {string[]} args */
function goCapture(args) {
  return probe('go', args, {
    cwd: SRC_DIR,
    env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' },
    timeoutMs: 300_000,
  });
}

/**
 * The language host module version to require: its own tag for the release if the proxy has one,
 * else the pseudo-version of the release commit (from the sdk tag's Origin), else null.
 */
function hostModuleVersion() {
  const tagged = goCapture(['list', '-m', '-json', `${HOST_MOD}@v${PINNED_VERSION}`]);
  if (tagged.status === 0) return `v${PINNED_VERSION}`;
  const sdk = goCapture(['list', '-m', '-json', `${SDK_MOD}@v${PINNED_VERSION}`]);
  if (sdk.status !== 0) return null;
  const info = JSON.parse(sdk.stdout);
  const hash = info.Origin && info.Origin.Hash;
  if (!hash || !info.Time) return null;
  const stamp = new Date(info.Time).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const pseudo = `v3.0.0-${stamp}-${String(hash).slice(0, 12)}`;
  return goCapture(['list', '-m', '-json', `${HOST_MOD}@${pseudo}`]).status === 0 ? pseudo : null;
}

/**
 * Builds the pinned CLI (and, where the proxy serves it, the Go language host) into BIN_DIR.
 * @returns {{ goHost: boolean, seconds: number }}
 */
function buildFromGoModules() {
  const started = Date.now();
  const goVersion = probe('go', ['env', 'GOVERSION']).stdout.trim();
  log(
    'pulumi',
    `building Pulumi CLI v${PINNED_VERSION} with ${goVersion} (log: ${path.relative(ROOT, BUILD_LOG)}; first build takes 10+ minutes on 2 cores)`,
  );
  fs.mkdirSync(SRC_DIR, { recursive: true });
  fs.mkdirSync(BIN_DIR, { recursive: true });
  fs.appendFileSync(
    BUILD_LOG,
    `\n=== ${new Date().toISOString()} build pulumi v${PINNED_VERSION} with ${goVersion}\n`,
  );
  const fix = `read ${path.relative(ROOT, BUILD_LOG)}; the Go module proxy must be reachable (GOPROXY); or ${OFFICIAL_INSTALL_HINT}`;

  // 1. Fetch the pinned modules and read upstream pkg/go.mod's replace lines from the module cache.
  fs.writeFileSync(path.join(SRC_DIR, 'go.mod'), 'module infrafabric.local/pulumi-cli-build\n\ngo 1.26\n');
  const listed = goCapture(['mod', 'download', '-json', `${PKG_MOD}@v${PINNED_VERSION}`]);
  if (listed.status !== 0) {
    throw new SetupError(
      `go mod download ${PKG_MOD}@v${PINNED_VERSION} failed: ${listed.stderr.trim() || listed.stdout.trim()}`,
      fix,
    );
  }
  const pkgGoMod = fs.readFileSync(JSON.parse(listed.stdout).GoMod, 'utf8');
  const goDirective = (/^go\s+(\S+)/m.exec(pkgGoMod) || [])[1] || '1.26';
  const replaces = nonLocalReplaces(pkgGoMod);

  // 2. The language host: Go module if the proxy serves a version for this release.
  const hostVersion = hostModuleVersion();
  if (hostVersion) {
    // Its go.mod requires placeholder pkg/sdk versions that only its own (local) replaces resolve.
    replaces.push(
      `${PKG_MOD} => ${PKG_MOD} v${PINNED_VERSION}`,
      `${SDK_MOD} => ${SDK_MOD} v${PINNED_VERSION}`,
    );
  } else {
    log(
      'pulumi',
      `the Go module proxy has no ${HOST_MOD} for v${PINNED_VERSION}: using the repository's Node.js language host`,
    );
  }

  // 3. Generated module: pinned requires + upstream replaces; `go get -tool` resolves the rest.
  const goMod = [
    'module infrafabric.local/pulumi-cli-build',
    '',
    `go ${goDirective}`,
    '',
    ...replaces.map((r) => `replace ${r}`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(SRC_DIR, 'go.mod'), goMod);
  fs.rmSync(path.join(SRC_DIR, 'go.sum'), { force: true });
  const tools = [`${CLI_PKG}@v${PINNED_VERSION}`];
  if (hostVersion) tools.push(`${HOST_MOD}@${hostVersion}`);
  go(['get', '-tool', ...tools], fix);
  go(['get', `${SDK_MOD}@v${PINNED_VERSION}`], fix); // pin the SDK explicitly, whatever the tools require

  // 4. Build. The version variable is what `pulumi version` prints (upstream sets it the same way).
  const ldflags = `-s -w -X ${VERSION_VAR}=v${PINNED_VERSION}`;
  go(['build', '-trimpath', '-ldflags', ldflags, '-o', path.join(BIN_DIR, 'pulumi'), CLI_PKG], fix);
  if (hostVersion) {
    go(
      [
        'build',
        '-trimpath',
        '-ldflags',
        ldflags,
        '-o',
        path.join(BIN_DIR, 'pulumi-language-nodejs'),
        HOST_MOD,
      ],
      fix,
    );
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  fs.appendFileSync(BUILD_LOG, `=== done in ${seconds}s\n`);
  return { goHost: !!hostVersion, seconds };
}

/** @typedef {{ exe: string, binDir: string, version: string, source: 'path' | 'cache' | 'built', goHost: boolean }} PulumiCli */

/**
 * Makes the pinned CLI available and returns where it is. Fast (a stat or two) when cached.
 * @param {{ force?: boolean, quiet?: boolean }} [opts] quiet: no line when the cache answers
 * @returns {PulumiCli}
 */
function ensurePulumi(opts = {}) {
  const sdk = sdkVersion();
  if (!versionAtLeast(PINNED_VERSION, sdk)) {
    throw new SetupError(
      `the pinned Pulumi CLI ${PINNED_VERSION} is older than the @pulumi/pulumi SDK ${sdk}`,
      `raise PINNED_VERSION in tools/lib/pulumi-cli.js to at least ${sdk}`,
    );
  }
  const cached = opts.force ? null : fromCache();
  if (cached) {
    if (!opts.quiet) log('pulumi', `pulumi v${PINNED_VERSION} cached in ${path.relative(ROOT, BIN_DIR)}`);
    return cached;
  }
  // One build at a time per checkout; a run that waited finds the other's result in the cache.
  return withLock(
    path.join(CACHE_DIR, 'setup.lock'),
    () => (!opts.force && fromCache()) || findOrBuild(!!opts.force),
    { what: 'the Pulumi CLI build' },
  );
}

/** The cached build, if the stamp matches and its files are in place. @returns {PulumiCli | null} */
function fromCache() {
  const exe = path.join(BIN_DIR, 'pulumi');
  const prev = readStamp().steps.pulumi;
  const ready =
    prev &&
    prev.key === STAMP_KEY &&
    isExecutable(exe) &&
    isExecutable(path.join(BIN_DIR, 'pulumi-language-nodejs'));
  if (!ready) return null;
  installPlugins(!prev.goHost);
  return { exe, binDir: BIN_DIR, version: PINNED_VERSION, source: 'cache', goHost: !!prev.goHost };
}

/**
 * A new-enough CLI on PATH, else a Go build. Called with the setup lock held.
 * @param {boolean} force
 * @returns {PulumiCli}
 */
function findOrBuild(force) {
  const key = STAMP_KEY;
  const exe = path.join(BIN_DIR, 'pulumi');
  const onPath = force ? null : pulumiOnPath();
  if (onPath) {
    // The official install ships its language hosts beside the CLI; we only add the dynamic provider.
    const hasHost = isExecutable(path.join(path.dirname(onPath.exe), 'pulumi-language-nodejs'));
    installPlugins(!hasHost);
    log('pulumi', `using ${onPath.exe} (v${onPath.version} >= pinned ${PINNED_VERSION})`);
    return {
      exe: onPath.exe,
      binDir: path.dirname(onPath.exe),
      version: onPath.version,
      source: 'path',
      goHost: hasHost,
    };
  }

  if (!which('go')) {
    throw new SetupError(
      `no pulumi >= ${PINNED_VERSION} on PATH and no Go toolchain to build one`,
      OFFICIAL_INSTALL_HINT,
    );
  }
  const built = buildFromGoModules();
  installPlugins(!built.goHost);
  const version = cliVersion(exe);
  if (version !== PINNED_VERSION) {
    throw new SetupError(
      `the built CLI reports version ${version ?? '(did not run)'}, expected ${PINNED_VERSION}`,
      `read ${path.relative(ROOT, BUILD_LOG)}; delete ${path.relative(ROOT, BIN_DIR)} and re-run node tools/ensure-pulumi.js`,
    );
  }
  writeStep('pulumi', {
    key,
    at: new Date().toISOString(),
    version: PINNED_VERSION,
    binDir: path.relative(ROOT, BIN_DIR),
    goHost: built.goHost,
    buildSeconds: built.seconds,
  });
  log('pulumi', `built pulumi v${PINNED_VERSION} in ${built.seconds}s into ${path.relative(ROOT, BIN_DIR)}`);
  return { exe, binDir: BIN_DIR, version: PINNED_VERSION, source: 'built', goHost: built.goHost };
}

module.exports = {
  PINNED_VERSION,
  BIN_DIR,
  PULUMI_HOME,
  BUILD_LOG,
  OFFICIAL_INSTALL_HINT,
  ensurePulumi,
  pulumiEnv,
  versionAtLeast,
  nonLocalReplaces,
};
