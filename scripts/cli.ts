/**
 * `infrafabric-backup`: the backup jobs CLI (docs/architecture.md §5). Each command (its options, help and
 * the mapping to the job's options) lives in `scripts/commands/<name>.ts`; this file assembles
 * them, parses argv and maps the outcome to an exit code; each job is `run(opts, deps)` (docs/conventions.md §7). Exit codes: 0 ok,
 * 1 the job failed, 2 usage or refused before doing anything, 3 integrity failure (scripts/lib/errors.ts),
 * 130/143 interrupted.
 */
import { Command, CommanderError } from 'commander';
import { CliDeps, Exec } from './commands/common';
import { COMMANDS } from './commands';
import { InterruptedError, messageOf, UsageError } from './lib/errors';
import { Io } from './lib/reporter';
import { runJob, RunnerDeps } from './lib/runner';
import { readStackOutputs, readStackOutputsFile } from './lib/stackOutputs';
import { TOOL_NAME, TOOL_VERSION } from './lib/version';

export type { CliDeps } from './commands/common';

/**
 * Builds the program from the command modules in `scripts/commands/`; `exec` receives each parsed
 * command and returns its exit code.
 */
export function buildProgram(exec: Exec, deps: CliDeps): Command {
  const program = new Command(TOOL_NAME)
    .description("InfraFabric's backup jobs over Backblaze B2's S3-compatible API")
    .version(TOOL_VERSION)
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 the job failed, 2 usage or refused before doing anything, 3 integrity failure\n' +
        '(missing, hidden or replaced backup, SHA-256 mismatch, unverifiable object). See README "Backup jobs".',
    );
  let code = 0;
  for (const c of COMMANDS) c.attach(program, exec, deps, (n) => void (code = n));
  Object.defineProperty(program, 'lastExitCode', { get: () => code });
  return program;
}

/** Parses argv (without node and script), runs the job, returns the exit code. */
export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const io: Io = deps.io ?? { stdout: process.stdout, stderr: process.stderr, isTTY: !!process.stderr.isTTY };
  const env = deps.env ?? process.env;
  const runnerDeps = (resultToStderr: boolean): RunnerDeps => ({
    env,
    io: resultToStderr ? { ...io, stdout: io.stderr } : io,
    clock: deps.clock,
    retry: deps.retry,
    makeS3: deps.makeS3,
    signal: deps.signal,
    readStack: deps.readStack ?? ((s) => readStackOutputs(s)),
    readStackFile: deps.readStackFile ?? readStackOutputsFile,
  });
  const program = buildProgram((def, c, o, toStderr) => runJob(def, c, o, runnerDeps(!!toStderr)), deps);
  program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
  });
  for (const c of program.commands)
    c.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return (program as unknown as { lastExitCode: number }).lastExitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      return 2;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`error: ${messageOf(err)}\n`);
    return 1;
  }
}

/**
 * SIGTERM (Kubernetes activeDeadline, systemd stop, `timeout`) or Ctrl-C aborts the running job:
 * every retry wait ends, an upload in progress aborts its multipart upload, the manifest records
 * the run as failed, and the process exits 130 (SIGINT) or 143 (SIGTERM). Whatever is still
 * running 4.5 s after the signal (a hung request, an unresponsive endpoint) does not hold the
 * process: it exits then regardless, so nothing outlives a supervisor's grace period. A second
 * signal exits at once.
 */
export const INTERRUPT_GRACE_MS = 4_500;

function abortOnSignals(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    const reason = new InterruptedError(sig);
    if (controller.signal.aborted) process.exit(reason.exitCode);
    process.stderr.write(
      `received ${sig}: aborting uploads in flight, exiting within 5 s (again to exit at once)\n`,
    );
    controller.abort(reason);
    setTimeout(() => {
      process.stderr.write(`${sig}: clean-up did not finish in time; exiting now\n`);
      process.exit(reason.exitCode);
    }, INTERRUPT_GRACE_MS).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return controller.signal;
}

if (require.main === module || /infrafabric-backup(\.js)?$/.test(require.main?.filename ?? '')) {
  // The SDK warns on every run that releases after January 2027 need Node 22; the project pins
  // Node 20 (package.json engines) and the warning would fill every scheduled job's log. An
  // operator can still opt in by setting the variable to anything else.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // A reader that stops early (`--help | head`, `list | head`) closes stdout: the write fails with
  // EPIPE, which Node raises as an unhandled 'error' (a stack trace) unless someone listens. The
  // output is unwanted then, so it is dropped; a job streaming to stdout (`restore --to -`) still
  // sees the error through its own pipeline and fails by name (exit 1).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  main(process.argv.slice(2), { signal: abortOnSignals() }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`fatal: ${messageOf(err)}\n`);
      process.exitCode = 1;
    },
  );
}
