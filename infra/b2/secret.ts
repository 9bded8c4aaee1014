/**
 * The one secret wrapper of the project (the native client and the backup jobs): a secret that
 * cannot be printed by accident (restic `secret_string.go`, docs/conventions.md §7).
 *
 * `String(s)`, template literals, `JSON.stringify`, `util.inspect` / `console.log` all print
 * `**redacted**`. Code that really needs the value calls `reveal()`, which is easy to grep for.
 */
import { inspect } from 'util';

export const REDACTED = '**redacted**';

export class SecretString {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** Wraps `value` unless it already is a SecretString. */
  static from(value: string | SecretString): SecretString {
    return value instanceof SecretString ? value : new SecretString(value);
  }

  /** The secret itself. Never log or embed the result in an error message. */
  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
