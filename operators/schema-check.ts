/**
 * A fast pass for `validate`: an io-ts codec compiled once into a function that answers "does this
 * value certainly decode to itself?" without allocating, so the common case — a valid record — skips
 * io-ts's per-field `Right` objects and context arrays (measured as most of validate's cost, and a
 * share of the young-generation GC).
 *
 * The check is one-sided on purpose: `true` only when `codec.decode(value)` would give `Right(value)`,
 * the very same object; `false` means "not certain", and the caller then decodes with io-ts as
 * before. Verdicts, decoded values and error messages therefore all still come from io-ts; the check
 * only ever skips work whose outcome it knows.
 *
 * Understood exactly (io-ts 2.2 semantics): `t.type` (interfaces), `t.string`, `t.number`,
 * `t.boolean`, `t.null`, `t.undefined`, `t.unknown`, `t.UnknownRecord`, `t.UnknownArray`, literals,
 * arrays, `t.readonly`, and types made with `predicateType`. Any other type (a custom `t.Type`, a union...)
 * is asked through its own `validate`, and passes only if that returns the value itself.
 *
 * ```ts
 * const certainlyValid = compileSchemaCheck(RandomUser);
 * if (!certainlyValid(value)) result = RandomUser.decode(value); // errors, conversions: io-ts as ever
 * ```
 * See also: validate.ts (its only user), compile.ts (why generate code).
 */
import * as t from 'io-ts';
import { compileFunction } from './compile.ts';

const predicateTypes = new WeakSet<t.Mixed>();

/**
 * A type that accepts exactly what `is` accepts, as itself: its `validate` is `is(u) ? success(u) :
 * failure`, which lets `compileSchemaCheck` call `is` directly instead of `validate`.
 */
export function predicateType<A>(name: string, is: (u: unknown) => u is A): t.Type<A, A, unknown> {
  const type = new t.Type<A, A, unknown>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
  predicateTypes.add(type as t.Mixed);
  return type;
}

/** `is` of the types whose `is` and `validate` agree and return the value itself. */
function exactTest(type: t.Mixed): string | undefined {
  if (type instanceof t.StringType) return 'typeof X === "string"';
  if (type instanceof t.NumberType) return 'typeof X === "number"';
  if (type instanceof t.BooleanType) return 'typeof X === "boolean"';
  if (type instanceof t.NullType) return 'X === null';
  if (type instanceof t.UndefinedType || type instanceof t.VoidType) return 'X === undefined';
  if (type instanceof t.UnknownType) return 'true';
  if (type instanceof t.AnyDictionaryType) return 'X !== null && typeof X === "object" && !Array.isArray(X)';
  if (type instanceof t.AnyArrayType) return 'Array.isArray(X)';
  return undefined;
}

/** Compiles `codec` into a check that is true only when decoding a value gives that same value. */
export function compileSchemaCheck(codec: t.Mixed): (value: unknown) => boolean {
  const scope: Record<string, unknown> = {};
  let names = 0;
  const fresh = (prefix: string) => `${prefix}${names++}`;
  const inScope = (value: unknown) => {
    const name = fresh('s');
    scope[name] = value;
    return name;
  };

  /** Statements that `return false` unless the value in variable `v` decodes to itself under `type`. */
  const statements = (type: t.Mixed, v: string): string => {
    // NaN decodes to NaN, which io-ts's `!==` sees as a change: the object holding it is copied.
    const test = exactTest(type);
    if (test !== undefined) return `if (!(${test.replaceAll('X', v)}) || ${v} !== ${v}) return false;\n`;
    if (predicateTypes.has(type)) return `if (!${inScope(type.is)}(${v}) || ${v} !== ${v}) return false;\n`;
    if (type instanceof t.LiteralType) return `if (${v} !== ${inScope(type.value)}) return false;\n`;
    if (type instanceof t.ReadonlyType) return statements(type.type as t.Mixed, v);
    if (type instanceof t.InterfaceType) {
      let code = `if (${v} === null || typeof ${v} !== "object" || Array.isArray(${v})) return false;\n`;
      for (const [key, prop] of Object.entries(type.props as Record<string, t.Mixed>)) {
        const field = fresh('v');
        // A missing key whose type accepts undefined decodes to a copy with the key added: not itself.
        code += `const ${field} = ${v}[${JSON.stringify(key)}];\nif (${field} === undefined && !Object.hasOwn(${v}, ${JSON.stringify(key)})) return false;\n`;
        code += statements(prop, field);
      }
      return code;
    }
    if (type instanceof t.ArrayType) {
      const i = fresh('i');
      const item = fresh('v');
      return `if (!Array.isArray(${v})) return false;\nfor (let ${i} = 0; ${i} < ${v}.length; ${i}++) {\nconst ${item} = ${v}[${i}];\n${statements(type.type as t.Mixed, item)}}\n`;
    }
    // Anything else answers through its own validate (the context only matters for its errors, which are not kept).
    const result = fresh('r');
    return `const ${result} = ${inScope(type)}.validate(${v}, noContext);\nif (${result}._tag !== "Right" || ${result}.right !== ${v}) return false;\n`;
  };

  const body = `${statements(codec, 'value')}return true;`;
  return compileFunction(['value'], body, { ...scope, noContext: Object.freeze([]) });
}
