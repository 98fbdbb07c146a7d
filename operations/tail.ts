/**
 * The per-pipeline view of a topology's log that `npm run tail` shows: log lines in, a view model out,
 * and the view as text. Pure — no files, no clock — so tests feed it lines and choose the window.
 *
 * Rates and batch durations are over a window of time: the batches whose trigger fired in it. Totals
 * (batches, records, dead letters, failed batches) count every entry the view was given. Lag, source
 * errors, the last error and the last swap are the latest ones seen.
 */
import { lagOf, parseLogLine, readLogEntry, sourceFailuresOf, type LogEntry, type SwapOutcome } from './log-events.ts';

export interface TimeWindow {
  /** ms since the epoch, both ends included. */
  from: number;
  to: number;
}

export interface PipelineView {
  pipeline: string;
  recordsInPerSecond: number;
  recordsOutPerSecond: number;
  /** durationMs.triggerExecution of the window's batches (nearest rank); null without a batch in the window. */
  batchDurationMs: { p50: number; p99: number } | null;
  batchesInWindow: number;
  /** The latest progress event's sources[0].metrics.lag; null when its source reports none. */
  lag: number | null;
  totals: { batches: number; recordsIn: number; recordsOut: number; deadLettered: number; failedBatches: number };
  lastBatch: { batchId: number; time: string } | null;
  /** The source's cumulative failures by kind in its latest progress event (http-poll), the kinds seen at least once. */
  sourceErrors: Record<string, number> | null;
  lastError: { time: string | null; message: string } | null;
  /** The latest swap that changed, added or removed this pipeline. */
  lastSwap: { time: string | null; change: 'changed' | 'added' | 'removed' } | null;
}

export interface TailView {
  window: { from: string; to: string; seconds: number };
  pipelines: PipelineView[];
  /** The latest error of the whole topology, with its pipeline when it has one. */
  lastError: { time: string | null; pipeline: string | null; message: string } | null;
  lastSwap: { time: string | null; outcome: SwapOutcome; summary: string } | null;
  /** Lines that were not JSON log entries (e.g. not a topology log at all). */
  skippedLines: number;
}

interface Batch {
  time: number;
  recordsIn: number;
  recordsOut: number;
  durationMs: number;
}

interface PipelineState {
  batches: Batch[];
  totals: PipelineView['totals'];
  lag: number | null;
  lastBatch: { batchId: number; time: number } | null;
  sourceErrors: Record<string, number> | null;
  lastError: { time: number | undefined; message: string } | null;
  lastSwap: { time: number | undefined; change: 'changed' | 'added' | 'removed' } | null;
}

export class TailAggregator {
  private readonly pipelines = new Map<string, PipelineState>();
  private lastError: { time: number | undefined; pipeline: string | undefined; message: string } | null = null;
  private lastSwap: { time: number | undefined; outcome: SwapOutcome; summary: string } | null = null;
  private skippedLines = 0;
  private firstBatchAt: number | undefined;
  private lastBatchEnd: number | undefined;

  /** `since`: entries logged before this time (ms since the epoch) are left out. */
  constructor(private readonly options: { since?: number } = {}) {}

  addLine(line: string): void {
    if (line.trim() === '') return;
    const entry = parseLogLine(line);
    if (entry) this.addEntry(entry);
    else this.skippedLines++;
  }

  addEntry(entry: LogEntry): void {
    const fact = readLogEntry(entry);
    if (this.options.since !== undefined && (fact.time === undefined || fact.time < this.options.since)) return;
    const state = fact.pipeline === undefined ? undefined : this.pipeline(fact.pipeline);
    const event = fact.progress;
    if (state && event && fact.time !== undefined) {
      const batch = { time: fact.time, recordsIn: event.numInputRows, recordsOut: event.sink.numOutputRows, durationMs: event.durationMs.triggerExecution };
      state.batches.push(batch);
      state.totals.batches++;
      state.totals.recordsIn += batch.recordsIn;
      state.totals.recordsOut += batch.recordsOut;
      state.totals.deadLettered += event.numDeadLetterRows;
      state.lag = lagOf(event) ?? null;
      state.lastBatch = { batchId: event.batchId, time: fact.time };
      const failures = sourceFailuresOf(event);
      state.sourceErrors = failures ? Object.fromEntries(Object.entries(failures).filter(([, n]) => n > 0)) : null;
      this.firstBatchAt = Math.min(this.firstBatchAt ?? fact.time, fact.time);
      this.lastBatchEnd = Math.max(this.lastBatchEnd ?? 0, fact.time + batch.durationMs);
    }
    if (state && fact.failedBatch !== undefined) state.totals.failedBatches++;
    if (fact.level === 'error') {
      this.lastError = { time: fact.time, pipeline: fact.pipeline, message: fact.text };
      if (state) state.lastError = { time: fact.time, message: fact.text };
    }
    if (fact.swap) {
      this.lastSwap = { time: fact.time, outcome: fact.swap.outcome, summary: fact.swap.summary };
      for (const change of ['changed', 'added', 'removed'] as const) {
        for (const name of fact.swap[change]) this.pipeline(name).lastSwap = { time: fact.time, change };
      }
    }
  }

  /** Forget batches older than `time` (a live view keeps only its window's). Totals stay. */
  dropBatchesBefore(time: number): void {
    for (const state of this.pipelines.values()) {
      const keepFrom = state.batches.findIndex((b) => b.time >= time);
      state.batches.splice(0, keepFrom < 0 ? state.batches.length : keepFrom);
    }
  }

  /** From the first batch's trigger to the end of the last batch; undefined before any batch. */
  coveredPeriod(): TimeWindow | undefined {
    return this.firstBatchAt === undefined || this.lastBatchEnd === undefined ? undefined : { from: this.firstBatchAt, to: this.lastBatchEnd };
  }

  view(window: TimeWindow): TailView {
    const seconds = (window.to - window.from) / 1000;
    const perSecond = (n: number) => (seconds > 0 ? n / seconds : 0);
    const pipelines = [...this.pipelines.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([pipeline, s]): PipelineView => {
        const inWindow = s.batches.filter((b) => b.time >= window.from && b.time <= window.to);
        const durations = inWindow.map((b) => b.durationMs).sort((a, b) => a - b);
        return {
          pipeline,
          recordsInPerSecond: perSecond(sum(inWindow.map((b) => b.recordsIn))),
          recordsOutPerSecond: perSecond(sum(inWindow.map((b) => b.recordsOut))),
          batchDurationMs: durations.length === 0 ? null : { p50: percentile(durations, 50), p99: percentile(durations, 99) },
          batchesInWindow: inWindow.length,
          lag: s.lag,
          totals: { ...s.totals },
          lastBatch: s.lastBatch && { batchId: s.lastBatch.batchId, time: iso(s.lastBatch.time)! },
          sourceErrors: s.sourceErrors,
          lastError: s.lastError && { time: iso(s.lastError.time), message: s.lastError.message },
          lastSwap: s.lastSwap && { time: iso(s.lastSwap.time), change: s.lastSwap.change },
        };
      });
    return {
      window: { from: iso(window.from)!, to: iso(window.to)!, seconds },
      pipelines,
      lastError: this.lastError && { time: iso(this.lastError.time), pipeline: this.lastError.pipeline ?? null, message: this.lastError.message },
      lastSwap: this.lastSwap && { time: iso(this.lastSwap.time), outcome: this.lastSwap.outcome, summary: this.lastSwap.summary },
      skippedLines: this.skippedLines,
    };
  }

  private pipeline(name: string): PipelineState {
    let state = this.pipelines.get(name);
    if (!state) {
      state = { batches: [], totals: { batches: 0, recordsIn: 0, recordsOut: 0, deadLettered: 0, failedBatches: 0 }, lag: null, lastBatch: null, sourceErrors: null, lastError: null, lastSwap: null };
      this.pipelines.set(name, state);
    }
    return state;
  }
}

/** The nearest-rank percentile of ascending values: the smallest value with at least p% of them at or below it. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function iso(time: number | undefined): string | null {
  return time === undefined ? null : new Date(time).toISOString();
}

/** One snapshot of a whole log: the view over the period it covers, or over [since, now]. */
export function snapshotOf(lines: Iterable<string>, options: { since?: number; now: number }): TailView {
  const tail = new TailAggregator({ since: options.since });
  for (const line of lines) tail.addLine(line);
  const window = options.since !== undefined ? { from: options.since, to: options.now } : (tail.coveredPeriod() ?? { from: options.now, to: options.now });
  return tail.view(window);
}

export interface RenderOptions {
  /** Shown in the first line: the topology or the file. */
  title: string;
  /** live: "over the last N s"; period: an average over the view's window. */
  mode: 'live' | 'period';
}

/** The view as text: a table of numbers, then per pipeline its last batch, source errors, error and swap. */
export function renderView(view: TailView, options: RenderOptions): string {
  const seconds = formatNumber(view.window.seconds);
  const over = options.mode === 'live' ? `rates and batch durations over the last ${seconds} s` : `averages over ${clock(view.window.from)} – ${clock(view.window.to)} UTC (${seconds} s)`;
  const lines = [`${options.title} — ${view.window.to.replace('T', ' ').slice(0, 19)} UTC — ${over}`, ''];
  if (view.pipelines.length === 0) lines.push('no pipeline has logged anything yet', '');
  else {
    const head = ['pipeline', 'in/s', 'out/s', 'batch p50', 'batch p99', 'lag', 'batches', 'in', 'out', 'dead-lettered', 'failed'];
    const rows = view.pipelines.map((p) => [
      p.pipeline,
      formatNumber(p.recordsInPerSecond),
      formatNumber(p.recordsOutPerSecond),
      p.batchDurationMs ? `${formatNumber(p.batchDurationMs.p50)} ms` : '–',
      p.batchDurationMs ? `${formatNumber(p.batchDurationMs.p99)} ms` : '–',
      p.lag === null ? '–' : formatNumber(p.lag),
      formatNumber(p.totals.batches),
      formatNumber(p.totals.recordsIn),
      formatNumber(p.totals.recordsOut),
      formatNumber(p.totals.deadLettered),
      formatNumber(p.totals.failedBatches),
    ]);
    lines.push(...table([head, ...rows]), '');
    const nameWidth = Math.max(...view.pipelines.map((p) => p.pipeline.length));
    for (const p of view.pipelines) {
      const notes = [
        p.lastBatch ? `last batch ${p.lastBatch.batchId} at ${clock(p.lastBatch.time)}` : 'no batch yet',
        p.sourceErrors && Object.keys(p.sourceErrors).length > 0 ? `source errors ${Object.entries(p.sourceErrors).map(([kind, n]) => `${kind} ${formatNumber(n)}`).join(', ')}` : undefined,
        p.lastSwap ? `${p.lastSwap.change} by a swap at ${clock(p.lastSwap.time)}` : undefined,
        p.lastError ? `last error at ${clock(p.lastError.time)}: ${oneLine(p.lastError.message)}` : undefined,
      ].filter(Boolean);
      lines.push(`${p.pipeline.padEnd(nameWidth)}  ${notes.join(' · ')}`);
    }
    lines.push('');
  }
  lines.push(`last error  ${view.lastError ? `${clock(view.lastError.time)} ${view.lastError.pipeline ? `[${view.lastError.pipeline}] ` : ''}${oneLine(view.lastError.message)}` : 'none'}`);
  lines.push(`last swap   ${view.lastSwap ? `${clock(view.lastSwap.time)} ${view.lastSwap.outcome}: ${view.lastSwap.summary}` : 'none'}`);
  if (view.skippedLines > 0) lines.push(`(${formatNumber(view.skippedLines)} line(s) were not JSON log entries and were skipped)`);
  return lines.join('\n');
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  // Names left-aligned, numbers right-aligned.
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

function formatNumber(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: Number.isInteger(n) ? 0 : 1 });
}

function clock(time: string | null): string {
  return time === null ? '(no time)' : time.slice(11, 19);
}

function oneLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
