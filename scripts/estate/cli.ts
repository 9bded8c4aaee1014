/**
 * `npm run estate -- <preview|up|drift> --stack <name>…` — the estate pipeline's steps
 * (deploy/github-actions/estate.yml calls only these), runnable anywhere with the same environment:
 *
 *   preview  `pulumi preview` with the policy pack for each stack; summary (changes per resource
 *            type, policy violations, replacements/deletions with buckets highlighted); exit 1 on a
 *            mandatory violation, a failed preview, or a bucket delete/replace without
 *            --allow-bucket-replace (the PR label `allow-bucket-replace`), or a stack whose
 *            committed config sets `disposable: true` (unprotected buckets) without that label.
 *   up       `pulumi up` with the policy pack, one stack; exit 1 when it fails.
 *   drift    `pulumi refresh --preview-only` per stack; exit 1 naming each drifted resource and
 *            property (a resource deleted outside Pulumi counts).
 *
 * The markdown summary is appended to --summary-file (default $GITHUB_STEP_SUMMARY, else none) and
 * printed on stdout (--json prints the reports instead). Exit codes: 0 ok, 1 gate failed, 2 usage.
 * Secrets: only from the environment (README "GitOps"); nothing here prints or stores one.
 */
import type { EngineEvent } from '@pulumi/pulumi/automation';
import { Command, CommanderError, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { EstateError, eventCollector, openEstateStack } from './engine';
import { REPO_ROOT } from '../start/pulumi';
import {
  StackReport,
  disposableInStackFile,
  driftFromEvents,
  gateReasons,
  renderMarkdown,
  reportFromEvents,
} from './summary';

interface CommonOpts {
  stack: string[];
  configDir?: string;
  workDir?: string;
  summaryFile?: string;
  json: boolean;
  allowBucketReplace: boolean;
}

const log = (line: string) => process.stderr.write(`[estate] ${line}\n`);

/** The engine's error text without the Automation API's wrapper (its own stdout/stderr tails). */
function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .split('\n')
    .filter((l) => !/^\s*(code|err\?|stdout|stderr):\s*$/.test(l))
    .slice(-40)
    .join('\n');
}

async function runOne(kind: Kind, stackName: string, o: CommonOpts): Promise<StackReport> {
  const es = await openEstateStack({
    stack: stackName,
    configDir: o.configDir,
    workDir: o.workDir && path.join(o.workDir, stackName),
  });
  const { events, onEvent } = eventCollector();
  let error: string | undefined;
  const started = Date.now();
  try {
    if (kind === 'preview') await es.stack.preview({ policyPacks: es.policyPacks, onEvent, diff: true });
    else if (kind === 'up')
      await es.stack.up({ policyPacks: es.policyPacks, onEvent, onOutput: (s) => process.stderr.write(s) });
    else await es.stack.previewRefresh({ onEvent });
  } catch (e) {
    error = errorText(e);
  }
  const report =
    kind === 'drift'
      ? driftFromEvents(stackName, events as EngineEvent[])
      : reportFromEvents(stackName, kind, events);
  if (error) report.error = error;
  if (kind === 'preview') {
    const stackFile = path.join(o.configDir ?? REPO_ROOT, `Pulumi.${stackName}.yaml`);
    if (disposableInStackFile(fs.readFileSync(stackFile, 'utf8'))) report.disposable = true;
  }
  log(`${kind} ${stackName}: ${((Date.now() - started) / 1000).toFixed(1)} s${error ? ' (failed)' : ''}`);
  return report;
}

async function execute(kind: Kind, o: CommonOpts): Promise<number> {
  if (o.stack.length === 0) throw new EstateError('name at least one stack with --stack <name>');
  if (kind === 'up' && o.stack.length !== 1)
    throw new EstateError(
      'up takes exactly one --stack (the pipeline promotes dev → staging → prod one job each)',
    );
  const reports: StackReport[] = [];
  for (const s of o.stack) reports.push(await runOne(kind, s, o));
  const gate = { allowBucketReplace: o.allowBucketReplace || kind !== 'preview' };
  const md = renderMarkdown(reports, gate);
  const summaryFile = o.summaryFile ?? process.env.GITHUB_STEP_SUMMARY;
  if (summaryFile) fs.appendFileSync(summaryFile, md);
  process.stdout.write(o.json ? JSON.stringify(reports, null, 2) + '\n' : md);
  const reasons = reports.flatMap((r) => gateReasons(r, gate));
  for (const r of reasons) log(`FAIL ${r}`);
  return reasons.length ? 1 : 0;
}

type Kind = 'preview' | 'up' | 'drift';

async function main(argv: string[]): Promise<void> {
  let chosen: { kind: Kind; opts: CommonOpts } | undefined;
  const root = new Command('estate')
    .description('The estate pipeline steps: preview (PR), up (merge), drift (nightly)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const sub = (kind: Kind, description: string) =>
    root
      .command(kind)
      .description(description)
      .option(
        '--stack <name>',
        'stack to act on (repeatable)',
        (v: string, acc: string[]) => [...acc, v],
        [] as string[],
      )
      .option(
        '--config-dir <dir>',
        'directory holding Pulumi.<stack>.yaml (default: $ESTATE_CONFIG_DIR, else the repository)',
      )
      .option(
        '--work-dir <dir>',
        'working copies of the stacks (default: $ESTATE_WORK_DIR, else .cache/estate)',
      )
      .option('--summary-file <file>', 'append the markdown summary here (default: $GITHUB_STEP_SUMMARY)')
      .addOption(new Option('--json', 'print the reports as JSON on stdout').default(false))
      .option(
        '--allow-bucket-replace',
        'preview: do not fail on a planned bucket delete/replace (PR label allow-bucket-replace)',
        false,
      )
      .addOption(
        new Option(
          '--allow-bucket-replace-if <bool>',
          'the same, when the value is "true" (the workflow passes the label check)',
        ).choices(['true', 'false', '']),
      )
      .action((opts: CommonOpts & { allowBucketReplaceIf?: string }) => {
        chosen = {
          kind,
          opts: {
            ...opts,
            allowBucketReplace: opts.allowBucketReplace || opts.allowBucketReplaceIf === 'true',
            configDir: opts.configDir ?? (process.env.ESTATE_CONFIG_DIR || undefined),
            workDir: opts.workDir ?? (process.env.ESTATE_WORK_DIR || undefined),
          },
        };
      });
  sub('preview', 'preview every stack with the policy pack and gate the PR');
  sub('up', 'pulumi up one stack with the policy pack');
  sub('drift', 'refresh --preview-only: fail naming each drifted resource and property');
  try {
    root.parse(argv, { from: 'user' });
  } catch (e) {
    process.exit((e as CommanderError).exitCode === 0 ? 0 : 2);
  }
  if (!chosen) {
    root.outputHelp();
    process.exit(2);
  }
  process.exit(await execute(chosen.kind, chosen.opts));
}

if (require.main === module || process.argv[1] === __filename) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`estate: ${e instanceof EstateError ? e.message : errorText(e)}\n`);
    process.exit(e instanceof EstateError ? 2 : 1);
  });
}

export { execute };
