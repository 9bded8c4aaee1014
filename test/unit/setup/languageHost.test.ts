/**
 * tools/lib/pulumi-language-nodejs.js, the repository's Node.js language host, spoken to over
 * gRPC exactly as the engine does: it is started for real (prints its 127.0.0.1 port), and
 * GetPluginInfo / GetRequiredPlugins / Run are called with the protos shipped in @pulumi/pulumi.
 * The program directory holds a fake `@pulumi/pulumi/cmd/run` that records the argv, node options
 * and environment it was started with, so the RunRequest → runner contract is checked end to end
 * without an engine.
 */
import * as grpc from '@grpc/grpc-js';
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb';
import { AnalyzerClient } from '@pulumi/pulumi/proto/analyzer_grpc_pb';
import * as analyzerPb from '@pulumi/pulumi/proto/analyzer_pb';
import { LanguageRuntimeClient } from '@pulumi/pulumi/proto/language_grpc_pb';
import * as lang from '@pulumi/pulumi/proto/language_pb';
import { PluginInfo } from '@pulumi/pulumi/proto/plugin_pb';
import { REPO } from './sandbox';

const host = require('../../../tools/lib/pulumi-language-nodejs') as {
  splitArgs(s: string): string[];
  configJson(m: { entries(): Iterable<[string, string]> }): string;
  requiredPlugins(dir: string): { name: string; version: string; server: string }[];
};

const HOST_JS = path.join(REPO, 'tools', 'lib', 'pulumi-language-nodejs.js');
const ENGINE = '127.0.0.1:9';

/** The fake SDK runner: records what it was given into the file named by its second-last argument. */
const FAKE_RUNNER = `
const fs = require('fs');
const argv = process.argv.slice(2);
const out = argv[argv.length - 2];
const pick = (k) => process.env[k];
fs.writeFileSync(out, JSON.stringify({
  argv,
  execArgv: process.execArgv,
  env: {
    PULUMI_CONFIG: pick('PULUMI_CONFIG'),
    PULUMI_CONFIG_SECRET_KEYS: pick('PULUMI_CONFIG_SECRET_KEYS'),
    PULUMI_NODEJS_TYPESCRIPT: pick('PULUMI_NODEJS_TYPESCRIPT'),
    PULUMI_NODEJS_TSCONFIG_PATH: pick('PULUMI_NODEJS_TSCONFIG_PATH'),
    INHERITED: pick('LANGHOST_TEST_INHERITED'),
  },
}));
const code = argv[argv.length - 1];
if (code === 'SIGTERM') process.kill(process.pid, 'SIGTERM');
process.exit(Number(code));
`;

/**
 * A fake policy pack runner (`@pulumi/pulumi/cmd/run-policy-pack`): an Analyzer server that reports,
 * through GetAnalyzerInfo's description, the argv, directory and environment it was started with.
 */
const FAKE_POLICY_RUNNER = `
const req = (m) => require(require.resolve(m, { paths: [${JSON.stringify(REPO)}] }));
const grpc = req('@grpc/grpc-js');
const a = req('@pulumi/pulumi/proto/analyzer_pb');
const ag = req('@pulumi/pulumi/proto/analyzer_grpc_pb');
const pick = (k) => process.env[k];
const seen = {
  pid: process.pid,
  argv: process.argv.slice(2),
  cwd: process.cwd(),
  env: {
    PULUMI_CONFIG: pick('PULUMI_CONFIG'),
    PULUMI_CONFIG_SECRET_KEYS: pick('PULUMI_CONFIG_SECRET_KEYS'),
    PULUMI_NODEJS_STACK: pick('PULUMI_NODEJS_STACK'),
    PULUMI_NODEJS_PROJECT: pick('PULUMI_NODEJS_PROJECT'),
    PULUMI_NODEJS_DRY_RUN: pick('PULUMI_NODEJS_DRY_RUN'),
    PULUMI_NODEJS_TYPESCRIPT: pick('PULUMI_NODEJS_TYPESCRIPT'),
    FROM_ENGINE: pick('FROM_ENGINE'),
  },
  configuredStack: null,
};
const server = new grpc.Server();
server.addService(ag.AnalyzerService, {
  configureStack: (call, cb) => {
    seen.configuredStack = call.request.getStack();
    cb(null, new a.AnalyzerStackConfigureResponse());
  },
  getAnalyzerInfo: (call, cb) => {
    const info = new a.AnalyzerInfo();
    info.setName('fake-pack');
    info.setDescription(JSON.stringify(seen));
    cb(null, info);
  },
  analyze: (call, cb) => {
    if (call.request.getType() === 'boom') return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'boom from pack' });
    const d = new a.AnalyzeDiagnostic();
    d.setPolicyname('fake-policy');
    d.setMessage('saw ' + call.request.getUrn());
    const res = new a.AnalyzeResponse();
    res.setDiagnosticsList([d]);
    cb(null, res);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  console.log(String(port));
  console.log('pack says hello');
  console.error('pack started');
});
`;

/** A fake `@pulumi/pulumi/cmd/run-plugin`: prints its argv and cwd, exits with its last argument. */
const FAKE_PLUGIN_RUNNER = `
console.log(JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd() }));
console.error('plugin stderr');
process.exit(Number(process.argv[process.argv.length - 1]));
`;

function writeJson(file: string, value: unknown) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
}

let tmp: string;
let programDir: string;
let child: ChildProcess;
let client: LanguageRuntimeClient;
let hostStderr = '';

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'langhost-'));
  programDir = path.join(tmp, 'project', 'app');
  const nm = path.join(tmp, 'project', 'node_modules');
  // package.json one level above the program dir (a monorepo layout); deps resolve from there.
  writeJson(path.join(tmp, 'project', 'package.json'), {
    dependencies: {
      '@pulumi/random': '^4',
      '@acme/widgets': '^1',
      '@acme/unnamed': '^1',
      plain: '^1',
      'not-installed': '^1',
    },
    devDependencies: { 'exports-only': '^2', broken: '^1' },
  });
  writeJson(path.join(nm, '@pulumi', 'random', 'package.json'), {
    name: '@pulumi/random',
    version: '4.16.0',
    pulumi: { resource: true },
  });
  writeJson(path.join(nm, '@acme', 'widgets', 'package.json'), {
    name: '@acme/widgets',
    version: '1.2.3',
    pulumi: { resource: true, name: 'widgets', version: 'v1.2.0', server: 'https://plugins.example.invalid' },
  });
  writeJson(path.join(nm, 'plain', 'package.json'), { name: 'plain', version: '1.0.0' });
  // Third-party plugin without pulumi.name: upstream ignores it (its npm name is no plugin name).
  writeJson(path.join(nm, '@acme', 'unnamed', 'package.json'), {
    name: '@acme/unnamed',
    version: '1.0.0',
    pulumi: { resource: true },
  });
  // An exports map without ./package.json: require.resolve('exports-only/package.json') refuses it.
  writeJson(path.join(nm, 'exports-only', 'package.json'), {
    name: 'exports-only',
    version: '2.0.0',
    exports: { '.': './index.js' },
    pulumi: { resource: true, name: 'exportsonly' },
  });
  fs.mkdirSync(path.join(nm, 'broken'), { recursive: true });
  fs.writeFileSync(path.join(nm, 'broken', 'package.json'), '{ not json');
  // The program's own SDK runner is preferred over the repository's copy.
  fs.mkdirSync(path.join(nm, '@pulumi', 'pulumi', 'cmd', 'run'), { recursive: true });
  fs.writeFileSync(path.join(nm, '@pulumi', 'pulumi', 'cmd', 'run', 'index.js'), FAKE_RUNNER);
  writeJson(path.join(nm, '@pulumi', 'pulumi', 'package.json'), {
    name: '@pulumi/pulumi',
    version: '3.270.0',
  });
  fs.mkdirSync(programDir, { recursive: true });
  for (const [dir, text] of [
    ['run-policy-pack', FAKE_POLICY_RUNNER],
    ['run-plugin', FAKE_PLUGIN_RUNNER],
  ]) {
    fs.mkdirSync(path.join(nm, '@pulumi', 'pulumi', 'cmd', dir!), { recursive: true });
    fs.writeFileSync(path.join(nm, '@pulumi', 'pulumi', 'cmd', dir!, 'index.js'), text!);
  }
  fs.mkdirSync(path.join(tmp, 'project', 'policy'), { recursive: true });

  child = spawn(process.execPath, [HOST_JS, '-tracing', 'http://tracing.invalid', ENGINE], {
    env: { ...process.env, LANGHOST_TEST_INHERITED: 'yes' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d) => (hostStderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`host printed no port: ${hostStderr}`)), 10_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const line = /^(\d+)\n/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`host exited ${code}: ${hostStderr}`)));
  });
  client = new LanguageRuntimeClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function call<Req, Res>(
  method: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
) {
  return new Promise<Res>((resolve, reject) =>
    method.call(client, req, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

function programInfo(options: Record<string, unknown> = {}) {
  const info = new lang.ProgramInfo();
  info.setRootDirectory(path.join(tmp, 'project'));
  info.setProgramDirectory(programDir);
  info.setEntryPoint('.');
  info.setOptions(Struct.fromJavaScript(options as never));
  return info;
}

interface Recorded {
  argv: string[];
  execArgv: string[];
  env: Record<string, string | undefined>;
}

let runs = 0;
/** Sends a Run and returns the response plus what the fake runner recorded. */
async function run(
  configure: (req: lang.RunRequest) => void,
  exit: string | number = 0,
): Promise<{ res: lang.RunResponse; rec: Recorded | null }> {
  const out = path.join(tmp, `run-${++runs}.json`);
  const req = new lang.RunRequest();
  req.setInfo(programInfo());
  req.setArgsList([out, String(exit)]);
  configure(req);
  const res = await call<lang.RunRequest, lang.RunResponse>(client.run, req);
  return { res, rec: fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as Recorded) : null };
}

describe('Node.js language host over gRPC', () => {
  it('GetPluginInfo reports the pinned version', async () => {
    const info = await call<Empty, PluginInfo>(client.getPluginInfo, new Empty());
    expect(info.getVersion()).toBe('3.274.1');
  });

  it('GetRequiredPlugins lists the resource plugins of the program’s direct dependencies', async () => {
    const req = new lang.GetRequiredPluginsRequest();
    req.setInfo(programInfo());
    const res = await call<lang.GetRequiredPluginsRequest, lang.GetRequiredPluginsResponse>(
      client.getRequiredPlugins,
      req,
    );
    const plugins = res
      .getPluginsList()
      .map((p) => ({ name: p.getName(), kind: p.getKind(), version: p.getVersion(), server: p.getServer() }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(plugins).toEqual([
      { name: 'exportsonly', kind: 'resource', version: 'v2.0.0', server: '' },
      { name: 'random', kind: 'resource', version: 'v4.16.0', server: '' },
      { name: 'widgets', kind: 'resource', version: 'v1.2.0', server: 'https://plugins.example.invalid' },
    ]);
  });

  it('Run starts the program’s SDK runner with the upstream arguments, config and environment', async () => {
    const { res, rec } = await run((req) => {
      req.setProject('estate');
      req.setStack('dev');
      req.setOrganization('platform');
      req.setMonitorAddress('127.0.0.1:4242');
      req.setDryrun(true);
      req.setParallel(16);
      const config = req.getConfigMap();
      config.set('estate:retention', 'short');
      config.set('estate:config:legacy', 'old-form');
      config.set('b2:applicationKey', 'sekrit');
      req.setConfigsecretkeysList(['b2:applicationKey']);
    });
    expect(res.getError()).toBe('');
    expect(res.getBail()).toBe(false);
    expect(rec).not.toBeNull();
    const out = path.join(tmp, `run-${runs}.json`);
    expect(rec!.argv).toEqual([
      '--monitor',
      '127.0.0.1:4242',
      '--engine',
      ENGINE,
      '--organization',
      'platform',
      '--project',
      'estate',
      '--root-directory',
      path.join(tmp, 'project'),
      '--stack',
      'dev',
      '--pwd',
      programDir,
      '--dry-run',
      '--parallel',
      '16',
      '--tracing',
      'http://tracing.invalid',
      '.',
      out,
      '0',
    ]);
    expect(JSON.parse(rec!.env.PULUMI_CONFIG!)).toEqual({
      'estate:config:retention': 'short',
      'estate:config:legacy': 'old-form',
      'b2:config:applicationKey': 'sekrit',
    });
    expect(JSON.parse(rec!.env.PULUMI_CONFIG_SECRET_KEYS!)).toEqual(['b2:applicationKey']);
    expect(rec!.env.PULUMI_NODEJS_TYPESCRIPT).toBe('true'); // the upstream default
    expect(rec!.env.PULUMI_NODEJS_TSCONFIG_PATH).toBeUndefined();
    expect(rec!.env.INHERITED).toBe('yes'); // the host's own environment is passed on
    expect(rec!.execArgv).toEqual([]);
  });

  it('Run leaves out empty optional flags and --dry-run for an update', async () => {
    const { res, rec } = await run((req) => {
      req.setProject('estate');
      req.setStack('prod');
    });
    expect(res.getError()).toBe('');
    expect(rec!.argv).not.toContain('--dry-run');
    expect(rec!.argv).not.toContain('--monitor');
    expect(rec!.argv).not.toContain('--organization');
    expect(JSON.parse(rec!.env.PULUMI_CONFIG!)).toEqual({});
    expect(JSON.parse(rec!.env.PULUMI_CONFIG_SECRET_KEYS!)).toEqual([]);
  });

  it('Run applies the typescript/tsconfig/nodeargs runtime options', async () => {
    const { res, rec } = await run((req) =>
      req.setInfo(
        programInfo({
          typescript: false,
          tsconfig: 'tsconfig.deploy.json',
          nodeargs: '--max-old-space-size=256 --title="infra fabric"',
        }),
      ),
    );
    expect(res.getError()).toBe('');
    expect(rec!.env.PULUMI_NODEJS_TYPESCRIPT).toBeUndefined();
    expect(rec!.env.PULUMI_NODEJS_TSCONFIG_PATH).toBe('tsconfig.deploy.json');
    expect(rec!.execArgv).toEqual(['--max-old-space-size=256', '--title=infra fabric']);
  });

  it.each([
    [{ typescript: 'yes' }, 'runtime option "typescript" must be a boolean'],
    [{ nodeargs: 7 }, 'runtime option "nodeargs" must be a string'],
    [{ nodeargs: '--require "unterminated' }, 'runtime option "nodeargs" has an unterminated " quote'],
  ])(
    'Run reports bad runtime options %j in the response without starting the program',
    async (options, msg) => {
      const { res, rec } = await run((req) => req.setInfo(programInfo(options)));
      expect(res.getError()).toContain(msg);
      expect(rec).toBeNull();
    },
  );

  it('Run reports a config key without a namespace', async () => {
    const { res, rec } = await run((req) => req.getConfigMap().set('retention', 'short'));
    expect(res.getError()).toBe('invalid config key "retention": expected <namespace>:<name>');
    expect(rec).toBeNull();
  });

  it.each([
    [3, 'Program exited with non-zero exit code: 3', false],
    [32, '', true], // the SDK already showed an actionable message: bail quietly
    ['SIGTERM', 'Program was terminated by SIGTERM', false],
  ])('Run maps runner exit %s to error %j, bail %s', async (exit, error, bail) => {
    const { res, rec } = await run(() => undefined, exit);
    expect(rec).not.toBeNull();
    expect(res.getError()).toBe(error);
    expect(res.getBail()).toBe(bail);
  });

  it('RunPlugin (analyzer) proxies a policy pack: the stack config reaches it before it loads, without secrets', async () => {
    const packDir = path.join(tmp, 'project', 'policy');
    const req = new lang.RunPluginRequest();
    const info = programInfo();
    info.setProgramDirectory(packDir);
    info.setRootDirectory(packDir);
    req.setInfo(info);
    req.setKind('analyzer');
    req.setPwd(programDir);
    req.setArgsList([ENGINE]);
    req.setEnvList([`PATH=${process.env.PATH}`, 'FROM_ENGINE=a=b']);
    const stream = client.runPlugin(req);
    let stdout = '';
    let stderr = '';
    let exitcode: number | undefined;
    stream.on('data', (res: lang.RunPluginResponse) => {
      if (res.hasStdout()) stdout += Buffer.from(res.getStdout_asU8()).toString();
      if (res.hasStderr()) stderr += Buffer.from(res.getStderr_asU8()).toString();
      if (res.hasExitcode()) exitcode = res.getExitcode();
    });
    const streamErr = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    for (let i = 0; i < 100 && !/^\d+\n/.test(stdout); i++) await new Promise((r) => setTimeout(r, 50));
    const port = Number(/^(\d+)\n/.exec(stdout)![1]);
    const analyzer = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const unary = <Req, Res>(
      m: (r: Req, cb: (e: grpc.ServiceError | null, x: Res) => void) => unknown,
      r: Req,
    ) => new Promise<Res>((resolve, reject) => m.call(analyzer, r, (e, x) => (e ? reject(e) : resolve(x))));
    try {
      // The engine handshakes first; the proxy answers it itself.
      const hs = new analyzerPb.AnalyzerHandshakeRequest();
      hs.setEngineAddress(ENGINE);
      await unary(analyzer.handshake, hs);
      const cfg = new analyzerPb.AnalyzerStackConfigureRequest();
      cfg.setStack('prod');
      cfg.setProject('infrafabric-backup');
      cfg.setDryRun(true);
      cfg.getConfigMap().set('infrafabric-backup:env', 'prod');
      cfg.getConfigMap().set('infrafabric-backup:b2ApplicationKey', 'sekrit-master-key');
      cfg.setConfigSecretKeysList(['infrafabric-backup:b2ApplicationKey']);
      await unary(analyzer.configureStack, cfg);
      const infoRes = await unary<Empty, analyzerPb.AnalyzerInfo>(analyzer.getAnalyzerInfo, new Empty());
      expect(infoRes.getName()).toBe('fake-pack');
      const seen = JSON.parse(infoRes.getDescription()) as {
        pid: number;
        argv: string[];
        cwd: string;
        env: Record<string, string | undefined>;
        configuredStack: string;
      };
      // Upstream contract: engine args, then the pack directory; run in the pack directory.
      expect(seen.argv).toEqual([ENGINE, packDir]);
      expect(seen.cwd).toBe(packDir);
      expect(seen.configuredStack).toBe('prod'); // ConfigureStack is forwarded too
      expect(JSON.parse(seen.env.PULUMI_CONFIG!)).toEqual({ 'infrafabric-backup:config:env': 'prod' });
      expect(JSON.stringify(seen)).not.toContain('sekrit');
      expect(seen.env).toMatchObject({
        PULUMI_CONFIG_SECRET_KEYS: '[]',
        PULUMI_NODEJS_STACK: 'prod',
        PULUMI_NODEJS_PROJECT: 'infrafabric-backup',
        PULUMI_NODEJS_DRY_RUN: 'true',
        PULUMI_NODEJS_TYPESCRIPT: 'true',
        FROM_ENGINE: 'a=b', // the engine's environment list is the pack's environment
      });
      // Analyze calls and their errors pass through unchanged.
      const ar = new analyzerPb.AnalyzeRequest();
      ar.setUrn('urn:pulumi:prod::p::t::n');
      ar.setType('t');
      const res = await unary<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(analyzer.analyze, ar);
      expect(res.getDiagnosticsList().map((d) => [d.getPolicyname(), d.getMessage()])).toEqual([
        ['fake-policy', 'saw urn:pulumi:prod::p::t::n'],
      ]);
      ar.setType('boom');
      await expect(unary(analyzer.analyze, ar)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'boom from pack',
      });
      // The pack's own output after its port line reaches the engine as the plugin's output.
      for (let i = 0; i < 100 && !(stdout.includes('hello') && stderr.includes('started')); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(stdout).toMatch(/^\d+\npack says hello\n$/);
      expect(stderr).toContain('pack started');
      // The engine closing the plugin (cancelling the stream) stops the pack process.
      stream.cancel();
      expect((await streamErr).code).toBe(grpc.status.CANCELLED);
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          process.kill(seen.pid, 0);
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
      expect(exitcode).toBeUndefined();
    } finally {
      analyzer.close();
    }
  });

  it('RunPlugin (other kinds) runs cmd/run-plugin with the plugin directory first and streams its exit code', async () => {
    const req = new lang.RunPluginRequest();
    req.setInfo(programInfo());
    req.setKind('resource');
    req.setPwd(tmp);
    req.setArgsList(['--x', '3']);
    const stream = client.runPlugin(req);
    let stdout = '';
    let stderr = '';
    const exitcode = await new Promise<number>((resolve, reject) => {
      stream.on('data', (res: lang.RunPluginResponse) => {
        if (res.hasStdout()) stdout += Buffer.from(res.getStdout_asU8()).toString();
        if (res.hasStderr()) stderr += Buffer.from(res.getStderr_asU8()).toString();
        if (res.hasExitcode()) resolve(res.getExitcode());
      });
      stream.on('error', reject);
    });
    expect(exitcode).toBe(3);
    expect(JSON.parse(stdout)).toEqual({ argv: [programDir, '--x', '3'], cwd: tmp });
    expect(stderr).toBe('plugin stderr\n');
  });

  it('RunPlugin without program info fails with a named error', async () => {
    const req = new lang.RunPluginRequest();
    req.setKind('analyzer');
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const stream = client.runPlugin(req);
      stream.on('error', resolve);
      stream.on('data', () => undefined);
    });
    expect(err.details).toContain('carries no program info');
  });

  it('methods it does not implement answer UNIMPLEMENTED', async () => {
    const req = new lang.InstallDependenciesRequest();
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const stream = client.installDependencies(req);
      stream.on('error', resolve);
      stream.on('data', () => undefined);
    });
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe('language host helpers', () => {
  it.each([
    ['', []],
    ['  --a   --b=1 ', ['--a', '--b=1']],
    ['--title="a b" x', ['--title=a b', 'x']],
    ['-r \'a "b" c\' d', ['-r', 'a "b" c', 'd']],
    ['"say \\"hi\\"" c\\ d', ['say "hi"', 'c d']],
    ["'' x", ['', 'x']],
  ])('splitArgs(%j) = %j', (input, want) => {
    expect(host.splitArgs(input)).toEqual(want);
  });

  it("configJson maps both key forms to the SDK's <ns>:config:<name>", () => {
    const m = new Map([
      ['a:b', '1'],
      ['a:config:c', '2'],
    ]);
    expect(JSON.parse(host.configJson(m))).toEqual({ 'a:config:b': '1', 'a:config:c': '2' });
    expect(() => host.configJson(new Map([[':x', '1']]))).toThrow('invalid config key ":x"');
  });

  it('requiredPlugins returns nothing when there is no package.json above the program', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'langhost-empty-'));
    try {
      // Walks up to / — so only valid where no ancestor has a package.json (true for os.tmpdir()).
      expect(host.requiredPlugins(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
