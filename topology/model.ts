/**
 * The topology file's model: named pipelines, each a chain source → operators → sink (plus an optional
 * dead-letter sink), with a Spark-style trigger. Components are validated through the registry, so the
 * codec accepts exactly the component types that are registered.
 */
import * as t from 'io-ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from './spec.ts';
import { BooleanFromAny, Duration, NonEmptyString, PositiveInt, ReplicationFactorOrAuto, oneOf, type ReplicationSetting } from './codecs.ts';
import { problemErrors, type ComponentConfig, type Registry } from './registry.ts';

export const triggerFields = {
  mode: withDefault(
    oneOf(['processingTime', 'availableNow']),
    'processingTime',
    'processingTime: a micro-batch every `interval` (0 = as fast as possible, Spark\'s default trigger). availableNow: process what the source has now, in batches, then stop.',
  ),
  interval: withDefault(Duration, 0, 'Time from the start of one micro-batch to the start of the next; a batch that overruns is followed at once.'),
  maxRecordsPerTrigger: withDefault(PositiveInt, 10_000, 'Upper bound of records read per micro-batch (Spark\'s maxOffsetsPerTrigger).'),
  idleDelay: withDefault(Duration, 100, 'Pause after an empty micro-batch before asking the source again.'),
  readWait: withDefault(Duration, 100, 'How long one read may wait for the first records to arrive.'),
};
export const TriggerCodec = objectCodec('trigger', triggerFields);
export type TriggerConfig = ConfigOf<typeof triggerFields>;
const defaultTrigger: TriggerConfig = { mode: 'processingTime', interval: 0, maxRecordsPerTrigger: 10_000, idleDelay: 100, readWait: 100 };

const failureFields = {
  action: withDefault(oneOf(['retry', 'stop']), 'retry', 'After a batch fails for good: retry it from the committed offsets after a backoff, or stop the pipeline (exit code 1).'),
  initialBackoff: withDefault(Duration, 1000, 'First pause before a failed batch is retried; doubles each time.'),
  maxBackoff: withDefault(Duration, 30_000, 'Upper bound of that pause.'),
};
const defaultFailure = { action: 'retry' as const, initialBackoff: 1000, maxBackoff: 30_000 };

const repartitionFields = {
  enabled: withDefault(BooleanFromAny, true, 'false keeps every stateful operator\'s state in the tasks of the input itself: then a group may be split over tasks, merged only within one process — run such a pipeline as a single process.'),
  partitions: withDefault(PositiveInt, 6, 'Partitions of each repartition topic (created when missing): the most processes that can share the stateful work.'),
  replicationFactor: withDefault(
    ReplicationFactorOrAuto,
    'auto' as ReplicationSetting,
    'Replication factor of each repartition topic; `auto`: as many copies as there are brokers, at most 3, with min.insync.replicas a majority of them (as the kafka sink\'s `createTopic`).',
  ),
};
export type RepartitionConfig = ConfigOf<typeof repartitionFields>;
const defaultRepartition: RepartitionConfig = { enabled: true, partitions: 6, replicationFactor: 'auto' };

const PipelineName = new t.Type<string, unknown, unknown>(
  'a pipeline name (letters, digits, "_" or "-")',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' && /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(u) ? t.success(u) : t.failure(u, c)),
  (a) => a,
);

function pipelineFields(registry: Registry) {
  return {
    description: optional(t.string, 'What the pipeline does, shown by --describe.'),
    enabled: withDefault(BooleanFromAny, true, 'false keeps the pipeline in the file but does not run it.'),
    source: required(registry.codec('source'), 'Where records come from: a source component, chosen by `type`.'),
    operators: withDefault(t.array(registry.codec('operator'), 'a list of operators'), [] as ComponentConfig[], 'Operators applied in order to every micro-batch.'),
    sink: required(registry.codec('sink'), 'Where records go: a sink component, chosen by `type`.'),
    deadLetter: optional(registry.codec('sink'), 'Where records that fail an operator go, with the reason (typically a `dead-letter` Kafka topic). Without it they are logged as warnings.'),
    state: optional(
      registry.codec('state'),
      'Where stateful operators (window, dedupe, aggregate) make their state durable: a changelog per store, written in each batch\'s checkpoint and restored when a task (an input partition) is assigned. Without it, state lives in memory only, and a restart or a swap starts it empty.',
    ),
    repartition: withDefault(
      objectCodec('repartition settings', repartitionFields),
      defaultRepartition,
      'A stateful operator that groups by something other than the record key (a window or aggregate `groupBy`, a dedupe `field`) reads through an internal repartition topic keyed by its group, so that each group lives in one task and several processes can share the work (docs/scaling.md). Needs a source that offers one (kafka); not with `trigger.mode: availableNow`.',
    ),
    trigger: withDefault(TriggerCodec, defaultTrigger, 'When micro-batches run and how large they may be.'),
    maxInFlight: withDefault(PositiveInt, 1, 'Micro-batches being written at once; the next read waits for a free slot (backpressure).'),
    processing: withDefault(
      oneOf(['at-least-once', 'exactly-once']),
      'at-least-once',
      'at-least-once: a batch whose commit is lost is written again (idempotent sinks make that harmless). exactly-once: each batch\'s outputs, state changes and offsets are one Kafka transaction, committed together or not at all — for pipelines whose source, outputs and state backend are Kafka (docs/model.md, "Guarantees").',
    ),
    onFailure: withDefault(objectCodec('failure policy', failureFields), defaultFailure, 'What happens when a batch fails after the sink\'s own retries.'),
    stopTimeout: withDefault(Duration, 30_000, 'On stop, how long an in-flight batch may take to finish before it is abandoned uncommitted.'),
  };
}

export type PipelineConfig = ConfigOf<ReturnType<typeof pipelineFields>>;

const loggingFields = {
  dir: withDefault(t.string, '.state/logs', 'Folder of the JSON log file (`<topology>.log`), relative to the working directory.'),
  level: withDefault(oneOf(['error', 'warn', 'info', 'debug']), 'info', 'Lowest level logged.'),
  console: withDefault(oneOf(['pretty', 'json', 'off']), 'pretty', 'Console output: readable lines, JSON lines, or none.'),
  maxSize: withDefault(PositiveInt, 20 * 1024 * 1024, 'Bytes before the log file is rotated (it also rotates at midnight UTC).'),
  maxFiles: withDefault(PositiveInt, 5, 'Log files kept, the live one included.'),
};
export type LoggingConfig = ConfigOf<typeof loggingFields>;
const defaultLogging: LoggingConfig = { dir: '.state/logs', level: 'info', console: 'pretty', maxSize: 20 * 1024 * 1024, maxFiles: 5 };

const Port = new t.Type<number, unknown, unknown>(
  'a port number from 0 to 65535',
  (u): u is number => Number.isInteger(u) && (u as number) >= 0 && (u as number) <= 65535,
  (u, c) => {
    const n = typeof u === 'string' && /^\d+$/.test(u.trim()) ? Number(u) : u;
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535 ? t.success(n) : t.failure(u, c);
  },
  (a) => a,
);

const metricsFields = {
  enabled: optional(BooleanFromAny, 'Serve Prometheus metrics at http://<host>:<port>/metrics. Default: on when `port` is given (npm start -- --metrics-port N turns it on too).'),
  host: withDefault(NonEmptyString, '127.0.0.1', 'Address the metrics server listens on: loopback only by default; 0.0.0.0 in a container, for a Prometheus in another one.'),
  port: optional(Port, 'Port of the metrics server (9464 when `enabled: true` gives none); 0 picks a free one, and the URL is logged.'),
};
export type MetricsConfig = ConfigOf<typeof metricsFields>;

function pipelinesCodec(registry: Registry) {
  const pipeline = objectCodec('pipeline', pipelineFields(registry));
  return new t.Type<Record<string, PipelineConfig>, unknown, unknown>(
    'a map of pipeline names to pipelines',
    (u): u is Record<string, PipelineConfig> => typeof u === 'object' && u !== null,
    (input, context) => {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) return t.failure(input, context, 'expected a map of pipeline names to pipelines');
      const entries = Object.entries(input as Record<string, unknown>);
      if (entries.length === 0) return t.failure(input, context, 'expected at least one pipeline');
      const errors: t.Errors = [];
      const out: Record<string, PipelineConfig> = {};
      for (const [name, value] of entries) {
        const entryContext = [...context, { key: name, type: pipeline, actual: value }];
        const nameResult = PipelineName.validate(name, [...context, { key: name, type: PipelineName, actual: name }]);
        if (nameResult._tag === 'Left') errors.push(...nameResult.left);
        const result = pipeline.validate(value, entryContext);
        if (result._tag === 'Left') errors.push(...result.left);
        else {
          const problems = checkComponents(registry, result.right, value, entryContext);
          if (problems.length > 0) errors.push(...problems);
          else out[name] = result.right;
        }
      }
      return errors.length > 0 ? t.failures(errors) : t.success(out);
    },
    (a) => a,
  );
}

/** Every component's own `check` (registry.ts), once the pipeline decoded, each at its path in the pipeline. */
function checkComponents(registry: Registry, pipeline: PipelineConfig, actual: unknown, context: t.Context): t.Errors {
  const at = (...keys: string[]): t.Context => [...context, ...keys.map((key) => ({ key, type: t.unknown, actual }))];
  const types = pipeline.operators.map((op) => op.type);
  const changing = (operators: PipelineConfig['operators']) => operators.filter((op) => !registry.keepsValues(op)).map((op) => op.type);
  const none = { operatorsBefore: [], operatorsChangingValues: [] };
  return [
    ...exactlyOnceProblems(registry, pipeline).map(({ path, message }) => ({ value: actual, context: at(...path.split('.')), message })),
    ...problemErrors(registry.check('source', pipeline.source, none), actual, at('source')),
    ...pipeline.operators.flatMap((op, i) =>
      problemErrors(registry.check('operator', op, { operatorsBefore: types.slice(0, i), operatorsChangingValues: changing(pipeline.operators.slice(0, i)) }), actual, at('operators', String(i))),
    ),
    ...problemErrors(registry.check('sink', pipeline.sink, { operatorsBefore: types, operatorsChangingValues: changing(pipeline.operators) }), actual, at('sink')),
    ...(pipeline.deadLetter ? problemErrors(registry.check('sink', pipeline.deadLetter, none), actual, at('deadLetter')) : []),
  ];
}

/** What `processing: exactly-once` needs: one batch in flight, and every source, output and state backend joining the transaction. */
function exactlyOnceProblems(registry: Registry, pipeline: PipelineConfig): Array<{ path: string; message: string }> {
  if (pipeline.processing !== 'exactly-once') return [];
  const problems: Array<{ path: string; message: string }> = [];
  if (pipeline.maxInFlight !== 1) problems.push({ path: 'maxInFlight', message: 'processing: exactly-once commits one transaction at a time: maxInFlight must be 1' });
  const parts: Array<[string, 'source' | 'sink' | 'state', ComponentConfig | undefined]> = [
    ['source', 'source', pipeline.source],
    ['sink', 'sink', pipeline.sink],
    ['deadLetter', 'sink', pipeline.deadLetter],
    ['state', 'state', pipeline.state],
  ];
  for (const [path, kind, config] of parts) {
    if (config && !registry.info(kind, config.type).transactional) {
      problems.push({ path: `${path}.type`, message: `a ${config.type} ${kind} cannot join a Kafka transaction, which processing: exactly-once needs (its source, outputs and state backend must be Kafka: kafka, dead-letter); use processing: at-least-once` });
    }
  }
  return problems;
}

export function topologyFields(registry: Registry) {
  return {
    name: optional(PipelineName, 'The topology\'s name; defaults to the file name.'),
    description: optional(t.string, 'What the topology does.'),
    pipelines: required(pipelinesCodec(registry), 'The pipelines, by name; all enabled ones run in one process.'),
    logging: withDefault(objectCodec('logging', loggingFields), defaultLogging, 'Log file and console output.'),
    metrics: withDefault(objectCodec('metrics', metricsFields), { host: '127.0.0.1' }, 'The Prometheus metrics endpoint (docs/observability.md); read at start, a swap does not change it.'),
  };
}

export type TopologyConfig = ConfigOf<ReturnType<typeof topologyFields>> & { name: string };

export function topologyCodec(registry: Registry) {
  return objectCodec('topology', topologyFields(registry));
}
