/**
 * TopologyTestDriver — runs any topology on in-memory sources and sinks with a virtual clock, no broker
 * (Kafka Streams' TopologyTestDriver). Each pipeline's source is replaced by a `memory` channel
 * `<pipeline>.in`, its sink by `<pipeline>.out` (keeping its batch and retry policy) and its dead-letter
 * output by `<pipeline>.dead`; operators and triggers run as written. Time moves only when the test
 * calls `advance`, so triggers, backoffs and windows are deterministic and instant.
 *
 * @example
 * const driver = await TopologyTestDriver.start(yamlText);
 * driver.pipe('process', [{ id: 1 }, { id: 2 }]);
 * await driver.advance(1000);
 * assert.deepEqual(driver.output('process').values(), [...]);
 * await driver.close();
 */
import { VirtualTimeScheduler } from 'rxjs';
import winston from 'winston';
import { CaptureTransport, type LogEntry } from './capture.ts';
import '../components.ts';
import { parseTopology } from '../topology/load.ts';
import { TopologyRuntime, type SwapReport } from '../topology/runtime.ts';
import type { TopologyConfig } from '../topology/model.ts';
import type { ProgressEvent } from '../topology/progress.ts';
import type { StreamRecord } from '../topology/types.ts';

export type { LogEntry };
import { memoryStore, type MemoryChannel } from './memory-channels.ts';

/** A clock that moves only when told to. */
export class VirtualClock extends VirtualTimeScheduler {
  constructor(start = 0) {
    super();
    this.frame = start;
  }

  /** The time of the next scheduled action, if any. */
  nextDue(): number | undefined {
    return this.actions[0]?.delay;
  }

  /** Run the actions due at exactly the earliest scheduled time (not later than `limit`). */
  runNext(limit: number): boolean {
    const due = this.nextDue();
    if (due === undefined || due > limit) return false;
    this.maxFrames = due;
    this.flush();
    return true;
  }

  jumpTo(time: number): void {
    if (time > this.frame) this.frame = time;
  }
}

/** Lets every pending promise callback run (memory components resolve through microtasks only). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface DriverOptions {
  /** Only these pipelines (default: every enabled one). */
  pipelines?: string[];
  /** Environment for `${VAR}` interpolation (default: an empty one, so defaults in the file apply). */
  env?: NodeJS.ProcessEnv;
  /** Keep sources/sinks as written instead of substituting memory channels (for topologies already in memory). */
  substitute?: boolean;
  /** Virtual start time (ms since epoch). */
  startTime?: number;
}

let driverCount = 0;

/** Validate a topology and (unless told not to) swap its sources and sinks for memory channels. */
function prepare(yamlText: string, name: string, options: DriverOptions): TopologyConfig {
  const parsed = parseTopology(yamlText, 'test topology', { env: options.env ?? {}, defaultName: 'test' });
  const config: TopologyConfig = { ...parsed, name };
  if (options.substitute !== false) {
    for (const [pipelineName, pipeline] of Object.entries(config.pipelines)) {
      const keepPolicy = { batch: pipeline.sink.batch, retry: pipeline.sink.retry };
      pipeline.source = { type: 'memory', channel: `${pipelineName}.in`, finite: false };
      pipeline.sink = { type: 'memory', channel: `${pipelineName}.out`, ...keepPolicy };
      pipeline.deadLetter = { type: 'memory', channel: `${pipelineName}.dead`, batch: { maxRows: 1000, concurrency: 1 }, retry: { maxAttempts: 3, initialBackoff: 10, maxBackoff: 100 } };
      // Durable state stays durable, in the process: a restart restores it from in-process changelogs.
      if (pipeline.state) pipeline.state = { type: 'memory' };
    }
  }
  return config;
}

export class TopologyTestDriver {
  readonly progress: ProgressEvent[] = [];

  private constructor(
    readonly config: TopologyConfig,
    readonly clock: VirtualClock,
    private current: TopologyRuntime,
    /** Everything the topology logged. */
    readonly logs: LogEntry[],
    private readonly logger: winston.Logger,
    private readonly options: DriverOptions,
  ) {}

  /** The running topology (a new one after each `restart`). */
  get runtime(): TopologyRuntime {
    return this.current;
  }

  /**
   * Stop every pipeline gracefully and start the topology again, as a new process would: operators
   * start empty and their tasks restore their state from the `state` backend's changelogs; sources
   * resume from their committed positions. Channels, changelogs, the clock and `progress` carry on.
   */
  async restart(): Promise<void> {
    await this.close();
    this.current = this.newRuntime();
    await this.current.start();
    await settle();
  }

  private newRuntime(): TopologyRuntime {
    const runtime = new TopologyRuntime(this.config, { logger: this.logger, scheduler: this.clock, pipelines: this.options.pipelines });
    runtime.progress$.subscribe((event) => this.progress.push(event));
    return runtime;
  }

  /** Hot-swap the running topology to a new version (substituted like the first), in virtual time. */
  async swap(yamlText: string): Promise<SwapReport> {
    let settled = false;
    const applying = this.runtime.apply(prepare(yamlText, this.config.name, this.options)).finally(() => (settled = true));
    applying.catch(() => undefined);
    await this.advanceUntil(() => settled, 3_600_000, 10);
    return applying;
  }

  /** Validate, substitute and start a topology given as YAML text. */
  static async start(yamlText: string, options: DriverOptions = {}): Promise<TopologyTestDriver> {
    // A unique name per driver keeps memory channels of concurrent drivers apart.
    const name = `${parseTopology(yamlText, 'test topology', { env: options.env ?? {}, defaultName: 'test' }).name}-driver${++driverCount}`;
    const config = prepare(yamlText, name, options);
    memoryStore.reset(config.name);
    const clock = new VirtualClock(options.startTime ?? 0);
    const logs: LogEntry[] = [];
    const logger = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
    const runtime = new TopologyRuntime(config, { logger, scheduler: clock, pipelines: options.pipelines });
    const driver = new TopologyTestDriver(config, clock, runtime, logs, logger, options);
    runtime.progress$.subscribe((event) => driver.progress.push(event));
    await runtime.start();
    await settle();
    return driver;
  }

  now(): number {
    return this.clock.now();
  }

  /** The channel a substituted source reads (`<pipeline>.in`). */
  input(pipeline: string): MemoryChannel {
    return memoryStore.channel(this.config.name, `${pipeline}.in`);
  }

  /** The channel a substituted sink writes (`<pipeline>.out`): what was acknowledged. */
  output(pipeline: string): MemoryChannel {
    return memoryStore.channel(this.config.name, `${pipeline}.out`);
  }

  /** The dead-letter channel (`<pipeline>.dead`). */
  deadLetters(pipeline: string): MemoryChannel {
    return memoryStore.channel(this.config.name, `${pipeline}.dead`);
  }

  /** Any memory channel of this topology by name. */
  channel(name: string): MemoryChannel {
    return memoryStore.channel(this.config.name, name);
  }

  /** Append values (or full records) to a pipeline's input; timestamps default to the virtual now. */
  pipe(pipeline: string, items: Array<unknown>, options: { key?: (value: unknown) => string | null; timestamp?: (value: unknown, index: number) => number } = {}): void {
    const channel = this.input(pipeline);
    items.forEach((value, i) => {
      const record: StreamRecord = { key: options.key ? options.key(value) : null, value, timestamp: options.timestamp ? options.timestamp(value, i) : this.now(), raw: JSON.stringify(value) };
      channel.records.push(record);
    });
  }

  /** Move virtual time forward by `ms`, running every trigger, timer and write that falls due. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await settle();
    // Bounded: a runaway topology cannot hang a test.
    for (let steps = 0; steps < 1_000_000; steps++) {
      if (!this.clock.runNext(target)) break;
      await settle();
    }
    this.clock.jumpTo(target);
    await settle();
  }

  /** Advance in steps of `stepMs` until `done()` holds; throws after `maxMs` of virtual time. */
  async advanceUntil(done: () => boolean, maxMs = 600_000, stepMs = 10): Promise<void> {
    for (let waited = 0; !done(); waited += stepMs) {
      if (waited > maxMs) throw new Error(`condition not met after ${maxMs} ms of virtual time`);
      await this.advance(stepMs);
    }
  }

  /** Stop every pipeline (graceful, in virtual time). */
  async close(): Promise<void> {
    const stopping = this.runtime.stop();
    let done = false;
    void stopping.then(() => (done = true));
    await this.advanceUntil(() => done, 3_600_000, 100);
    await stopping;
  }
}
