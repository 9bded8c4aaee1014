/**
 * `--dry-run` writes nothing at all (issue 11 §6): no objects, no manifests, no audit-log state
 * (bucket or --state-file), no restored file, no HTML report, and no metrics file — so a dry run
 * never turns a failed job's `backup_job_success 0` into 1.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli, Estate, listVersionsJson, startEstate } from './fixture';

let estate: Estate;
let tmp: string;
const key = Buffer.alloc(32, 3).toString('base64');

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-dry-'));
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('every job with --dry-run leaves the bucket, local files and a failed run’s metrics untouched', async () => {
  const cfg = path.join(tmp, 'aws.json');
  fs.writeFileSync(cfg, '{"a":1}\n');
  expect((await cli(estate, ['snapshot-config', '--provider', 'aws', '--from', cfg])).code).toBe(0);
  fs.writeFileSync(cfg, '{"a":2}\n');
  fs.mkdirSync(path.join(tmp, 'ws'));
  fs.writeFileSync(
    path.join(tmp, 'ws', 'terraform.tfstate'),
    JSON.stringify({ version: 4, terraform_version: '1.9.0', resources: [] }),
  );
  fs.mkdirSync(path.join(tmp, 'logs'));
  fs.writeFileSync(path.join(tmp, 'logs', 'a.log'), 'line\n');
  const versionKey = (await listVersionsJson(estate, 'configs/'))[0].key;

  // A failed run records backup_job_success 0.
  const metrics = path.join(tmp, 'job.prom');
  await estate.emu.admin('POST', '/__admin/faults', {
    operation: 's3:PutObject',
    status: 403,
    code: 'AccessDenied',
    message: 'no',
    count: 10,
  });
  const failed = await cli(estate, [
    'snapshot-config',
    '--provider',
    'aws',
    '--from',
    cfg,
    '--metrics-file',
    metrics,
  ]);
  expect(failed.code).toBe(1);
  await estate.emu.admin('DELETE', '/__admin/faults');
  const failedMetrics = fs.readFileSync(metrics, 'utf8');
  expect(failedMetrics).toMatch(/backup_job_success\{job="snapshot-config",env="dev"\} 0/);

  const before = await listVersionsJson(estate);
  const stateFile = path.join(tmp, 'audit-state.json');
  const restored = path.join(tmp, 'restored.json');
  const html = path.join(tmp, 'cost.html');
  const runs: string[][] = [
    ['snapshot-config', '--provider', 'aws', '--from', cfg],
    ['tf-state', '--workspace', path.join(tmp, 'ws')],
    ['audit-logs', '--dir', path.join(tmp, 'logs')],
    ['audit-logs', '--dir', path.join(tmp, 'logs'), '--state-file', stateFile],
    ['restore', '--key', versionKey, '--to', restored],
    ['verify'],
    ['list'],
    ['prune', '--report'],
    ['cost', '--html', html],
  ];
  for (const args of runs) {
    const r = await cli(estate, [...args, '--dry-run', '--metrics-file', metrics], {
      BACKUP_ENCRYPTION_KEY: key,
    });
    expect({ args, code: r.code }).toEqual({ args, code: 0 });
    expect(r.stderr).toMatch(/dry run: --metrics-file .* not written/);
    expect(fs.readFileSync(metrics, 'utf8')).toBe(failedMetrics);
  }
  expect(await listVersionsJson(estate)).toEqual(before);
  for (const f of [stateFile, restored, html])
    expect({ f, exists: fs.existsSync(f) }).toEqual({ f, exists: false });
});
