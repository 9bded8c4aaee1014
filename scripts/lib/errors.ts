/**
 * Error types of the backup CLI and how each maps to an exit code (design.md §5: 0 ok, 1 failed,
 * 2 usage). Jobs throw these; only `cli.ts` turns them into exit codes and messages.
 */

/** Bad flags, missing configuration, unreadable input named by the user: exit 2. */
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
 * B2 answered 403 with a cap-exceeded code (storage/transaction/download caps, b2-api.md §6).
 * Retrying cannot help until someone raises the cap, so the job stops at once.
 */
export class CapExceededError extends JobError {
  override readonly name = 'CapExceededError';
}

/** Verification found bytes that do not match what was recorded. */
export class IntegrityError extends JobError {
  override readonly name = 'IntegrityError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return 2;
  return 1;
}

/** Message of any thrown value, without stack, for one-line reports. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
