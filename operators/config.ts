/**
 * Config rules shared by the record-level operators' `check` hooks: a named function must be
 * registered, and `filter` (fn | where) and `flat-map` (fn | path) take exactly one of two fields.
 */
import { lookupFunction, type NamedFunction } from '../topology/functions.ts';
import { problem, type ConfigProblem } from '../topology/registry.ts';

/** "Give exactly one of `first` or `second`": the problem when both or neither are given. */
export function exactlyOneOf(config: Record<string, unknown>, first: string, second: string): ConfigProblem[] {
  const given = [first, second].filter((key) => config[key] !== undefined);
  if (given.length === 2) return [problem(second, `give either ${first} or ${second}, not both`)];
  return given.length === 0 ? [problem('', `give either ${first} or ${second}`)] : [];
}

/** The problem when `name` (at `path`) is not a registered function; the message lists the known ones. */
export function unknownFunction(name: string | undefined, path = 'fn'): ConfigProblem[] {
  if (name === undefined) return [];
  try {
    lookupFunction(name);
    return [];
  } catch (error) {
    return [problem(path, (error as Error).message)];
  }
}

/** The registered function `name` (its spec's check has made sure there is one). */
export function userFunction(name: string): NamedFunction['fn'] {
  return lookupFunction(name).fn;
}
