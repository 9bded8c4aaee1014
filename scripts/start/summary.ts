/**
 * What `npm start` reports at the end: the live estate read back from the emulator's native API
 * with each account's master key (not from the Pulumi state, so the summary shows what B2 holds).
 * Key ids only — never a secret.
 */
import { B2Client } from '../../infra/b2';
import type { ReadyLine } from './localEmulator';

export interface BucketSummary {
  region: string;
  name: string;
  id: string;
  lifecycle: string[];
  replication: string | null;
  objects: number;
  /** replicationStatus → count, over current file versions. */
  replicationStatus: Record<string, number>;
}

export interface KeySummary {
  region: string;
  keyId: string;
  keyName: string;
  capabilities: string[];
  buckets: string[];
}

export interface EstateSummary {
  buckets: BucketSummary[];
  keys: KeySummary[];
}

function describeRule(r: {
  fileNamePrefix: string;
  daysFromUploadingToHiding: number | null;
  daysFromHidingToDeleting: number | null;
}): string {
  const hide = r.daysFromUploadingToHiding === null ? 'never hidden' : `hide ${r.daysFromUploadingToHiding}d`;
  const del =
    r.daysFromHidingToDeleting === null ? 'kept' : `delete ${r.daysFromHidingToDeleting}d after hidden`;
  return `${r.fileNamePrefix || '(all)'}: ${hide}, ${del}`;
}

/** Reads buckets, keys and objects of every region. */
export async function collectEstate(ready: ReadyLine): Promise<EstateSummary> {
  const buckets: BucketSummary[] = [];
  const keys: KeySummary[] = [];
  const names = new Map<string, string>();
  for (const region of ready.regions) {
    const client = new B2Client({
      applicationKeyId: region.keyId,
      applicationKey: region.applicationKey,
      realmUrl: region.url,
    });
    for (const b of await client.listBuckets()) {
      names.set(b.bucketId, b.bucketName);
      const rep = b.replicationConfiguration?.value;
      const rules = rep?.asReplicationSource?.replicationRules ?? [];
      const replication = rules.length
        ? rules.map((r) => `source of ${r.replicationRuleName} → ${r.destinationBucketId}`).join('; ')
        : rep?.asReplicationDestination
          ? 'replication destination'
          : null;
      let objects = 0;
      const replicationStatus: Record<string, number> = {};
      for await (const f of client.listFileNames({ bucketId: b.bucketId })) {
        objects++;
        const s = (f.replicationStatus ?? 'none').toString().toUpperCase();
        replicationStatus[s] = (replicationStatus[s] ?? 0) + 1;
      }
      buckets.push({
        region: region.region,
        name: b.bucketName,
        id: b.bucketId,
        lifecycle: b.lifecycleRules.map(describeRule),
        replication,
        objects,
        replicationStatus,
      });
    }
    for await (const k of client.listKeys()) {
      const ids = k.bucketIds ?? (k.bucketId ? [k.bucketId] : []);
      keys.push({
        region: region.region,
        keyId: k.applicationKeyId,
        keyName: k.keyName,
        capabilities: [...k.capabilities].sort(),
        buckets: ids,
      });
    }
  }
  for (const k of keys) k.buckets = k.buckets.map((id) => names.get(id) ?? id);
  for (const b of buckets)
    if (b.replication)
      b.replication = b.replication.replace(/→ (\w+)/g, (_m, id: string) => `→ ${names.get(id) ?? id}`);
  buckets.sort((a, b) => a.region.localeCompare(b.region) || a.name.localeCompare(b.name));
  keys.sort((a, b) => a.region.localeCompare(b.region) || a.keyName.localeCompare(b.keyName));
  return { buckets, keys };
}

export interface RunFacts {
  stack: string;
  backend: string;
  pulumiUp: Record<string, number>;
  converged: boolean;
  sample?: { key: string; uploaded: boolean; verified: number; writerKeyId: string; readerKeyId: string };
  replicationRun: unknown;
  /** Stack output `smokeTest` (provider → time of the last passing key smoke test), when on. */
  smokeTest?: Record<string, string>;
  wallSeconds: number;
  emulator: { urls: string[]; kept: boolean; reused: boolean };
}

/** Human summary (stdout). */
export function formatSummary(estate: EstateSummary, facts: RunFacts): string {
  const out: string[] = [];
  const counts =
    Object.entries(facts.pulumiUp)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'no output';
  out.push(`Local backup estate — stack "${facts.stack}" (state ${facts.backend})`);
  out.push(
    `  pulumi up: ${counts}; second look (preview --expect-no-changes): ${facts.converged ? 'no changes' : 'CHANGES PENDING'}`,
  );
  out.push('  buckets:');
  for (const b of estate.buckets) {
    const status = Object.entries(b.replicationStatus)
      .map(([s, n]) => `${n} ${s.toLowerCase()}`)
      .join(', ');
    out.push(
      `    ${b.region.padEnd(15)} ${b.name} (${b.id}) — ${b.objects} object(s)${status ? ` [${status}]` : ''}`,
    );
    if (b.replication) out.push(`    ${''.padEnd(15)}   replication: ${b.replication}`);
  }
  const lifecycleSets = new Map<string, string[]>();
  for (const b of estate.buckets) {
    const k = b.lifecycle.join(' | ') || '(none)';
    lifecycleSets.set(k, [...(lifecycleSets.get(k) ?? []), b.name]);
  }
  out.push('  lifecycle:');
  for (const [rules, names] of lifecycleSets) {
    out.push(`    ${names.length} bucket(s): ${rules}`);
  }
  out.push('  keys (ids only):');
  for (const k of estate.keys) {
    const scope = k.buckets.length ? k.buckets.join(',') : 'account-wide';
    out.push(`    ${k.region.padEnd(15)} ${k.keyId} ${k.keyName} on ${scope}: ${k.capabilities.join(',')}`);
  }
  if (facts.sample) {
    const s = facts.sample;
    out.push(
      `  sample backup: ${s.key} ${s.uploaded ? 'uploaded' : 'unchanged'} with writer key ${s.writerKeyId}; restored + ${s.verified} verified with reader key ${s.readerKeyId}`,
    );
  }
  if (facts.smokeTest && Object.keys(facts.smokeTest).length) {
    const runs = Object.entries(facts.smokeTest)
      .map(([p, at]) => `${p} ${at}`)
      .join(', ');
    out.push(
      `  key smoke test (writer uploads, cannot delete; reader reads, cannot write): passed — ${runs}`,
    );
  }
  out.push(`  replication run: ${JSON.stringify(facts.replicationRun)}`);
  out.push(
    `  emulator: ${facts.emulator.urls.join(', ')}${facts.emulator.reused ? ' (reused)' : ''} — ${facts.emulator.kept ? 'left running (--keep)' : 'stopped'}`,
  );
  out.push(`  wall time: ${facts.wallSeconds.toFixed(1)} s`);
  return out.join('\n') + '\n';
}
