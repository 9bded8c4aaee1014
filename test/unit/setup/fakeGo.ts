/**
 * A fake `go` for the Pulumi CLI build recipe: it answers the handful of commands
 * tools/lib/pulumi-cli.js runs, logs every call (argv + the generated go.mod at that moment) as a
 * JSON line, and `go build -o OUT` writes a fake CLI that prints the version passed with
 * `-ldflags -X …Version=…` (or v0.0.0-dev without it; FAKE_GO_BUILT_VERSION overrides), so the
 * caller's version check is exercised.
 */
import fs from 'fs';
import path from 'path';
import { writeExecutable } from './sandbox';

/** How the fake module proxy answers for the Node.js language host module. */
export type HostMode = 'refused' | 'tag' | 'pseudo';

export interface GoCall {
  args: string[];
  cwd: string;
  goMod: string | null;
}

export const SDK_TIME = '2026-11-20T10:11:12Z';
export const SDK_HASH = '0123456789abcdef0123456789abcdef01234567';

const SCRIPT = String.raw`
const fs = require('fs');
const path = require('path');
const dir = process.env.FAKE_GO_DIR;
const mode = process.env.FAKE_GO_HOST || 'refused';
const args = process.argv.slice(2);
let goMod = null;
try { goMod = fs.readFileSync(path.join(process.cwd(), 'go.mod'), 'utf8'); } catch {}
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify({ args, cwd: process.cwd(), goMod }) + '\n');
const HOST = 'github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3';
const SDK = 'github.com/pulumi/pulumi/sdk/v3';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const [cmd, sub] = args;
if (cmd === 'env' && sub === 'GOVERSION') { process.stdout.write('go1.26.0\n'); process.exit(0); }
if (cmd === 'mod' && sub === 'download') {
  const [mod, version] = args[args.length - 1].split('@');
  out({ Path: mod, Version: version, GoMod: path.join(dir, 'pkg.go.mod') });
  process.exit(0);
}
if (cmd === 'list') {
  const [mod, version] = args[args.length - 1].split('@');
  if (mod === SDK) {
    const info = { Path: mod, Version: version, Time: ${JSON.stringify(SDK_TIME)} };
    if (mode === 'pseudo') info.Origin = { VCS: 'git', Hash: ${JSON.stringify(SDK_HASH)} };
    out(info);
    process.exit(0);
  }
  if (mod === HOST && ((mode === 'tag' && /^v3\.\d+\.\d+$/.test(version)) || (mode === 'pseudo' && version.startsWith('v3.0.0-')))) {
    out({ Path: mod, Version: version });
    process.exit(0);
  }
  process.stderr.write('go: ' + mod + '@' + version + ': reading proxy: 403 Forbidden\n');
  process.exit(1);
}
if (cmd === 'get') process.exit(0);
if (cmd === 'build') {
  const o = args[args.indexOf('-o') + 1];
  const ld = args.includes('-ldflags') ? args[args.indexOf('-ldflags') + 1] : '';
  const m = /-X \S+\/version\.Version=(\S+)/.exec(ld);
  const v = process.env.FAKE_GO_BUILT_VERSION || (m ? m[1] : 'v0.0.0-dev');
  fs.writeFileSync(o, '#!/bin/sh\necho ' + v + '\n', { mode: 0o755 });
  process.exit(0);
}
process.stderr.write('fake go: unexpected ' + args.join(' ') + '\n');
process.exit(3);
`;

/**
 * Installs the fake `go` into `binDir`; its state (call log, upstream pkg/go.mod fixture) lives in
 * `stateDir`. Pass the returned env to the sandboxed process.
 */
export function installFakeGo(binDir: string, stateDir: string, pkgGoMod: string, host: HostMode) {
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(path.join(stateDir, 'pkg.go.mod'), pkgGoMod);
  writeExecutable(path.join(binDir, 'go'), `#!${process.execPath}\n${SCRIPT}`);
  return { FAKE_GO_DIR: stateDir, FAKE_GO_HOST: host };
}

export function goCalls(stateDir: string): GoCall[] {
  const file = path.join(stateDir, 'calls.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as GoCall);
}
