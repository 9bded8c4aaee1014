#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * A Node.js language host for the Pulumi engine (the `pulumi-language-nodejs` plugin), written
 * against the LanguageRuntime gRPC contract in `@pulumi/pulumi/proto/language.proto`.
 *
 * Why it exists: the CLI builds from the Go module proxy (`pkg/v3`), but the upstream host module
 * (`sdk/nodejs/cmd/pulumi-language-nodejs/v3`) is refused by the proxy reachable here, so
 * `tools/ensure-pulumi.js` installs this host in its place when the Go one cannot be built.
 *
 * It does what the engine needs for preview/up/refresh/destroy: answer the handshake and plugin
 * queries, and `Run` the program through the SDK's own runner (`@pulumi/pulumi/cmd/run`, resolved
 * from the program directory, exactly as the upstream host does) with the same arguments and
 * environment contract (PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT, ...).
 * `RunPlugin` starts plugin folders the engine runs through the language host: policy packs (kind
 * `analyzer`, through `@pulumi/pulumi/cmd/run-policy-pack`, behind a small Analyzer proxy that hands
 * the pack the stack's configuration before it loads, as the upstream host does) and other plugin
 * kinds (through `@pulumi/pulumi/cmd/run-plugin`).
 * Code generation, `pulumi new` templates and packing are not implemented and answer
 * UNIMPLEMENTED, which the engine reports as such.
 *
 * Protocol: started by the engine as `pulumi-language-nodejs [flags] <engine-address>`; prints the
 * port it listens on (127.0.0.1) as its first stdout line; exits when the engine closes it.
 */
const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');
const { setInterval, setTimeout } = require('timers');

const ROOT = path.resolve(__dirname, '..', '..');

/** Load a module from the repository's node_modules (the host runs from any working directory). */
/** @param {string} id */
function requireFromRoot(id) {
  return require(require.resolve(id, { paths: [ROOT] }));
}

const grpc = requireFromRoot('@grpc/grpc-js');
const langProto = requireFromRoot('@pulumi/pulumi/proto/language_pb');
const langGrpc = requireFromRoot('@pulumi/pulumi/proto/language_grpc_pb');
const pluginProto = requireFromRoot('@pulumi/pulumi/proto/plugin_pb');
const emptyProto = requireFromRoot('google-protobuf/google/protobuf/empty_pb');
const analyzerProto = requireFromRoot('@pulumi/pulumi/proto/analyzer_pb');
const analyzerGrpc = requireFromRoot('@pulumi/pulumi/proto/analyzer_grpc_pb');

/** Exit code the SDK runner uses for "already showed the user an actionable message". */
const EXIT_USER_ACTIONABLE = 32;
/** The version this host reports; matches the pinned CLI so `pulumi about` reads sensibly. */
const HOST_VERSION = process.env.PULUMI_LANGUAGE_NODEJS_VERSION || '3.274.1';

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ engineAddress: string, tracing: string }} */
  const out = { engineAddress: '', tracing: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-version' || a === '--version') {
      process.stdout.write(`${HOST_VERSION}\n`);
      process.exit(0);
    }
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(a);
    if (m) {
      // Flags the engine may pass (-tracing, -root, -runtime); only tracing is forwarded.
      const value = m[2] ?? (argv[i + 1] && !argv[i + 1].startsWith('-') ? argv[++i] : '');
      if (m[1] === 'tracing') out.tracing = value;
      continue;
    }
    out.engineAddress = a;
  }
  return out;
}

/**
 * Runtime options from Pulumi.yaml (`runtime.options`), with the upstream defaults.
 * @param {any} info ProgramInfo message
 */
function runtimeOptions(info) {
  const opts = info && info.getOptions() ? info.getOptions().toJavaScript() : {};
  const typescript = opts.typescript === undefined ? true : opts.typescript;
  if (typeof typescript !== 'boolean') throw new Error('runtime option "typescript" must be a boolean');
  for (const k of ['tsconfig', 'nodeargs']) {
    if (opts[k] !== undefined && typeof opts[k] !== 'string')
      throw new Error(`runtime option "${k}" must be a string`);
  }
  return {
    typescript,
    tsconfig: /** @type {string|undefined} */ (opts.tsconfig),
    nodeargs: /** @type {string} */ (opts.nodeargs ?? ''),
  };
}

/**
 * The SDK runner the program itself depends on (so the program's @pulumi/pulumi version runs it),
 * falling back to the repository's copy. PULUMI_LANGUAGE_NODEJS_RUN_PATH overrides the program runner.
 * @param {string} programDir
 * @param {string} [defaultId] the runner module (`…/cmd/run`, `…/cmd/run-policy-pack`, `…/cmd/run-plugin`)
 */
function locateRunner(programDir, defaultId = '@pulumi/pulumi/cmd/run') {
  const override = defaultId === '@pulumi/pulumi/cmd/run' ? process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH : '';
  const id = override || defaultId;
  try {
    return require.resolve(id, { paths: [programDir, ROOT] });
  } catch {
    throw new Error(
      `could not find ${id} from ${programDir}: install @pulumi/pulumi in the program's package (npm install @pulumi/pulumi)`,
    );
  }
}

/**
 * Resource plugins the program's direct dependencies declare (package.json `pulumi.resource`), as
 * the upstream host reports them. The engine loads them from PATH / PULUMI_HOME before running.
 * @param {string} programDir
 * @returns {{ name: string, version: string, server: string }[]}
 */
function requiredPlugins(programDir) {
  let dir = programDir;
  /** @type {string | null} */
  let pkgFile = null;
  for (let i = 0; i < 64; i++) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      pkgFile = candidate;
      break;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  if (!pkgFile) return [];
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  const deps = Object.keys({ ...(pkg.dependencies || {}), ...(pkg.devDependencies || {}) });
  /** @type {{ name: string, version: string, server: string }[]} */
  const out = [];
  for (const dep of deps) {
    const depFile = installedPackageJson(dep, path.dirname(pkgFile));
    if (!depFile) continue; // not installed: the program run will report it
    let depPkg;
    try {
      depPkg = JSON.parse(fs.readFileSync(depFile, 'utf8'));
    } catch {
      continue; // unreadable package.json: not a plugin source we can use
    }
    const meta = depPkg.pulumi;
    if (!meta || meta.resource !== true) continue;
    // As upstream: `pulumi.name`, else the name of an @pulumi/ package without its scope. A
    // third-party package must name its plugin; upstream ignores one that does not, and so do we
    // (its npm name is not a plugin name the engine could load).
    const npmName = String(depPkg.name || '');
    const name = meta.name || (npmName.startsWith('@pulumi/') ? npmName.slice('@pulumi/'.length) : '');
    if (!name) continue;
    const version = String(meta.version || depPkg.version || '').replace(/^v/, '');
    out.push({ name, version: version ? `v${version}` : '', server: meta.server || '' });
  }
  return out;
}

/**
 * `node_modules/<name>/package.json` as Node's resolution would find it from `fromDir` (walking up
 * the directory tree). Read directly rather than through require.resolve, which refuses packages
 * whose `exports` map does not list ./package.json (as the upstream host reads node_modules too).
 * @param {string} name @param {string} fromDir
 * @returns {string | null}
 */
function installedPackageJson(name, fromDir) {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name, 'package.json');
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/**
 * Config in the shape the SDK runner reads: keys `<namespace>:config:<name>` (the legacy form
 * every SDK version understands), JSON-encoded in PULUMI_CONFIG.
 * @param {any} configMap jspb.Map<string,string>
 */
function configJson(configMap) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [k, v] of configMap.entries()) {
    const idx = k.indexOf(':');
    if (idx <= 0) throw new Error(`invalid config key ${JSON.stringify(k)}: expected <namespace>:<name>`);
    const ns = k.slice(0, idx);
    const rest = k.slice(idx + 1);
    const name = rest.startsWith('config:') ? rest.slice('config:'.length) : rest;
    out[`${ns}:config:${name}`] = v;
  }
  return JSON.stringify(out);
}

/**
 * Splits a `nodeargs` string into words like a POSIX shell (and the upstream host's shlex) does,
 * without expansions: whitespace separates words; single quotes keep everything literally; double
 * quotes keep whitespace and honour \" and \\; a backslash outside quotes escapes the next
 * character; quotes may sit inside a word (`--title="a b"` is one word `--title=a b`).
 * @param {string} s
 * @returns {string[]}
 */
function splitArgs(s) {
  /** @type {string[]} */
  const out = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error(`runtime option "nodeargs" has an unterminated ' quote: ${s}`);
      word += s.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && (s[j + 1] === '"' || s[j + 1] === '\\')) j++;
        word += s[j];
      }
      if (j >= s.length) throw new Error(`runtime option "nodeargs" has an unterminated " quote: ${s}`);
      i = j;
    } else if (c === '\\' && i + 1 < s.length) {
      word += s[++i];
    } else {
      word += c;
    }
  }
  if (inWord) out.push(word);
  return out;
}

/**
 * `KEY=VALUE` strings (the engine's plugin environment) as an object. A value may contain `=`.
 * @param {string[]} list
 * @returns {NodeJS.ProcessEnv}
 */
function envFromList(list) {
  /** @type {NodeJS.ProcessEnv} */
  const out = {};
  for (const entry of list) {
    const i = entry.indexOf('=');
    if (i > 0) out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return out;
}

/**
 * What a policy pack process learns about the stack before it loads, from the engine's
 * ConfigureStack call (the upstream host's contract: PULUMI_NODEJS_{ORGANIZATION,PROJECT,STACK,
 * DRY_RUN} and PULUMI_CONFIG). Unlike upstream, secret config values are left out: a pack has no
 * business reading credentials, so they never reach its process environment.
 * @param {any} req AnalyzerStackConfigureRequest
 * @returns {Record<string, string>}
 */
function policyPackEnv(req) {
  /** @type {Record<string, string>} */
  const env = {};
  const set = (/** @type {string} */ k, /** @type {string} */ v) => {
    if (v) env[k] = v;
  };
  set('PULUMI_NODEJS_ORGANIZATION', req.getOrganization());
  set('PULUMI_NODEJS_PROJECT', req.getProject());
  set('PULUMI_NODEJS_STACK', req.getStack());
  set('PULUMI_NODEJS_DRY_RUN', String(!!req.getDryRun()));
  const secret = new Set(req.getConfigSecretKeysList());
  /** @type {Map<string, string>} */
  const plain = new Map();
  for (const [k, v] of req.getConfigMap().entries()) if (!secret.has(k)) plain.set(k, v);
  env.PULUMI_CONFIG = configJson(plain);
  env.PULUMI_CONFIG_SECRET_KEYS = '[]';
  return env;
}

/** Analyzer methods the proxy forwards to the pack unchanged (all unary). */
const ANALYZER_FORWARDED = [
  'analyze',
  'analyzeStack',
  'remediate',
  'getAnalyzerInfo',
  'getPluginInfo',
  'configure',
  'cancel',
];

/**
 * An Analyzer server that stands in for a policy pack until the engine has told it the stack
 * (ConfigureStack), then starts the real pack with that configuration in its environment and
 * forwards every call to it. Why: `@pulumi/policy` packs read the stack and its config (through
 * `@pulumi/pulumi`'s Config) when their module loads, but the engine only sends them after the
 * plugin is up — the same reason the upstream Go host proxies policy packs.
 */
class PolicyPackProxy {
  /**
   * @param {(env: Record<string, string>) => Promise<string>} startPack starts the pack with extra
   *   environment and resolves to its gRPC address
   */
  constructor(startPack) {
    this.startPack = startPack;
    /** @type {Promise<any> | null} */
    this.client = null;
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': 400 * 1024 * 1024 });
    /** @type {Record<string, Function>} */
    const impl = {
      handshake: (/** @type {any} */ _call, /** @type {Function} */ cb) =>
        cb(null, new analyzerProto.AnalyzerHandshakeResponse()),
      configureStack: (/** @type {any} */ call, /** @type {Function} */ cb) =>
        this.forward('configureStack', call.request, cb, policyPackEnv(call.request)),
    };
    for (const m of ANALYZER_FORWARDED) {
      impl[m] = (/** @type {any} */ call, /** @type {Function} */ cb) => {
        // Nothing to cancel before the pack runs; do not start it just for that.
        if (m === 'cancel' && !this.client) cb(null, new emptyProto.Empty());
        else this.forward(m, call.request, cb, {});
      };
    }
    this.server.addService(analyzerGrpc.AnalyzerService, impl);
  }

  /** @returns {Promise<number>} the port the engine should dial */
  listen() {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createInsecure(),
        /** @param {Error | null} err @param {number} port */
        (err, port) => (err ? reject(err) : resolve(port)),
      );
    });
  }

  /**
   * The pack's client; the first call starts the pack (with the stack's env when it is
   * ConfigureStack, which the engine sends first whenever it runs a pack for a stack).
   * @param {Record<string, string>} env
   */
  target(env) {
    if (!this.client) {
      this.client = this.startPack(env).then(
        (address) =>
          new analyzerGrpc.AnalyzerClient(address, grpc.credentials.createInsecure(), {
            'grpc.max_receive_message_length': 400 * 1024 * 1024,
            'grpc.max_send_message_length': 400 * 1024 * 1024,
          }),
      );
    }
    return this.client;
  }

  /**
   * @param {string} method @param {any} request @param {Function} cb
   * @param {Record<string, string>} env
   */
  forward(method, request, cb, env) {
    this.target(env).then(
      (client) =>
        client[method](request, (/** @type {any} */ err, /** @type {any} */ res) => {
          if (err) cb({ code: err.code, details: err.details, metadata: err.metadata });
          else cb(null, res);
        }),
      (/** @type {unknown} */ err) => cb(grpcError(err)),
    );
  }

  close() {
    this.server.forceShutdown();
    if (this.client)
      this.client.then(
        (c) => c.close(),
        () => undefined,
      );
  }
}

/**
 * The program's resource plugins as messages of one protobuf dependency type (the engine asks
 * for them as PluginDependency in GetRequiredPlugins and as PackageDependency in
 * GetRequiredPackages; both carry the same four fields).
 * @param {string} dir @param {new () => any} Message
 */
function resourceDependencies(dir, Message) {
  return requiredPlugins(dir).map((p) => {
    const d = new Message();
    d.setName(p.name);
    d.setKind('resource');
    d.setVersion(p.version);
    d.setServer(p.server);
    return d;
  });
}

class LanguageHost {
  /** @param {{ engineAddress: string, tracing: string }} args */
  constructor(args) {
    this.engineAddress = args.engineAddress;
    this.tracing = args.tracing;
    /** @type {Set<import('child_process').ChildProcess>} */
    this.children = new Set();
  }

  /** @param {any} call @param {Function} cb */
  handshake(call, cb) {
    const addr = call.request.getEngineAddress && call.request.getEngineAddress();
    if (addr) this.engineAddress = addr;
    cb(null, new langProto.LanguageHandshakeResponse());
  }

  /** @param {any} _call @param {Function} cb */
  getPluginInfo(_call, cb) {
    const info = new pluginProto.PluginInfo();
    info.setVersion(HOST_VERSION);
    cb(null, info);
  }

  /** @param {any} call @param {Function} cb */
  getRequiredPlugins(call, cb) {
    try {
      const dir = call.request.getInfo()?.getProgramDirectory() || call.request.getPwd();
      const res = new langProto.GetRequiredPluginsResponse();
      res.setPluginsList(resourceDependencies(dir, pluginProto.PluginDependency));
      cb(null, res);
    } catch (err) {
      cb(grpcError(err));
    }
  }

  /** @param {any} call @param {Function} cb */
  getRequiredPackages(call, cb) {
    try {
      const dir = call.request.getInfo().getProgramDirectory();
      const res = new langProto.GetRequiredPackagesResponse();
      res.setPackagesList(resourceDependencies(dir, pluginProto.PackageDependency));
      cb(null, res);
    } catch (err) {
      cb(grpcError(err));
    }
  }

  /** @param {any} _call @param {Function} cb */
  getProgramDependencies(_call, cb) {
    cb(null, new langProto.GetProgramDependenciesResponse());
  }

  /** @param {any} _call @param {Function} cb */
  about(_call, cb) {
    const res = new langProto.AboutResponse();
    res.setExecutable(process.execPath);
    res.setVersion(process.version);
    cb(null, res);
  }

  /** @param {any} _call @param {Function} cb */
  cancel(_call, cb) {
    for (const child of this.children) child.kill('SIGINT');
    cb(null, new emptyProto.Empty());
  }

  /**
   * Starts a plugin folder (PulumiPolicy.yaml / PulumiPlugin.yaml with `runtime: nodejs`) and
   * streams its stdout/stderr and exit code back to the engine, as the upstream host does:
   * - kind `analyzer` (a policy pack): `@pulumi/pulumi/cmd/run-policy-pack <args…> <dir>` in the
   *   pack's directory, behind PolicyPackProxy (the engine dials the proxy's port, printed first);
   * - any other kind: `@pulumi/pulumi/cmd/run-plugin <dir> <args…>` in the engine's directory.
   * The runner is resolved from the plugin directory (its own @pulumi/pulumi), else ours.
   * `nodeargs` go to node itself, before the runner.
   * @param {any} call server-streaming call (RunPluginRequest → RunPluginResponse*)
   */
  runPlugin(call) {
    const req = call.request;
    let ended = false;
    const send = (/** @type {'stdout'|'stderr'} */ stream, /** @type {Buffer} */ data) => {
      if (ended || call.cancelled) return;
      const res = new langProto.RunPluginResponse();
      if (stream === 'stdout') res.setStdout(data);
      else res.setStderr(data);
      call.write(res);
    };
    const finish = (/** @type {number} */ code) => {
      if (ended) return;
      ended = true;
      if (call.cancelled) return;
      const res = new langProto.RunPluginResponse();
      res.setExitcode(code);
      call.write(res);
      call.end();
    };
    const fail = (/** @type {unknown} */ err) => {
      if (ended) return;
      ended = true;
      if (!call.cancelled) call.emit('error', grpcError(err));
    };
    /** @type {import('child_process').ChildProcess | null} */
    let child = null;
    /** @type {PolicyPackProxy | null} */
    let proxy = null;
    const stopAll = () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const c = child;
        c.kill('SIGTERM');
        setTimeout(() => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'), 5000).unref();
      }
      if (proxy) proxy.close();
    };
    call.on('cancelled', stopAll);

    try {
      const info = req.getInfo();
      if (!info) throw new Error('RunPlugin: the request carries no program info (plugin directory)');
      const dir = info.getProgramDirectory();
      const opts = runtimeOptions(info);
      const analyzer = req.getKind() === 'analyzer';
      const runner = locateRunner(
        dir,
        analyzer ? '@pulumi/pulumi/cmd/run-policy-pack' : '@pulumi/pulumi/cmd/run-plugin',
      );
      const args = [...splitArgs(opts.nodeargs), runner];
      if (analyzer) args.push(...req.getArgsList(), dir);
      else args.push(dir, ...req.getArgsList());
      const baseEnv = req.getEnvList().length ? envFromList(req.getEnvList()) : { ...process.env };
      if (opts.typescript) baseEnv.PULUMI_NODEJS_TYPESCRIPT = 'true';
      if (opts.tsconfig) baseEnv.PULUMI_NODEJS_TSCONFIG_PATH = opts.tsconfig;
      const cwd = analyzer ? dir : req.getPwd() || dir;

      /** @param {Record<string, string>} extraEnv @param {boolean} passStdout */
      const start = (extraEnv, passStdout) => {
        const c = spawn(process.execPath, args, {
          cwd,
          env: { ...baseEnv, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child = c;
        this.children.add(c);
        c.stderr?.on('data', (/** @type {Buffer} */ d) => send('stderr', d));
        if (passStdout) c.stdout?.on('data', (/** @type {Buffer} */ d) => send('stdout', d));
        c.once('error', (err) => {
          this.children.delete(c);
          fail(
            new Error(`Problem executing plugin program (could not run language executor): ${err.message}`),
          );
        });
        c.once('exit', (code, signal) => {
          this.children.delete(c);
          if (proxy) proxy.close();
          finish(code ?? (signal ? 1 : 0));
        });
        return c;
      };

      if (!analyzer) {
        start({}, true);
        return;
      }
      proxy = new PolicyPackProxy((env) => {
        const c = start(env, false);
        return new Promise((resolve, reject) => {
          let buf = '';
          let port = '';
          c.stdout?.on('data', (/** @type {Buffer} */ d) => {
            if (port) return send('stdout', d);
            buf += d.toString('utf8');
            const nl = buf.indexOf('\n');
            if (nl < 0) return;
            port = buf.slice(0, nl).trim();
            const rest = buf.slice(nl + 1);
            if (rest) send('stdout', Buffer.from(rest));
            if (/^\d+$/.test(port)) resolve(`127.0.0.1:${port}`);
            else
              reject(new Error(`policy pack in ${dir} printed ${JSON.stringify(port)} instead of its port`));
          });
          c.once('exit', (code) => {
            if (!port) reject(new Error(`policy pack in ${dir} exited (code ${code}) before it listened`));
          });
        });
      });
      proxy.listen().then(
        (port) => send('stdout', Buffer.from(`${port}\n`)),
        (err) => fail(err),
      );
    } catch (err) {
      stopAll();
      fail(err);
    }
  }

  /**
   * Runs the program to completion and reports its outcome. Program errors are returned in the
   * response (the engine prints them); only host failures become gRPC errors.
   * @param {any} call @param {Function} cb
   */
  run(call, cb) {
    const req = call.request;
    const respond = (/** @type {string} */ error, bail = false) => {
      const res = new langProto.RunResponse();
      res.setError(error);
      res.setBail(bail);
      cb(null, res);
    };
    let args;
    /** @type {NodeJS.ProcessEnv} */
    let env;
    try {
      const info = req.getInfo();
      const programDir = info ? info.getProgramDirectory() : req.getPwd();
      const entryPoint = info ? info.getEntryPoint() : req.getProgram();
      const opts = runtimeOptions(info);
      const runner = locateRunner(programDir);
      args = [...splitArgs(opts.nodeargs), runner];
      const flag = (/** @type {string} */ k, /** @type {string|undefined} */ v) => {
        if (v) args.push(`--${k}`, v);
      };
      flag('monitor', req.getMonitorAddress());
      flag('engine', this.engineAddress);
      flag('organization', req.getOrganization());
      flag('project', req.getProject());
      flag('root-directory', info ? info.getRootDirectory() : '');
      flag('stack', req.getStack());
      flag('pwd', programDir);
      if (req.getDryrun()) args.push('--dry-run');
      flag('parallel', String(req.getParallel()));
      flag('tracing', this.tracing);
      args.push(entryPoint || '.', ...req.getArgsList());
      env = {
        ...process.env,
        PULUMI_CONFIG: configJson(req.getConfigMap()),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
      };
      if (opts.typescript) env.PULUMI_NODEJS_TYPESCRIPT = 'true';
      if (opts.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = opts.tsconfig;
    } catch (err) {
      respond(err instanceof Error ? err.message : String(err));
      return;
    }
    // stdout/stderr go straight to ours: the engine shows them as the program's output.
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    this.children.add(child);
    child.once('error', (err) => {
      this.children.delete(child);
      respond(`Problem executing program (could not run language executor): ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      this.children.delete(child);
      if (code === 0) respond('');
      else if (code === EXIT_USER_ACTIONABLE) respond('', true);
      else if (signal) respond(`Program was terminated by ${signal}`);
      else respond(`Program exited with non-zero exit code: ${code}`);
    });
  }
}

/** @param {unknown} err */
function grpcError(err) {
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const host = new LanguageHost(args);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 400 * 1024 * 1024 });
  /** @type {Record<string, Function>} */
  const impl = {
    handshake: host.handshake.bind(host),
    getPluginInfo: host.getPluginInfo.bind(host),
    getRequiredPlugins: host.getRequiredPlugins.bind(host),
    getRequiredPackages: host.getRequiredPackages.bind(host),
    getProgramDependencies: host.getProgramDependencies.bind(host),
    about: host.about.bind(host),
    run: host.run.bind(host),
    runPlugin: host.runPlugin.bind(host),
    cancel: host.cancel.bind(host),
  };
  // Everything else answers UNIMPLEMENTED (grpc-js does that for methods left out).
  server.addService(langGrpc.LanguageRuntimeService, impl);
  server.bindAsync(
    '127.0.0.1:0',
    grpc.ServerCredentials.createInsecure(),
    /** @param {Error | null} err @param {number} port */
    (err, port) => {
      if (err) {
        process.stderr.write(`pulumi-language-nodejs: could not listen: ${err.message}\n`);
        process.exit(1);
      }
      process.stdout.write(`${port}\n`);
    },
  );
  const stop = () => {
    for (const child of host.children) child.kill('SIGINT');
    server.tryShutdown(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // If the engine dies without closing us (kill -9 of `pulumi up`), we are re-parented: stop the
  // program we started and exit instead of lingering (the Go host health-checks the engine instead).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      for (const child of host.children) child.kill('SIGKILL');
      process.exit(1);
    }
  }, 1000).unref();
}

if (require.main === module) main();

module.exports = { parseArgs, configJson, splitArgs, requiredPlugins, envFromList, policyPackEnv };
