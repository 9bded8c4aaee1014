/** `restore`: download one object version to a file or stdout. */
import { RestoreOptions, restoreJob } from '../jobs/restore';
import { defineCommand, keyOptions, SPOOL_DIR_HELP, str, AT_HELP } from './common';

export const restoreCommand = defineCommand<RestoreOptions>({
  name: 'restore',
  description:
    'download one object version (by --version-id, --at time, or current), verify its SHA-256 against the run manifest, then write it to a file or stdout',
  job: restoreJob,
  define: (cmd) =>
    keyOptions(
      cmd
        .requiredOption('--key <key>', 'object key')
        .option('--version-id <id>', 'exact version')
        .option('--at <time>', AT_HELP)
        .requiredOption('--to <path|->', 'destination file, or - for stdout')
        .option('--decrypt', 'decrypt a tf-state object with --key-file / --key-env', false)
        .option('--force', 'replace an existing --to file', false)
        .option(
          '--allow-unverified',
          'restore a version that has no recorded SHA-256 (default: refused, exit 2)',
          false,
        )
        .option('--spool-dir <dir>', SPOOL_DIR_HELP),
    ),
  options: (raw, deps) => ({
    key: raw.key as string,
    versionId: str(raw, 'versionId'),
    at: str(raw, 'at'),
    to: raw.to as string,
    decrypt: !!raw.decrypt,
    keyFile: str(raw, 'keyFile'),
    keyEnv: raw.keyEnv as string,
    force: !!raw.force,
    allowUnverified: !!raw.allowUnverified,
    spoolDir: str(raw, 'spoolDir'),
    stdout: deps.io?.stdout,
  }),
  resultToStderr: (raw) => raw.to === '-',
});
