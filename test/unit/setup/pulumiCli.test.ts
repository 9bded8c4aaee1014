/**
 * tools/lib/pulumi-cli.js: version comparison, the "a pulumi on PATH is used only if it is at
 * least the pinned version" rule, the Go build recipe (driven by a fake `go`), the stamp that
 * makes later runs a stat, and the error when neither a CLI nor Go is available. Everything runs
 * in a sandbox copy of the scripts with a PATH holding only fakes.
 */
import fs from 'fs';
import path from 'path';
import { PINNED_VERSION, versionAtLeast } from '../../../tools/lib/pulumi-cli';
import { goCalls, installFakeGo, SDK_HASH } from './fakeGo';
import {
  callLines,
  ensurePulumiIn,
  fakePulumi,
  makeSandbox,
  readStamp,
  runNode,
  Sandbox,
  writeExecutable,
  writeStamp,
} from './sandbox';

const CLI_PKG = 'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi';
const PKG_MOD = 'github.com/pulumi/pulumi/pkg/v3';
const SDK_MOD = 'github.com/pulumi/pulumi/sdk/v3';
const HOST_MOD = 'github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3';
const CLIPBOARD =
  'github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e';
const UPSTREAM_PKG_GO_MOD = `module ${PKG_MOD}

go 1.26.6

replace ${SDK_MOD} => ../sdk

replace ${CLIPBOARD}

require (
\tgithub.com/pulumi/pulumi/sdk/v3 v3.${PINNED_VERSION.split('.')[1]}.0
)
`;

describe('versionAtLeast', () => {
  it.each([
    ['3.274.1', '3.274.1', true],
    ['v3.274.1', '3.274.1', true],
    ['3.274.2', '3.274.1', true],
    ['3.275.0', '3.274.1', true],
    ['4.0.0', '3.274.1', true],
    ['3.1000.0', '3.274.1', true], // numeric, not string, comparison
    ['3.274.0', '3.274.1', false],
    ['3.99.9', '3.274.1', false], // "3.99" > "3.274" as strings
    ['2.999.999', '3.274.1', false],
    ['3.274.1-alpha.1', '3.274.1', false], // a pre-release is older than its release
    ['3.274.2-alpha.1', '3.274.1', true],
    ['3.274.1', '3.274.1-alpha.1', true],
    ['3.274.1-alpha.10', '3.274.1-alpha.2', true],
    ['3.274.1-alpha.2', '3.274.1-alpha.10', false],
    ['3.274.1-beta', '3.274.1-alpha.5', true],
    ['3.274.1-alpha', '3.274.1-alpha.1', false],
    ['3.274.1+build.5', '3.274.1', true],
    ['not a version', '3.274.1', false],
    ['3.274', '3.274.1', false],
    ['3.274.1', 'garbage', false],
  ])('%s >= %s is %s', (a, b, want) => {
    expect(versionAtLeast(a, b)).toBe(want);
  });
});

describe('ensurePulumi', () => {
  let sb: Sandbox;
  let binDir: string;
  const env = () => ({ PATH: sb.bin });
  beforeEach(() => {
    sb = makeSandbox();
    binDir = path.join(sb.cache, 'pulumi', PINNED_VERSION, 'bin');
  });
  afterEach(() => sb.cleanup());

  describe('a pulumi on PATH', () => {
    it('is used when it reports exactly the pinned version; the plugins go into the bin dir', () => {
      const exe = fakePulumi(sb.bin, `v${PINNED_VERSION}`);
      const res = ensurePulumiIn(sb, env());
      expect(res).toMatchObject({
        ok: true,
        cli: { exe, binDir: sb.bin, version: PINNED_VERSION, source: 'path', goHost: false },
      });
      // No language host beside it: the repository's host is installed as a wrapper.
      const host = path.join(binDir, 'pulumi-language-nodejs');
      // Found relative to the wrapper, so a shared .cache serves every checkout that links it.
      expect(fs.readFileSync(host, 'utf8')).toContain(
        '"$(dirname "$0")/../../../../tools/lib/pulumi-language-nodejs.js"',
      );
      expect(path.resolve(binDir, '../../../../tools/lib/pulumi-language-nodejs.js')).toBe(
        path.join(sb.root, 'tools', 'lib', 'pulumi-language-nodejs.js'),
      );
      expect(fs.statSync(host).mode & 0o111).not.toBe(0);
      expect(fs.readlinkSync(path.join(binDir, 'pulumi-resource-pulumi-nodejs'))).toMatch(
        /node_modules\/@pulumi\/pulumi\/pulumi-resource-pulumi-nodejs$/,
      );
    });

    it('is used when newer; a language host shipped beside it is used instead of ours', () => {
      const exe = fakePulumi(sb.bin, 'v3.1000.0');
      writeExecutable(path.join(sb.bin, 'pulumi-language-nodejs'), '#!/bin/sh\nexit 0\n');
      const res = ensurePulumiIn(sb, env());
      expect(res).toMatchObject({
        ok: true,
        cli: { exe, version: '3.1000.0', source: 'path', goHost: true },
      });
      expect(fs.existsSync(path.join(binDir, 'pulumi-language-nodejs'))).toBe(false);
    });

    it.each(['v3.274.0', 'v3.99.9', `v${PINNED_VERSION}-alpha.1`])(
      'is ignored when it reports %s (older than pinned), and without Go that is an error',
      (version) => {
        fakePulumi(sb.bin, version);
        const res = ensurePulumiIn(sb, env());
        expect(res.stderr).toContain(
          `version ${version.slice(1)} is older than the pinned ${PINNED_VERSION}`,
        );
        expect(res).toMatchObject({ ok: false, name: 'SetupError' });
      },
    );

    it('is ignored when `pulumi version` fails', () => {
      writeExecutable(path.join(sb.bin, 'pulumi'), '#!/bin/sh\necho boom >&2\nexit 1\n');
      const res = ensurePulumiIn(sb, env());
      expect(res.stderr).toMatch(/ignoring .*pulumi: `pulumi version` failed/);
      expect(res.ok).toBe(false);
    });
  });

  describe('without a usable pulumi and without Go', () => {
    it('fails with the official install instructions', () => {
      const res = ensurePulumiIn(sb, env());
      if (res.ok) throw new Error('expected a SetupError');
      expect(res.name).toBe('SetupError');
      expect(res.message).toBe(`no pulumi >= ${PINNED_VERSION} on PATH and no Go toolchain to build one`);
      expect(res.fix).toContain(`get.pulumi.com | sh -s -- --version ${PINNED_VERSION}`);
      expect(res.fix).toContain('Go >= 1.26 (https://go.dev/dl/)');
    });

    it('tools/ensure-pulumi.js exits 1 and prints what failed and how to fix it', () => {
      const res = runNode(
        [path.join(sb.root, 'tools', 'ensure-pulumi.js')],
        { ...env(), HOME: sb.root },
        sb.root,
      );
      expect(res.status).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toContain(
        `ensure-pulumi: FAILED: no pulumi >= ${PINNED_VERSION} on PATH and no Go toolchain`,
      );
      expect(res.stderr).toContain('ensure-pulumi: how to fix: install the official Pulumi CLI');
    });
  });

  describe('built with Go (fake go)', () => {
    let goState: string;
    beforeEach(() => {
      goState = path.join(sb.root, 'go-state');
    });
    const argsOf = (prefix: string[]) =>
      goCalls(goState)
        .map((c) => c.args)
        .filter((a) => prefix.every((p, i) => a[i] === p));

    it('repeats upstream non-local replaces, pins the tags, builds with the version ldflag and stamps it', () => {
      const goEnv = installFakeGo(sb.bin, goState, UPSTREAM_PKG_GO_MOD, 'refused');
      fakePulumi(sb.bin, 'v3.274.0'); // too old: must not stop the build
      const res = ensurePulumiIn(sb, { ...env(), ...goEnv });
      expect(res).toMatchObject({
        ok: true,
        cli: {
          exe: path.join(binDir, 'pulumi'),
          binDir,
          version: PINNED_VERSION,
          source: 'built',
          goHost: false,
        },
      });

      const srcDir = path.join(sb.cache, 'pulumi', PINNED_VERSION, 'src');
      const goMod = fs.readFileSync(path.join(srcDir, 'go.mod'), 'utf8');
      expect(goMod).toMatch(/^go 1\.26\.6$/m); // upstream's go directive
      expect(goMod.match(/^replace .*$/gm)).toEqual([`replace ${CLIPBOARD}`]); // ../sdk dropped
      // Every module command runs in the generated module (only `go env` may run elsewhere).
      expect(goCalls(goState).filter((c) => c.args[0] !== 'env' && c.cwd !== srcDir)).toEqual([]);

      expect(argsOf(['mod', 'download'])).toEqual([
        ['mod', 'download', '-json', `${PKG_MOD}@v${PINNED_VERSION}`],
      ]);
      expect(argsOf(['get'])).toEqual([
        ['get', '-tool', `${CLI_PKG}@v${PINNED_VERSION}`],
        ['get', `${SDK_MOD}@v${PINNED_VERSION}`],
      ]);
      // `go get` ran against the generated module (with the replace), not the bootstrap one.
      expect(goCalls(goState).find((c) => c.args[0] === 'get')?.goMod).toContain(`replace ${CLIPBOARD}`);
      expect(argsOf(['build'])).toEqual([
        [
          'build',
          '-trimpath',
          '-ldflags',
          `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PINNED_VERSION}`,
          '-o',
          path.join(binDir, 'pulumi'),
          CLI_PKG,
        ],
      ]);
      // The proxy refused the host module: our Node.js host is installed.
      expect(fs.readFileSync(path.join(binDir, 'pulumi-language-nodejs'), 'utf8')).toContain(
        'tools/lib/pulumi-language-nodejs.js',
      );
      expect(readStamp(sb).steps.pulumi).toMatchObject({ key: `${PINNED_VERSION}#1`, goHost: false });
      expect(fs.readFileSync(path.join(sb.cache, 'pulumi', 'build.log'), 'utf8')).toContain(
        `build pulumi v${PINNED_VERSION} with go1.26.0`,
      );
    });

    it('a current stamp makes the next run a cache hit: no go, no pulumi on PATH consulted', () => {
      const goEnv = installFakeGo(sb.bin, goState, UPSTREAM_PKG_GO_MOD, 'refused');
      expect(ensurePulumiIn(sb, { ...env(), ...goEnv })).toMatchObject({
        ok: true,
        cli: { source: 'built' },
      });
      const builtCalls = goCalls(goState).length;

      const pulumiLog = path.join(sb.root, 'pulumi-calls.log');
      fakePulumi(sb.bin, 'v3.1000.0', pulumiLog);
      expect(ensurePulumiIn(sb, { ...env(), ...goEnv })).toMatchObject({
        ok: true,
        cli: { exe: path.join(binDir, 'pulumi'), source: 'cache', goHost: false },
      });
      expect(goCalls(goState)).toHaveLength(builtCalls);
      expect(callLines(pulumiLog)).toEqual([]);
    });

    it('rebuilds when the stamp was written for another version/recipe, when a file is gone, and with force', () => {
      const goEnv = installFakeGo(sb.bin, goState, UPSTREAM_PKG_GO_MOD, 'refused');
      const builds = () => argsOf(['build']).length;
      ensurePulumiIn(sb, { ...env(), ...goEnv });
      expect(builds()).toBe(1);

      const stamp = readStamp(sb);
      stamp.steps.pulumi.key = '3.274.0#1';
      writeStamp(sb, stamp);
      expect(ensurePulumiIn(sb, { ...env(), ...goEnv })).toMatchObject({
        ok: true,
        cli: { source: 'built' },
      });
      expect(builds()).toBe(2);
      expect(readStamp(sb).steps.pulumi.key).toBe(`${PINNED_VERSION}#1`);

      fs.rmSync(path.join(binDir, 'pulumi-language-nodejs'));
      expect(ensurePulumiIn(sb, { ...env(), ...goEnv })).toMatchObject({
        ok: true,
        cli: { source: 'built' },
      });
      expect(builds()).toBe(3);

      expect(ensurePulumiIn(sb, { ...env(), ...goEnv }, { force: true })).toMatchObject({
        ok: true,
        cli: { source: 'built' },
      });
      expect(builds()).toBe(4);
      expect(ensurePulumiIn(sb, { ...env(), ...goEnv })).toMatchObject({
        ok: true,
        cli: { source: 'cache' },
      });
      expect(builds()).toBe(4);
    });

    it('builds the Go language host at the release pseudo-version when the proxy serves only that', () => {
      const goEnv = installFakeGo(sb.bin, goState, UPSTREAM_PKG_GO_MOD, 'pseudo');
      const res = ensurePulumiIn(sb, { ...env(), ...goEnv });
      expect(res).toMatchObject({ ok: true, cli: { source: 'built', goHost: true } });
      // SDK_TIME 2026-11-20T10:11:12Z and the first 12 hex digits of the commit.
      const pseudo = `v3.0.0-20261120101112-${SDK_HASH.slice(0, 12)}`;
      expect(argsOf(['list']).map((a) => a[a.length - 1])).toEqual([
        `${HOST_MOD}@v${PINNED_VERSION}`,
        `${SDK_MOD}@v${PINNED_VERSION}`,
        `${HOST_MOD}@${pseudo}`,
      ]);
      expect(argsOf(['get', '-tool'])).toEqual([
        ['get', '-tool', `${CLI_PKG}@v${PINNED_VERSION}`, `${HOST_MOD}@${pseudo}`],
      ]);
      const goMod = fs.readFileSync(path.join(sb.cache, 'pulumi', PINNED_VERSION, 'src', 'go.mod'), 'utf8');
      expect(goMod.match(/^replace .*$/gm)).toEqual([
        `replace ${CLIPBOARD}`,
        `replace ${PKG_MOD} => ${PKG_MOD} v${PINNED_VERSION}`,
        `replace ${SDK_MOD} => ${SDK_MOD} v${PINNED_VERSION}`,
      ]);
      expect(argsOf(['build']).map((a) => a.slice(-2))).toEqual([
        [path.join(binDir, 'pulumi'), CLI_PKG],
        [path.join(binDir, 'pulumi-language-nodejs'), HOST_MOD],
      ]);
      // The built host is kept (not replaced by our wrapper), and the stamp remembers it.
      expect(fs.readFileSync(path.join(binDir, 'pulumi-language-nodejs'), 'utf8')).not.toContain('tools/lib');
      expect(readStamp(sb).steps.pulumi).toMatchObject({ goHost: true });
      expect(ensurePulumiIn(sb, { ...env(), ...goEnv })).toMatchObject({
        ok: true,
        cli: { source: 'cache', goHost: true },
      });
    });

    it('uses the host module tag when the proxy has one', () => {
      const goEnv = installFakeGo(sb.bin, goState, UPSTREAM_PKG_GO_MOD, 'tag');
      expect(ensurePulumiIn(sb, { ...env(), ...goEnv })).toMatchObject({ ok: true, cli: { goHost: true } });
      expect(argsOf(['get', '-tool'])).toEqual([
        ['get', '-tool', `${CLI_PKG}@v${PINNED_VERSION}`, `${HOST_MOD}@v${PINNED_VERSION}`],
      ]);
      expect(argsOf(['list'])).toHaveLength(1);
    });

    it('refuses a build that reports another version, and does not stamp it', () => {
      const goEnv = installFakeGo(sb.bin, goState, UPSTREAM_PKG_GO_MOD, 'refused');
      const res = ensurePulumiIn(sb, { ...env(), ...goEnv, FAKE_GO_BUILT_VERSION: 'v3.0.0' });
      expect(res).toMatchObject({
        ok: false,
        message: `the built CLI reports version 3.0.0, expected ${PINNED_VERSION}`,
      });
      expect(readStamp(sb).steps.pulumi).toBeUndefined();
    });
  });
});
