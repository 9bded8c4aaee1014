/**
 * The dependency rule of eslint.config.mjs (`layers/allowed-imports`): a file importing against
 * the direction is an error naming both sides; allowed imports pass. Plain .js paths keep the
 * type-aware rules (and their TypeScript program) out of this test.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');

const REFUSED: [string, string, RegExp][] = [
  ['emulator/probe.js', "require('../infra/b2/errors');", /emulator must not import infra\/b2\/errors/],
  ['emulator/core/probe.js', "require('../../scripts/lib/version');", /emulator must not import scripts/],
  ['emulator/probe.js', "require('@pulumi/pulumi');", /must not import the package @pulumi\/pulumi/],
  ['infra/b2/probe.js', "require('../providers/loader');", /infra\/b2 must not import infra\/providers/],
  ['infra/b2/wire/probe.js', "require('../errors');", /infra\/b2\/wire must not import infra\/b2\/errors/],
  ['infra/providers/probe.js', "require('../components/defaults');", /must not import infra\/components/],
  ['infra/components/probe.js', "require('../config');", /must not import infra\/config/],
  ['stacks/probe.js', "require('../scripts/lib/version');", /stacks must not import scripts/],
  ['scripts/lib/probe.js', "require('../../infra/components/defaults');", /scripts must not import infra/],
  ['scripts/lib/probe.js', "require('../../tools/lib/lock');", /scripts must not import tools/],
  ['scripts/lib/probe.js', "require('../start/main');", /scripts must not import scripts\/start/],
  ['scripts/lib/probe.js', "require('../estate/engine');", /scripts must not import scripts\/estate/],
  ['infra/b2/probe.js', "require('../../emulator/server');", /must not import emulator/],
  ['tools/probe.js', "require('../infra/b2');", /tools must not import infra\/b2/],
];
const ALLOWED: [string, string][] = [
  ['emulator/core/probe.js', "require('../../infra/b2/wire/cors');"],
  ['scripts/lib/probe.js', "require('../../infra/b2/secret'); require('@aws-sdk/client-s3');"],
  ['scripts/start/probe.js', "require('../../tools/lib/pulumi-cli'); require('../lib/version');"],
  [
    'scripts/estate/probe.js',
    "require('../start/pulumi'); require('../../tools/lib/pulumi-cli'); require('@pulumi/pulumi/automation');",
  ],
  ['infra/components/probe.js', "require('../providers/bucket'); require('../b2');"],
  ['stacks/probe.js', "require('../infra/config'); require('../infra/components/environmentBackup');"],
  ['test/unit/probe.js', "require('../../emulator/server'); require('../../tools/lib/lock');"],
];

/** Lints every case in one child process (jest cannot load the ESM eslint config in-process). */
function lintAll(cases: [string, string][]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const eslint = new ESLint({ cwd: process.cwd() });
    (async () => {
      const out = [];
      for (const [file, code] of JSON.parse(process.argv[1])) {
        const [res] = await eslint.lintText(code, { filePath: require('path').resolve(file) });
        out.push(res.messages.filter((m) => m.ruleId === 'layers/allowed-imports').map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const stdout = execFileSync(process.execPath, ['-e', script, JSON.stringify(cases)], { cwd: ROOT });
  return JSON.parse(stdout.toString()) as string[][];
}

let results: string[][];
beforeAll(() => {
  results = lintAll([...REFUSED.map(([f, c]) => [f, c] as [string, string]), ...ALLOWED]);
}, 60_000);

describe('layers/allowed-imports', () => {
  it.each(REFUSED.map((c, i) => [...c, i] as const))('%s: %s is refused', (_file, _code, expected, i) => {
    expect(results[i]).toHaveLength(1);
    expect(results[i]![0]).toMatch(expected);
  });

  it.each(ALLOWED.map((c, i) => [...c, REFUSED.length + i] as const))('%s: %s is allowed', (_f, _c, i) => {
    expect(results[i]).toEqual([]);
  });
});
