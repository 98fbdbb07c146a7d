/**
 * What the web console shows of a running topology, kept from its typed runtime events
 * (`runtime.events$`), never from log text: per pipeline the recent progress events, its state, its
 * totals and its last error; the swap history and the last refused file. Pure bookkeeping, no I/O:
 * the server (operations/console/server.ts) reads it and forwards the same events to browsers.
 *
 * See also: operations/metrics.ts and operations/tail.ts, the other readers of the same events.
 */
import type { BatchFailed, PipelineSummary, RuntimeEvent, StateRestored, SwapApplied, SwapRefused } from '../../topology/events.ts';
import type { ProgressEvent } from '../../topology/progress.ts';

/** How many progress events per pipeline the charts and the "recent batches" table get. */
export const RECENT_BATCHES = 300;
/** The window of the live rates on the graph's edges. */
export const RATE_WINDOW_MS = 10_000;

export interface LastError {
  at: string;
  batchId: number;
  error: string;
  action: BatchFailed['action'];
  retryInMs?: number;
}

export interface PipelineLive {
  name: string;
  /** From the events: `failing` after a failed batch until the next committed one. */
  status: 'starting' | 'running' | 'restoring' | 'failing' | 'stopped' | 'failed';
  summary: PipelineSummary;
  recent: ProgressEvent[];
  lastError?: LastError;
  lastRestore?: Omit<StateRestored, 'event' | 'topology' | 'pipeline'> & { at: string };
}

export interface SwapEntry {
  at: string;
  /** 1 at start; each applied (or reverted) swap makes the next. */
  version: number;
  event: SwapApplied | SwapRefused;
}

export interface Rates {
  inputRowsPerSecond: number;
  outputRowsPerSecond: number;
  deadLettersPerSecond: number;
}

export class ConsoleLive {
  readonly pipelines = new Map<string, PipelineLive>();
  readonly swaps: SwapEntry[] = [];
  version = 1;
  readonly startedAt: string;

  constructor(
    readonly topology: string,
    pipelineNames: Iterable<string>,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = new Date(now()).toISOString();
    for (const name of pipelineNames) this.pipeline(name);
  }

  private pipeline(name: string): PipelineLive {
    let live = this.pipelines.get(name);
    if (!live) {
      live = { name, status: 'starting', summary: { batches: 0, inputRows: 0, outputRows: 0, deadLetters: 0, failures: 0 }, recent: [] };
      this.pipelines.set(name, live);
    }
    return live;
  }

  observe(event: RuntimeEvent): void {
    const at = new Date(this.now()).toISOString();
    switch (event.event) {
      case 'progress': {
        const live = this.pipeline(event.pipeline);
        live.recent.push(event);
        if (live.recent.length > RECENT_BATCHES) live.recent.splice(0, live.recent.length - RECENT_BATCHES);
        live.summary.batches += 1;
        live.summary.inputRows += event.numInputRows;
        live.summary.outputRows += event.sink.numOutputRows;
        live.summary.deadLetters += event.numDeadLetterRows;
        live.status = 'running';
        break;
      }
      case 'pipeline-started':
        this.pipeline(event.pipeline).status = 'running';
        break;
      case 'pipeline-stopped':
        this.pipeline(event.pipeline).status = event.outcome;
        break;
      case 'batch-failed': {
        const live = this.pipeline(event.pipeline);
        live.summary.failures += 1;
        live.status = event.action === 'stop' ? 'failed' : 'failing';
        live.lastError = { at, batchId: event.batchId, error: event.error, action: event.action, ...(event.retryInMs !== undefined ? { retryInMs: event.retryInMs } : {}) };
        break;
      }
      case 'state-restoring':
        this.pipeline(event.pipeline).status = 'restoring';
        break;
      case 'state-restored': {
        const { event: _e, topology: _t, pipeline, ...report } = event;
        const live = this.pipeline(pipeline);
        live.lastRestore = { ...report, at };
        if (live.status === 'restoring') live.status = 'running';
        break;
      }
      case 'swap':
        for (const name of [...event.added, ...event.changed]) this.pipeline(name);
        if (event.changed.length + event.added.length + event.removed.length > 0) this.version += 1;
        this.swaps.push({ at, version: this.version, event });
        break;
      case 'swap-refused':
        this.swaps.push({ at, version: this.version, event });
        break;
      case 'source-idle':
        break;
    }
  }

  /** The most recent refused file (its listing), if any swap was refused. */
  lastRefused(): SwapEntry | undefined {
    return [...this.swaps].reverse().find((entry) => entry.event.event === 'swap-refused');
  }

  /** Rows per second over the last RATE_WINDOW_MS, from the batches whose trigger fired in it. */
  rates(name: string): Rates {
    const since = this.now() - RATE_WINDOW_MS;
    const batches = (this.pipelines.get(name)?.recent ?? []).filter((p) => Date.parse(p.timestamp) >= since);
    const per = (sum: number) => Math.round((sum * 1000 * 10) / RATE_WINDOW_MS) / 10;
    return {
      inputRowsPerSecond: per(batches.reduce((n, p) => n + p.numInputRows, 0)),
      outputRowsPerSecond: per(batches.reduce((n, p) => n + p.sink.numOutputRows, 0)),
      deadLettersPerSecond: per(batches.reduce((n, p) => n + p.numDeadLetterRows, 0)),
    };
  }
}
