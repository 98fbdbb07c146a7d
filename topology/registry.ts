/**
 * The component registry: sources, operators and sinks register themselves by `type`, each with its
 * spec (summary, description, examples, config fields). The topology codec dispatches on `type`
 * through here, the docs are generated from here, and the runtime creates instances through here —
 * so the runtime never imports a concrete component.
 */
import * as t from 'io-ts';
import type { ComponentContext, ComponentInstanceByKind, ComponentKind, Sink } from './types.ts';
import type { ReplicationSetting } from './codecs.ts';
import { objectCodec, type ConfigOf, type Fields, type ObjectCodec } from './spec.ts';
import { sinkPolicyCodec, sinkPolicyFields, type SinkPolicy } from './sink-policy.ts';

export interface ComponentDefinition<K extends ComponentKind = ComponentKind, F extends Fields = Fields> {
  kind: K;
  type: string;
  /** One line. */
  summary: string;
  /**
   * A paragraph or two: what it does, its delivery guarantees, its costs. The one place a component's
   * behaviour is described: docs/sources.md, operators.md and sinks.md are generated from it.
   */
  description: string;
  /** The config's fields (without `type`). */
  fields: F;
  /** YAML snippets, shown in the docs. */
  examples?: string[];
  /**
   * True when the component joins the pipeline's transaction under `processing: exactly-once` (Kafka
   * sources, sinks and state backends); an exactly-once pipeline refuses components without it.
   */
  transactional?: boolean;
  /**
   * The external services this component will connect to (no I/O), so the CLI can check them — or
   * start the local ones — before anything runs, e.g. `[{ service: 'kafka', address: '127.0.0.1:9092' }]`.
   */
  endpoints?(config: ConfigOf<F>): Endpoint[];
  /**
   * Rules no single field can check: between fields (give `fn` or `where`), against the registered
   * functions and schemas, or against the pipeline (`where.operatorsBefore`). Runs when the topology is
   * loaded, after every field decoded; each problem is listed by its path like any config error.
   */
  check?(config: ConfigOf<F>, where: CheckContext): ConfigProblem[];
  /**
   * Stateful operators: the steps that let the operator's state be split by group across tasks, when its
   * state is not keyed by the record key — a step before the repartition topic that keys each record by
   * its group, and steps after it (topology/stages.ts). Undefined when the input's own partitioning
   * already keeps each group in one task.
   */
  repartition?(config: ConfigOf<F>): RepartitionSteps | undefined;
  /**
   * Operators: true when the operator never modifies a value it is given — it passes the value on as it
   * is, or emits a new one. Where every operator before a repartition topic keeps values, a record whose
   * value is still the one its source decoded (`StreamRecord.decoded`) goes into the topic as the bytes
   * the source read, not encoded again (topology/stages.ts). Undefined (false): it may, e.g. it hands the
   * value to a registered function.
   */
  keepsValues?: boolean | ((config: ConfigOf<F>) => boolean);
  /**
   * Sources whose positions outlive the process (Kafka): the sink and source configs, in this source's
   * system, of an internal topic that one stage of a pipeline writes and the next reads
   * (topology/stages.ts). Undefined configs are decoded like any component's.
   */
  exchange?(config: ConfigOf<F>, channel: ExchangeChannel): Exchange;
  create(config: ConfigOf<F>, ctx: ComponentContext): ComponentInstanceByKind[K] | Promise<ComponentInstanceByKind[K]>;
}

/** Operator configs (not yet decoded) around a repartition: `before` keys records by group, `after` reads them back. */
export interface RepartitionSteps {
  before: unknown[];
  after: unknown[];
  /** Fields of the operator's own (decoded) config that differ when it reads through the repartition topic. */
  operatorFields?: Record<string, unknown>;
}

/** An internal topic between two stages of a pipeline. */
export interface ExchangeChannel {
  topology: string;
  pipeline: string;
  /** Unique in the pipeline, e.g. `repartition` or `repartition-2`: part of the topic's name and the reader's group. */
  name: string;
  partitions: number;
  replicationFactor: ReplicationSetting;
  /**
   * Every operator of the stage that writes the exchange keeps the values it is given
   * (ComponentDefinition.keepsValues): a record whose value is still the one its source decoded may be
   * written as the bytes the source read (`StreamRecord.decoded`, `raw`) instead of encoded again.
   */
  keepsSourceValues: boolean;
}

/** The two ends of an exchange (component configs, not yet decoded), and what it is called in the source's system. */
export interface Exchange {
  sink: unknown;
  source: unknown;
  /** e.g. `topic user-pipeline.nat_minute.user-pipeline-nat-minute.repartition` */
  describe: string;
}

/** What a component's `check` may know about where it stands. */
export interface CheckContext {
  /** The types of the operators before this component in its pipeline, in order (none for a source). */
  operatorsBefore: readonly string[];
  /** The types of those operators that may modify a value they are given (not `keepsValues`), in order. */
  operatorsChangingValues: readonly string[];
}

/** One problem found by a `check`: `path` is relative to the component (`slide`, `fields.age`; '' for the whole). */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** A problem at `path`, for `check` hooks that find at most one per field. */
export function problem(path: string, message: string): ConfigProblem {
  return { path, message };
}

/** An external service a component connects to. `address` is `host:port[,host:port…]`. */
export interface Endpoint {
  service: string;
  address: string;
}

/** A component's decoded config, with its `type`. */
export interface ComponentConfig {
  type: string;
  [field: string]: unknown;
}

/** What the docs show of a component: its spec without the code. */
export type ComponentInfo = Pick<ComponentDefinition, 'kind' | 'type' | 'summary' | 'description' | 'fields' | 'examples' | 'transactional'>;

/**
 * A registered component with its config type erased: its hooks take the decoded config as the
 * pipeline holds it and decode their own fields again, typed, before calling the spec's functions.
 */
interface Entry<K extends ComponentKind> {
  info: ComponentInfo;
  /** The component's fields and the framework's common ones for its kind. */
  codec: ObjectCodec<Fields>;
  create(config: ComponentConfig, ctx: ComponentContext): Promise<ComponentInstanceByKind[K]>;
  check(config: ComponentConfig, where: CheckContext): ConfigProblem[];
  endpoints(config: ComponentConfig): Endpoint[];
  repartition(config: ComponentConfig): RepartitionSteps | undefined;
  keepsValues(config: ComponentConfig): boolean;
  exchange: ((config: ComponentConfig, channel: ExchangeChannel) => Exchange) | undefined;
}

/** Fields the framework adds to every component of a kind (and handles itself), e.g. a sink's `batch` and `retry`. */
export type CommonFields = Partial<Record<ComponentKind, Fields>>;

type Entries = { [K in ComponentKind]: Map<string, Entry<K>> };

export class Registry {
  private readonly entries: Entries = { source: new Map(), operator: new Map(), sink: new Map(), state: new Map() };

  constructor(readonly commonFields: CommonFields = { sink: sinkPolicyFields }) {}

  register<K extends ComponentKind, F extends Fields>(definition: ComponentDefinition<K, F>): ComponentDefinition<K, F> {
    const { kind, type, summary, description, fields, examples, transactional } = definition;
    const byType: Map<string, Entry<K>> = this.entries[kind];
    if (byType.has(type)) throw new Error(`a ${kind} of type "${type}" is registered twice`);
    const own = objectCodec(`${type} ${kind} config`, fields);
    const withCommon: Fields = { ...fields, ...this.commonFields[kind] };
    // A config this registry decoded (with the common fields): its own fields, typed by the codec's
    // guard. Decoding again would not do: a decoded value is not always valid input (a ttl of 90s decodes to 90).
    const typed = (config: ComponentConfig): ConfigOf<F> => {
      const picked: unknown = Object.fromEntries(Object.keys(fields).filter((key) => key in config).map((key) => [key, config[key]]));
      if (!own.is(picked)) throw new Error(`${type} ${kind}: a config that was not decoded by the registry`);
      return picked;
    };
    byType.set(type, {
      info: { kind, type, summary, description, fields, examples, transactional },
      codec: objectCodec(`${type} ${kind} config`, withCommon),
      create: async (config, ctx) => definition.create(typed(config), ctx),
      check: (config, where) => definition.check?.(typed(config), where) ?? [],
      endpoints: (config) => definition.endpoints?.(typed(config)) ?? [],
      repartition: (config) => definition.repartition?.(typed(config)),
      keepsValues: (config) => (typeof definition.keepsValues === 'function' ? definition.keepsValues(typed(config)) : definition.keepsValues === true),
      exchange: definition.exchange ? (config, channel) => definition.exchange!(typed(config), channel) : undefined,
    });
    return definition;
  }

  types(kind: ComponentKind): string[] {
    return [...this.entries[kind].keys()].sort();
  }

  /** The spec of one component type (without its code). */
  info(kind: ComponentKind, type: string): ComponentInfo {
    return this.entry(kind, type).info;
  }

  /** The specs of one kind, by type, for the docs. */
  definitions(kind: ComponentKind): ComponentInfo[] {
    return this.types(kind).map((type) => this.entry(kind, type).info);
  }

  private entry<K extends ComponentKind>(kind: K, type: string): Entry<K> {
    const byType: Map<string, Entry<K>> = this.entries[kind];
    const entry = byType.get(type);
    if (!entry) throw new Error(`unknown ${kind} type "${type}"`);
    return entry;
  }

  /** The codec of `{ type: ..., ...config }` for one kind: dispatches on `type`, lists known types when unknown. */
  codec(kind: ComponentKind): t.Type<ComponentConfig, unknown, unknown> {
    return new t.Type<ComponentConfig, unknown, unknown>(
      `a ${kind}`,
      (u): u is ComponentConfig => typeof u === 'object' && u !== null && typeof (u as ComponentConfig).type === 'string',
      (input, context) => {
        if (typeof input !== 'object' || input === null || Array.isArray(input)) {
          return t.failure(input, context, `expected a ${kind} (an object with a "type" field; known types: ${this.types(kind).join(', ')})`);
        }
        const { type, ...rest } = input as Record<string, unknown>;
        const typeContext = [...context, { key: 'type', type: t.string, actual: type }];
        if (typeof type !== 'string') {
          return t.failure(type, typeContext, `expected a ${kind} type, one of: ${this.types(kind).join(', ')}`);
        }
        const entry = this.entries[kind].get(type);
        if (!entry) {
          return t.failure(type, typeContext, `unknown ${kind} type "${type}"; known ${kind} types: ${this.types(kind).join(', ')}`);
        }
        const result = entry.codec.validate(rest, context);
        return result._tag === 'Left' ? result : t.success({ type, ...(result.right as Record<string, unknown>) });
      },
      (a) => a,
    );
  }

  /** The problems a decoded config's `check` finds (none when its spec has no check). */
  check(kind: ComponentKind, config: ComponentConfig, where: CheckContext): ConfigProblem[] {
    return this.entry(kind, config.type).check(config, where);
  }

  /**
   * Decode a component config and run its check, as loading a topology does: for tests and tools that
   * hold one component's config. `context` is where the config stands, for the errors' paths.
   */
  decode(kind: ComponentKind, input: unknown, where: CheckContext = { operatorsBefore: [], operatorsChangingValues: [] }, context: t.Context = []): t.Validation<ComponentConfig> {
    const result = this.codec(kind).validate(input, context);
    if (result._tag === 'Left') return result;
    const problems = this.check(kind, result.right, where);
    return problems.length > 0 ? t.failures(problemErrors(problems, input, context)) : result;
  }

  /** Create an instance from a decoded config. */
  create<K extends ComponentKind>(kind: K, config: ComponentConfig, ctx: ComponentContext): Promise<ComponentInstanceByKind[K]> {
    return this.entry(kind, config.type).create(config, ctx);
  }

  /** Create a sink, with the batching and retry policy the framework composes around it. */
  async createSink(config: ComponentConfig, ctx: ComponentContext): Promise<{ sink: Sink; policy: SinkPolicy }> {
    const policy = sinkPolicyCodec.decode({ batch: config.batch, retry: config.retry });
    if (policy._tag === 'Left') throw new Error(`sink ${config.type} at ${ctx.path}: its batch and retry policy did not decode (was the config decoded first?)`);
    return { sink: await this.create('sink', config, ctx), policy: policy.right };
  }

  /** An operator's repartition steps (ComponentDefinition.repartition); undefined when it needs none. */
  repartitionOf(config: ComponentConfig): RepartitionSteps | undefined {
    return this.entry('operator', config.type).repartition(config);
  }

  /** Whether an operator never modifies a value it is given (ComponentDefinition.keepsValues). */
  keepsValues(config: ComponentConfig): boolean {
    return this.entry('operator', config.type).keepsValues(config);
  }

  /** The exchange a source offers for repartitioning (ComponentDefinition.exchange); undefined when it offers none. */
  exchangeOf(config: ComponentConfig, channel: ExchangeChannel): Exchange | undefined {
    return this.entry('source', config.type).exchange?.(config, channel);
  }

  /** The external services a configured component will connect to. */
  endpoints(kind: ComponentKind, config: ComponentConfig): Endpoint[] {
    return this.entries[kind].has(config.type) ? this.entry(kind, config.type).endpoints(config) : [];
  }

  /** The spec codec of one component (for docs and redaction). */
  specCodec(kind: ComponentKind, type: string): ObjectCodec<Fields> | undefined {
    return this.entries[kind].get(type)?.codec;
  }
}

/** Check problems as io-ts errors at their paths below `context`, so formatErrors lists them like any other. */
export function problemErrors(problems: ConfigProblem[], actual: unknown, context: t.Context): t.Errors {
  return problems.map((p) => ({
    value: actual,
    context: [...context, ...(p.path === '' ? [] : p.path.split('.').map((key) => ({ key, type: t.unknown, actual })))],
    message: p.message,
  }));
}

/** The process-wide registry that components register into when their module is imported. */
export const registry = new Registry();

/** Define and register a component. Its module's import is its registration. */
export function defineComponent<K extends ComponentKind, F extends Fields>(definition: ComponentDefinition<K, F>): ComponentDefinition<K, F> {
  return registry.register(definition);
}
