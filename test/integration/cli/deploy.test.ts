/**
 * The scheduling examples in deploy/ parse (YAML, systemd units) and every command line they run
 * is a valid CLI invocation: `--help` of the exact command exits 0, and its `--dry-run` succeeds
 * against the emulator (with a real PostgreSQL for the database jobs).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse, parseAllDocuments } from 'yaml';
import { parseDuration } from '../../../scripts/lib/timeparse';
import { postgresAvailable, RunningDatabase, startPostgres } from '../../helpers/databases';
import { cli, Estate, startEstate } from './fixture';

const DEPLOY = path.resolve(__dirname, '../../../deploy');
const MANIFEST_KEY = randomBytes(32).toString('base64');
const BIN = 'infrafabric-backup.js';

interface Invocation {
  source: string;
  args: string[];
  /** Where the invocation's BACKUP_MANIFEST_KEY comes from, if anywhere (a secret, an env file). */
  manifestKeyFrom?: string;
  /** Kubernetes: the optional secret BACKUP_MANIFEST_PREVIOUS_KEYS comes from (readers, after a rotation). */
  previousKeysFrom?: { name: string; optional?: boolean };
}

/** The commands that write (backup jobs) or read (verify, restores, drill) run manifests. */
const MANIFEST_COMMANDS = [
  'db-dump',
  'snapshot-config',
  'tf-state',
  'audit-logs',
  'verify',
  'restore',
  'db-restore',
  'drill',
];

/** Minimal POSIX-ish word splitting: quotes and backslash-newline continuations. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  const text = line.replace(/\\\n/g, ' ');
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) words.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (has || cur) words.push(cur);
  return words;
}

function afterBin(words: string[]): string[] {
  const i = words.findIndex((w) => w.endsWith(BIN));
  if (i < 0) throw new Error(`no ${BIN} in ${words.join(' ')}`);
  return words.slice(i + 1);
}

function kubernetesInvocations(): Invocation[] {
  const file = path.join(DEPLOY, 'kubernetes', 'backup-cronjobs.yaml');
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const out: Invocation[] = [];
  for (const d of docs) {
    expect(d.errors).toEqual([]);
    const doc = d.toJS() as {
      kind: string;
      metadata: { name: string };
      spec: {
        schedule: string;
        jobTemplate: {
          spec: {
            template: {
              spec: {
                containers: {
                  command: string[];
                  args: string[];
                  envFrom?: { secretRef?: { name: string; optional?: boolean } }[];
                  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
                }[];
              };
            };
          };
        };
      };
    };
    if (doc.kind !== 'CronJob') continue;
    expect(doc.spec.schedule.split(' ')).toHaveLength(5);
    for (const c of doc.spec.jobTemplate.spec.template.spec.containers) {
      expect(c.command).toEqual(['node', `bin/${BIN}`]);
      const secret =
        c.envFrom?.find((e) => e.secretRef?.name === 'infrafabric-backup-manifest-key')?.secretRef?.name ??
        c.env?.find((e) => e.name === 'BACKUP_MANIFEST_KEY')?.valueFrom?.secretKeyRef?.name;
      out.push({
        source: `k8s ${doc.metadata.name}`,
        args: c.args,
        manifestKeyFrom: secret ? `secret ${secret}` : undefined,
        previousKeysFrom: c.envFrom?.find(
          (e) => e.secretRef?.name === 'infrafabric-backup-manifest-previous-keys',
        )?.secretRef,
      });
    }
  }
  return out;
}

function githubInvocations(): Invocation[] {
  const wf = parse(fs.readFileSync(path.join(DEPLOY, 'github-actions', 'backup.yml'), 'utf8')) as {
    on: { schedule: { cron: string }[] };
    jobs: Record<string, { steps: { name?: string; run?: string; env?: Record<string, string> }[] }>;
  };
  expect(wf.on.schedule[0].cron.split(' ')).toHaveLength(5);
  const out: Invocation[] = [];
  for (const job of Object.values(wf.jobs)) {
    for (const step of job.steps)
      if (step.run?.includes(BIN))
        out.push({
          source: `github ${step.name}`,
          args: afterBin(shellWords(step.run)),
          manifestKeyFrom: /^\$\{\{ secrets\.\w+ \}\}$/.test(step.env?.BACKUP_MANIFEST_KEY ?? '')
            ? step.env?.BACKUP_MANIFEST_KEY
            : undefined,
        });
  }
  return out;
}

function systemdInvocations(): Invocation[] {
  const dir = path.join(DEPLOY, 'systemd');
  const out: Invocation[] = [];
  for (const f of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const sections = [...text.matchAll(/^\[(\w+)\]$/gm)].map((m) => m[1]);
    if (f.endsWith('.timer')) {
      expect(sections).toEqual(['Unit', 'Timer', 'Install']);
      expect(text).toMatch(/^OnCalendar=/m);
      expect(fs.existsSync(path.join(dir, f.replace(/\.timer$/, '.service')))).toBe(true);
      continue;
    }
    expect(sections).toEqual(['Unit', 'Service']);
    const exec = /^ExecStart=(.+)$/m.exec(text);
    expect(exec).not.toBeNull();
    // The manifest key comes from its own env file (documented in the unit's header), apart from the B2 keys.
    const keyFile = [...text.matchAll(/^EnvironmentFile=(.+)$/gm)]
      .map((m) => m[1])
      .find((p) => /manifest-key/.test(p));
    out.push({
      source: `systemd ${f}`,
      args: afterBin(shellWords(exec![1].replace(/%i/g, 'orders'))),
      manifestKeyFrom: keyFile && /^#\s+BACKUP_MANIFEST_KEY=/m.test(text) ? `env file ${keyFile}` : undefined,
    });
  }
  return out;
}

const all = (): Invocation[] => [...kubernetesInvocations(), ...githubInvocations(), ...systemdInvocations()];

describe('deploy/ examples parse', () => {
  it('yields the expected command lines', () => {
    const inv = all();
    expect(inv.map((i) => `${i.source}: ${i.args[0]}`)).toEqual(
      expect.arrayContaining([
        'k8s backup-db-dump-orders: db-dump',
        'k8s backup-drill-orders: drill',
        'k8s backup-audit-logs: audit-logs',
        'k8s backup-verify: verify',
        'github Terraform state (encrypted client-side): tf-state',
        'github AWS config snapshot: snapshot-config',
        expect.stringMatching(/^github Cost report.*: cost$/),
        'systemd infrafabric-backup-db-dump@.service: db-dump',
      ]),
    );
  });

  it('every scheduled verify judges freshness: --max-age above a day and below two (daily jobs)', () => {
    const verifies = all().filter((i) => i.args[0] === 'verify');
    expect(verifies.length).toBeGreaterThan(0);
    for (const v of verifies) {
      const i = v.args.indexOf('--max-age');
      expect(i).toBeGreaterThan(0);
      const ms = parseDuration(v.args[i + 1], '--max-age');
      expect(ms).toBeGreaterThan(24 * 3_600_000);
      expect(ms).toBeLessThan(48 * 3_600_000);
    }
  });

  it('every command that writes or reads run manifests gets BACKUP_MANIFEST_KEY from a secret', () => {
    const using = all().filter((i) => MANIFEST_COMMANDS.includes(i.args[0]));
    expect(using.length).toBeGreaterThanOrEqual(7);
    expect(using.filter((i) => !i.manifestKeyFrom).map((i) => i.source)).toEqual([]);
  });

  it('Kubernetes readers (verify, drill) get the previous manifest keys from an optional secret; writers never', () => {
    const k8s = kubernetesInvocations();
    const readers = k8s.filter((i) => ['verify', 'restore', 'db-restore', 'drill'].includes(i.args[0]));
    expect(readers.map((i) => i.args[0]).sort()).toEqual(['drill', 'verify']);
    for (const r of readers)
      expect(r.previousKeysFrom).toEqual({
        name: 'infrafabric-backup-manifest-previous-keys',
        optional: true,
      });
    const writers = k8s.filter((i) => !readers.includes(i));
    expect(writers.length).toBeGreaterThan(0);
    expect(writers.filter((w) => w.previousKeysFrom).map((w) => w.source)).toEqual([]);
  });

  it.each(all().map((i) => [i.source, i] as const))(
    '%s: --help of the exact command exits 0',
    async (_s, inv) => {
      const r = await cli(undefined, [...inv.args, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: infrafabric-backup ${inv.args[0]}`);
    },
  );
});

it('has a PostgreSQL server for the database examples (run node tools/setup.js)', () => {
  expect(postgresAvailable()).toBe(true);
});

(postgresAvailable() ? describe : describe.skip)('deploy/ command lines run with --dry-run', () => {
  let estate: Estate;
  let pg: RunningDatabase;
  let tmp: string;
  let vars: Record<string, string>;

  beforeAll(async () => {
    estate = await startEstate();
    pg = await startPostgres();
    Object.assign(estate.env, pg.passwordEnv);
    pg.createDatabase('orders');
    pg.sql('orders', 'CREATE TABLE t(id int); INSERT INTO t SELECT generate_series(1, 100);');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-deploy-'));
    fs.mkdirSync(path.join(tmp, 'audit'));
    fs.writeFileSync(path.join(tmp, 'audit', 'a.log'), 'line\n');
    fs.mkdirSync(path.join(tmp, 'tf'));
    fs.writeFileSync(
      path.join(tmp, 'tf', 'terraform.tfstate'),
      JSON.stringify({ version: 4, terraform_version: '1.9.0', resources: [] }),
    );
    fs.writeFileSync(path.join(tmp, 'aws-config.json'), '{"ok":true}');
    // Every variable the examples reference, mapped to something real on this machine.
    vars = {
      DATABASE_URL: pg.url('orders'),
      SCRATCH_DATABASE_URL: pg.url('postgres'),
      AUDIT_LOG_DIR: path.join(tmp, 'audit'),
      NODE_NAME: 'control-plane-1',
      TF_WORKSPACE_DIR: path.join(tmp, 'tf'),
      CONFIG_EXPORT: path.join(tmp, 'aws-config.json'),
      BACKUP_EGRESS_PER_MONTH: '500GB',
      BACKUP_ACCOUNT_STORED: '2TB',
      BACKUP_EGRESS_ALERT_USD: '5',
    };
    // The drill needs a dump to drill on.
    const dump = await cli(estate, ['db-dump', '--engine', 'postgres', '--url', pg.url('orders')]);
    expect(dump.code).toBe(0);
  });

  afterAll(async () => {
    await pg?.stop();
    await estate?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const expand = (arg: string): string =>
    arg.replace(/\$\((\w+)\)|\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c)!;
      if (!(name in vars)) throw new Error(`deploy example uses $${name}; add it to the test's variable map`);
      return vars[name];
    });

  it.each(all().map((i) => [i.source, i] as const))('%s', async (_s, inv) => {
    const args = inv.args
      .map(expand)
      .map((a) =>
        a.startsWith('/metrics/') || a.startsWith('/var/lib/node_exporter/')
          ? path.join(tmp, path.basename(a))
          : a,
      );
    const r = await cli(estate, [...args, '--dry-run'], {
      BACKUP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ...(inv.manifestKeyFrom ? { BACKUP_MANIFEST_KEY: MANIFEST_KEY } : {}),
      ...(inv.previousKeysFrom ? { BACKUP_MANIFEST_PREVIOUS_KEYS: randomBytes(32).toString('base64') } : {}),
    });
    if (r.code !== 0) throw new Error(`${inv.source} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    expect(r.code).toBe(0);
  });
});
