/**
 * Long fuzz run of b2-local (issue 12): the properties of test/fuzz/emulatorFuzz.ts — SigV4 and
 * aws-chunked parsers, XML bodies, native JSON calls, headers, ranges, query strings and request
 * paths of both APIs — with many seeds and runs, each seed against a fresh emulator. Every answer
 * must be a success or a named 4xx (S3 501 NotImplemented included), never a 5xx or a reset, and
 * the server must answer normally after each property.
 *
 *   node bin/run-ts.js bench/fuzz/run.ts [--seeds 5] [--first-seed 20261206] [--runs 1000] [--only NAME]
 *
 * Writes bench/results/fuzz.json (per seed and property: runs, time, answers by status and code).
 * A failure prints the property, seed and counterexample, writes what ran so far, and exits 1;
 * reproduce it with FUZZ_SEED=<seed> FUZZ_RUNS=<runs> FUZZ_ONLY=<property> npx jest test/fuzz.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startS3Env } from '../../test/conformance/wire/s3helpers';
import { DEFAULT_SEED, prepareTarget, PropertyResult, runFuzz } from '../../test/fuzz/emulatorFuzz';

interface Args {
  seeds: number;
  firstSeed: number;
  runs: number;
  only?: string;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    seeds: 5,
    firstSeed: DEFAULT_SEED,
    runs: 1000,
    out: path.resolve(__dirname, '..', 'results', 'fuzz.json'),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const int = (): number => {
      if (!/^\d+$/.test(value ?? '')) throw new Error(`${flag} needs a non-negative integer, got "${value}"`);
      return Number(value);
    };
    if (flag === '--seeds') a.seeds = int();
    else if (flag === '--first-seed') a.firstSeed = int();
    else if (flag === '--runs') a.runs = int();
    else if (flag === '--only') a.only = value;
    else if (flag === '--out') a.out = path.resolve(value ?? '');
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        'usage: node bin/run-ts.js bench/fuzz/run.ts [--seeds N] [--first-seed S] [--runs R] [--only NAME] [--out FILE]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown argument "${flag}" (see --help)`);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const load = os.loadavg()[0];
  const perSeed: Array<{ seed: number; properties: PropertyResult[]; error?: string }> = [];
  let failed = false;
  for (let i = 0; i < args.seeds; i++) {
    const seed = args.firstSeed + i;
    const env = await startS3Env();
    try {
      const target = await prepareTarget(env);
      const properties = await runFuzz(target, {
        seed,
        runs: args.runs,
        only: args.only,
        log: (l) => process.stderr.write(`[fuzz seed ${seed}] ${l}\n`),
      });
      perSeed.push({ seed, properties });
    } catch (e) {
      failed = true;
      const error = (e as Error).message;
      process.stderr.write(`[fuzz seed ${seed}] FAILED: ${error}\n${env.emu.logs().slice(-2000)}\n`);
      perSeed.push({ seed, properties: [], error });
    } finally {
      await env.stop();
    }
    if (failed) break;
  }
  const requests = perSeed.flatMap((s) => s.properties).reduce((n, p) => n + p.runs, 0);
  const answers: Record<string, number> = {};
  for (const p of perSeed.flatMap((s) => s.properties))
    for (const [k, v] of Object.entries(p.answers)) answers[k] = (answers[k] ?? 0) + v;
  const result = {
    benchmark: 'fuzz',
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAvgAtStart: Number(load.toFixed(2)),
    args: { seeds: args.seeds, firstSeed: args.firstSeed, runs: args.runs, only: args.only ?? null },
    passed: !failed,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    generatedRequests: requests,
    answersByStatus: Object.fromEntries(Object.entries(answers).sort((a, b) => b[1] - a[1])),
    perSeed,
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(
    `fuzz: ${failed ? 'FAILED' : 'passed'} — ${perSeed.length} seed(s) × ${args.runs} runs per property, ` +
      `${requests} generated requests in ${result.seconds} s; 5xx: ${
        Object.keys(answers)
          .filter((k) => k.startsWith('5'))
          .join(', ') || 'none'
      }; written to ${path.relative(process.cwd(), args.out)}\n`,
  );
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/fuzz: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
