/**
 * The per-batch progress event, modelled on Spark's StreamingQueryProgress: one per micro-batch,
 * logged as a JSON line and summarised on the console.
 */
import type { Offsets } from './types.ts';

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
}

/** Rows per second, 0 when the duration is 0 or unknown. */
export function rate(rows: number, ms: number): number {
  return ms > 0 ? Math.round((rows * 1000 * 10) / ms) / 10 : 0;
}
