/** `restore`: download one object version to a file or stdout. */
import { RestoreOptions, restoreJob } from '../jobs/restore';
import { keyOptions, str, defineCommand } from './common';

export const restoreCommand = defineCommand<RestoreOptions>({
  name: 'restore',
  description: 'download one object version (by --version-id, --at time, or current) to a file or stdout',
  job: restoreJob,
  define: (cmd) =>
    keyOptions(
      cmd
        .requiredOption('--key <key>', 'object key')
        .option('--version-id <id>', 'exact version')
        .option('--at <time>', 'newest version at or before this time (ISO 8601 or an age like 2d)')
        .requiredOption('--to <path|->', 'destination file, or - for stdout')
        .option('--decrypt', 'decrypt a tf-state object with --key-file / --key-env', false),
    ),
  options: (raw, deps) => ({
    key: raw.key as string,
    versionId: str(raw, 'versionId'),
    at: str(raw, 'at'),
    to: raw.to as string,
    decrypt: !!raw.decrypt,
    keyFile: str(raw, 'keyFile'),
    keyEnv: raw.keyEnv as string,
    stdout: deps.io?.stdout,
  }),
  resultToStderr: (raw) => raw.to === '-',
});
