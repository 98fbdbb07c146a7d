/**
 * The runtime's events: one typed stream (`TopologyRuntime.events$`) that everything reporting on a
 * running topology subscribes to — the log (topology/event-log.ts), the Prometheus metrics and the
 * tail view (operations/), and a web console. Each event is a plain JSON-able object whose `event`
 * field says what it is; the log writes it whole, so a reader of the log file sees the same fields.
 * A reworded log message changes no metric: nothing reads the message text.
 */
import type { ProgressEvent } from './progress.ts';

/** What a stopped pipeline did in all. */
export interface PipelineSummary {
  batches: number;
  inputRows: number;
  outputRows: number;
  deadLetters: number;
  failures: number;
}

export interface PipelineStarted {
  event: 'pipeline-started';
  topology: string;
  pipeline: string;
  source: string;
  operators: string[];
  sink: string;
}

export interface PipelineStopped {
  event: 'pipeline-stopped';
  topology: string;
  pipeline: string;
  /** `failed`: it ended with a fatal error (onFailure.action: stop, or an error outside a batch). */
  outcome: 'stopped' | 'failed';
  summary: PipelineSummary;
}

/** A batch failed after the sink's own retries: it was rolled back with every batch after it. */
export interface BatchFailed {
  event: 'batch-failed';
  topology: string;
  pipeline: string;
  batchId: number;
  error: string;
  /** Records read but not committed when it failed (they are read again, or left for the next run). */
  uncommittedRows: number;
  consecutiveFailures: number;
  /** What happens next: a retry after `retryInMs`, or the pipeline stops (onFailure.action). */
  action: 'retry' | 'stop';
  retryInMs?: number;
}

/** Newly assigned tasks' state is being restored from the changelogs; no record is processed until `state-restored`. */
export interface StateRestoring {
  event: 'state-restoring';
  topology: string;
  pipeline: string;
  tasks: number[];
}

/** State restored from the changelogs for newly assigned tasks, before any of their records. */
export interface StateRestored {
  event: 'state-restored';
  topology: string;
  pipeline: string;
  tasks: number[];
  /** Changelog entries read, and keys restored (the latest committed value of each). */
  entriesRead: number;
  keys: number;
  ms: number;
}

/** The source had no new records for a while (said once per idle spell). */
export interface SourceIdle {
  event: 'source-idle';
  topology: string;
  pipeline: string;
  source: string;
  idleMs: number;
  sourceMetrics?: Record<string, unknown>;
}

/** A hot swap that was carried out (or found nothing to change). */
export interface SwapApplied {
  event: 'swap';
  topology: string;
  /** One line: what changed, how long the pause was, how many records were in flight. */
  summary: string;
  changed: string[];
  added: string[];
  removed: string[];
  unchanged: string[];
  /** Longest time a changed pipeline was not running (drain + close + start), ms. */
  pauseMs: number;
  /** Records read but not yet committed when the swap began, per changed or removed pipeline. */
  inFlightRecords: Record<string, number>;
  /** Pipelines whose new version failed to start and that went back to their old version. */
  revertedTo?: Record<string, string>;
}

/** A new version of the topology file that was not applied; the running version continues. */
export interface SwapRefused {
  event: 'swap-refused';
  topology: string;
  /** invalid: it does not validate; renamed: its name changed; failed: reading or applying it failed. */
  cause: 'invalid' | 'renamed' | 'failed';
  /** Why, in a sentence (for `invalid`, the whole listing). */
  reason: string;
  /** Each problem by path (empty for `failed`). */
  problems: string[];
}

export type RuntimeEvent = ProgressEvent | PipelineStarted | PipelineStopped | BatchFailed | StateRestoring | StateRestored | SourceIdle | SwapApplied | SwapRefused;

export type RuntimeEventName = RuntimeEvent['event'];

/**
 * applied: pipelines changed, were added or removed. reverted: a changed pipeline's new version did not
 * start and its previous one runs again. unchanged: the file changed but no pipeline did. refused: the
 * new version was not applied and the running one continues.
 */
export type SwapOutcome = 'applied' | 'reverted' | 'unchanged' | 'refused';

export function swapOutcome(event: Pick<SwapApplied, 'event' | 'changed' | 'added' | 'removed' | 'revertedTo'> | Pick<SwapRefused, 'event'>): SwapOutcome {
  if (event.event === 'swap-refused') return 'refused';
  if (event.revertedTo !== undefined) return 'reverted';
  return event.changed.length + event.added.length + event.removed.length === 0 ? 'unchanged' : 'applied';
}
