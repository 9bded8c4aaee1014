/**
 * `b2-local`: the local B2 emulator (docs/architecture.md §4). Prints one JSON ready line on stdout, then
 * logs only to stderr. Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { Command, CommanderError, Option } from 'commander';
import * as path from 'path';
import { startEmulator } from './server';

const REGION_RE = /^[a-z]+-[a-z]+-\d{3}$/;

function fail(message: string, code: number): never {
  process.stderr.write(`b2-local: ${message}\n`);
  process.exit(code);
}

function parseIntArg(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new CommanderError(2, 'b2-local.usage', `${name} must be an integer ${min}-${max}, got "${v}"`);
    return Number(v);
  };
}

async function main(): Promise<void> {
  const program = new Command('b2-local')
    .description('Local Backblaze B2 emulator: native API v1-v4 and the S3-compatible API on 127.0.0.1')
    .addOption(
      new Option('--port <n>', 'port of the first region (0 = ephemeral; region i gets n+i)')
        .argParser(parseIntArg('--port', 0, 65535))
        .default(0),
    )
    .addOption(new Option('--data <dir>', 'durable data directory (default .b2-local)').conflicts('memory'))
    .addOption(new Option('--memory', 'keep everything in memory (nothing survives exit)').conflicts('data'))
    .option(
      '--region <name>',
      'a region (= its own account, on its own port); repeat for more (default us-west-004)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .addOption(
      new Option(
        '--rate-limit <rps>',
        'answer 429 (native) / 503 SlowDown (S3) above this many calls per second per region',
      ).argParser(parseIntArg('--rate-limit', 1, 1_000_000)),
    )
    .addOption(
      new Option(
        '--idle-timeout <seconds>',
        'answer a request whose body sends nothing for this long with a timeout error (0 = never)',
      )
        .argParser(parseIntArg('--idle-timeout', 0, 86_400))
        .default(60),
    )
    .addOption(
      new Option(
        '--request-timeout <seconds>',
        'a request body must arrive completely within this time (0 = no limit)',
      )
        .argParser(parseIntArg('--request-timeout', 0, 604_800))
        .default(900),
    )
    .addHelpText(
      'after',
      "\nEnvironment: B2_LOCAL_KEY_ID / B2_LOCAL_APPLICATION_KEY fix the first region's master credentials;\n" +
        'B2_LOCAL_ADMIN_TOKEN fixes the admin token.\n',
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  try {
    program.parse(process.argv);
  } catch (e) {
    const err = e as CommanderError;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
      process.exit(0);
    if (err.code === 'b2-local.usage') fail(err.message, 2);
    process.exit(2);
  }
  if (program.args.length) fail(`unexpected argument(s): ${program.args.join(' ')} (see --help)`, 2);
  const o = program.opts<{
    port: number;
    data?: string;
    memory?: boolean;
    region: string[];
    rateLimit?: number;
    idleTimeout: number;
    requestTimeout: number;
  }>();
  const regions = o.region.length ? o.region : ['us-west-004'];
  for (const r of regions)
    if (!REGION_RE.test(r)) fail(`--region "${r}" is not a region name like us-west-004`, 2);
  if (new Set(regions).size !== regions.length) fail('--region values must be distinct', 2);
  const keyId = process.env.B2_LOCAL_KEY_ID;
  const key = process.env.B2_LOCAL_APPLICATION_KEY;
  if ((keyId && !key) || (!keyId && key))
    fail('set both B2_LOCAL_KEY_ID and B2_LOCAL_APPLICATION_KEY, or neither', 2);

  // signal handlers go in before the ready line: a SIGTERM right after it must still exit 0
  const running: { emu?: Awaited<ReturnType<typeof startEmulator>> } = {};
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    process.stderr.write(`[b2-local] ${signal}: shutting down\n`);
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    if (!running.emu) process.exit(0);
    running.emu.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const emu = await startEmulator({
    port: o.port,
    dataDir: o.memory ? undefined : path.resolve(o.data ?? '.b2-local'),
    regions,
    rateLimit: o.rateLimit,
    timeouts: { idleMs: o.idleTimeout * 1000, totalMs: o.requestTimeout * 1000 },
    masterKeyId: keyId || undefined,
    masterKey: key || undefined,
  });
  running.emu = emu;
  if (closing) {
    await emu.close();
    process.exit(0);
  }
  process.stdout.write(JSON.stringify(emu.ready) + '\n');
  process.stderr.write(
    `[b2-local] ready: ${emu.regions.map((r) => `${r.region} ${r.url}`).join(', ')} (${o.memory ? 'memory' : 'data ' + path.resolve(o.data ?? '.b2-local')})\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`b2-local: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
});
