/**
 * What one entry of a topology's log means. The JSON lines written by operations/logger.ts are read into
 * the few kinds of fact that the tail view (operations/tail.ts) and the Prometheus metrics
 * (operations/metrics.ts) count — progress events, failed batches, swaps, errors — so that both count
 * them the same way.
 */
import { swapOutcome, type SwapOutcome } from '../topology/events.ts';
import type { ProgressEvent } from '../topology/progress.ts';

export type { SwapOutcome };

/** One log entry: a parsed JSON line of the log file, or a winston info object. */
export type LogEntry = Record<string, unknown>;

export interface SwapNote {
  outcome: SwapOutcome;
  /** One line: a swap's summary, or why the new version was refused (the event's fields, not its message). */
  summary: string;
  changed: string[];
  added: string[];
  removed: string[];
}

export interface LogFact {
  /** When it was logged — for a progress event, when its trigger fired — in ms since the epoch. */
  time: number | undefined;
  level: string;
  pipeline: string | undefined;
  /** The message, then the `error` field after a dash, as the console shows them. */
  text: string;
  progress?: ProgressEvent;
  /** The id of the batch a `batch N failed` error is about. */
  failedBatch?: number;
  swap?: SwapNote;
}

/** A log line as an entry; undefined for a blank line or anything that is not a JSON object. */
export function parseLogLine(line: string): LogEntry | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

export function readLogEntry(entry: LogEntry): LogFact {
  const message = typeof entry.message === 'string' ? entry.message : '';
  const time = typeof entry.timestamp === 'string' ? Date.parse(entry.timestamp) : NaN;
  const fact: LogFact = {
    time: Number.isNaN(time) ? undefined : time,
    level: typeof entry.level === 'string' ? entry.level : 'info',
    pipeline: typeof entry.pipeline === 'string' ? entry.pipeline : undefined,
    text: entry.error === undefined ? message : `${message} — ${String(entry.error)}`,
  };
  if (entry.event === 'progress' && isProgressEvent(entry)) fact.progress = entry;
  if (entry.event === 'batch-failed' && typeof entry.batchId === 'number') fact.failedBatch = entry.batchId;
  if (entry.event === 'swap' || entry.event === 'swap-refused') fact.swap = swapNote(entry);
  return fact;
}

function swapNote(entry: LogEntry): SwapNote {
  const names = (key: string) => (Array.isArray(entry[key]) ? (entry[key] as unknown[]).filter((n): n is string => typeof n === 'string') : []);
  const text = (key: string) => (typeof entry[key] === 'string' ? entry[key] : '');
  if (entry.event === 'swap-refused') {
    return { outcome: 'refused', summary: `reload ${entry.cause === 'failed' ? 'failed' : 'refused'}: ${text('reason').split('\n')[0]}`, changed: [], added: [], removed: [] };
  }
  const change = { changed: names('changed'), added: names('added'), removed: names('removed') };
  return { outcome: swapOutcome({ event: 'swap', ...change, revertedTo: entry.revertedTo === undefined ? undefined : {} }), summary: text('summary'), ...change };
}

/** Checks the fields the tail and the metrics read, so a malformed line cannot poison their sums. */
function isProgressEvent(entry: LogEntry): entry is LogEntry & ProgressEvent {
  const e = entry as Record<string, any>;
  return (
    typeof e.pipeline === 'string' &&
    typeof e.batchId === 'number' &&
    typeof e.numInputRows === 'number' &&
    typeof e.numDeadLetterRows === 'number' &&
    typeof e.durationMs?.triggerExecution === 'number' &&
    typeof e.sink?.numOutputRows === 'number' &&
    Array.isArray(e.sources)
  );
}

/** The source's `metrics.lag` in a progress event, when it reports one. */
export function lagOf(event: ProgressEvent): number | undefined {
  const lag = event.sources[0]?.metrics?.lag;
  return typeof lag === 'number' ? lag : undefined;
}

/** The source's cumulative failure counts by kind (the http-poll source's `metrics.failures`), when it reports them. */
export function sourceFailuresOf(event: ProgressEvent): Record<string, number> | undefined {
  const failures = event.sources[0]?.metrics?.failures;
  if (typeof failures !== 'object' || failures === null) return undefined;
  return Object.fromEntries(Object.entries(failures).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}
