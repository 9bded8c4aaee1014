/**
 * Fuzzing b2-local in `npm test` (issue 12): every generated malformed request gets a success or a
 * named 4xx, never a 5xx or a reset, and the server answers normally afterwards
 * (test/fuzz/emulatorFuzz.ts). Fixed seed by default; FUZZ_SEED picks another, FUZZ_RUNS scales
 * the runs per property, FUZZ_ONLY=<property> narrows to one. Bounded: 100 runs per property, about 12 s on an idle 2-core machine.
 * Longer runs: `node bin/run-ts.js bench/fuzz/run.ts` (bench/README.md).
 */
import { startS3Env, S3Env } from '../conformance/wire/s3helpers';
import { FuzzTarget, fuzzOptionsFromEnv, prepareTarget, runFuzz } from './emulatorFuzz';

let env: S3Env;
let target: FuzzTarget;
const opts = fuzzOptionsFromEnv(100);

beforeAll(async () => {
  env = await startS3Env();
  target = await prepareTarget(env);
});
afterAll(async () => {
  await env?.stop();
});

test(`fuzz: named 4xx or success for every generated request (seed ${opts.seed}, ${opts.runs} runs per property)`, async () => {
  process.stderr.write(
    `[fuzz] seed ${opts.seed}, ${opts.runs} runs per property (FUZZ_SEED / FUZZ_RUNS to change)\n`,
  );
  try {
    const results = await runFuzz(target, opts);
    expect(results.length).toBeGreaterThan(0);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nemulator log tail:\n${env.emu.logs().slice(-3000)}`, {
      cause: e,
    });
  }
  expect(env.emu.proc.exitCode).toBeNull();
  expect(env.emu.logs()).not.toMatch(/internal error/);
}, 120_000);
