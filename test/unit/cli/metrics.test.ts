import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { renderMetrics, writeMetricsFile } from '../../../scripts/lib/metrics';

describe('Prometheus textfile metrics', () => {
  const m = {
    job: 'db-dump',
    env: 'prod',
    success: false,
    bytes: 1234,
    durationSeconds: 12.3456,
    retries: 3,
    finishedAtMs: 1_700_000_000_999,
    objects: 1,
  };

  it('renders one gauge per metric with job and env labels', () => {
    const text = renderMetrics(m);
    expect(text).toContain('# TYPE backup_job_success gauge');
    expect(text).toContain('backup_job_success{job="db-dump",env="prod"} 0');
    expect(text).toContain('backup_job_bytes{job="db-dump",env="prod"} 1234');
    expect(text).toContain('backup_job_duration_seconds{job="db-dump",env="prod"} 12.346');
    expect(text).toContain('backup_job_retries{job="db-dump",env="prod"} 3');
    expect(text).toContain('backup_job_last_run_timestamp_seconds{job="db-dump",env="prod"} 1700000000');
    for (const line of text.trim().split('\n'))
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{[^}]*\} [0-9.e+-]+)$/);
  });

  it('escapes label values and writes atomically', () => {
    expect(renderMetrics({ ...m, env: 'a"b' })).toContain('env="a\\"b"');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-metrics-'));
    const file = path.join(dir, 'backup.prom');
    writeMetricsFile(file, m);
    expect(fs.readFileSync(file, 'utf8')).toBe(renderMetrics(m));
    expect(fs.readdirSync(dir)).toEqual(['backup.prom']);
  });
});
