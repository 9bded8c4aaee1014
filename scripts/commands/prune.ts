/** `prune`: report what the lifecycle rules will hide and delete (never deletes). */
import { PruneOptions, pruneJob } from '../jobs/prune';
import { str, defineCommand } from './common';

export const pruneCommand = defineCommand<PruneOptions>({
  name: 'prune',
  description: 'report what the lifecycle rules will hide and delete, and when (never deletes)',
  job: pruneJob,
  define: (cmd) =>
    cmd
      .option('--report', 'print the report (required: B2 lifecycle does the deleting)', false)
      .option('--prefix <prefix>', 'key prefix')
      .option('--within <age>', 'only actions due within this time, e.g. 30d')
      .option('--rules <file>', 'native lifecycle rules JSON, when the S3 lifecycle call is unavailable'),
  options: (raw) => ({
    report: !!raw.report,
    prefix: str(raw, 'prefix'),
    within: str(raw, 'within'),
    rulesFile: str(raw, 'rules'),
  }),
});
