/**
 * Prometheus textfile-collector output (`--metrics-file`), so the >99.5% job success KPI can be
 * watched by node_exporter. Written to a temp file and renamed: the collector never reads a
 * half-written file.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface JobMetrics {
  job: string;
  env: string;
  success: boolean;
  bytes: number;
  durationSeconds: number;
  retries: number;
  finishedAtMs: number;
  objects: number;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(m: JobMetrics): string {
  const l = `job="${esc(m.job)}",env="${esc(m.env)}"`;
  const lines = [
    ['backup_job_success', 'gauge', '1 if the last run succeeded, else 0', m.success ? 1 : 0],
    ['backup_job_bytes', 'gauge', 'bytes uploaded or read by the last run', m.bytes],
    ['backup_job_objects', 'gauge', 'objects written or checked by the last run', m.objects],
    [
      'backup_job_duration_seconds',
      'gauge',
      'wall time of the last run',
      Number(m.durationSeconds.toFixed(3)),
    ],
    ['backup_job_retries', 'gauge', 'S3 requests retried during the last run', m.retries],
    [
      'backup_job_last_run_timestamp_seconds',
      'gauge',
      'end of the last run, unix time',
      Math.floor(m.finishedAtMs / 1000),
    ],
  ] as const;
  return (
    lines
      .map(
        ([name, type, help, value]) =>
          `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}{${l}} ${value}`,
      )
      .join('\n') + '\n'
  );
}

export function writeMetricsFile(file: string, m: JobMetrics): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, renderMetrics(m));
  fs.renameSync(tmp, file);
}
