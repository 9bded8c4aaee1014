/**
 * `verify`: re-downloads current objects and checks their SHA-256 against the object's metadata,
 * or — for multipart objects, whose metadata cannot carry it — against the run manifests.
 * `--sample N` checks a random N (cheap daily check); default checks all.
 */
import { randomInt } from 'crypto';
import { Writable } from 'stream';
import { messageOf, UsageError } from '../lib/errors';
import { Manifest } from '../lib/manifest';
import { downloadTo, getBuffer, listKeys, listVersions } from '../lib/objects';
import { table } from '../lib/reporter';
import { JobContext, JobDefinition, JobOutcome } from '../lib/runner';

export interface VerifyOptions {
  prefix?: string;
  sample?: number;
  strict: boolean;
}

interface Check {
  key: string;
  versionId: string;
  size: number;
  expected?: string;
  actual?: string;
  source?: 'metadata' | 'manifest';
  result: 'ok' | 'mismatch' | 'no-checksum' | 'error';
  error?: string;
}

const nullSink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

/** (key, versionId) → sha256 from every manifest in the bucket. */
async function manifestIndex(ctx: JobContext): Promise<Map<string, string>> {
  const idx = new Map<string, string>();
  for (const m of await listKeys(ctx.s3, ctx.conn.bucket, 'manifests/')) {
    try {
      const doc = JSON.parse(
        (await getBuffer(ctx.s3, ctx.policy, ctx.conn.bucket, m.key)).body.toString('utf8'),
      ) as Manifest;
      for (const o of doc.objects ?? [])
        if (o.versionId && o.sha256 && o.status === 'uploaded') idx.set(`${o.key}\0${o.versionId}`, o.sha256);
    } catch (err) {
      ctx.reporter.note(`warning: unreadable manifest ${m.key}: ${messageOf(err)}`);
    }
  }
  return idx;
}

function sample<T>(items: T[], n: number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

async function run(ctx: JobContext, opts: VerifyOptions): Promise<JobOutcome> {
  const versions = (await listVersions(ctx.s3, ctx.conn.bucket, opts.prefix ?? '')).filter(
    (v) => v.isLatest && !v.deleteMarker && !v.key.startsWith('manifests/'),
  );
  const chosen = opts.sample !== undefined ? sample(versions, opts.sample) : versions;
  if (ctx.dryRun) {
    return {
      summary: { wouldCheck: chosen.map((v) => v.key) },
      human: [`would verify ${chosen.length} of ${versions.length} objects`],
      bytes: 0,
      objects: 0,
    };
  }
  let index: Map<string, string> | undefined;
  const checks: Check[] = [];
  let bytes = 0;
  for (const v of chosen) {
    const c: Check = { key: v.key, versionId: v.versionId, size: v.size, result: 'ok' };
    try {
      const dl = await downloadTo(ctx.s3, ctx.policy, ctx.conn.bucket, v.key, v.versionId, nullSink());
      bytes += dl.size;
      c.actual = dl.sha256;
      if (dl.metadata.sha256) {
        c.expected = dl.metadata.sha256;
        c.source = 'metadata';
      } else {
        index ??= await manifestIndex(ctx);
        c.expected = index.get(`${v.key}\0${v.versionId}`);
        c.source = c.expected ? 'manifest' : undefined;
      }
      c.result = !c.expected ? 'no-checksum' : c.expected === c.actual ? 'ok' : 'mismatch';
    } catch (err) {
      c.result = 'error';
      c.error = messageOf(err);
    }
    checks.push(c);
    ctx.reporter.progress('verify', checks.length, chosen.length, 'objects');
  }
  const count = (r: Check['result']): number => checks.filter((c) => c.result === r).length;
  const bad = checks.filter(
    (c) => c.result === 'mismatch' || c.result === 'error' || (opts.strict && c.result === 'no-checksum'),
  );
  return {
    ok: bad.length === 0,
    failureMessage: bad.length
      ? `${bad.length} object(s) failed verification: ${bad.map((c) => `${c.key} (${c.result})`).join(', ')}`
      : undefined,
    summary: {
      checked: checks.length,
      total: versions.length,
      verified: count('ok'),
      mismatch: count('mismatch'),
      noChecksum: count('no-checksum'),
      errors: count('error'),
      checks,
    },
    human: [
      ...table(
        ['key', 'result', 'checked against'],
        checks.map((c) => [c.key, c.result, c.source ?? '-']),
      ),
      `${count('ok')}/${checks.length} verified, ${count('mismatch')} mismatched, ${count('no-checksum')} without a recorded checksum, ${count('error')} errors`,
    ],
    bytes,
    objects: checks.length,
  };
}

export const verifyJob: JobDefinition<VerifyOptions> = {
  name: 'verify',
  purpose: 'restore-reader',
  writesManifest: false,
  validate: (o) => {
    if (o.sample !== undefined && (!Number.isInteger(o.sample) || o.sample < 1))
      throw new UsageError('--sample must be a positive integer');
  },
  run,
};
