/**
 * One validation finding, shaped like Pulumi's `CheckFailure` so a provider's `check` can return it
 * unchanged and a component can throw it as a plain error. `property` is the input path
 * (e.g. `lifecycleRules[1].fileNamePrefix`), `reason` says what is wrong and what to do.
 */
export interface Problem {
  property: string;
  reason: string;
}

/** Error thrown by components and config parsing: lists every problem, one per line. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly context: string,
    readonly problems: readonly Problem[],
  ) {
    super(`${context}:\n${problems.map((p) => `  - [${p.property}] ${p.reason}`).join('\n')}`);
  }
}

/** Throws a ValidationError when `problems` is not empty. */
export function throwIfProblems(context: string, problems: readonly Problem[]): void {
  if (problems.length > 0) throw new ValidationError(context, problems);
}
