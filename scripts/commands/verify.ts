/** `verify`: re-download objects and check their SHA-256. */
import { VerifyOptions, verifyJob } from '../jobs/verify';
import { int, str, defineCommand } from './common';

export const verifyCommand = defineCommand<VerifyOptions>({
  name: 'verify',
  description: 're-download current objects and check SHA-256 against metadata or run manifests',
  job: verifyJob,
  define: (cmd) =>
    cmd
      .option('--prefix <prefix>', 'key prefix')
      .option('--sample <n>', 'check a random sample of n objects', int('--sample'))
      .option('--strict', 'also fail on objects without a recorded checksum', false),
  options: (raw) => ({
    prefix: str(raw, 'prefix'),
    sample: raw.sample as number | undefined,
    strict: !!raw.strict,
  }),
});
