#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * `npm run pulumi -- <args>`: runs the pinned Pulumi CLI (ensured first, cached) with the project's
 * environment: PULUMI_HOME in .cache, no update checks or plugin downloads, and the bin dir holding
 * the language host and dynamic-provider plugin first on PATH. Exit code is the CLI's.
 */
const { spawn } = require('child_process');
const { fail } = require('./lib/proc');
const { ensurePulumi, pulumiEnv } = require('./lib/pulumi-cli');

function main() {
  const cli = ensurePulumi({ quiet: true });
  const child = spawn(cli.exe, process.argv.slice(2), { stdio: 'inherit', env: pulumiEnv(cli.binDir) });
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

try {
  main();
} catch (err) {
  fail(err, 'pulumi');
}
