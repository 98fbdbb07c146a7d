/**
 * End-to-end latency of the latency and steady legs, per record, two ways:
 *
 * - **written**: Cassandra's WRITETIME of the row minus the time the record was due to be produced.
 *   cassandra-driver stamps every INSERT with a client-side timestamp (its default
 *   MonotonicTimestampGenerator: Date.now() in µs, plus a counter within one ms) when the sink calls
 *   `execute`, so this is "produced → INSERT sent", to about a millisecond;
 * - **committed**: the time the record's batch was acknowledged by Cassandra *and* its offsets were
 *   committed to Kafka (the pipeline's progress event) minus the same due time — what the framework
 *   guarantees, found through the partition/offset the producer's delivery report gave each record.
 *
 * All clocks are this machine's wall clock.
 */
import type cassandra from 'cassandra-driver';
import type { Deliveries, PhaseRecord } from './load.ts';
import type { BatchEvent } from './worker.ts';
import { PRODUCED_AT_COLUMN } from './topology.ts';
import { distribution, type Distribution } from './stats.ts';

export interface PhaseLatency {
  /** Records of the phase found as rows / committed. */
  rows: number;
  written: Distribution;
  committed: Distribution;
}

function phaseOf(phases: readonly PhaseRecord[], dueUs: number): number {
  return phases.findIndex((p) => dueUs >= p.startUs && dueUs <= p.endUs);
}

/** WRITETIME − due time, ms, per phase; reads every row of the table once. */
export async function writtenLatencies(client: cassandra.Client, table: string, phases: readonly PhaseRecord[]): Promise<number[][]> {
  const out = phases.map(() => [] as number[]);
  const query = `SELECT ${PRODUCED_AT_COLUMN}, WRITETIME(email) AS written FROM ${table}`;
  for await (const row of client.stream(query, [], { prepare: true, fetchSize: 5000, readTimeout: 60_000 }) as unknown as AsyncIterable<cassandra.types.Row>) {
    const due = Number(row.get(PRODUCED_AT_COLUMN));
    const phase = phaseOf(phases, due);
    if (phase >= 0) out[phase].push((Number(row.get('written')) - due) / 1000);
  }
  return out;
}

function firstIndexAtLeast(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Commit time of each record's batch − its due time, ms, per phase. */
export function committedLatencies(batches: readonly BatchEvent[], deliveries: Deliveries, phases: readonly PhaseRecord[]): number[][] {
  const out = phases.map(() => [] as number[]);
  for (const batch of batches) {
    for (const [key, end] of Object.entries(batch.endOffset)) {
      const partition = deliveries.byPartition.get(key);
      if (!partition) continue;
      const last = Number(end);
      for (let i = firstIndexAtLeast(partition.offsets, Number(batch.startOffset[key])); i < partition.offsets.length && partition.offsets[i] < last; i++) {
        const due = partition.dueUs[i];
        const phase = phaseOf(phases, due);
        if (phase >= 0) out[phase].push((batch.committedAtUs - due) / 1000);
      }
    }
  }
  return out;
}

export function phaseLatencies(written: number[][], committed: number[][]): PhaseLatency[] {
  return written.map((w, i) => ({ rows: w.length, written: distribution(w), committed: distribution(committed[i]) }));
}
