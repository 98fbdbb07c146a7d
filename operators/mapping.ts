/**
 * mapping — reshapes each value into new fields declared in the config (paths, templates,
 * conversions, constants), compiled once into one function.
 *
 * ```yaml
 * - type: mapping
 *   fields:
 *     id: login.uuid
 *     address: "{location.street.number} {location.street.name}, {location.city}"
 *     post_code: { path: location.postcode, as: string }
 *     source: { value: randomuser }
 * ```
 * See also: `map` (with code), `validate`, operators/path.ts (the path syntax). What it does: the
 * spec's description and field docs below (docs/operators.md).
 */
import * as t from 'io-ts';
import type { Subscriber } from 'rxjs';
import { BooleanFromAny, oneOf, textParsedBy } from '../topology/codecs.ts';
import { errorMessage } from '../topology/errors.ts';
import { defineComponent, problem, type ConfigProblem } from '../topology/registry.ts';
import { objectCodec, optional, required, withDefault } from '../topology/spec.ts';
import type { BatchScope, Operator, StreamRecord } from '../topology/types.ts';
import { compileFunction } from './compile.ts';
import { compilePath, kindOf, parsePath, parseTemplate, PathText, readStatements, scalarText } from './path.ts';
import { perRecord, recordCopier } from './per-record.ts';

const CONVERSIONS = ['string', 'number', 'integer', 'boolean', 'json'] as const;
export type Conversion = (typeof CONVERSIONS)[number];

export interface PathField {
  path: string;
  as?: Conversion;
  default?: unknown;
  required?: boolean;
}

export interface TemplateField {
  template: string;
  required?: boolean;
}

export interface ConstantField {
  value: unknown;
}

/** An output field: a path, a template (text with `{path}` placeholders), or one of the object forms. */
export type MappedField = string | PathField | TemplateField | ConstantField;

export interface MappingConfig {
  fields: Record<string, MappedField>;
  keep?: boolean;
}

/** What a conversion returns for a value it cannot convert (the record is then dead-lettered). */
const REJECTED = Symbol('rejected');

const NUMERIC_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

function toNumber(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : REJECTED;
  return typeof value === 'string' && NUMERIC_TEXT.test(value) ? Number(value) : REJECTED;
}

const convert: Record<Conversion, (value: unknown) => unknown> = {
  string: (value) => scalarText(value) ?? REJECTED,
  number: toNumber,
  integer: (value) => {
    const number = toNumber(value);
    return Number.isInteger(number) ? number : REJECTED;
  },
  boolean: (value) => (typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : REJECTED),
  json: (value) => {
    try {
      return JSON.stringify(value);
    } catch {
      return REJECTED; // cycles and BigInts, which only a map function can put in a value
    }
  },
};

const ARTICLE: Record<Conversion, string> = { string: 'a string', number: 'a number', integer: 'an integer', boolean: 'a boolean', json: 'JSON' };

/** A value as a reason shows it: scalars as JSON (cut short), other values by kind. */
function shown(value: unknown): string {
  const text = scalarText(value) === undefined ? undefined : JSON.stringify(value);
  if (text === undefined) return kindOf(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Constants are shared by every output record: a frozen copy (the config itself stays as it was),
 * so that a mutation downstream fails loudly instead of changing every record.
 */
function frozenCopy<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const nested of Object.values(value)) deepFreeze(nested);
  }
  return value;
}

/**
 * One output field, compiled: `code` is the generated statements that set `f<i>` (i: the field's
 * position) or reject the record with `return <i>`; `explain` says why, called only then, so
 * accepted records build no text.
 */
interface FieldPlan {
  name: string;
  code: string;
  explain(value: unknown): string;
}

/** The values generated code refers to, by field position. */
interface Scope {
  fallback: unknown[];
  conversion: ((value: unknown) => unknown)[];
  constant: unknown[];
}

const IS_ABSENT = 't === undefined || t === null';

function missingOrNull(name: string, path: string, found: unknown): string {
  return `${name}: path ${path} is ${found === undefined ? 'missing' : 'null'}`;
}

function planPathField(i: number, name: string, spec: PathField, scope: Scope): FieldPlan {
  const { path, as } = spec;
  const read = readStatements(parsePath(path), 'v');
  const conversion = as === undefined ? undefined : convert[as];
  let fallback: unknown = null;
  if (spec.default !== undefined && spec.default !== null) {
    fallback = conversion === undefined ? spec.default : conversion(spec.default);
    if (fallback === REJECTED) throw new Error(`default ${shown(spec.default)} cannot be read as ${ARTICLE[as!]}`);
  }
  scope.fallback[i] = frozenCopy(fallback);
  if (conversion) scope.conversion[i] = conversion;
  const present = conversion ? `conversion[${i}](t)` : 't';
  const code = [
    read,
    spec.required === true ? `if (${IS_ABSENT}) return ${i}; const f${i} = ${present};` : `const f${i} = ${IS_ABSENT} ? fallback[${i}] : ${present};`,
    conversion ? `if (f${i} === REJECTED) return ${i};` : '',
  ].join(' ');
  const readPath = compilePath(path);
  return {
    name,
    code,
    explain(value) {
      const found = readPath(value);
      if (found === undefined || found === null) return missingOrNull(name, path, found);
      return `${name}: path ${path} is ${shown(found)}, which cannot be read as ${ARTICLE[as!]}`;
    },
  };
}

/** A placeholder's text: strings as they are, numbers and booleans as text, objects as JSON. */
function placeholderText(found: unknown): string {
  return scalarText(found) ?? JSON.stringify(found);
}

function planTemplateField(i: number, name: string, spec: TemplateField): FieldPlan {
  const { literals, paths } = parseTemplate(spec.template);
  const placeholders = paths.map((path, j) => {
    const absent = spec.required === true ? `if (${IS_ABSENT}) return ${i}; const f${i}_${j} = text(t);` : `const f${i}_${j} = ${IS_ABSENT} ? "" : text(t);`;
    return `${readStatements(parsePath(path), 'v')} ${absent}`;
  });
  const concatenation = literals.map((literal, j) => (j < paths.length ? `${JSON.stringify(literal)} + f${i}_${j}` : JSON.stringify(literal))).join(' + ');
  const reads = paths.map(compilePath);
  return {
    name,
    code: `${placeholders.join('\n')}\nconst f${i} = ${concatenation};`,
    explain(value) {
      const index = reads.findIndex((read) => read(value) == null);
      return missingOrNull(name, paths[index], reads[index](value));
    },
  };
}

function planField(i: number, name: string, spec: MappedField, scope: Scope): FieldPlan {
  // Assigning `__proto__` would set the output's prototype instead of a field.
  if (name === '__proto__') throw new Error('"__proto__" cannot be an output field name');
  if (typeof spec === 'string') {
    return spec.includes('{') ? planTemplateField(i, name, { template: spec }) : planPathField(i, name, { path: spec }, scope);
  }
  if ('value' in spec) {
    scope.constant[i] = frozenCopy(spec.value);
    return { name, code: `const f${i} = constant[${i}];`, explain: () => `${name}: a constant is never rejected` };
  }
  return 'template' in spec ? planTemplateField(i, name, spec) : planPathField(i, name, spec, scope);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The mapping of an object value: the output row, or the position of the field that rejects it. */
type Mapper = (value: Record<string, unknown>) => Record<string, unknown> | number;

/** One generated function for the whole mapping: every read a direct load, the row one object literal. */
function compileMapper(plans: FieldPlan[], keep: boolean, scope: Scope): Mapper {
  const output = keep
    ? `const row = { ...v };\n${plans.map((plan, i) => `row[${JSON.stringify(plan.name)}] = f${i};`).join('\n')}\nreturn row;`
    : `return { ${plans.map((plan, i) => `${JSON.stringify(plan.name)}: f${i}`).join(', ')} };`;
  const body = `let t;\n${plans.map((plan) => plan.code).join('\n')}\n${output}`;
  return compileFunction<Mapper>(['v'], body, { ...scope, isArray: Array.isArray, text: placeholderText, REJECTED });
}

/** The problems planning the fields finds (the spec's check): each at `fields.<name>`. */
function mappingProblems(config: MappingConfig): ConfigProblem[] {
  const scope: Scope = { fallback: [], conversion: [], constant: [] };
  return Object.entries(config.fields).flatMap(([name, spec], i) => {
    try {
      planField(i, name, spec, scope);
      return [];
    } catch (error) {
      return [problem(`fields.${name}`, errorMessage(error))];
    }
  });
}

export function mappingOperator(config: MappingConfig): Operator {
  const scope: Scope = { fallback: [], conversion: [], constant: [] };
  const plans = Object.entries(config.fields).map(([name, spec], i) => planField(i, name, spec, scope));
  const keep = config.keep === true;
  const map = compileMapper(plans, keep, scope);
  const withValue = recordCopier('value');

  function handle(record: StreamRecord, out: Subscriber<StreamRecord>, batch: BatchScope): void {
    const value = record.value;
    if (!isObject(value)) {
      batch.deadLetter(record, `the value is ${kindOf(value)}, expected an object to map fields from`);
      return;
    }
    const row = map(value);
    if (typeof row === 'number') batch.deadLetter(record, plans[row].explain(value));
    else out.next(withValue(record, row));
  }

  const names = plans.map((plan) => plan.name);
  return {
    apply: perRecord(handle),
    describe: () => `mapping to ${names.length} field${names.length === 1 ? '' : 's'} (${names.join(', ')})${keep ? ' over the original fields' : ''}`,
  };
}

// Config codecs. Each form is checked with the field's own path, e.g. `fields.post_code.as`.

const pathFieldCodec = objectCodec('a path field', {
  path: required(PathText, 'Path of the value.'),
  as: optional(oneOf(CONVERSIONS), 'Conversion of the value.'),
  default: optional(t.unknown, 'Value used when the path is missing or null.'),
  required: withDefault(BooleanFromAny, false, 'Dead-letter the record when the path is missing or null.'),
});

const TemplateText = textParsedBy('a template with {path} placeholders', parseTemplate);

const templateFieldCodec = objectCodec('a template field', {
  template: required(TemplateText, 'Text with {path} placeholders.'),
  required: withDefault(BooleanFromAny, false, 'Dead-letter the record when a placeholder is missing or null.'),
});

const constantFieldCodec = objectCodec('a constant field', {
  value: required(t.unknown, 'The constant.'),
});

const FORMS = ['path', 'template', 'value'] as const;

function validatePathField(u: unknown, c: t.Context): t.Validation<MappedField> {
  const result = pathFieldCodec.validate(u, c);
  if (result._tag === 'Left') return result;
  const spec = result.right;
  if (spec.default === undefined || spec.default === null) return result;
  const defaultContext = [...c, { key: 'default', type: t.unknown, actual: spec.default }];
  if (spec.required) return t.failure(spec.default, defaultContext, 'give default or required: true, not both');
  if (spec.as !== undefined && convert[spec.as](spec.default) === REJECTED) {
    return t.failure(spec.default, defaultContext, `${shown(spec.default)} cannot be read as ${ARTICLE[spec.as]}`);
  }
  return result;
}

function validateField(u: unknown, c: t.Context): t.Validation<MappedField> {
  if (typeof u === 'string') return (u.includes('{') ? TemplateText : PathText).validate(u, c);
  if (!isObject(u)) return t.failure(u, c);
  const given = FORMS.filter((form) => u[form] !== undefined);
  if (given.length !== 1) {
    return t.failure(u, c, `give exactly one of path, template or value; got ${given.length === 0 ? 'none' : given.join(', ')}`);
  }
  if (given[0] === 'path') return validatePathField(u, c);
  return given[0] === 'template' ? templateFieldCodec.validate(u, c) : constantFieldCodec.validate(u, c);
}

const MappedFields = new t.Type<Record<string, MappedField>, unknown, unknown>(
  'output fields: { <name>: <path, template, or { path | template | value, ... }> }',
  (u): u is Record<string, MappedField> => isObject(u),
  (u, c) => {
    if (!isObject(u)) return t.failure(u, c);
    const names = Object.keys(u);
    if (names.length === 0) return t.failure(u, c, 'map at least one field');
    const errors: t.Errors = [];
    for (const name of names) {
      const fieldContext = [...c, { key: name, type: t.unknown, actual: u[name] }];
      // Assigning `__proto__` would set the output's prototype instead of a field.
      if (name === '__proto__') {
        errors.push({ value: u[name], context: fieldContext, message: '"__proto__" cannot be an output field name' });
        continue;
      }
      const result = validateField(u[name], fieldContext);
      if (result._tag === 'Left') errors.push(...result.left);
    }
    return errors.length > 0 ? t.failures(errors) : t.success(u as Record<string, MappedField>);
  },
  (a) => a,
);

const fields = {
  fields: required(
    MappedFields,
    'The output fields, in order, each given as: a path (`name.first`, `results[0].id`); a template (text with `{path}` placeholders, which insert strings as they are, numbers and booleans as text, objects as JSON, and a missing or null value as nothing); ' +
      '`{ path, as, default, required }`, where `as` (string, number, integer, boolean, json) converts the value, `default` replaces a missing or null value, and `required: true` dead-letters the record instead; ' +
      '`{ template, required }`; or `{ value }`, a constant. A missing or null value without default becomes null.',
  ),
  keep: withDefault(BooleanFromAny, false, 'false: output only the mapped fields; true: the original fields with the mapped ones over them.'),
};

defineComponent({
  kind: 'operator',
  type: 'mapping',
  summary: 'Reshapes each value into new fields declared in the config: paths, templates, conversions, constants.',
  description:
    'Builds each output value from the declared `fields`, so a mapping changes without code. Paths read nested fields and array elements (`location.street.name`, `results[0].id`); templates combine several; ' +
    '`as` converts (a numeric postcode read `as: string` becomes "69217"); text, including apostrophes and non-Latin scripts, passes through untouched. ' +
    'A record is dead-lettered unchanged, naming the field and path, when its value is not an object, a required path is missing or null (`id: path login.uuid is missing`), or a value cannot be converted. ' +
    'Paths and templates are compiled once at start; see docs/operators-mapping-cost.md for the measured cost per record.',
  fields,
  examples: [
    'type: mapping\nfields:\n  id: login.uuid\n  first_name: name.first\n  address: "{location.street.number} {location.street.name}, {location.city}"\n  post_code: { path: location.postcode, as: string }',
    'type: mapping\nkeep: true\nfields:\n  age: { path: dob.age, as: integer, required: true }\n  source: { value: randomuser }',
  ],
  check: mappingProblems,
  keepsValues: true,
  create: mappingOperator,
});
