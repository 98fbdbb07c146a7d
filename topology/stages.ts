/**
 * A pipeline as it runs: one stage, or several joined by repartition topics.
 *
 * A stateful operator keeps its state per task — one input partition. When it groups by something
 * other than the record key (a window `groupBy: [nat, gender]` over a topic keyed by user id), the
 * records of one group are spread over every partition: each task would hold part of each group, and
 * only one process could merge them. So the pipeline is cut in front of such an operator (its spec's
 * `repartition`): the stage before writes each record, keyed by its group, to an internal topic the
 * source offers (its spec's `exchange`); the stage after reads that topic, in which each group lives in
 * one partition, and runs the stateful operator and the rest. Several processes of the pipeline then
 * share the stateful work through the consumer group (docs/scaling.md), as in Kafka Streams.
 *
 * Each stage is a pipeline of its own to the runtime (a PipelineRunner): the last keeps the
 * pipeline's name, the ones before are `<pipeline>.repartition` (`.repartition-2`, … when there are
 * several). Every stage has the pipeline's trigger, processing, dead-letter output and state backend.
 */
import { formatErrors } from './errors.ts';
import type { PipelineConfig } from './model.ts';
import type { ComponentConfig, Registry } from './registry.ts';
import type { ComponentKind } from './types.ts';

export interface Stage {
  /** The runner's name: the pipeline's for the last stage, `<pipeline>.repartition…` for the ones before. */
  name: string;
  /** The pipeline of the topology file it belongs to. */
  pipeline: string;
  config: PipelineConfig;
}

/** A config the registry made from a spec hook, decoded like any config (an invalid one is a bug in that hook). */
function decoded(registry: Registry, kind: ComponentKind, input: unknown, what: string): ComponentConfig {
  const result = registry.decode(kind, input);
  if (result._tag === 'Left') throw new Error(`${what}: the ${kind} config made for it is invalid: ${formatErrors(result.left).join('; ')}`);
  return result.right;
}

/**
 * The stages of `pipeline`: one, unless a stateful operator needs a repartition, `repartition.enabled`
 * is on, the source offers an exchange, and the trigger is not availableNow (whose stages would have to
 * run one after the other).
 */
export function stagesOf(topology: string, pipeline: string, config: PipelineConfig, registry: Registry): Stage[] {
  const whole: Stage[] = [{ name: pipeline, pipeline, config }];
  if (!config.repartition.enabled || config.trigger.mode === 'availableNow') return whole;
  const stages: Stage[] = [];
  let source = config.source;
  let operators: ComponentConfig[] = [];
  for (const [i, op] of config.operators.entries()) {
    const steps = registry.repartitionOf(op);
    if (steps) {
      const name = stages.length === 0 ? 'repartition' : `repartition-${stages.length + 1}`;
      const what = `pipelines.${pipeline}.operators[${i}] (${op.type}) repartition`;
      const { partitions, replicationFactor } = config.repartition;
      const before = steps.before.map((step) => decoded(registry, 'operator', step, what));
      const stageOperators = [...operators, ...before];
      const keepsSourceValues = stageOperators.every((o) => registry.keepsValues(o));
      const exchange = registry.exchangeOf(config.source, { topology, pipeline, name, partitions, replicationFactor, keepsSourceValues });
      if (!exchange) return whole;
      stages.push({
        name: `${pipeline}.${name}`,
        pipeline,
        config: {
          ...config,
          description: `Repartitions ${pipeline}'s records by the group of operators[${i}] (${op.type}) into ${exchange.describe}.`,
          source,
          operators: stageOperators,
          sink: decoded(registry, 'sink', exchange.sink, what),
          // One batch in flight: the records of each source partition reach the topic in order.
          maxInFlight: 1,
        },
      });
      source = decoded(registry, 'source', exchange.source, what);
      operators = steps.after.map((step) => decoded(registry, 'operator', step, what));
      operators.push(steps.operatorFields ? { ...op, ...steps.operatorFields } : op);
      continue;
    }
    operators.push(op);
  }
  if (stages.length === 0) return whole;
  return [...stages, { name: pipeline, pipeline, config: { ...config, source, operators } }];
}
