/**
 * Runtime events, and log lines as the runtime writes them (topology/event-log.ts, through winston's
 * JSON format), for feeding the tail view and the metrics.
 */
import winston from 'winston';
import { CaptureTransport, type LogEntry } from '../../../testing/capture.ts';
import { logEvent } from '../../../topology/event-log.ts';
import type { BatchFailed, RuntimeEvent, SwapApplied } from '../../../topology/events.ts';
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

/** The log line the runtime writes for `event`, logged `at` ms after T0. */
export function eventLine(at: number, event: RuntimeEvent): string {
  const entries: LogEntry[] = [];
  logEvent(winston.createLogger({ level: 'debug', transports: [new CaptureTransport(entries)] }), event);
  const { level, message, ...fields } = entries[0];
  return logLine(at, level, message, fields);
}

export function failedBatch(pipeline: string, batchId: number, error: string): BatchFailed {
  return { event: 'batch-failed', topology: 't', pipeline, batchId, error, uncommittedRows: 10, consecutiveFailures: 1, action: 'retry', retryInMs: 1000 };
}

export function failedBatchLine(at: number, pipeline: string, batchId: number, error: string): string {
  return eventLine(at, failedBatch(pipeline, batchId, error));
}

type SwapChange = Partial<Pick<SwapApplied, 'changed' | 'added' | 'removed' | 'unchanged' | 'revertedTo'>>;

export function swap(change: SwapChange, summary: string): SwapApplied {
  return { event: 'swap', topology: 't', summary, changed: [], added: [], removed: [], unchanged: [], pauseMs: 12, inFlightRecords: {}, ...change };
}

export function swapLine(at: number, change: SwapChange, summary: string): string {
  return eventLine(at, swap(change, summary));
}
