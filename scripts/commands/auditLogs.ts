/** `audit-logs`: incremental upload of new and grown log files. */
import { AuditLogsOptions, auditLogsJob } from '../jobs/auditLogs';
import { int, str, defineCommand } from './common';

export const auditLogsCommand = defineCommand<AuditLogsOptions>({
  name: 'audit-logs',
  description: 'incrementally upload new and grown log files, gzipped, to audit-logs/<name>/YYYY/MM/DD/',
  job: auditLogsJob,
  define: (cmd) =>
    cmd
      .requiredOption('--dir <dir>', 'log directory')
      .option(
        '--name <name>',
        'source name: the key prefix audit-logs/<name>/ and the state state/audit-logs/<name>.json; letters, digits, ".", "_", "-" (not four digits); one per source — give each host its own (default: the directory name)',
      )
      .option(
        '--state-file <path>',
        'keep the incremental state in a local file instead of state/audit-logs/<name>.json',
      )
      .option(
        '--adopt-state',
        'take over a state recorded for another host or directory (the source really moved); without it such a run is refused (exit 2). The host is BACKUP_HOSTNAME, else the hostname',
      )
      .option('--concurrency <n>', 'uploads in parallel', int('--concurrency'), 8),
  options: (raw) => ({
    dir: raw.dir as string,
    name: str(raw, 'name'),
    stateFile: str(raw, 'stateFile'),
    concurrency: raw.concurrency as number,
    adoptState: !!raw.adoptState,
  }),
});
