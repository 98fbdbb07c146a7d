/**
 * Config pieces shared by the record-level operators: named-function lookup, and the "give either
 * this field or that one" rule of `filter` (fn | where) and `flat-map` (fn | path).
 */
import * as t from 'io-ts';
import { ComponentConfigError } from '../topology/errors.ts';
import { lookupFunction, type NamedFunction } from '../topology/functions.ts';
import type { ComponentContext } from '../topology/types.ts';

/**
 * `codec`, refusing a config that also gives the field `other`. The spec checks each field on its
 * own (it has no whole-config check), so this reads the sibling through io-ts's context: the entry
 * before the field's own holds the whole component config.
 */
export function exclusiveWith<A>(codec: t.Type<A, unknown, unknown>, other: string): t.Type<A, unknown, unknown> {
  return new t.Type<A, unknown, unknown>(
    codec.name,
    codec.is,
    (u, c) => {
      const own = c[c.length - 1]?.key;
      const config = c[c.length - 2]?.actual;
      if (typeof config === 'object' && config !== null && (config as Record<string, unknown>)[other] !== undefined) {
        return t.failure(u, c, `give either ${other} or ${own}, not both`);
      }
      return codec.validate(u, c);
    },
    codec.encode,
  );
}

/**
 * Which of two exclusive fields a config gives. Also checked here, at creation, because a config
 * that gives neither has no field for the spec to check.
 */
export function chooseOne<K extends string>(config: Partial<Record<K, unknown>>, keys: readonly [K, K], ctx: ComponentContext): K {
  const given = keys.filter((key) => config[key] !== undefined);
  if (given.length !== 1) {
    throw new ComponentConfigError(`${ctx.path}: give either ${keys[0]} or ${keys[1]}${given.length === 2 ? ', not both' : ''}`);
  }
  return given[0];
}

/** The registered function `name`; an unknown name fails creation, listing the known ones. */
export function userFunction(name: string, ctx: ComponentContext): NamedFunction['fn'] {
  try {
    return lookupFunction(name).fn;
  } catch (error) {
    throw new ComponentConfigError(`${ctx.path}.fn: ${(error as Error).message}`);
  }
}

/** The message of something thrown, for a dead-letter reason. */
export function thrownMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
