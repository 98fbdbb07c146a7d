/**
 * What the record-level operators share: the rules of their `check` hooks (a named function must be
 * registered; `filter` takes fn | where, `flat-map` fn | path) and how a named function is called.
 */
import { errorMessage } from '../topology/errors.ts';
import { lookupFunction, type NamedFunction } from '../topology/functions.ts';
import { problem, type ConfigProblem } from '../topology/registry.ts';
import type { Subscriber } from 'rxjs';
import type { BatchScope, Operator, StreamRecord } from '../topology/types.ts';
import { perRecord } from './per-record.ts';

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

/** What `callFunction` returns when the call dead-lettered the record. */
export const DEAD_LETTERED: unique symbol = Symbol('dead-lettered');

/**
 * `fn(record.value, record)`. A throw, a Promise (functions must be synchronous) or — when it means
 * nothing to the operator — undefined dead-letters the record with why, and gives DEAD_LETTERED.
 */
export function callFunction(fn: NamedFunction['fn'], name: string, record: StreamRecord, batch: BatchScope, options: { undefinedIsError: boolean }): unknown {
  let result: unknown;
  try {
    result = fn(record.value, record);
  } catch (error) {
    batch.deadLetter(record, `function ${name} threw: ${errorMessage(error)}`);
    return DEAD_LETTERED;
  }
  if (result instanceof Promise || (result === undefined && options.undefinedIsError)) {
    batch.deadLetter(record, `function ${name} returned ${result === undefined ? 'undefined' : 'a Promise'}`);
    return DEAD_LETTERED;
  }
  return result;
}

/**
 * An operator that calls the named function on each record and emits what `emit` makes of the result
 * (`map`: the record with the result as its value; `filter`: the record, when the result is truthy).
 */
export function functionOperator(
  fnName: string,
  what: string,
  options: { undefinedIsError: boolean },
  emit: (record: StreamRecord, result: unknown, out: Subscriber<StreamRecord>) => void,
): Operator {
  const fn = userFunction(fnName);
  const name = JSON.stringify(fnName);
  return {
    apply: perRecord((record, out, batch) => {
      const result = callFunction(fn, name, record, batch, options);
      if (result !== DEAD_LETTERED) emit(record, result, out);
    }),
    describe: () => `${what} with function ${name}`,
  };
}
