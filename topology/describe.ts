/**
 * `--describe`: the compiled graph of a topology, in the manner of Kafka Streams' Topology.describe():
 * each pipeline's source, operators, sink and dead-letter output, with topics, tables and triggers.
 * Components are created (which does no I/O) so each describes itself; nothing connects.
 */
import type { PipelineRunner } from './pipeline.ts';
import type { TopologyConfig } from './model.ts';

function triggerText(runner: PipelineRunner): string {
  const t = runner.config.trigger;
  const when = t.mode === 'availableNow' ? 'availableNow (process what is there, then stop)' : t.interval === 0 ? 'as fast as possible' : `every ${t.interval} ms`;
  return `trigger: ${when}, at most ${t.maxRecordsPerTrigger} records per batch, ${runner.config.maxInFlight} batch(es) in flight`;
}

export function describeTopology(config: TopologyConfig, file: string | undefined, runners: PipelineRunner[]): string {
  const lines = [`Topology: ${config.name}${file ? ` (${file})` : ''}`];
  if (config.description) lines.push(`  ${config.description.trim()}`);
  for (const runner of runners) {
    const p = runner.config;
    lines.push('', `  Pipeline: ${runner.name}${p.enabled ? '' : ' (disabled)'}`);
    if (p.description) lines.push(`    ${p.description.trim()}`);
    lines.push(`    ${triggerText(runner)}`);
    lines.push(`    Source: ${runner.source.describe()}`);
    runner.operators.forEach((op, i) => lines.push(`      --> Operator[${i}] ${p.operators[i].type}: ${op.describe()}`));
    const policy = runner.sinkPolicy;
    lines.push(`      --> Sink: ${runner.sink.describe()} (chunks of ${policy.batch.maxRows} rows, ${policy.batch.concurrency} at once, ${policy.retry.maxAttempts} attempts)`);
    lines.push(`      --> Dead letters: ${runner.deadLetterSink ? runner.deadLetterSink.describe() : 'logged as warnings (no deadLetter sink configured)'}`);
    for (const store of runner.storeLines()) lines.push(`      --> State: ${store}`);
  }
  return lines.join('\n');
}
