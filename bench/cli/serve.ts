/**
 * Starts one emulator with a bench bucket and key and prints the B2_* environment for the CLI as
 * shell `export` lines, then stays up until SIGTERM/SIGINT — for profiling one uploader by hand:
 *
 *   node bin/run-ts.js bench/cli/serve.ts > /tmp/emu.env &    # wait for the exports
 *   . /tmp/emu.env; node bench/cli/gen.js $((1<<30)) | node --cpu-prof bin/run-ts.js bench/cli/streamUpload.ts k
 *
 * Prints `EMULATOR_PID` too, so the emulator's CPU time can be read from /proc.
 */
import { createBucketAndKey } from '../../test/integration/cli/fixture';
import { startEmulator } from '../../test/helpers/emulator';

async function main(): Promise<void> {
  // BENCH_EMULATOR_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" profiles the emulator itself.
  const nodeArgs = process.env.BENCH_EMULATOR_NODE_FLAGS?.split(' ').filter(Boolean);
  const emu = await startEmulator({ readyTimeoutMs: 30_000, nodeArgs });
  const bucket = `ifb-bench-serve-${process.pid}`;
  const { keyId, applicationKey } = await createBucketAndKey(emu, bucket);
  const lines = {
    B2_S3_ENDPOINT: emu.url,
    B2_BUCKET: bucket,
    B2_KEY_ID: keyId,
    B2_APPLICATION_KEY: applicationKey,
    EMULATOR_PID: String(emu.proc.pid),
  };
  process.stdout.write(
    Object.entries(lines)
      .map(([k, v]) => `export ${k}='${v}'`)
      .join('\n') + '\n',
  );
  const stop = (): void => {
    void emu.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  setInterval(() => undefined, 1 << 30);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
