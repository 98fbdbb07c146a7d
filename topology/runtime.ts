/**
 * Runs a topology: one PipelineRunner per stage of each enabled (or selected) pipeline — a pipeline
 * with a repartition runs as several stages (topology/stages.ts) — all in one process, each with its
 * own micro-batch loop. Every runtime event of every pipeline — progress, failed batches,
 * starts and stops, swaps — is published on `events$` (topology/events.ts), and written to the log.
 */
import { Subject, asyncScheduler, filter, type Observable } from 'rxjs';
import type { Logger } from 'winston';
import { errorMessage } from './errors.ts';
import { logEvent } from './event-log.ts';
import type { RuntimeEvent, SwapApplied, SwapRefused } from './events.ts';
import { PipelineRunner } from './pipeline.ts';
import type { ProgressEvent } from './progress.ts';
import { registry as defaultRegistry, type Registry } from './registry.ts';
import { stagesOf, type Stage } from './stages.ts';
import type { TopologyConfig } from './model.ts';
import { DEFAULT_INSTANCE, type SchedulerLike } from './types.ts';
import { UserFacingError } from './errors.ts';

/** What a hot swap did: its `swap` event. */
export type SwapReport = SwapApplied;

export interface RuntimeOptions {
  logger: Logger;
  registry?: Registry;
  scheduler?: SchedulerLike;
  /** Run only these pipelines (default: every enabled one). */
  pipelines?: string[];
  /**
   * Which of the processes that run the topology this one is (ComponentContext.instance; `npm start`
   * claims one, operations/instance.ts). Default `default`: runtimes given none share it, so the second
   * of them to start an exactly-once pipeline fences the first.
   */
  instance?: string;
}

export class TopologyRuntime {
  /** Every runtime event, as it happens. */
  readonly events$ = new Subject<RuntimeEvent>();
  /** The progress events alone. */
  readonly progress$: Observable<ProgressEvent> = this.events$.pipe(filter((e): e is ProgressEvent => e.event === 'progress'));
  /** By stage name (a pipeline's name, or `<pipeline>.repartition…` for the stages before a repartition). */
  readonly runners = new Map<string, PipelineRunner>();
  private readonly registry: Registry;
  private readonly scheduler: SchedulerLike;
  private swapping: Promise<unknown> = Promise.resolve();

  constructor(
    public config: TopologyConfig,
    private readonly options: RuntimeOptions,
  ) {
    this.registry = options.registry ?? defaultRegistry;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.events$.subscribe((event) => logEvent(options.logger, event));
    for (const stage of this.stages(config).values()) this.runners.set(stage.name, this.runner(stage, config));
  }

  /** Which of the processes that run the topology this one is (RuntimeOptions.instance). */
  get instance(): string {
    return this.options.instance ?? DEFAULT_INSTANCE;
  }

  /** The stages of the selected pipelines of `config`, by name. */
  private stages(config: TopologyConfig): Map<string, Stage> {
    const stages = selectPipelines(config, this.options.pipelines).flatMap((name) => stagesOf(config.name, name, config.pipelines[name], this.registry));
    return new Map(stages.map((stage) => [stage.name, stage]));
  }

  private runner(stage: Stage, config: TopologyConfig): PipelineRunner {
    return new PipelineRunner(stage.name, stage.config, {
      topology: config.name,
      instance: this.instance,
      registry: this.registry,
      logger: this.options.logger,
      scheduler: this.scheduler,
      emit: (event) => this.events$.next(event),
    });
  }

  /** Create every component (no I/O): fails fast on a bad function or schema name. */
  async create(): Promise<void> {
    for (const runner of this.runners.values()) await runner.create();
  }

  /** Start every pipeline; if one fails to start, stop the ones already started and rethrow. */
  async start(): Promise<void> {
    const started: PipelineRunner[] = [];
    try {
      for (const runner of this.runners.values()) {
        await runner.start();
        started.push(runner);
      }
    } catch (error) {
      await Promise.all([...this.runners.values()].map((r) => r.stop()));
      throw error;
    }
  }

  /**
   * Resolves when every pipeline has ended; rejects with the first fatal pipeline error. A pipeline
   * replaced by a hot swap is followed by its replacement.
   */
  async wait(): Promise<void> {
    for (;;) {
      const current = [...this.runners.values()];
      await Promise.all(current.map((r) => r.wait()));
      await this.swapping;
      const now = [...this.runners.values()];
      if (now.length === current.length && now.every((r, i) => r === current[i])) return;
    }
  }

  async stop(): Promise<void> {
    await this.swapping;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.events$.complete();
  }

  /** A new version of the topology file that was not applied (the file watcher reports it here). */
  refuseSwap(refusal: Omit<SwapRefused, 'event' | 'topology'>): void {
    this.events$.next({ event: 'swap-refused', topology: this.config.name, ...refusal });
  }

  /**
   * Hot swap to `next` (already validated), pipeline by pipeline: unchanged pipelines keep running;
   * a changed one is drained (in-flight batch written and committed), closed, and started again from
   * its committed offsets with the new config; an added one starts; a removed one drains and stops.
   * New components are created (no I/O) before anything stops, so a bad function or schema name
   * refuses the swap without touching the running topology. Swaps run one at a time.
   */
  apply(next: TopologyConfig): Promise<SwapReport> {
    const swap = this.swapping.then(() => this.swap(next));
    this.swapping = swap.catch(() => undefined);
    return swap;
  }

  private async swap(next: TopologyConfig): Promise<SwapReport> {
    const logger = this.options.logger;
    const before = this.stages(this.config);
    const after = this.stages(next);
    const wanted = new Set(after.keys());
    const same = (name: string) => canonical(before.get(name)?.config) === canonical(after.get(name)!.config);
    const current = [...this.runners.keys()];
    const changed = current.filter((name) => wanted.has(name) && !same(name));
    const removed = current.filter((name) => !wanted.has(name));
    const added = [...wanted].filter((name) => !this.runners.has(name));
    const unchanged = current.filter((name) => wanted.has(name) && same(name));
    const report: SwapReport = { event: 'swap', topology: next.name, summary: '', changed, added, removed, unchanged, pauseMs: 0, inFlightRecords: {} };
    if (changed.length + added.length + removed.length === 0) {
      this.config = next;
      report.summary = 'the topology file changed, but no pipeline did; nothing to do';
      this.events$.next(report);
      return report;
    }

    const fresh = new Map<string, PipelineRunner>();
    for (const name of [...changed, ...added]) {
      const runner = this.runner(after.get(name)!, next);
      await runner.create();
      fresh.set(name, runner);
    }

    for (const name of [...changed, ...removed]) report.inFlightRecords[name] = this.runners.get(name)!.inFlightRecords();
    const previous = this.config;
    await Promise.all(
      [...changed, ...removed, ...added].map(async (name) => {
        const pausedAt = this.scheduler.now();
        const old = this.runners.get(name);
        if (old) await old.stop();
        this.runners.delete(name);
        const runner = fresh.get(name);
        if (!runner) return;
        try {
          await runner.start();
          this.runners.set(name, runner);
        } catch (error) {
          if (!old) throw error;
          // The new version cannot start (e.g. an unreachable address): go back to the old one.
          logger.error(`swap: pipeline ${name} failed to start with the new config; restarting its previous version`, { error: errorMessage(error) });
          await runner.stop();
          const revert = this.runner(before.get(name)!, previous);
          await revert.start();
          this.runners.set(name, revert);
          report.revertedTo = { ...report.revertedTo, [name]: 'previous config' };
        }
        report.pauseMs = Math.max(report.pauseMs, this.scheduler.now() - pausedAt);
      }),
    );
    // A stage that went back to its previous version takes its pipeline's previous config along.
    const reverted = Object.keys(report.revertedTo ?? {}).map((name) => before.get(name)!.pipeline);
    this.config = reverted.length > 0 ? { ...next, pipelines: { ...next.pipelines, ...Object.fromEntries(reverted.map((p) => [p, previous.pipelines[p]])) } } : next;
    const summary = [changed.length && `changed ${changed.join(', ')}`, added.length && `added ${added.join(', ')}`, removed.length && `removed ${removed.join(', ')}`].filter(Boolean).join('; ');
    const inFlight = Object.values(report.inFlightRecords).reduce((a, b) => a + b, 0);
    report.summary = `${summary}; paused ${report.pauseMs} ms; ${inFlight} record(s) were in flight and were committed before the switch`;
    this.events$.next(report);
    return report;
  }
}

/** A stable text of a config, for comparing two versions of a pipeline. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

export function selectPipelines(config: TopologyConfig, wanted: string[] | undefined): string[] {
  const all = Object.keys(config.pipelines);
  if (!wanted || wanted.length === 0) {
    const enabled = all.filter((name) => config.pipelines[name].enabled);
    if (enabled.length === 0) throw new UserFacingError(`topology ${config.name} has no enabled pipeline`, 'set `enabled: true` on one, or choose one with --pipeline');
    return enabled;
  }
  const unknown = wanted.filter((name) => !all.includes(name));
  if (unknown.length > 0) throw new UserFacingError(`topology ${config.name} has no pipeline ${unknown.map((n) => `"${n}"`).join(', ')}`, `its pipelines are: ${all.join(', ')}`);
  return wanted;
}
