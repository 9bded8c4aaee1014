/** `snapshot-config`: upload a cloud configuration export. */
import { Option } from 'commander';
import { PROVIDERS, SnapshotConfigOptions, snapshotConfigJob } from '../jobs/snapshotConfig';
import { str, defineCommand } from './common';

export const snapshotConfigCommand = defineCommand<SnapshotConfigOptions>({
  name: 'snapshot-config',
  description:
    'upload a cloud configuration export (JSON/YAML file, stdin, or a directory as tar.gz) to configs/<provider>/<date>/',
  job: snapshotConfigJob,
  ownProvider: true,
  define: (cmd) =>
    cmd
      .addOption(
        new Option('--provider <provider>', 'cloud the configuration belongs to')
          .choices([...PROVIDERS])
          .makeOptionMandatory(),
      )
      .requiredOption('--from <file|dir|->', 'file, directory, or - for stdin')
      .option(
        '--name <name>',
        'object file name (default: the file name, <dir>.tar.gz, or config.<json|yaml>)',
      )
      .option('--force', 'upload even if identical to the newest snapshot', false),
  options: (raw, deps) => ({
    provider: raw.provider as SnapshotConfigOptions['provider'],
    from: raw.from as string,
    name: str(raw, 'name'),
    force: !!raw.force,
    stdin: deps.stdin,
  }),
});
