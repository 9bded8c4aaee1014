/** `db-restore`: restore a db-dump into a database. */
import { DbRestoreOptions, dbRestoreJob } from '../jobs/dbRestore';
import { engineOption, PASSWORD_FILE_HELP } from './dbDump';
import { AT_HELP, defineCommand, SPOOL_DIR_HELP, str } from './common';

export const dbRestoreCommand = defineCommand<DbRestoreOptions>({
  name: 'db-restore',
  description:
    'restore a db-dump (newest, --key/--version-id, or --at a point in time) into a database, after verifying its SHA-256 against the run manifest',
  job: dbRestoreJob,
  define: (cmd) =>
    cmd
      .addOption(engineOption())
      .requiredOption('--url <url>', 'target database URL (the database must exist)')
      .option('--key <key>', 'dump object key (default: the newest dump of the target database name)')
      .option('--version-id <id>', 'exact version')
      .option('--at <time>', AT_HELP)
      .option(
        '--database <name>',
        'source database name to pick the newest dump of (default: the target name)',
      )
      .option('--password-file <path>', PASSWORD_FILE_HELP)
      .option(
        '--clean',
        'restore into a database that already has tables: objects in the dump are dropped and recreated (default: refused, exit 2)',
        false,
      )
      .option(
        '--allow-unverified',
        'restore a dump that has no recorded SHA-256 (default: refused, exit 2)',
        false,
      )
      .option('--spool-dir <dir>', SPOOL_DIR_HELP),
  options: (raw) => ({
    engine: raw.engine as DbRestoreOptions['engine'],
    url: raw.url as string,
    key: str(raw, 'key'),
    versionId: str(raw, 'versionId'),
    at: str(raw, 'at'),
    database: str(raw, 'database'),
    passwordFile: str(raw, 'passwordFile'),
    clean: !!raw.clean,
    allowUnverified: !!raw.allowUnverified,
    spoolDir: str(raw, 'spoolDir'),
  }),
});
