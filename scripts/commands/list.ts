/** `list`: list versions and hide markers. */
import { ListOptions, listJob } from '../jobs/list';
import { str, defineCommand } from './common';

export const listCommand = defineCommand<ListOptions>({
  name: 'list',
  description: 'list versions and hide markers',
  job: listJob,
  define: (cmd) =>
    cmd
      .option('--prefix <prefix>', 'key prefix')
      .option('--since <age>', 'only versions newer than this age, e.g. 30d'),
  options: (raw) => ({ prefix: str(raw, 'prefix'), since: str(raw, 'since') }),
});
