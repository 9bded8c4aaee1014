/** Every command of the CLI, in the order `--help` lists them. One module per command. */
import { auditLogsCommand } from './auditLogs';
import { CliCommand } from './common';
import { costCommand } from './cost';
import { dbDumpCommand } from './dbDump';
import { dbRestoreCommand } from './dbRestore';
import { drillCommand } from './drill';
import { listCommand } from './list';
import { pruneCommand } from './prune';
import { restoreCommand } from './restore';
import { snapshotConfigCommand } from './snapshotConfig';
import { tfStateCommand } from './tfState';
import { verifyCommand } from './verify';

export const COMMANDS: readonly CliCommand[] = [
  snapshotConfigCommand,
  tfStateCommand,
  auditLogsCommand,
  dbDumpCommand,
  dbRestoreCommand,
  drillCommand,
  listCommand,
  restoreCommand,
  verifyCommand,
  pruneCommand,
  costCommand,
];
