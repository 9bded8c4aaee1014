/** `db-dump`: stream a database dump into a multipart upload. */
import { Option } from 'commander';
import { DbDumpOptions, dbDumpJob } from '../jobs/dbDump';
import { ENGINES } from '../lib/db';
import { int, str, defineCommand } from './common';

export const engineOption = (): Option =>
  new Option('--engine <engine>', 'database engine').choices([...ENGINES]).makeOptionMandatory();

/** Help of `--password-file` (db-dump, db-restore, drill). */
export const PASSWORD_FILE_HELP =
  'file holding the database password (else env PGPASSWORD / MYSQL_PWD; a password in the URL is refused)';
export const dbDumpCommand = defineCommand<DbDumpOptions>({
  name: 'db-dump',
  description: 'stream pg_dump -Fc / mysqldump --single-transaction through gzip into a multipart upload',
  job: dbDumpJob,
  define: (cmd) =>
    cmd
      .addOption(engineOption())
      .requiredOption(
        '--url <url>',
        'connection URL without a password, e.g. postgres://user@host:5432/db (password: env PGPASSWORD / MYSQL_PWD or --password-file)',
      )
      .option(
        '--part-size <size>',
        'first multipart part size (default 16MiB, doubling every 2,000 parts; min 5MiB)',
      )
      .option(
        '--expected-size <size>',
        'expected dump size, to grow parts so the upload stays under 10,000 parts',
      )
      .option(
        '--concurrency <n>',
        'parts uploading at once (memory holds n+1 parts)',
        int('--concurrency'),
        4,
      )
      .option('--compression-level <n>', 'gzip level 0-9', int('--compression-level'), 6)
      .option('--password-file <path>', PASSWORD_FILE_HELP),
  options: (raw) => ({
    engine: raw.engine as DbDumpOptions['engine'],
    url: raw.url as string,
    partSize: str(raw, 'partSize'),
    expectedSize: str(raw, 'expectedSize'),
    concurrency: raw.concurrency as number,
    compressionLevel: raw.compressionLevel as number,
    passwordFile: str(raw, 'passwordFile'),
  }),
});
