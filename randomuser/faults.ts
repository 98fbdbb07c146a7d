/**
 * Fault injection for the RandomUser test server: which share of requests fail, and how.
 *
 * Kinds, each modelled on what the real service (or the network in front of it) does:
 * - `error-body`: status 200 with `{ "error": "Uh oh, something has gone wrong. ..." }` instead of users;
 * - `503`: Service Unavailable with a `Retry-After` header (seconds) and an HTML body;
 * - `500`: Internal Server Error with an HTML body;
 * - `latency`: the normal answer, after a delay drawn from `latencyMs` (a fixed delay or a [min, max] range);
 * - `hang`: no answer at all, until the client gives up (or the server closes);
 * - `truncated`: status 200 whose JSON body is cut mid-way (a complete HTTP message; `JSON.parse` fails);
 * - `reset`: the connection is dropped in the middle of the body.
 *
 * With a `seed`, the same sequence of requests meets the same sequence of faults, so tests are
 * deterministic; without one the choice is random.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { Fraction, NonNegativeInt, oneOf } from '../topology/codecs.ts';
import { formatErrors } from '../topology/errors.ts';
import { Random, randomSeed } from './random.ts';

export const FAULT_KINDS = ['error-body', '503', '500', 'latency', 'hang', 'truncated', 'reset'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Every kind but `hang`, which costs each affected client its whole timeout and is better asked for. */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = ['error-body', '503', '500', 'latency', 'truncated', 'reset'];

export const ERROR_BODY = { error: 'Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you.' };

/** Fault settings as given: to `startRandomUserServer`, `setFaults`, or `POST /_faults` as JSON. */
export interface FaultOptions {
  /** Share of API requests that get a fault, 0 to 1. Default 0. */
  errorRate?: number;
  /** The kinds a faulty request picks from, uniformly. Default: every kind but `hang`. */
  kinds?: readonly FaultKind[];
  /** Delay of a `latency` fault in ms: fixed, or a [min, max] range. Default [200, 2000]. */
  latencyMs?: number | readonly [number, number];
  /** The `Retry-After` of a 503, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** Makes the choice of faults repeatable. */
  seed?: string | number;
  /** Inject at most this many faults, then answer normally. Default: no limit. */
  maxFaults?: number;
}

/** Fault settings in force, every default filled in. */
export interface Faults {
  errorRate: number;
  kinds: FaultKind[];
  latencyMs: [number, number];
  retryAfterSeconds: number;
  seed: string | null;
  maxFaults: number | null;
}

const FaultOptionsCodec = t.partial({
  errorRate: Fraction,
  kinds: t.array(oneOf(FAULT_KINDS)),
  latencyMs: t.union([NonNegativeInt, t.tuple([NonNegativeInt, NonNegativeInt])], 'a delay in ms or a [min, max] range'),
  retryAfterSeconds: NonNegativeInt,
  seed: t.union([t.string, t.number], 'a string or number'),
  maxFaults: NonNegativeInt,
});

const OPTION_NAMES = ['errorRate', 'kinds', 'latencyMs', 'retryAfterSeconds', 'seed', 'maxFaults'];

/** The settings `input` describes, or the list of what is wrong with it (unknown names included). */
export function parseFaultOptions(input: unknown): { options: FaultOptions } | { problems: string[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { problems: ['expected a JSON object of fault settings'] };
  const problems = Object.keys(input)
    .filter((key) => !OPTION_NAMES.includes(key))
    .map((key) => `${key}: unknown setting; known: ${OPTION_NAMES.join(', ')}`);
  const decoded = FaultOptionsCodec.decode(input);
  if (isLeft(decoded)) return { problems: [...problems, ...formatErrors(decoded.left)] };
  const latency = decoded.right.latencyMs;
  if (Array.isArray(latency) && latency[0] > latency[1]) problems.push(`latencyMs: the range's min (${latency[0]}) is above its max (${latency[1]})`);
  return problems.length > 0 ? { problems } : { options: decoded.right };
}

function resolveFaults(options: FaultOptions = {}): Faults {
  const latency = options.latencyMs ?? [200, 2000];
  return {
    errorRate: options.errorRate ?? 0,
    kinds: [...(options.kinds ?? DEFAULT_FAULT_KINDS)],
    latencyMs: typeof latency === 'number' ? [latency, latency] : [latency[0], latency[1]],
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    seed: options.seed === undefined ? null : String(options.seed),
    maxFaults: options.maxFaults ?? null,
  };
}

function validFaults(options: FaultOptions): Faults {
  const parsed = parseFaultOptions(options);
  if ('problems' in parsed) throw new Error(`invalid fault settings:\n  - ${parsed.problems.join('\n  - ')}`);
  return resolveFaults(parsed.options);
}

/** Decides, request by request, whether to inject a fault and its details. */
export class FaultInjector {
  private settings: Faults;
  private random: Random;
  private injected = 0;

  constructor(options: FaultOptions = {}) {
    this.settings = validFaults(options);
    this.random = Random.fromSeed(this.settings.seed ?? randomSeed());
  }

  /**
   * Replace the settings (defaults for what `options` leaves out) and restart the seeded sequence.
   * Throws, listing every problem, when the settings are invalid (an error rate of 5, an unknown kind).
   */
  set(options: FaultOptions): Faults {
    this.settings = validFaults(options);
    this.random = Random.fromSeed(this.settings.seed ?? randomSeed());
    this.injected = 0;
    return this.current();
  }

  current(): Faults {
    return { ...this.settings, kinds: [...this.settings.kinds], latencyMs: [...this.settings.latencyMs] };
  }

  /** The fault for the next request, if any. Always draws twice, so one request's outcome never shifts the next one's. */
  next(): FaultKind | undefined {
    const roll = this.random.float();
    const pick = this.random.float();
    const { errorRate, kinds, maxFaults } = this.settings;
    if (kinds.length === 0 || roll >= errorRate || (maxFaults !== null && this.injected >= maxFaults)) return undefined;
    this.injected++;
    return kinds[Math.floor(pick * kinds.length)];
  }

  latencyMs(): number {
    const [min, max] = this.settings.latencyMs;
    return this.random.between(min, max);
  }

  retryAfterSeconds(): number {
    return this.settings.retryAfterSeconds;
  }

  /** Where to cut a body of `length` bytes: somewhere between 10% and 90% of it, never at 0. */
  cutAt(length: number): number {
    return Math.max(1, Math.floor(length * (0.1 + 0.8 * this.random.float())));
  }
}
