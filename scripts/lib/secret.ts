/**
 * A secret string that never prints itself (style.md §7, after restic's SecretString). Logging,
 * JSON output, util.inspect and template strings all show `**redacted**`; only `reveal()` returns
 * the value, and it is called exactly where the value is handed to the S3 signer or a child env.
 */
import { inspect } from 'util';

const REDACTED = '**redacted**';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
