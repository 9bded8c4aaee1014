#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Makes the pinned Pulumi CLI available (PATH if new enough, else built from the Go module proxy
 * into .cache/pulumi/<version>/bin) and prints its bin dir on stdout. Idempotent and cached.
 *   node tools/ensure-pulumi.js [--force] [--smoke] [--print bin|exe|version]
 */
const { fail } = require('./lib/proc');
const { ensurePulumi, PINNED_VERSION } = require('./lib/pulumi-cli');

const HELP = `usage: node tools/ensure-pulumi.js [--force] [--smoke] [--print bin|exe|version]

Ensures the pinned Pulumi CLI v${PINNED_VERSION} (see README "Pulumi CLI").
  --force       rebuild even if a cached build or a new-enough pulumi on PATH exists
  --smoke       then prove it works: up/preview/destroy a dynamic resource on a file:// backend
  --print WHAT  print the bin dir (default), the CLI path, or its version on stdout
`;

function main() {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const printIdx = argv.indexOf('--print');
  const what = printIdx >= 0 ? argv[printIdx + 1] : 'bin';
  const known = new Set(['--force', '--smoke', '--print', what]);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length || !['bin', 'exe', 'version'].includes(what)) {
    process.stderr.write(`ensure-pulumi: unknown argument ${unknown[0] ?? what}\n\n${HELP}`);
    process.exit(2);
  }
  const cli = ensurePulumi({ force: argv.includes('--force') });
  if (argv.includes('--smoke')) require('./lib/pulumi-smoke').smokeTest(cli);
  process.stdout.write(`${what === 'exe' ? cli.exe : what === 'version' ? cli.version : cli.binDir}\n`);
}

try {
  main();
} catch (err) {
  fail(err, 'ensure-pulumi');
}
