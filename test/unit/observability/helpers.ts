/**
 * Log lines as topology/logger.ts writes them (winston JSON, with the topology and pipeline fields the
 * runtime adds), for feeding the tail view and the metrics.
 */
import type { ProgressEvent } from '../../../topology/progress.ts';

export const T0 = Date.parse('2026-11-21T12:00:00.000Z');

export interface BatchSpec {
  pipeline?: string;
  batchId?: number;
  /** ms after T0 when the trigger fired. */
  at: number;
  in: number;
  out?: number;
  dead?: number;
  durationMs?: number;
  sourceMetrics?: Record<string, number | Record<string, number>>;
}

export function progressEvent(spec: BatchSpec): ProgressEvent {
  const duration = spec.durationMs ?? 10;
  return {
    event: 'progress',
    topology: 't',
    pipeline: spec.pipeline ?? 'process',
    batchId: spec.batchId ?? 0,
    timestamp: new Date(T0 + spec.at).toISOString(),
    numInputRows: spec.in,
    inputRowsPerSecond: 0,
    processedRowsPerSecond: 0,
    durationMs: { triggerExecution: duration, getBatch: 1, process: 1, write: duration - 2, commit: 0 },
    sources: [{ description: 'memory channel in', startOffset: { index: 0 }, endOffset: { index: spec.in }, metrics: spec.sourceMetrics }],
    sink: { description: 'memory channel out', numOutputRows: spec.out ?? spec.in, retries: 0 },
    numDeadLetterRows: spec.dead ?? 0,
    stateOperators: [],
  };
}

export function progressLine(spec: BatchSpec): string {
  return JSON.stringify({ ...progressEvent(spec), level: 'info', message: 'progress' });
}

/** Any other entry; `at` in ms after T0. */
export function logLine(at: number, level: string, message: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ level, message, topology: 't', ...fields, timestamp: new Date(T0 + at).toISOString() });
}

export function failedBatchLine(at: number, pipeline: string, batchId: number, error: string): string {
  return logLine(at, 'error', `batch ${batchId} failed; 10 record(s) rolled back to the last committed position, retrying in 1000 ms`, { pipeline, error, consecutiveFailures: 1 });
}

export function swapLine(at: number, change: { changed?: string[]; added?: string[]; removed?: string[]; unchanged?: string[]; revertedTo?: Record<string, string> }, message: string): string {
  return logLine(at, 'info', message, { event: 'swap', changed: [], added: [], removed: [], unchanged: [], pauseMs: 12, inFlightRecords: {}, ...change });
}
