/**
 * Paths into a record's value, shared by the record-level operators.
 *
 * A path names a field by its way down: `gender`, `name.first`, `results[0].id`. A dot reads a field
 * of an object, `[n]` reads the n-th element of an array (from 0). A field name is any text without
 * `.`, `[`, `]`, `{` or `}` and without a leading or trailing space. A template is text with `{path}`
 * placeholders: `"{location.street.number} {location.street.name}, {location.city}"`.
 *
 * Paths and templates are parsed once, when an operator is created, and compiled into accessors:
 * reading a path for a record is then a few property loads, with no parsing and no allocation.
 *
 * Reading never throws: a path that leads nowhere (an absent field, an index past the end, a field
 * of a string or of null) reads as `undefined`, which the operators report as "missing".
 */
import { textParsedBy } from '../topology/codecs.ts';
import { compileFunction } from './compile.ts';

/** A field name, or an array index. */
export type Segment = string | number;

/** Reads the value at a path, or `undefined` when the path leads nowhere. */
export type Accessor = (value: unknown) => unknown;

export class PathSyntaxError extends Error {
  override name = 'PathSyntaxError';
}

function invalid(text: string, why: string): PathSyntaxError {
  return new PathSyntaxError(`${JSON.stringify(text)} is not a valid path: ${why}`);
}

function checkName(text: string, name: string): string {
  const forbidden = /[\]{}]/.exec(name);
  if (forbidden) throw invalid(text, `"${forbidden[0]}" cannot appear in a field name`);
  if (name.trim() !== name) throw invalid(text, `field name ${JSON.stringify(name)} starts or ends with a space`);
  // Reading `__proto__` would reach Object.prototype instead of a field of the record.
  if (name === '__proto__') throw invalid(text, '"__proto__" cannot be read');
  return name;
}

/** The segments of a path; throws a PathSyntaxError that says what is wrong. */
export function parsePath(text: string): Segment[] {
  if (text === '') throw new PathSyntaxError('a path cannot be empty');
  const segments: Segment[] = [];
  let position = 0;
  let expectName = true;
  while (position < text.length) {
    const char = text[position];
    if (char === '[') {
      const close = text.indexOf(']', position);
      if (close === -1) throw invalid(text, `"[" at character ${position + 1} is not closed`);
      const index = text.slice(position + 1, close);
      if (!/^\d+$/.test(index)) throw invalid(text, `[${index}] is not an array index (expected [0], [1], ...)`);
      if (segments.length === 0) throw invalid(text, 'it starts with an index; name the array first, e.g. results[0]');
      if (expectName) throw invalid(text, `a field name is missing before the "[" at character ${position + 1}`);
      segments.push(Number(index));
      position = close + 1;
      expectName = false;
    } else if (char === '.') {
      if (expectName) throw invalid(text, `a field name is missing before the "." at character ${position + 1}`);
      position += 1;
      expectName = true;
      if (position === text.length) throw invalid(text, 'it ends with "."');
    } else {
      if (!expectName) throw invalid(text, `expected "." or "[" at character ${position + 1}`);
      let end = position;
      while (end < text.length && text[end] !== '.' && text[end] !== '[') end += 1;
      segments.push(checkName(text, text.slice(position, end)));
      position = end;
      expectName = false;
    }
  }
  return segments;
}

/**
 * JavaScript statements that leave in `t` the value at `segments` below the variable `from` (see
 * compile.ts for why code is generated). They use `isArray`, which the compiled function's scope
 * must provide. Names are embedded as JSON string literals and indexes as digits.
 */
export function readStatements(segments: readonly Segment[], from: string): string {
  const steps = segments.map((segment) =>
    typeof segment === 'number'
      ? `t = isArray(t) ? t[${segment}] : undefined;`
      : `t = typeof t === "object" && t !== null && !isArray(t) ? t[${JSON.stringify(segment)}] : undefined;`,
  );
  // JSON values hold no functions: a function here is inherited (`constructor`, `toString`).
  return `t = ${from}; ${steps.join(' ')} if (typeof t === "function") t = undefined;`;
}

/** Parse and compile a path; throws a PathSyntaxError. */
export function compilePath(text: string): Accessor {
  return compileFunction<Accessor>(['v'], `let t; ${readStatements(parsePath(text), 'v')} return t;`, { isArray: Array.isArray });
}

/** A parsed template: `literals[0] {paths[0]} literals[1] ... {paths[n-1]} literals[n]`. */
export interface ParsedTemplate {
  literals: string[];
  paths: string[];
}

/** Split a template into literal text and placeholder paths (each parsed, so errors surface here). */
export function parseTemplate(text: string): ParsedTemplate {
  const literals: string[] = [];
  const paths: string[] = [];
  let literalStart = 0;
  let position = 0;
  while (position < text.length) {
    const char = text[position];
    if (char === '}') throw new PathSyntaxError(`${JSON.stringify(text)} is not a valid template: "}" at character ${position + 1} closes no placeholder`);
    if (char !== '{') {
      position += 1;
      continue;
    }
    const close = text.indexOf('}', position);
    const nextOpen = text.indexOf('{', position + 1);
    if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
      throw new PathSyntaxError(`${JSON.stringify(text)} is not a valid template: "{" at character ${position + 1} is not closed`);
    }
    const path = text.slice(position + 1, close).trim();
    try {
      parsePath(path);
    } catch (error) {
      throw new PathSyntaxError(`${JSON.stringify(text)} is not a valid template: placeholder {${path}}: ${(error as Error).message}`);
    }
    literals.push(text.slice(literalStart, position));
    paths.push(path);
    position = close + 1;
    literalStart = position;
  }
  if (paths.length === 0) throw new PathSyntaxError(`${JSON.stringify(text)} is not a template: it has no {path} placeholder`);
  literals.push(text.slice(literalStart));
  return { literals, paths };
}

/**
 * The text of a scalar: strings as they are, numbers and booleans as `String()` writes them
 * (69217 → "69217"); `undefined` for null, objects and arrays, which have no single text.
 */
export function scalarText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    default:
      return undefined;
  }
}

/** What a value is, in the words a dead-letter reason uses: "missing", "null", "an array", "a number"... */
export function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** A config field holding a path; decodes to the path text, refusing one that does not parse. */
export const PathText = textParsedBy('a path such as name.first or results[0].id', parsePath);
