/**
 * Engine events (Automation API `onEvent`) → what the pipeline reports and gates on: changes per
 * resource type, policy violations, replacements and deletions (bucket ones highlighted), drift per
 * resource and property. Pure functions: unit-tested without an engine
 * (test/unit/estate/summary.test.ts).
 */
import type { EngineEvent } from '@pulumi/pulumi/automation';
import { parse } from 'yaml';

export interface ResourceChange {
  urn: string;
  type: string;
  name: string;
  op: string;
}

export interface PolicyViolation {
  policy: string;
  pack: string;
  level: string;
  urn?: string;
  message: string;
}

export interface Drift {
  urn: string;
  type: string;
  name: string;
  /** `update` (properties differ) or `delete` (gone from the provider). */
  op: string;
  properties: string[];
}

export interface StackReport {
  stack: string;
  /** preview | up | drift */
  kind: string;
  /** Type (short form) → op → count, ops other than `same` only. */
  changes: Record<string, Record<string, number>>;
  replacements: ResourceChange[];
  deletions: ResourceChange[];
  violations: PolicyViolation[];
  drift: Drift[];
  /** The engine's own error, when the operation failed (secrets are never in it: the CLI masks them). */
  error?: string;
  /**
   * The stack's committed config sets `infrafabric-backup:disposable: true`: its prod buckets are
   * unprotected and `forceDestroy` may empty them. The plan shows that only as ordinary bucket
   * updates (their `disposable` input; the protect change has no step of its own), so the gate
   * names it.
   */
  disposable?: boolean;
}

/** `infrafabric-backup:disposable` of a `Pulumi.<stack>.yaml` text (true or "true"); false when unreadable. */
export function disposableInStackFile(text: string): boolean {
  try {
    const doc = parse(text) as { config?: Record<string, unknown> } | null;
    const v = doc?.config?.['infrafabric-backup:disposable'];
    return v === true || v === 'true';
  } catch {
    return false;
  }
}

/** Ops that create nothing new but are part of a replacement already counted as `replace`. */
const REPLACE_PARTS = new Set(['create-replacement', 'delete-replaced', 'discard-replaced']);
const DELETE_OPS = new Set(['delete', 'discard']);
const REPLACE_OPS = new Set(['replace', 'create-replacement']);

/** `pulumi-nodejs:dynamic/b2:Bucket` → `b2:Bucket`; other types as they are. */
export function shortType(type: string): string {
  const m = /^pulumi-nodejs:dynamic\/(.+)$/.exec(type);
  return m ? m[1]! : type;
}

export function isBucketType(type: string): boolean {
  return /(^|[:/])b2:Bucket$/.test(type) || type === 'pulumi-nodejs:dynamic/b2:Bucket';
}

function nameOf(urn: string): string {
  return urn.split('::').pop() ?? urn;
}

/** Reads preview/up events into a report. */
export function reportFromEvents(stack: string, kind: string, events: EngineEvent[]): StackReport {
  const report: StackReport = {
    stack,
    kind,
    changes: {},
    replacements: [],
    deletions: [],
    violations: [],
    drift: [],
  };
  const seen = new Set<string>();
  for (const e of events) {
    const md = e.resourcePreEvent?.metadata;
    if (md && md.op !== 'same' && md.op !== 'refresh' && md.op !== 'read') {
      const key = `${md.urn} ${md.op}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const change: ResourceChange = { urn: md.urn, type: md.type, name: nameOf(md.urn), op: md.op };
      if (!REPLACE_PARTS.has(md.op)) {
        const t = shortType(md.type);
        report.changes[t] ??= {};
        report.changes[t]![md.op] = (report.changes[t]![md.op] ?? 0) + 1;
      }
      if (REPLACE_OPS.has(md.op) && !report.replacements.some((r) => r.urn === md.urn))
        report.replacements.push({ ...change, op: 'replace' });
      if (DELETE_OPS.has(md.op)) report.deletions.push(change);
    }
    const pe = e.policyEvent;
    if (pe) {
      report.violations.push({
        policy: pe.policyName,
        pack: pe.policyPackName,
        level: pe.enforcementLevel,
        ...(pe.resourceUrn ? { urn: pe.resourceUrn } : {}),
        message: pe.message.trim(),
      });
    }
  }
  return report;
}

/** Top-level properties whose values differ (the dynamic provider's serialized code excluded). */
export function changedProperties(
  olds: Record<string, unknown> | undefined,
  news: Record<string, unknown> | undefined,
): string[] {
  const a = olds ?? {};
  const b = news ?? {};
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !k.startsWith('__') && JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .sort();
}

/** Reads `refresh --preview-only` events into drift entries (what the live estate changed). */
export function driftFromEvents(stack: string, events: EngineEvent[]): StackReport {
  const report = reportFromEvents(stack, 'drift', []);
  for (const e of events) {
    const md = e.resOutputsEvent?.metadata;
    if (!md || md.op === 'same') continue;
    const props =
      md.op === 'delete'
        ? []
        : changedProperties(
            md.old?.outputs as Record<string, unknown> | undefined,
            md.new?.outputs as Record<string, unknown> | undefined,
          );
    report.drift.push({ urn: md.urn, type: md.type, name: nameOf(md.urn), op: md.op, properties: props });
  }
  return report;
}

export interface GateOptions {
  /** The PR carries the `allow-bucket-replace` label. */
  allowBucketReplace: boolean;
}

/** Why the pipeline must fail for this report; empty = pass. */
export function gateReasons(r: StackReport, o: GateOptions): string[] {
  const out: string[] = [];
  if (r.error) out.push(`${r.stack}: ${r.kind} failed`);
  for (const v of r.violations.filter((x) => x.level === 'mandatory'))
    out.push(`${r.stack}: mandatory policy ${v.policy} violated${v.urn ? ` by ${nameOf(v.urn)}` : ''}`);
  if (!o.allowBucketReplace) {
    if (r.disposable)
      out.push(
        `${r.stack}: the stack is disposable (infrafabric-backup:disposable: true): its buckets are unprotected and forceDestroy may empty them (remove it, or add the label allow-bucket-replace to allow it)`,
      );
    for (const c of [...r.replacements, ...r.deletions].filter((x) => isBucketType(x.type)))
      out.push(
        `${r.stack}: bucket ${c.name} would be ${c.op === 'replace' ? 'replaced' : 'deleted'} (add the label allow-bucket-replace to allow it)`,
      );
  }
  for (const d of r.drift)
    out.push(
      `${r.stack}: ${d.name} (${shortType(d.type)}) drifted: ${d.op === 'delete' ? 'deleted outside Pulumi' : d.properties.join(', ') || 'changed'}`,
    );
  return out;
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown for $GITHUB_STEP_SUMMARY. */
export function renderMarkdown(reports: StackReport[], o: GateOptions): string {
  const lines: string[] = [];
  for (const r of reports) {
    const reasons = gateReasons(r, o);
    lines.push(`### ${r.kind} \`${r.stack}\` ${reasons.length ? '❌' : '✅'}`, '');
    if (r.error)
      lines.push('**Error:**', '', '```', r.error.trim().split('\n').slice(-20).join('\n'), '```', '');
    const types = Object.keys(r.changes).sort();
    if (r.kind !== 'drift') {
      if (types.length === 0) lines.push('No changes.', '');
      else {
        lines.push('| resource type | changes |', '|---|---|');
        for (const t of types) {
          const ops = Object.entries(r.changes[t]!)
            .sort()
            .map(([op, n]) => `${n} ${op}`)
            .join(', ');
          lines.push(`| \`${t}\` | ${ops} |`);
        }
        lines.push('');
      }
    }
    if (r.disposable)
      lines.push(
        '⚠️ **DISPOSABLE** stack (`infrafabric-backup:disposable: true`): buckets unprotected, `forceDestroy` allowed.',
        '',
      );
    const destructive = [...r.replacements, ...r.deletions];
    if (destructive.length) {
      lines.push('**Replacements and deletions:**', '');
      for (const c of destructive)
        lines.push(
          `- ${isBucketType(c.type) ? '⚠️ **BUCKET** ' : ''}${c.op === 'replace' ? 'replace' : 'delete'} \`${c.name}\` (\`${shortType(c.type)}\`)`,
        );
      lines.push('');
    }
    if (r.violations.length) {
      lines.push(
        '**Policy violations:**',
        '',
        '| level | policy | resource | message |',
        '|---|---|---|---|',
      );
      for (const v of r.violations)
        lines.push(
          `| ${v.level} | \`${v.policy}\` | ${v.urn ? `\`${nameOf(v.urn)}\`` : 'stack'} | ${mdEscape(v.message)} |`,
        );
      lines.push('');
    }
    if (r.kind === 'drift') {
      if (r.drift.length === 0) lines.push('No drift.', '');
      else {
        lines.push('| resource | type | drift |', '|---|---|---|');
        for (const d of r.drift)
          lines.push(
            `| \`${d.name}\` | \`${shortType(d.type)}\` | ${d.op === 'delete' ? 'deleted outside Pulumi' : d.properties.map((p) => `\`${p}\``).join(', ')} |`,
          );
        lines.push('');
      }
    }
    if (reasons.length) {
      lines.push('**Fails because:**', '');
      for (const x of reasons) lines.push(`- ${x}`);
      lines.push('');
    }
  }
  return lines.join('\n') + '\n';
}
