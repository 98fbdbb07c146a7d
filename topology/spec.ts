/**
 * Config specs: every component declares its config as a set of fields, each with an io-ts codec, a
 * description, a default and whether it is secret (Redpanda Connect's component spec, on io-ts).
 * One spec gives three things that therefore cannot drift apart: validation (with defaults filled in
 * and unknown keys refused, so a typo is an error and not a silently ignored option), the generated
 * docs pages, and redaction of secret values in logs.
 *
 * @example
 * const config = objectCodec('http-poll config', {
 *   url: required(t.string, 'The URL to poll.'),
 *   interval: withDefault(Duration, 1000, 'Time between polls.'),
 *   password: optional(t.string, 'Basic-auth password.', { secret: true }),
 * });
 */
import * as t from 'io-ts';
import { isPlainObject } from './codecs.ts';
import { registerSecret } from './secrets.ts';

export interface FieldSpec<A, P extends 'always' | 'maybe'> {
  codec: t.Type<A, unknown, unknown>;
  description: string;
  presence: P;
  /** Filled in when the field is absent. */
  default?: A;
  /** Never logged, never printed in errors or `--describe`. */
  secret?: boolean;
}

export type Fields = Record<string, FieldSpec<any, 'always' | 'maybe'>>;

type AlwaysKeys<F extends Fields> = { [K in keyof F]: F[K]['presence'] extends 'always' ? K : never }[keyof F];
type MaybeKeys<F extends Fields> = Exclude<keyof F, AlwaysKeys<F>>;
type ValueOf<S> = S extends { codec: t.Type<infer A, unknown, unknown> } ? A : never;

/** The decoded config of a field set: defaults filled in, optional fields possibly undefined. */
export type ConfigOf<F extends Fields> = { [K in AlwaysKeys<F>]: ValueOf<F[K]> } & { [K in MaybeKeys<F>]?: ValueOf<F[K]> };

interface FieldOptions {
  secret?: boolean;
}

/** A field the user must give. */
export function required<A>(codec: t.Type<A, unknown, unknown>, description: string, options: FieldOptions = {}): FieldSpec<A, 'always'> {
  return { codec, description, presence: 'always', ...options };
}

/** A field that takes `value` when absent. */
export function withDefault<A>(codec: t.Type<A, unknown, unknown>, value: A, description: string, options: FieldOptions = {}): FieldSpec<A, 'always'> {
  return { codec, description, presence: 'always', default: value, ...options };
}

/** A field that may be absent (and then is undefined). */
export function optional<A>(codec: t.Type<A, unknown, unknown>, description: string, options: FieldOptions = {}): FieldSpec<A, 'maybe'> {
  return { codec, description, presence: 'maybe', ...options };
}

/**
 * A strict object codec built from a field spec. Reports every problem (all fields are checked even
 * after a failure), including unknown keys, with the field's path.
 */
export class ObjectCodec<F extends Fields> extends t.Type<ConfigOf<F>, unknown, unknown> {
  readonly _tag = 'ObjectCodec' as const;
  constructor(name: string, readonly fields: F) {
    super(
      name,
      (u): u is ConfigOf<F> => isPlainObject(u),
      (input, context) => {
        const value = input === undefined || input === null ? {} : input;
        if (!isPlainObject(value)) return t.failure(input, context, `expected an object (${name})`);
        const errors: t.Errors = [];
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value)) {
          if (!(key in fields)) {
            errors.push({
              value: value[key],
              context: [...context, { key, type: t.unknown, actual: value[key] }],
              message: `unknown field "${key}"; known fields: ${Object.keys(fields).join(', ') || '(none)'}`,
            });
          }
        }
        for (const [key, spec] of Object.entries(fields)) {
          const raw = value[key];
          // `key:` with no value (null) means "not given", as does an empty ${VAR:-}.
          if (raw === undefined || raw === null) {
            if (spec.default !== undefined) out[key] = structuredClone(spec.default);
            else if (spec.presence === 'always') {
              errors.push({ value: undefined, context: [...context, { key, type: spec.codec, actual: undefined }], message: `required field is missing (${spec.description})` });
            }
            continue;
          }
          const result = spec.codec.validate(raw, [...context, { key, type: spec.codec, actual: raw }]);
          if (result._tag === 'Left') {
            errors.push(...(spec.secret ? result.left.map((e) => ({ ...e, value: SECRET_PLACEHOLDER, message: e.message ?? `expected ${spec.codec.name}` })) : result.left));
          } else {
            out[key] = result.right;
            if (spec.secret && typeof result.right === 'string') registerSecret(result.right);
          }
        }
        return errors.length > 0 ? t.failures(errors) : t.success(out as ConfigOf<F>);
      },
      (a) => a,
    );
  }
}

export const SECRET_PLACEHOLDER = '***';

export function objectCodec<F extends Fields>(name: string, fields: F): ObjectCodec<F> {
  return new ObjectCodec(name, fields);
}

export function isObjectCodec(codec: unknown): codec is ObjectCodec<Fields> {
  return codec instanceof ObjectCodec;
}

/** A copy of a decoded config with every secret field (at any depth) replaced by `***`. */
export function redactConfig(codec: t.Mixed, config: unknown): unknown {
  if (!isObjectCodec(codec) || !isPlainObject(config)) return config;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const spec = codec.fields[key];
    if (spec?.secret && value !== undefined) out[key] = SECRET_PLACEHOLDER;
    else if (spec) out[key] = redactConfig(spec.codec, value);
    else out[key] = value;
  }
  return out;
}
