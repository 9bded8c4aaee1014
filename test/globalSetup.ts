/** One id per `npm test` run, inherited by every jest worker and every process a test starts. */
import { randomBytes } from 'crypto';
import { RUN_VAR } from './helpers/processes';

export default function globalSetup(): void {
  process.env[RUN_VAR] = `run-${process.pid}-${randomBytes(6).toString('hex')}`;
}
