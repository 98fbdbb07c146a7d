/**
 * How every command reports a failure: a config error as its listing (exit 2), a wrong command line
 * with a pointer to --help (exit 2), a user-facing error as one line and its fix (exit 1), anything
 * else with its stack (exit 1, a bug).
 */
import { ConfigError, UserFacingError } from '../topology/errors.ts';

/** Writes the report to stderr and returns the exit code. `usageErrors` are more command-line mistakes. */
export function reportError(error: unknown, helpCommand: string, usageErrors: Array<new (...args: never[]) => Error> = []): number {
  const parseArgsError = error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  if (parseArgsError || usageErrors.some((type) => error instanceof type)) {
    process.stderr.write(`error: ${(error as Error).message}\n  → see ${helpCommand} --help\n`);
    return 2;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  if (error instanceof UserFacingError) {
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}
