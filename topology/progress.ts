/**
 * The per-batch progress event, modelled on Spark's StreamingQueryProgress: one per committed
 * micro-batch, a runtime event (logged as a JSON line and summarised on the console).
 */
import type { Committed } from './ledger.ts';
import type { Offsets, Operator, Sink, Source } from './types.ts';

export interface ProgressEvent {
  event: 'progress';
  topology: string;
  pipeline: string;
  batchId: number;
  /** When the trigger that produced this batch fired (ISO 8601). */
  timestamp: string;
  numInputRows: number;
  /** numInputRows / time since the previous batch's trigger (Spark's definition). */
  inputRowsPerSecond: number;
  /** numInputRows / triggerExecution. */
  processedRowsPerSecond: number;
  durationMs: {
    /** Whole batch: read, process, write, commit. */
    triggerExecution: number;
    getBatch: number;
    process: number;
    /** Sink and dead-letter writes, retries included. */
    write: number;
    commit: number;
  };
  sources: Array<{ description: string; startOffset: Offsets; endOffset: Offsets; metrics?: Record<string, unknown> }>;
  sink: { description: string; numOutputRows: number; retries: number };
  numDeadLetterRows: number;
  /** Event-time watermark (ms since epoch) of the pipeline's event-time operators, if any. */
  watermark?: number;
  stateOperators: Array<{ operator: string; metrics: Record<string, number> }>;
  /** Keys of operator state this batch changed (written to the changelogs in its checkpoint, when durable). */
  numStateChanges?: number;
  /** The restore that came before this batch, when tasks were assigned. */
  stateRestore?: { tasks: number[]; entriesRead: number; keys: number; ms: number };
}

/** Rows per second, 0 when the duration is 0 or unknown. */
export function rate(rows: number, ms: number): number {
  return ms > 0 ? Math.round((rows * 1000 * 10) / ms) / 10 : 0;
}

/** The progress event of a committed batch. */
export function progressEvent(
  outcome: Committed,
  where: { topology: string; pipeline: string; source: Source; operators: readonly Operator[]; sink: Sink; restore?: ProgressEvent['stateRestore'] },
): ProgressEvent {
  const { batch, write } = outcome;
  const { startedAt, readAt, processedAt = readAt, sincePreviousTrigger = 0 } = batch.times;
  const total = outcome.committedAt - startedAt;
  const input = batch.inputRows;
  const watermarks = where.operators.map((op) => op.watermark?.()).filter((w): w is number => w !== undefined);
  return {
    event: 'progress',
    topology: where.topology,
    pipeline: where.pipeline,
    batchId: batch.id,
    timestamp: new Date(startedAt).toISOString(),
    numInputRows: input,
    inputRowsPerSecond: rate(input, sincePreviousTrigger),
    processedRowsPerSecond: rate(input, total),
    durationMs: { triggerExecution: total, getBatch: readAt - startedAt, process: processedAt - readAt, write: write.writtenAt - processedAt, commit: outcome.committedAt - outcome.commitStartedAt },
    sources: [{ description: where.source.describe(), startOffset: batch.read.startOffsets, endOffset: batch.read.endOffsets, metrics: batch.read.metrics }],
    sink: { description: where.sink.describe(), numOutputRows: batch.output.length, retries: write.retries },
    numDeadLetterRows: batch.deadLetters.length,
    ...(watermarks.length > 0 ? { watermark: Math.min(...watermarks) } : {}),
    stateOperators: where.operators.filter((op) => op.metrics).map((op) => ({ operator: op.describe(), metrics: op.metrics!() })),
    ...(batch.stateChanges > 0 ? { numStateChanges: batch.stateChanges } : {}),
    ...(where.restore ? { stateRestore: where.restore } : {}),
  };
}
