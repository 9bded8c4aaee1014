/**
 * Error types of the backup CLI and how each maps to an exit code (docs/architecture.md §5): 0 ok, 1 the job
 * failed, 2 usage or refused before doing anything, 3 integrity failure (a verification mismatch,
 * a missing, hidden or replaced backup, a restore whose bytes do not match the recorded SHA-256).
 * Jobs throw these; only the runner and `cli.ts` turn them into exit codes and messages.
 */

/**
 * Bad flags, missing configuration, unreadable input named by the user, or a refusal before
 * anything was written (an existing restore target without --force): exit 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/** The job ran and failed (upload refused, dump died, checksum mismatch): exit 1. */
export class JobError extends Error {
  override readonly name: string = 'JobError';
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * B2 answered 403 with a cap-exceeded code (storage/transaction/download caps, docs/b2-api.md §6).
 * Retrying cannot help until someone raises the cap, so the job stops at once.
 */
export class CapExceededError extends JobError {
  override readonly name = 'CapExceededError';
}

/**
 * Verification found bytes that do not match what was recorded, or a backup the manifests promise
 * is missing, hidden or replaced: exit 3.
 */
export class IntegrityError extends JobError {
  override readonly name = 'IntegrityError';
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTEGRITY = 3;

/**
 * The job was stopped by SIGINT (exit 130) or SIGTERM (exit 143), the shell's 128 + signal number,
 * so cron, systemd and Kubernetes see an interruption, not a failed backup.
 */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  readonly exitCode: number;
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.exitCode = signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : EXIT_FAILED;
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof InterruptedError) return err.exitCode;
  if (err instanceof UsageError) return EXIT_USAGE;
  if (err instanceof IntegrityError) return EXIT_INTEGRITY;
  return EXIT_FAILED;
}

/** Message of any thrown value, without stack, for one-line reports. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
