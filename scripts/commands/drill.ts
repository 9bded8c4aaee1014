/** `drill`: restore the newest dump into a scratch database and check it. */
import { DrillOptions, drillJob } from '../jobs/drill';
import { engineOption, PASSWORD_FILE_HELP } from './dbDump';
import { str, defineCommand } from './common';

export const drillCommand = defineCommand<DrillOptions>({
  name: 'drill',
  description:
    'restore the newest dump into a scratch database and check row counts and checksums; reports RTO',
  job: drillJob,
  define: (cmd) =>
    cmd
      .addOption(engineOption())
      .requiredOption('--scratch-url <url>', 'admin URL of the server to create the scratch database on')
      .option('--database <name>', 'only dumps of this source database')
      .option('--keep', 'keep the scratch database', false)
      .option('--password-file <path>', PASSWORD_FILE_HELP),
  options: (raw) => ({
    engine: raw.engine as DrillOptions['engine'],
    scratchUrl: raw.scratchUrl as string,
    database: str(raw, 'database'),
    keep: !!raw.keep,
    passwordFile: str(raw, 'passwordFile'),
  }),
});
