/** `verify`: reconcile the bucket with the run manifests and check SHA-256s. */
import { VerifyOptions, verifyJob } from '../jobs/verify';
import { BACKUP_JOBS } from '../lib/manifestIndex';
import { defineCommand, int, str } from './common';

export const verifyCommand = defineCommand<VerifyOptions>({
  name: 'verify',
  description:
    'check that everything the run manifests list still exists, unhidden and not replaced (lifecycle expiry allowed), then re-download objects and check their SHA-256; with --max-age, that every backup target (each database, provider, workspace name, audit-log name) has succeeded recently; with the manifest signing key (BACKUP_MANIFEST_KEY), a run manifest whose signature does not verify (or unsigned, uploaded after signing began) is named as forged and lists nothing; exit 3 on any integrity problem',
  job: verifyJob,
  define: (cmd) =>
    cmd
      .option(
        '--prefix <prefix>',
        'only objects under this key prefix; freshness judges the targets under it (e.g. db/postgres/)',
      )
      .option(
        '--sample <n>',
        'hash a random sample of n current objects (existence is still checked for every listed object)',
        int('--sample'),
      )
      .option(
        '--since <age>',
        'only objects listed by runs newer than this age, e.g. 30d (default: all); a target with no run at all that recent is out of --max-age scope',
      )
      .option(
        '--allow-unverified',
        'do not fail on objects with no recorded checksum anywhere (default: they fail)',
        false,
      )
      .option(
        '--allow-empty',
        'do not fail when no run manifest lists any stored object in scope (default: fail, exit 3)',
        false,
      )
      .option(
        '--max-age <age>',
        'fail (exit 3) every backup target in scope (db/<engine>/<database>/, configs/<provider>/, terraform-state/<name>/, audit-logs:<name>) whose newest successful run is older than this, e.g. 26h for daily jobs (90m, 12h, 8d, 2w); scheduled verifies should set it: old backups keep verifying after a job stops running for one database',
      )
      .option(
        '--job <name>',
        `judge the freshness of this job's targets instead of every target with a run in scope; each must have a successful run, and a job with no run at all is stale (repeatable; ${BACKUP_JOBS.join(', ')})`,
        (v: string, prev?: string[]) => [...(prev ?? []), v],
      )
      .option(
        '--retired <target>',
        'a target deliberately decommissioned, as verify names it (e.g. db/postgres/billing/; a prefix ending in / covers every target under it): its freshness is no longer judged; its old backups still verify (repeatable)',
        (v: string, prev?: string[]) => [...(prev ?? []), v],
      )
      .option('--strict', 'kept for old scripts: the default already fails unverifiable objects', false)
      .option('--rules <file>', 'native lifecycle rules JSON, when the S3 lifecycle call is unavailable'),
  options: (raw) => ({
    prefix: str(raw, 'prefix'),
    sample: raw.sample as number | undefined,
    since: str(raw, 'since'),
    allowUnverified: !!raw.allowUnverified,
    allowEmpty: !!raw.allowEmpty,
    strict: !!raw.strict,
    rulesFile: str(raw, 'rules'),
    maxAge: str(raw, 'maxAge'),
    jobs: raw.job as string[] | undefined,
    retired: raw.retired as string[] | undefined,
  }),
});
