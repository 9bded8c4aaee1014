/**
 * The command surface without a network: every command has --help (exit 0), bad usage exits 2
 * with a message naming the flag, and missing configuration names what is missing.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { PassThrough } from 'stream';
import { main } from '../../../scripts/cli';

const COMMANDS = [
  'snapshot-config',
  'tf-state',
  'audit-logs',
  'db-dump',
  'db-restore',
  'drill',
  'list',
  'restore',
  'verify',
  'prune',
  'cost',
];

async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d: Buffer) => (o += d.toString()));
  err.on('data', (d: Buffer) => (e += d.toString()));
  const code = await main(args, {
    io: { stdout: out, stderr: err, isTTY: false },
    env: { PATH: process.env.PATH, ...env },
  });
  return { code, out: o, err: e };
}

describe('infrafabric-backup CLI surface', () => {
  it.each(COMMANDS)('%s --help exits 0 and lists --json and --dry-run', async (cmd) => {
    const r = await run([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: infrafabric-backup ${cmd}`);
    expect(r.out).toContain('--json');
    expect(r.out).toContain('--dry-run');
    expect(r.out).toContain('--metrics-file');
    expect(r.out).toContain('--from-stack');
    expect(r.out).toContain('--provider'); // picks the stack's bucket (snapshot-config: also the cloud)
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await run(['bogus'])).code).toBe(2);
    const r = await run(['list', '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--frobnicate'/);
  });

  it('exits 2 when a required option is missing or invalid', async () => {
    expect((await run(['snapshot-config', '--from', 'x.json'])).err).toMatch(/--provider/);
    const bad = await run(['db-dump', '--engine', 'oracle', '--url', 'postgres://x/y']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Allowed choices are postgres, mysql/);
    const url = await run(['db-dump', '--engine', 'postgres', '--url', 'mysql://u@h/db']);
    expect(url.code).toBe(2);
    expect(url.err).toMatch(/--url: scheme must be postgres: or postgresql:/);
    expect((await run(['prune'])).err).toMatch(/prune --report/);
    expect((await run(['tf-state', '--file', 'a', '--workspace', 'b'])).err).toMatch(
      /exactly one of --file <state> or --workspace <dir>/,
    );
    expect((await run(['list', '--since', 'last week'])).err).toMatch(/--since: cannot parse duration/);
    expect(
      (await run(['restore', '--key', 'k', '--to', '-', '--version-id', 'v', '--at', '1d'])).err,
    ).toMatch(/at most one of --version-id and --at/);
  });

  it('names the missing configuration and exits 2', async () => {
    const r = await run(['list', '--json']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /missing configuration: S3 endpoint \(--endpoint or B2_S3_ENDPOINT or --from-stack <env>\); bucket \(--bucket or B2_BUCKET/,
    );
    expect(JSON.parse(r.out)).toMatchObject({ job: 'list', ok: false });
  });

  it('refuses tf-state without an encryption key before any network call', async () => {
    const r = await run(['tf-state', '--file', __filename], { B2_BUCKET: 'b' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no encryption key: set BACKUP_ENCRYPTION_KEY/);
  });

  it('never prints the application key', async () => {
    const secret = 'K004-very-secret-application-key';
    const r = await run(['list', '--json'], { B2_APPLICATION_KEY: secret, B2_BUCKET: 'b', B2_KEY_ID: 'k' });
    expect(r.out + r.err).not.toContain(secret);
  });

  it.each([
    ['db-dump', '--url', 'postgres://app:s3cr3t-pw@db.internal:5432/orders', 'postgres', 'PGPASSWORD'],
    ['db-restore', '--url', 'mysql://app:s3cr3t-pw@db.internal/orders', 'mysql', 'MYSQL_PWD'],
    ['drill', '--scratch-url', 'postgresql://app:s3cr3t-pw@db.internal/postgres', 'postgres', 'PGPASSWORD'],
  ])(
    '%s refuses a password in %s (exit 2) and names the fix without echoing it',
    async (cmd, flag, url, engine, envName) => {
      const r = await run([cmd, '--engine', engine, flag, url, '--json'], { B2_BUCKET: 'b' });
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${flag}: the URL contains a password`);
      expect(r.err).toContain(envName);
      expect(r.err).toContain('--password-file');
      expect(r.out + r.err).not.toContain('s3cr3t-pw');
    },
  );

  it('refuses an --at without a UTC offset (exit 2) before any network call', async () => {
    const r = await run(['restore', '--key', 'k', '--to', '-', '--at', '2026-05-01T12:00:00']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--at: "2026-05-01T12:00:00" has no UTC offset/);
  });

  it('the bin exits with the same codes', () => {
    const bin = path.resolve(__dirname, '../../../bin/infrafabric-backup.js');
    const help = spawnSync(process.execPath, [bin, 'verify', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    const usage = spawnSync(process.execPath, [bin, 'list'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/missing configuration/);
  });

  it('a reader that closes early (`--help | true`) is no stack trace: exit 0, nothing on stderr', () => {
    const bin = path.resolve(__dirname, '../../../bin/infrafabric-backup.js');
    const r = spawnSync(
      'bash',
      [
        '-c',
        'for i in 1 2 3; do "$0" "$1" --help | true; echo "status ${PIPESTATUS[0]}"; done',
        process.execPath,
        bin,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim().split('\n')).toEqual(['status 0', 'status 0', 'status 0']);
    expect(r.stderr).toBe('');
  });
});
