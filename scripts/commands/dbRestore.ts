/** `db-restore`: restore a db-dump into a database. */
import { DbRestoreOptions, dbRestoreJob } from '../jobs/dbRestore';
import { engineOption, PASSWORD_FILE_HELP } from './dbDump';
import { str, defineCommand } from './common';

export const dbRestoreCommand = defineCommand<DbRestoreOptions>({
  name: 'db-restore',
  description: 'restore a db-dump (newest, --key/--version-id, or --at a point in time) into a database',
  job: dbRestoreJob,
  define: (cmd) =>
    cmd
      .addOption(engineOption())
      .requiredOption('--url <url>', 'target database URL (the database must exist)')
      .option('--key <key>', 'dump object key (default: the newest dump of the target database name)')
      .option('--version-id <id>', 'exact version')
      .option('--at <time>', 'newest version at or before this time (ISO 8601 or an age like 2d)')
      .option(
        '--database <name>',
        'source database name to pick the newest dump of (default: the target name)',
      )
      .option('--password-file <path>', PASSWORD_FILE_HELP),
  options: (raw) => ({
    engine: raw.engine as DbRestoreOptions['engine'],
    url: raw.url as string,
    key: str(raw, 'key'),
    versionId: str(raw, 'versionId'),
    at: str(raw, 'at'),
    database: str(raw, 'database'),
    passwordFile: str(raw, 'passwordFile'),
  }),
});
