/**
 * `infrafabric-backup`: the backup jobs CLI (design.md §5). Flags and environment are parsed
 * here into an options object; each job is `run(opts, deps)` (style.md §7). Exit codes: 0 ok,
 * 1 the job failed, 2 usage (bad flags or missing configuration).
 */
import { Command, CommanderError, Option } from 'commander';
import { auditLogsJob } from './jobs/auditLogs';
import { costJob } from './jobs/cost';
import { dbDumpJob } from './jobs/dbDump';
import { dbRestoreJob } from './jobs/dbRestore';
import { drillJob } from './jobs/drill';
import { listJob } from './jobs/list';
import { pruneJob } from './jobs/prune';
import { restoreJob } from './jobs/restore';
import { PROVIDERS, snapshotConfigJob } from './jobs/snapshotConfig';
import { tfStateJob } from './jobs/tfState';
import { verifyJob } from './jobs/verify';
import { DEFAULT_KEY_ENV } from './lib/crypto';
import { ENGINES } from './lib/db';
import { JobError, messageOf, UsageError } from './lib/errors';
import { Io } from './lib/reporter';
import { CommonOptions, JobDefinition, runJob, RunnerDeps } from './lib/runner';
import { readStackOutputs, readStackOutputsFile } from './lib/stackOutputs';
import { TOOL_NAME, TOOL_VERSION } from './lib/version';

type Raw = Record<string, unknown>;

export interface CliDeps extends Partial<Omit<RunnerDeps, 'io' | 'env'>> {
  io?: Io;
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream;
}

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer (got "${v}")`);
    return n;
  };
}

function addCommon(cmd: Command, withProvider = true): Command {
  // snapshot-config declares its own (mandatory) --provider, which also picks the stack's bucket.
  if (withProvider) {
    cmd.option(
      '--provider <provider>',
      "which of the stack's buckets to use with --from-stack (aws, azure, gcp, multi)",
    );
  }
  return cmd
    .option('--bucket <name>', 'bucket (env B2_BUCKET)')
    .option(
      '--endpoint <url>',
      'S3 endpoint, e.g. https://s3.us-west-004.backblazeb2.com (env B2_S3_ENDPOINT)',
    )
    .option('--key-id <id>', 'application key id (env B2_KEY_ID)')
    .option('--application-key-file <path>', 'file holding the application key (else env B2_APPLICATION_KEY)')
    .option(
      '--region <region>',
      'S3 region (default: from the endpoint host, else env B2_REGION, else us-west-004)',
    )
    .option(
      '--from-stack <env>',
      'read bucket, endpoint and scoped key from `pulumi stack output` of this stack',
    )
    .option(
      '--stack-outputs <file>',
      'like --from-stack, from a saved `pulumi stack output --json --show-secrets` file',
    )
    .option(
      '--env <name>',
      'environment name for object metadata (default: env BACKUP_ENV, the stack, or dev)',
    )
    .option('--json', 'print the result as one JSON document on stdout', false)
    .option('--dry-run', 'show what would happen; write nothing', false)
    .option('--metrics-file <path>', 'write Prometheus textfile metrics (success, bytes, duration, retries)')
    .option('--no-progress', 'never draw progress, even on a TTY');
}

function common(raw: Raw, provider?: string): CommonOptions {
  return {
    bucket: raw.bucket as string | undefined,
    endpoint: raw.endpoint as string | undefined,
    keyId: raw.keyId as string | undefined,
    applicationKeyFile: raw.applicationKeyFile as string | undefined,
    region: raw.region as string | undefined,
    fromStack: raw.fromStack as string | undefined,
    stackOutputs: raw.stackOutputs as string | undefined,
    env: raw.env as string | undefined,
    provider: provider ?? (raw.provider as string | undefined),
    json: !!raw.json,
    dryRun: !!raw.dryRun,
    metricsFile: raw.metricsFile as string | undefined,
    progress: raw.progress !== false,
  };
}

function keyOptions(cmd: Command): Command {
  return cmd
    .option('--key-file <path>', 'AES-256 key file (32 bytes as base64 or hex)')
    .option('--key-env <name>', `environment variable holding the AES-256 key`, DEFAULT_KEY_ENV);
}

/** Builds the program; `exec` receives each parsed command and returns its exit code. */
export function buildProgram(
  exec: <O>(
    def: JobDefinition<O>,
    c: CommonOptions,
    o: O,
    redirectResultToStderr?: boolean,
  ) => Promise<number>,
  deps: CliDeps,
): Command {
  const program = new Command(TOOL_NAME)
    .description("InfraFabric's backup jobs over Backblaze B2's S3-compatible API")
    .version(TOOL_VERSION)
    .showHelpAfterError()
    .exitOverride();

  const sub = (name: string, description: string): Command =>
    addCommon(program.command(name).description(description).exitOverride(), name !== 'snapshot-config');
  let code = 0;
  const set = (p: Promise<number>): Promise<void> => p.then((c) => void (code = c));

  sub(
    'snapshot-config',
    'upload a cloud configuration export (JSON/YAML file, stdin, or a directory as tar.gz) to configs/<provider>/<date>/',
  )
    .addOption(
      new Option('--provider <provider>', 'cloud the configuration belongs to')
        .choices([...PROVIDERS])
        .makeOptionMandatory(),
    )
    .requiredOption('--from <file|dir|->', 'file, directory, or - for stdin')
    .option('--name <name>', 'object file name (default: the file name, <dir>.tar.gz, or config.<json|yaml>)')
    .option('--force', 'upload even if identical to the newest snapshot', false)
    .action((raw: Raw) =>
      set(
        exec(snapshotConfigJob, common(raw), {
          provider: raw.provider as never,
          from: raw.from as string,
          name: raw.name as string | undefined,
          force: !!raw.force,
          stdin: deps.stdin,
        }),
      ),
    );

  keyOptions(
    sub(
      'tf-state',
      'encrypt (AES-256-GCM, client side) and upload Terraform state or a Pulumi export to terraform-state/',
    )
      .option('--file <state>', 'a terraform.tfstate or a `pulumi stack export` file')
      .option('--workspace <dir>', 'a Terraform working directory (all workspaces)')
      .option('--name <name>', 'name under terraform-state/ (default: the directory name)'),
  ).action((raw: Raw) =>
    set(
      exec(tfStateJob, common(raw), {
        file: raw.file as string | undefined,
        workspace: raw.workspace as string | undefined,
        name: raw.name as string | undefined,
        keyFile: raw.keyFile as string | undefined,
        keyEnv: raw.keyEnv as string,
      }),
    ),
  );

  sub('audit-logs', 'incrementally upload new and grown log files, gzipped, to audit-logs/YYYY/MM/DD/')
    .requiredOption('--dir <dir>', 'log directory')
    .option('--name <name>', 'source name for the state object (default: the directory name)')
    .option(
      '--state-file <path>',
      'keep the incremental state in a local file instead of state/audit-logs/<name>.json',
    )
    .option('--concurrency <n>', 'uploads in parallel', int('--concurrency'), 8)
    .action((raw: Raw) =>
      set(
        exec(auditLogsJob, common(raw), {
          dir: raw.dir as string,
          name: raw.name as string | undefined,
          stateFile: raw.stateFile as string | undefined,
          concurrency: raw.concurrency as number,
        }),
      ),
    );

  sub('db-dump', 'stream pg_dump -Fc / mysqldump --single-transaction through gzip into a multipart upload')
    .addOption(new Option('--engine <engine>', 'database engine').choices([...ENGINES]).makeOptionMandatory())
    .requiredOption(
      '--url <url>',
      'connection URL, e.g. postgres://user:pass@host:5432/db (password goes to the tool via env, never argv)',
    )
    .option(
      '--part-size <size>',
      'first multipart part size (default 16MiB, doubling every 2,000 parts; min 5MiB)',
    )
    .option(
      '--expected-size <size>',
      'expected dump size, to grow parts so the upload stays under 10,000 parts',
    )
    .option('--concurrency <n>', 'parts uploading at once (memory holds n+1 parts)', int('--concurrency'), 4)
    .option('--compression-level <n>', 'gzip level 0-9', int('--compression-level'), 6)
    .action((raw: Raw) =>
      set(
        exec(dbDumpJob, common(raw), {
          engine: raw.engine as never,
          url: raw.url as string,
          partSize: raw.partSize as string | undefined,
          expectedSize: raw.expectedSize as string | undefined,
          concurrency: raw.concurrency as number,
          compressionLevel: raw.compressionLevel as number,
        }),
      ),
    );

  sub('db-restore', 'restore a db-dump (newest, --key/--version-id, or --at a point in time) into a database')
    .addOption(new Option('--engine <engine>', 'database engine').choices([...ENGINES]).makeOptionMandatory())
    .requiredOption('--url <url>', 'target database URL (the database must exist)')
    .option('--key <key>', 'dump object key (default: the newest dump of the target database name)')
    .option('--version-id <id>', 'exact version')
    .option('--at <time>', 'newest version at or before this time (ISO 8601 or an age like 2d)')
    .option('--database <name>', 'source database name to pick the newest dump of (default: the target name)')
    .action((raw: Raw) =>
      set(
        exec(dbRestoreJob, common(raw), {
          engine: raw.engine as never,
          url: raw.url as string,
          key: raw.key as string | undefined,
          versionId: raw.versionId as string | undefined,
          at: raw.at as string | undefined,
          database: raw.database as string | undefined,
        }),
      ),
    );

  sub(
    'drill',
    'restore the newest dump into a scratch database and check row counts and checksums; reports RTO',
  )
    .addOption(new Option('--engine <engine>', 'database engine').choices([...ENGINES]).makeOptionMandatory())
    .requiredOption('--scratch-url <url>', 'admin URL of the server to create the scratch database on')
    .option('--database <name>', 'only dumps of this source database')
    .option('--keep', 'keep the scratch database', false)
    .action((raw: Raw) =>
      set(
        exec(drillJob, common(raw), {
          engine: raw.engine as never,
          scratchUrl: raw.scratchUrl as string,
          database: raw.database as string | undefined,
          keep: !!raw.keep,
        }),
      ),
    );

  sub('list', 'list versions and hide markers')
    .option('--prefix <prefix>', 'key prefix')
    .option('--since <age>', 'only versions newer than this age, e.g. 30d')
    .action((raw: Raw) =>
      set(
        exec(listJob, common(raw), {
          prefix: raw.prefix as string | undefined,
          since: raw.since as string | undefined,
        }),
      ),
    );

  keyOptions(
    sub('restore', 'download one object version (by --version-id, --at time, or current) to a file or stdout')
      .requiredOption('--key <key>', 'object key')
      .option('--version-id <id>', 'exact version')
      .option('--at <time>', 'newest version at or before this time (ISO 8601 or an age like 2d)')
      .requiredOption('--to <path|->', 'destination file, or - for stdout')
      .option('--decrypt', 'decrypt a tf-state object with --key-file / --key-env', false),
  ).action((raw: Raw) =>
    set(
      exec(
        restoreJob,
        common(raw),
        {
          key: raw.key as string,
          versionId: raw.versionId as string | undefined,
          at: raw.at as string | undefined,
          to: raw.to as string,
          decrypt: !!raw.decrypt,
          keyFile: raw.keyFile as string | undefined,
          keyEnv: raw.keyEnv as string,
          stdout: deps.io?.stdout,
        },
        raw.to === '-',
      ),
    ),
  );

  sub('verify', 're-download current objects and check SHA-256 against metadata or run manifests')
    .option('--prefix <prefix>', 'key prefix')
    .option('--sample <n>', 'check a random sample of n objects', int('--sample'))
    .option('--strict', 'also fail on objects without a recorded checksum', false)
    .action((raw: Raw) =>
      set(
        exec(verifyJob, common(raw), {
          prefix: raw.prefix as string | undefined,
          sample: raw.sample as number | undefined,
          strict: !!raw.strict,
        }),
      ),
    );

  sub('prune', 'report what the lifecycle rules will hide and delete, and when (never deletes)')
    .option('--report', 'print the report (required: B2 lifecycle does the deleting)', false)
    .option('--prefix <prefix>', 'key prefix')
    .option('--within <age>', 'only actions due within this time, e.g. 30d')
    .option('--rules <file>', 'native lifecycle rules JSON, when the S3 lifecycle call is unavailable')
    .action((raw: Raw) =>
      set(
        exec(pruneJob, common(raw), {
          report: !!raw.report,
          prefix: raw.prefix as string | undefined,
          within: raw.within as string | undefined,
          rulesFile: raw.rules as string | undefined,
        }),
      ),
    );

  sub('cost', 'storage by bucket/prefix, B2 vs S3 Standard monthly cost, egress vs the 3x free allowance')
    .option('--buckets <names>', 'comma-separated buckets (default: --bucket)', (v: string) =>
      v.split(',').filter(Boolean),
    )
    .option('--all-buckets', 'every bucket the key can list', false)
    .option('--egress-per-month <size>', 'expected monthly download, e.g. 500GB')
    .option(
      '--growth-per-month <size>',
      'monthly growth for the projection (default: bytes uploaded in the last 30 days)',
    )
    .option('--months <n>', 'projection length', int('--months'), 12)
    .option('--prices <file>', 'JSON overriding the default price table')
    .option('--html <file>', 'write an HTML report with an inline SVG chart')
    .option('--fail-on-alert', 'exit 1 when egress passes 2.5x the stored amount', false)
    .action((raw: Raw) =>
      set(
        exec(costJob, common(raw), {
          buckets: raw.buckets as string[] | undefined,
          allBuckets: !!raw.allBuckets,
          egressPerMonth: raw.egressPerMonth as string | undefined,
          growthPerMonth: raw.growthPerMonth as string | undefined,
          months: raw.months as number,
          pricesFile: raw.prices as string | undefined,
          html: raw.html as string | undefined,
          failOnAlert: !!raw.failOnAlert,
        }),
      ),
    );

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
 * SIGTERM (Kubernetes activeDeadline, systemd stop) or Ctrl-C aborts the running job: an upload in
 * progress aborts its multipart upload and the manifest records the run as failed. A second
 * signal exits at once.
 */
function abortOnSignals(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`received ${sig}: aborting (again to exit at once)\n`);
    controller.abort(new JobError(`interrupted by ${sig}`));
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
