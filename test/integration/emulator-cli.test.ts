/**
 * `b2-local` command line (docs/architecture.md §4): usage errors exit 2 with a clear message, --help exits 0,
 * the ready line is exactly one JSON line on stdout, and SIGTERM shuts down cleanly.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { startEmulator } from '../helpers/emulator';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'b2-local.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

test('--help exits 0 and documents every flag', () => {
  const r = run('--help');
  expect(r.status).toBe(0);
  for (const flag of ['--port', '--data', '--memory', '--region', '--rate-limit'])
    expect(r.stdout).toContain(flag);
});

test.each([
  [['--bogus'], /unknown option/],
  [['--data', '/tmp/x', '--memory'], /cannot be used with/],
  [['--port', 'abc'], /--port/],
  [['--port', '70000'], /--port/],
  [['--region', 'Not A Region', '--memory'], /--region/],
  [['--region', 'us-west-004', '--region', 'us-west-004', '--memory'], /distinct/],
  [['--rate-limit', '0', '--memory'], /--rate-limit/],
  [['extra-arg', '--memory'], /too many arguments|unexpected argument/],
])('usage error %j exits 2', (args, re) => {
  const r = run(...args);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(re);
});

test('half of the fixed-credential pair is a usage error', () => {
  const r = spawnSync(process.execPath, [BIN, '--memory'], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, B2_LOCAL_KEY_ID: 'only-the-id', B2_LOCAL_APPLICATION_KEY: '' },
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/B2_LOCAL_APPLICATION_KEY/);
});

test('ready line shape; SIGTERM exits 0', async () => {
  const t0 = Date.now();
  const emu = await startEmulator({ regions: ['us-west-004', 'us-east-005'] });
  const elapsed = Date.now() - t0;
  try {
    expect(emu.info).toEqual({
      ready: true,
      region: 'us-west-004',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      accountId: expect.any(String),
      keyId: expect.any(String),
      applicationKey: expect.any(String),
      adminToken: expect.any(String),
      regions: [
        {
          region: 'us-west-004',
          url: emu.url,
          accountId: emu.info.accountId,
          keyId: emu.info.keyId,
          applicationKey: emu.info.applicationKey,
        },
        {
          region: 'us-east-005',
          url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
          accountId: expect.any(String),
          keyId: expect.any(String),
          applicationKey: expect.any(String),
        },
      ],
    });
    // the contract is < 2 s on an idle machine; CI shares cores, so only guard against regressions
    expect(elapsed).toBeLessThan(15_000);
  } finally {
    const exit = new Promise<number | null>((r) => emu.proc.once('exit', (code) => r(code)));
    emu.proc.kill('SIGTERM');
    expect(await exit).toBe(0);
  }
});
