/**
 * Runs a topology: one PipelineRunner per enabled (or selected) pipeline, all in one process, each
 * with its own micro-batch loop. Progress events of every pipeline are published on `progress$`.
 */
import { Subject, asyncScheduler } from 'rxjs';
import type { Logger } from 'winston';
import { PipelineRunner } from './pipeline.ts';
import type { ProgressEvent } from './progress.ts';
import { registry as defaultRegistry, type Registry } from './registry.ts';
import type { TopologyConfig } from './model.ts';
import type { SchedulerLike } from './types.ts';
import { UserFacingError } from './errors.ts';

export interface RuntimeOptions {
  logger: Logger;
  registry?: Registry;
  scheduler?: SchedulerLike;
  /** Run only these pipelines (default: every enabled one). */
  pipelines?: string[];
}

export class TopologyRuntime {
  readonly progress$ = new Subject<ProgressEvent>();
  readonly runners = new Map<string, PipelineRunner>();
  private readonly registry: Registry;
  private readonly scheduler: SchedulerLike;

  constructor(
    readonly config: TopologyConfig,
    private readonly options: RuntimeOptions,
  ) {
    this.registry = options.registry ?? defaultRegistry;
    this.scheduler = options.scheduler ?? asyncScheduler;
    const names = selectPipelines(config, options.pipelines);
    for (const name of names) this.runners.set(name, this.runner(name));
  }

  private runner(name: string): PipelineRunner {
    return new PipelineRunner(name, this.config.pipelines[name], {
      topology: this.config.name,
      registry: this.registry,
      logger: this.options.logger,
      scheduler: this.scheduler,
      onProgress: (event) => this.progress$.next(event),
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

  /** Resolves when every pipeline has ended; rejects with the first fatal pipeline error. */
  async wait(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.wait()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.progress$.complete();
  }
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
