#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * `npm run pulumi -- <args>`: runs the pinned Pulumi CLI (ensured first, cached) with the project's
 * environment: PULUMI_HOME in .cache, no update checks or plugin downloads, and the bin dir holding
 * the language host and dynamic-provider plugin first on PATH. Exit code is the CLI's.
 *
 * Where it runs (the CLI rewrites `Pulumi.<stack>.yaml` in its working directory — adds an
 * `encryptionsalt`, re-serialises values — so it must never run on the committed files):
 * - in the directory npm was invoked from (`INIT_CWD`), not npm's package root;
 * - when that is the repository root, in the stack's working copy `.cache/stacks/<stack>/`
 *   (scripts/start/project.ts: the committed config and salt copied in, `main` pointing at
 *   `stacks/`), so running a committed stack never edits its file. `config set|rm|…` there is a
 *   deliberate config change: it gets `--config-file Pulumi.<stack>.yaml` (a note says so).
 * On this project's stacks `preview` and `up` get `--policy-pack policy` unless one is given.
 */
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { ROOT, CACHE_DIR, SetupError, fail } = require('./lib/proc');

/** tsx's CommonJS API (loads scripts/start/project.ts, the one place that writes working copies). */
const TSX_API = 'tsx/cjs/api';

/** Commands that may rewrite the (selected) stack's `Pulumi.<stack>.yaml`. */
const WRITES_STACK_FILE = [
  'up',
  'update',
  'preview',
  'refresh',
  'destroy',
  'config',
  'import',
  'state',
  'cancel',
  'watch',
];
const { ensurePulumi, pulumiEnv } = require('./lib/pulumi-cli');

/**
 * The stack an argument list names (`--stack X`, `-s X`, `--stack=X`, or `stack init|select|rm X`).
 * @param {string[]} args
 * @returns {string | undefined}
 */
function stackOf(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === '--stack' || a === '-s') && args[i + 1]) return args[i + 1];
    const m = /^--stack=(.+)$/.exec(a);
    if (m) return m[1];
  }
  if (args[0] === 'stack' && ['init', 'select', 'rm'].includes(args[1] ?? '')) {
    const name = args.slice(2).find((a) => !a.startsWith('-'));
    if (name) return name;
  }
  return undefined;
}

/** @param {string} dir */
function isThisProject(dir) {
  const file = path.join(dir, 'Pulumi.yaml');
  return fs.existsSync(file) && /^name:\s*infrafabric-backup\s*$/m.test(fs.readFileSync(file, 'utf8'));
}

/**
 * The directory the CLI runs in, creating the working copy when needed.
 * @param {string[]} args
 */
function workingDirectory(args) {
  const invoked = path.resolve(process.env.INIT_CWD || process.cwd());
  if (invoked !== ROOT) return invoked;
  const stack = stackOf(args);
  if (!stack) {
    // Commands that may write the selected stack's file need it named; the rest (stack ls,
    // stack output, login, about, …) read only and run here.
    if (WRITES_STACK_FILE.includes(args[0] ?? ''))
      throw new SetupError(
        `\`pulumi ${args[0]}\` in the repository root needs the stack named`,
        "add --stack <name>: npm run pulumi runs the repository's stacks in their working copies (.cache/stacks/<name>), so the committed Pulumi.<name>.yaml is never rewritten",
      );
    return invoked;
  }
  const dir = path.join(CACHE_DIR, 'stacks', stack);
  /** @type {{ writeProjectDir(o: { dir: string, stack: string, keepWorkingCopySalt?: boolean }): string }} */
  const project = require(TSX_API).require(
    path.join(ROOT, 'scripts', 'start', 'project.ts'),
    path.join(__dirname, 'pulumi.js'),
  );
  project.writeProjectDir({ dir, stack, keepWorkingCopySalt: false });
  if (
    args[0] === 'config' &&
    ['set', 'set-all', 'rm', 'rm-all', 'refresh', 'cp'].includes(args[1] ?? '') &&
    !args.some((x) => x === '--config-file' || x.startsWith('--config-file='))
  ) {
    // A config change is meant for the committed file: edit it there, deliberately.
    args.push('--config-file', path.join(ROOT, `Pulumi.${stack}.yaml`));
    process.stderr.write(`note: this edits the committed Pulumi.${stack}.yaml: review and commit it\n`);
  }
  return dir;
}

function main() {
  const cli = ensurePulumi({ quiet: true });
  const args = process.argv.slice(2);
  const cwd = workingDirectory(args);
  if (
    ['preview', 'up', 'update'].includes(args[0] ?? '') &&
    !args.includes('--policy-pack') &&
    isThisProject(cwd)
  )
    args.push('--policy-pack', path.join(ROOT, 'policy'));
  const child = spawn(cli.exe, args, {
    stdio: 'inherit',
    cwd,
    env: { ...pulumiEnv(cli.binDir), INFRAFABRIC_BACKUP_ROOT: process.env.INFRAFABRIC_BACKUP_ROOT || ROOT },
  });
  // Forward Ctrl-C / termination so the engine can cancel cleanly instead of being orphaned.
  for (const sig of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM'])) {
    process.on(sig, () => child.kill(sig));
  }
  child.on('error', (err) => fail(err, 'pulumi'));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    fail(err, 'pulumi');
  }
}

module.exports = { stackOf };
