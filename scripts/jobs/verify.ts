/**
 * `verify`: reconciles the bucket with the run manifests, then re-downloads objects and checks
 * their SHA-256.
 *
 * 1. Reconcile (every listed object, never sampled; scripts/lib/reconcile.ts): every version a
 *    manifest lists as uploaded still exists unless the lifecycle rule accounts for its removal;
 *    no listed name is hidden outside the rules; the current version of every backup name is one
 *    a run wrote (else `replaced`); every tf-state version is listed; no run manifest is hidden.
 * 2. Hash (all current objects, or `--sample N` of them): the downloaded SHA-256 equals the one
 *    the manifest recorded for that version, else the object's metadata. An object with no
 *    recorded hash anywhere fails unless `--allow-unverified`.
 *
 * 3. Freshness (scripts/lib/freshness.ts): each backup target's newest successful run (per
 *    database, provider, workspace name, audit-log name); with `--max-age` a target whose last
 *    success is older (or that never succeeded, or a `--job` that never ran) is stale, unless
 *    `--retired` names it.
 *
 * Exit 3 (integrity) when anything is missing, hidden, replaced, mismatched, unverifiable or
 * stale; exit 1 when a download failed for another reason.
 */
import { randomInt } from 'crypto';
import { Writable } from 'stream';
import { EXIT_FAILED, EXIT_INTEGRITY, messageOf, UsageError } from '../lib/errors';
import { downloadTo, listVersions, VersionEntry } from '../lib/objects';
import { describeLastSuccess, formatAge, Freshness, freshness, isRetired } from '../lib/freshness';
import {
  BACKUP_JOBS,
  describePreviousKeys,
  describeSignatures,
  jobForKey,
  readManifestIndex,
  RunRecord,
  versionRef,
} from '../lib/manifestIndex';
import { Finding, hiddenManifests, reconcile } from '../lib/reconcile';
import { table } from '../lib/reporter';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';
import { parseDuration } from '../lib/timeparse';
import { loadRules } from './prune';

export interface VerifyOptions {
  prefix?: string;
  sample?: number;
  /** Only manifests of runs newer than this age (e.g. 30d) promise objects to check. */
  since?: string;
  /** Count objects without a recorded checksum as unverified instead of failing. */
  allowUnverified?: boolean;
  /** Kept as an alias of the default (unverifiable objects fail). */
  strict?: boolean;
  /** Native lifecycle rules JSON when the S3 lifecycle call is unavailable. */
  rulesFile?: string;
  /** Do not fail when no run manifest lists anything in scope (a bucket before its first run). */
  allowEmpty?: boolean;
  /** Every job in scope must have a successful run no older than this (e.g. 26h). */
  maxAge?: string;
  /** The jobs whose freshness is judged (default: every job with a run in scope); each must have succeeded. */
  jobs?: string[];
  /** Targets deliberately decommissioned: their freshness is reported, never judged. */
  retired?: string[];
}

interface Check {
  key: string;
  versionId: string;
  size: number;
  expected?: string;
  actual?: string;
  source?: string;
  result: 'ok' | 'mismatch' | 'no-checksum' | 'error';
  error?: string;
}

const nullSink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

function sample<T>(items: T[], n: number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

async function hashCheck(
  ctx: JobContext,
  v: VersionEntry,
  expected: { sha256: string; source: string } | undefined,
): Promise<Check> {
  const c: Check = { key: v.key, versionId: v.versionId, size: v.size, result: 'ok' };
  try {
    const dl = await downloadTo(ctx.s3, ctx.policy, ctx.conn.bucket, v.key, v.versionId, nullSink());
    c.actual = dl.sha256;
    if (expected) {
      c.expected = expected.sha256;
      c.source = expected.source;
    } else if (dl.metadata.sha256) {
      c.expected = dl.metadata.sha256;
      c.source = 'metadata';
    }
    c.result = !c.expected ? 'no-checksum' : c.expected === c.actual ? 'ok' : 'mismatch';
  } catch (err) {
    c.result = 'error';
    c.error = messageOf(err);
  }
  return c;
}

function targetFreshness(opts: VerifyOptions, runs: RunRecord[], now: number): Freshness[] {
  const duration = (text: string | undefined, flag: string): { text: string; ms: number } | undefined =>
    text ? { text, ms: parseDuration(text, flag) } : undefined;
  return freshness({
    runs,
    now,
    maxAge: duration(opts.maxAge, '--max-age'),
    since: duration(opts.since, '--since'),
    prefix: opts.prefix,
    jobs: opts.jobs,
    retired: opts.retired,
  });
}

/** Notes about `--retired`: one that matches nothing in scope, one whose target runs again. */
function retiredNotes(opts: VerifyOptions, fresh: Freshness[]): string[] {
  const notes: string[] = [];
  for (const r of opts.retired ?? []) {
    if (!fresh.some((f) => f.target && isRetired(f.target, [r])))
      notes.push(`note: --retired ${r} matches no target in scope (nothing excluded)`);
  }
  if (opts.maxAge) {
    const ms = parseDuration(opts.maxAge, '--max-age');
    for (const f of fresh)
      if (f.retired && f.ageSeconds !== null && f.ageSeconds * 1000 <= ms)
        notes.push(
          `note: ${f.job} ${f.target} is --retired but succeeded ${formatAge(f.ageSeconds)} ago: if it is back in service, drop --retired so its freshness is judged again`,
        );
  }
  return notes;
}

function freshnessLines(opts: VerifyOptions, fresh: Freshness[]): string[] {
  if (!fresh.length)
    return ['last successful run: no backup job has a run in scope', ...retiredNotes(opts, fresh)];
  const last = `last successful run: ${fresh.map(describeLastSuccess).join(', ')}`;
  if (opts.maxAge === undefined && !opts.jobs?.length) return [last, ...retiredNotes(opts, fresh)];
  const rows = fresh.map((f) => [
    f.job,
    f.target ?? '-',
    f.lastSuccess ?? 'never',
    f.ageSeconds === null ? '-' : `${formatAge(f.ageSeconds)} ago`,
    f.failedSince,
    f.retired ? 'retired' : f.supersededBy ? 'replaced' : f.stale ? 'STALE' : 'fresh',
  ]);
  const stale = fresh.filter((f) => f.stale).length;
  return [
    ...table(
      [
        'job',
        'target',
        'last success',
        'age',
        'failed since',
        opts.maxAge ? `--max-age ${opts.maxAge}` : '--job',
      ],
      rows,
    ),
    `${last}; ${stale} stale`,
    ...retiredNotes(opts, fresh),
  ];
}

async function run(ctx: JobContext, opts: VerifyOptions): Promise<JobOutcome> {
  const now = ctx.clock.now();
  const sinceMs = opts.since ? now - parseDuration(opts.since, '--since') : undefined;
  const index = await readManifestIndex(ctx);
  const fresh = targetFreshness(opts, index.runs, now);
  const stale = fresh.filter((f) => f.stale);
  const { rules, source: rulesSource } = await loadRules(ctx, { rulesFile: opts.rulesFile });
  const all = await listVersions(ctx.s3, ctx.conn.bucket, opts.prefix ?? '');
  const versions = all.filter((v) => !v.key.startsWith('manifests/'));
  const rec = reconcile({ entries: index.entries, versions, rules, now, sinceMs, prefix: opts.prefix });
  const manifestVersions =
    (opts.prefix ?? '') === '' ? all : await listVersions(ctx.s3, ctx.conn.bucket, 'manifests/');
  // A manifest that is not trusted (signature does not verify, or unsigned after signing began)
  // may be a forgery listing a replacement: named here, and its objects were never "listed".
  const forged: Finding[] = index.untrusted.map((u) => ({
    key: u.key,
    problem: 'forged-manifest',
    detail: `${u.key}: ${u.reason}; what it lists is not trusted`,
  }));
  const findings: Finding[] = [...forged, ...hiddenManifests(manifestVersions, rules), ...rec.findings];
  const signatureLine = describeSignatures(index.signatures);
  const current = versions.filter((v) => v.isLatest && !v.deleteMarker);
  // Nothing promised and nothing stored is nothing verified: a wiped bucket (manifests included),
  // a wrong bucket or a mistyped --prefix must not read as healthy. (A job that stopped running
  // while its old objects remain is freshness's to judge, with --max-age.)
  const nothingListed = rec.checked - rec.expired === 0 && current.length === 0;
  if (findings.length === 0 && nothingListed && !opts.allowEmpty) {
    const scope = `${opts.prefix ? `under "${opts.prefix}"` : 'in the bucket'}${opts.since ? ` from runs of the last ${opts.since}` : ''}`;
    findings.push({
      key: opts.prefix ?? '',
      problem: 'nothing-listed',
      detail: `no run manifest lists a stored object ${scope} (${index.manifests} manifest(s) read): nothing here can be verified — wrong bucket or prefix, backups not running, or the manifests are gone; --allow-empty accepts this (e.g. before the first backup run)`,
    });
  }

  const chosen = opts.sample !== undefined ? sample(current, opts.sample) : current;
  const checks: Check[] = [];
  let bytes = 0;
  if (!ctx.dryRun) {
    for (const v of chosen) {
      const e = index.byVersion.get(versionRef(v.key, v.versionId));
      const c = await hashCheck(ctx, v, e ? { sha256: e.sha256, source: e.manifestKey } : undefined);
      if (c.result !== 'error') bytes += v.size;
      checks.push(c);
      ctx.reporter.progress('verify', checks.length, chosen.length, 'objects');
    }
  }
  const count = (r: Check['result']): number => checks.filter((c) => c.result === r).length;
  const hashBad = checks.filter(
    (c) => c.result === 'mismatch' || (c.result === 'no-checksum' && !opts.allowUnverified),
  );
  const errors = checks.filter((c) => c.result === 'error');
  const integrity = findings.length + hashBad.length + index.unreadable.length + stale.length;
  const problems = [
    ...stale.map((f) => f.problem!),
    ...findings.map((f) => `${f.key || '(bucket)'}${f.versionId ? ` (${f.versionId})` : ''}: ${f.problem}`),
    ...hashBad.map((c) => `${c.key} (${c.versionId}): ${c.result}`),
    ...index.unreadable.map((u) => `${u.key}: unreadable manifest (${u.error})`),
    ...errors.map((c) => `${c.key}: ${c.error}`),
  ];
  const ok = integrity === 0 && errors.length === 0;
  return {
    ok,
    failureExitCode: integrity > 0 ? EXIT_INTEGRITY : EXIT_FAILED,
    failureMessage: ok ? undefined : `${problems.length} problem(s): ${problems.join('; ')}`,
    summary: {
      manifests: index.manifests,
      lifecycleRules: rulesSource,
      listedVersionsChecked: rec.checked,
      expiredByLifecycle: rec.expired,
      findings,
      unreadableManifests: index.unreadable,
      signatures: { ...index.signatures, checked: index.signatures.keyId !== null },
      maxAge: opts.maxAge ?? null,
      retired: opts.retired ?? [],
      freshness: fresh,
      checked: checks.length,
      total: current.length,
      verified: count('ok'),
      mismatch: count('mismatch'),
      noChecksum: count('no-checksum'),
      errors: count('error'),
      ...(ctx.dryRun ? { wouldHash: chosen.map((v) => v.key) } : {}),
      checks,
    },
    human: [
      ...(findings.length
        ? table(
            ['key', 'version', 'problem', 'detail'],
            findings.map((f) => [f.key || '(bucket)', f.versionId ?? '-', f.problem, f.detail]),
          )
        : []),
      ...(checks.length
        ? table(
            ['key', 'result', 'checked against'],
            checks.map((c) => [c.key, c.result, c.source ?? '-']),
          )
        : []),
      `reconciled ${rec.checked} listed version(s) from ${index.manifests} manifest(s): ${findings.length} problem(s), ${rec.expired} removed by lifecycle as expected`,
      ...(signatureLine ? [signatureLine] : []),
      ...describePreviousKeys(index.signatures, 'in the bucket'),
      ctx.dryRun
        ? `would hash ${chosen.length} of ${current.length} objects`
        : `${count('ok')}/${checks.length} verified, ${count('mismatch')} mismatched, ${count('no-checksum')} without a recorded checksum${opts.allowUnverified ? ' (allowed)' : ''}, ${count('error')} errors`,
      ...freshnessLines(opts, fresh),
    ],
    bytes,
    objects: checks.length,
  };
}

export const verifyJob: JobDefinition<VerifyOptions> = {
  name: 'verify',
  purpose: 'restore-reader',
  writesManifest: false,
  readsManifests: true,
  validate: (o) => {
    if (o.sample !== undefined && (!Number.isInteger(o.sample) || o.sample < 1))
      throw new UsageError('--sample must be a positive integer');
    if (o.since) parseDuration(o.since, '--since');
    if (o.maxAge !== undefined && parseDuration(o.maxAge, '--max-age') <= 0)
      throw new UsageError(`--max-age must be longer than zero (got "${o.maxAge}"; e.g. 26h for daily jobs)`);
    for (const r of o.retired ?? [])
      if (!jobForKey(r) && !r.startsWith('audit-logs:'))
        throw new UsageError(
          `--retired "${r}": not a backup target — give it as verify names it, e.g. db/postgres/billing/, configs/gcp/, terraform-state/<name>/ or audit-logs:<name>`,
        );
    const unknown = (o.jobs ?? []).filter((j) => !BACKUP_JOBS.includes(j));
    if (unknown.length)
      throw new UsageError(
        `--job: unknown backup job ${unknown.map((j) => `"${j}"`).join(', ')} (backup jobs: ${BACKUP_JOBS.join(', ')})`,
      );
  },
  run,
};
