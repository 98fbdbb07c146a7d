/**
 * Config errors, reported by path: `pipelines.process.sink.batch.maxRows: expected a positive integer,
 * got -5`. Every problem is listed, never just the first.
 */
import type * as t from 'io-ts';
import { maskSecrets } from './secrets.ts';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    // One problem reads best on one line; several are listed one per line.
    super(
      problems.length === 1
        ? `${source} is not a valid topology: ${problems[0]}`
        : `${source} is not a valid topology (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** A one-line, user-facing error: what is wrong and what to do. Printed without a stack trace. */
export class UserFacingError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  → ${hint}` : message);
    this.name = 'UserFacingError';
  }
}

/** The message of anything thrown: an Error's message, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

/** `a.b[2].c` from an io-ts context (union/intersection members add no key of their own). */
export function pathOf(context: t.Context): string {
  let path = '';
  for (const entry of context) {
    if (entry.key === '') continue;
    path += /^\d+$/.test(entry.key) ? `[${entry.key}]` : path === '' ? entry.key : `.${entry.key}`;
  }
  return path === '' ? '(top level)' : path;
}

/** One line per io-ts error, deduplicated. */
export function formatErrors(errors: t.Errors): string[] {
  const lines: string[] = [];
  for (const error of errors) {
    const path = pathOf(error.context);
    const expected = error.message ?? `expected ${error.context[error.context.length - 1]?.type.name ?? 'a valid value'}`;
    const text = error.message && !error.message.startsWith('expected') ? `${path}: ${error.message}` : `${path}: ${expected}, got ${describeValue(error.value)}`;
    const masked = maskSecrets(text);
    if (!lines.includes(masked)) lines.push(masked);
  }
  return lines;
}
