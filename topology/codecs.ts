/**
 * Small io-ts codecs shared by component specs. Each is named in plain words ("a positive integer"),
 * because the name is what a config error prints after "expected".
 */
import * as t from 'io-ts';
import { errorMessage } from './errors.ts';

/** A plain object (not null, an array or a Buffer): what a YAML mapping decodes to. */
export function isPlainObject(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u) && !Buffer.isBuffer(u);
}

/**
 * The values `accepts` says, under one name — for unions of scalars: t.union would report each
 * member's failure under its index (`where.gt[0]`, `where.gt[1]`) instead of once.
 */
export function acceptedBy<A>(name: string, accepts: (u: unknown) => u is A): t.Type<A, unknown, unknown> {
  return new t.Type<A, unknown, unknown>(name, accepts, (u, c) => (accepts(u) ? t.success(u) : t.failure(u, c)), (a) => a);
}

/**
 * Text that `parse` accepts; decodes to the text itself. `parse` throws with the reason when it does
 * not accept it (a path, a template, a regular expression), and the reason becomes the config error.
 */
export function textParsedBy(name: string, parse: (text: string) => unknown, reason: (message: string) => string = (message) => message): t.Type<string, unknown, unknown> {
  return new t.Type<string, unknown, unknown>(
    name,
    (u): u is string => typeof u === 'string',
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c);
      try {
        parse(u);
        return t.success(u);
      } catch (error) {
        return t.failure(u, c, reason(errorMessage(error)));
      }
    },
    (a) => a,
  );
}

export interface MapOptions {
  /** Refuse an empty map (`expected …, got {}`). */
  nonEmpty?: boolean;
  /** Why a name is refused, or undefined when it is fine; reported at the entry's path. */
  refuseName?: (name: string) => string | undefined;
  /** Leave out entries whose value is null (`key:` or an empty `\${VAR:-}` means "not given"). */
  skipNull?: boolean;
}

/**
 * A map of names to values of `value` (a YAML mapping), each entry checked at its own path —
 * `aggregations.users.fn`, `columns.email` — and every bad entry reported, not just the first.
 */
export function mapOf<A>(name: string, value: t.Type<A, unknown, unknown>, options: MapOptions = {}): t.Type<Record<string, A>, unknown, unknown> {
  return new t.Type<Record<string, A>, unknown, unknown>(
    name,
    (u): u is Record<string, A> => isPlainObject(u) && Object.values(u).every((v) => value.is(v)),
    (u, c) => {
      if (!isPlainObject(u) || (options.nonEmpty && Object.keys(u).length === 0)) return t.failure(u, c);
      const errors: t.Errors = [];
      const out: Record<string, A> = {};
      for (const [key, item] of Object.entries(u)) {
        if (item === null && options.skipNull) continue;
        const context = [...c, { key, type: value, actual: item }];
        const refused = options.refuseName?.(key);
        if (refused !== undefined) errors.push({ value: key, context, message: refused });
        const result = value.validate(item, context);
        if (result._tag === 'Left') errors.push(...result.left);
        else out[key] = result.right;
      }
      return errors.length > 0 ? t.failures(errors) : t.success(out);
    },
    (a) => a,
  );
}

function integerCodec(name: string, min: number): t.Type<number, unknown, unknown> {
  return new t.Type<number, unknown, unknown>(
    name,
    (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min,
    (u, c) => {
      const n = typeof u === 'string' && /^-?\d+$/.test(u.trim()) ? Number(u) : u;
      return typeof n === 'number' && Number.isInteger(n) && n >= min ? t.success(n) : t.failure(u, c);
    },
    (a) => a,
  );
}

export const PositiveInt = integerCodec('a positive integer', 1);
export const NonNegativeInt = integerCodec('a non-negative integer', 0);

/** A fraction between 0 and 1 inclusive. */
export const Fraction = new t.Type<number, unknown, unknown>(
  'a number from 0 to 1',
  (u): u is number => typeof u === 'number' && u >= 0 && u <= 1,
  (u, c) => {
    const n = typeof u === 'string' && u.trim() !== '' ? Number(u) : u;
    return typeof n === 'number' && n >= 0 && n <= 1 ? t.success(n) : t.failure(u, c);
  },
  (a) => a,
);

export const BooleanFromAny = new t.Type<boolean, unknown, unknown>(
  'true or false',
  (u): u is boolean => typeof u === 'boolean',
  (u, c) => (typeof u === 'boolean' ? t.success(u) : u === 'true' ? t.success(true) : u === 'false' ? t.success(false) : t.failure(u, c)),
  (a) => a,
);

export const NonEmptyString = new t.Type<string, unknown, unknown>(
  'a non-empty string',
  (u): u is string => typeof u === 'string' && u.length > 0,
  (u, c) => (typeof u === 'string' && u.length > 0 ? t.success(u) : t.failure(u, c)),
  (a) => a,
);

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `2s`, `1.5m`, `1h`, or a number of milliseconds. */
export function parseDuration(u: unknown): number | undefined {
  if (typeof u === 'number') return Number.isFinite(u) && u >= 0 ? u : undefined;
  if (typeof u !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(u);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}

/** A duration in milliseconds, written `500ms`, `2s`, `1m`, `1h` or as a number of milliseconds. */
export const Duration = new t.Type<number, unknown, unknown>(
  'a duration such as 500ms, 2s, 1m or 1h',
  (u): u is number => typeof u === 'number' && u >= 0,
  (u, c) => {
    const ms = parseDuration(u);
    return ms === undefined ? t.failure(u, c) : t.success(ms);
  },
  (a) => a,
);

/** A duration longer than zero (a window size, a time to live). */
export const PositiveDuration = new t.Type<number, unknown, unknown>(
  'a duration longer than zero, such as 10s, 1m or 1h',
  (u): u is number => typeof u === 'number' && u > 0,
  (u, c) => {
    const ms = parseDuration(u);
    return ms !== undefined && ms > 0 ? t.success(ms) : t.failure(u, c);
  },
  (a) => a,
);

/** One of a fixed set of strings. */
export function oneOf<const V extends string>(values: readonly V[]): t.Type<V, unknown, unknown> {
  return new t.Type<V, unknown, unknown>(
    `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    (u): u is V => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) => (typeof u === 'string' && (values as readonly string[]).includes(u) ? t.success(u as V) : t.failure(u, c)),
    (a) => a,
  );
}

/**
 * A CQL / Kafka-safe identifier: a letter, then letters, digits or underscores, at most 48 characters.
 * Identifiers reach CQL statements, so anything else is refused here rather than quoted later.
 */
export const Identifier = new t.Type<string, unknown, unknown>(
  'an identifier (a letter, then letters, digits or _; at most 48 characters)',
  (u): u is string => typeof u === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,47}$/.test(u),
  (u, c) => (typeof u === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,47}$/.test(u) ? t.success(u) : t.failure(u, c)),
  (a) => a,
);

/** A Kafka topic name: letters, digits, `.`, `_`, `-`; 1 to 249 characters. */
export const TopicName = new t.Type<string, unknown, unknown>(
  'a Kafka topic name (letters, digits, ".", "_" or "-")',
  (u): u is string => typeof u === 'string' && /^[A-Za-z0-9._-]{1,249}$/.test(u),
  (u, c) => (typeof u === 'string' && /^[A-Za-z0-9._-]{1,249}$/.test(u) && u !== '.' && u !== '..' ? t.success(u) : t.failure(u, c)),
  (a) => a,
);

/** `host:port` list, given as a comma-separated string or a YAML list. Decodes to the comma-joined string. */
export const HostList = new t.Type<string, unknown, unknown>(
  'host:port addresses (a comma-separated string or a list)',
  (u): u is string => typeof u === 'string',
  (u, c) => {
    const items = Array.isArray(u) ? u : typeof u === 'string' ? u.split(',') : undefined;
    if (!items || items.length === 0) return t.failure(u, c);
    const parts = items.map((s) => (typeof s === 'string' ? s.trim() : ''));
    return parts.every((p) => /^[^\s,:]+(:\d{1,5})?$/.test(p) || /^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/.test(p)) ? t.success(parts.join(',')) : t.failure(u, c);
  },
  (a) => a,
);

/** `scheme://user:***@host…`: the password of a URL's user info replaced, even where the URL does not parse. */
function withoutUrlPassword(text: string): string {
  return text.replace(/^((?:[a-z][a-z0-9+.-]*:)?(?:\/\/)?[^/?#@:\s]*):[^/?#\s]*@/i, '$1:***@');
}

/** An http(s) URL. An invalid one is quoted in the error without the password it may carry. */
export const HttpUrl = new t.Type<string, unknown, unknown>(
  'an http(s) URL',
  (u): u is string => typeof u === 'string',
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c);
    try {
      const url = new URL(u);
      if (url.protocol === 'http:' || url.protocol === 'https:') return t.success(u);
    } catch {
      // reported below
    }
    return t.failure(withoutUrlPassword(u), c);
  },
  (a) => a,
);

/** A map of string keys to string/number/boolean values, passed through to a client library. */
export const StringMap = t.record(t.string, t.union([t.string, t.number, t.boolean]), 'a map of option names to values');

/** A replication factor, or `auto`: decided when the topic or keyspace is created, from the cluster's size. */
export type ReplicationSetting = number | 'auto';

export const ReplicationFactorOrAuto = new t.Type<ReplicationSetting, unknown, unknown>(
  'a positive integer or "auto"',
  (u): u is ReplicationSetting => u === 'auto' || PositiveInt.is(u),
  (u, c) => (u === 'auto' ? t.success('auto' as const) : PositiveInt.validate(u, c)),
  (a) => a,
);

/** The most copies `auto` asks for: three survive one lost node with a majority left. */
export const AUTO_REPLICATION_CAP = 3;

/** `setting`, or for `auto` as many copies as there are nodes, at most three. */
export function resolveReplicationFactor(setting: ReplicationSetting, nodes: number): number {
  return setting === 'auto' ? Math.max(1, Math.min(AUTO_REPLICATION_CAP, nodes)) : setting;
}

/**
 * `setting`, or for `auto` how many copies a write must reach before it counts (Kafka's
 * min.insync.replicas): a majority of the copies, so that with three a write survives the loss of any one
 * broker and a broker down does not stop writes; 1 with one or two copies.
 */
export function resolveMinInsyncReplicas(setting: ReplicationSetting, replicationFactor: number): number {
  if (setting !== 'auto') return setting;
  return replicationFactor >= 3 ? Math.floor(replicationFactor / 2) + 1 : 1;
}
