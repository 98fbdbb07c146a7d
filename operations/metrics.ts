/**
 * Prometheus metrics of a running topology, on a registry of its own (never prom-client's global
 * one), served at `/metrics` by node:http — bound to 127.0.0.1 unless told otherwise.
 *
 * Fed from two places: progress events from `runtime.progress$` (typed, and counted whatever the log
 * level), and failed batches and swaps from the topology's log entries through a winston transport.
 * The runtime reports those two only in its log; reading them with the reader the tail view uses
 * (operations/log-events.ts) makes `npm run tail` and the metrics count the same events.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UserFacingError } from '../topology/errors.ts';
import { swapOutcome, type RuntimeEvent, type SwapOutcome } from '../topology/events.ts';
import { lagOf, sourceFailuresOf } from './log-events.ts';
import type { MetricsConfig } from '../topology/model.ts';
import type { ProgressEvent } from '../topology/progress.ts';
import type { TopologyRuntime } from '../topology/runtime.ts';

/** The port when metrics are enabled without one (the usual port of Prometheus exporters for apps). */
export const DEFAULT_METRICS_PORT = 9464;

/** Batch durations in seconds: from a few ms (small batches) to a minute (a sink retrying with backoff). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const SWAP_OUTCOMES: readonly SwapOutcome[] = ['applied', 'reverted', 'unchanged', 'refused'];

export class TopologyMetrics {
  readonly registry = new Registry();
  private readonly recordsIn: Counter<'pipeline' | 'component'>;
  private readonly recordsOut: Counter<'pipeline' | 'component'>;
  private readonly deadLetters: Counter<'pipeline'>;
  private readonly batches: Counter<'pipeline'>;
  private readonly failedBatches: Counter<'pipeline'>;
  private readonly batchDuration: Histogram<'pipeline'>;
  private readonly lag: Gauge<'pipeline'>;
  private readonly sourceErrors: Counter<'pipeline' | 'kind'>;
  private readonly swaps: Counter<'outcome'>;
  /** Per pipeline, the source's cumulative failure counts in its previous progress event. */
  private readonly previousFailures = new Map<string, Record<string, number>>();

  constructor(topology: string) {
    this.registry.setDefaultLabels({ topology });
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.recordsIn = new Counter({ name: 'userstream_records_in_total', help: 'Records read by the source (numInputRows).', labelNames: ['pipeline', 'component'], registers });
    this.recordsOut = new Counter({ name: 'userstream_records_out_total', help: 'Records written by the sink (sink.numOutputRows).', labelNames: ['pipeline', 'component'], registers });
    this.deadLetters = new Counter({ name: 'userstream_dead_letters_total', help: 'Records sent to the dead-letter output (numDeadLetterRows).', labelNames: ['pipeline'], registers });
    this.batches = new Counter({ name: 'userstream_batches_total', help: 'Micro-batches written and committed (progress events).', labelNames: ['pipeline'], registers });
    this.failedBatches = new Counter({ name: 'userstream_failed_batches_total', help: 'Micro-batches that failed for good and were rolled back (or stopped the pipeline).', labelNames: ['pipeline'], registers });
    this.batchDuration = new Histogram({ name: 'userstream_batch_duration_seconds', help: 'Whole micro-batch: read, process, write, commit (durationMs.triggerExecution).', labelNames: ['pipeline'], buckets: DURATION_BUCKETS, registers });
    this.lag = new Gauge({ name: 'userstream_consumer_lag', help: "Records behind the end of the source in its latest batch (Kafka: summed over the consumer's assigned partitions).", labelNames: ['pipeline'], registers });
    this.sourceErrors = new Counter({ name: 'userstream_source_errors_total', help: 'Failed source requests by kind (http-poll: network, timeout, http5xx, http429, http4xx, invalidJson, errorBody, unexpectedShape).', labelNames: ['pipeline', 'kind'], registers });
    this.swaps = new Counter({ name: 'userstream_swaps_total', help: 'Hot swaps of the topology file by outcome: applied, reverted, unchanged, refused.', labelNames: ['outcome'], registers });
    // Series that exist from the start at 0, so rate() and increase() see the first events.
    for (const outcome of SWAP_OUTCOMES) this.swaps.inc({ outcome }, 0);
  }

  /** Zero series for these pipelines, so they are listed at 0 before their first batch. */
  declarePipelines(names: Iterable<string>): void {
    for (const pipeline of names) {
      this.recordsIn.inc({ pipeline, component: 'source' }, 0);
      this.recordsOut.inc({ pipeline, component: 'sink' }, 0);
      this.deadLetters.inc({ pipeline }, 0);
      this.batches.inc({ pipeline }, 0);
      this.failedBatches.inc({ pipeline }, 0);
      this.batchDuration.zero({ pipeline });
    }
  }

  observeProgress(event: ProgressEvent): void {
    const pipeline = event.pipeline;
    this.recordsIn.inc({ pipeline, component: 'source' }, event.numInputRows);
    this.recordsOut.inc({ pipeline, component: 'sink' }, event.sink.numOutputRows);
    this.deadLetters.inc({ pipeline }, event.numDeadLetterRows);
    this.batches.inc({ pipeline });
    this.batchDuration.observe({ pipeline }, event.durationMs.triggerExecution / 1000);
    const lag = lagOf(event);
    if (lag !== undefined) this.lag.set({ pipeline }, lag);
    const failures = sourceFailuresOf(event);
    if (failures) {
      // The source reports running totals; the counter takes the difference since the previous batch.
      const previous = this.previousFailures.get(pipeline) ?? {};
      for (const [kind, count] of Object.entries(failures)) {
        const before = previous[kind] ?? 0;
        // A smaller total is a new source instance (a restart, a swap) counting from 0 again.
        this.sourceErrors.inc({ pipeline, kind }, count >= before ? count - before : count);
      }
      this.previousFailures.set(pipeline, failures);
    }
  }

  /** One runtime event: progress, a failed batch or a swap (the others are not counted). */
  observe(event: RuntimeEvent): void {
    if (event.event === 'progress') this.observeProgress(event);
    else if (event.event === 'batch-failed') this.failedBatches.inc({ pipeline: event.pipeline });
    else if (event.event === 'swap' || event.event === 'swap-refused') this.swaps.inc({ outcome: swapOutcome(event) });
  }

  /** Follow a runtime's events; returns the function that stops. */
  attach(runtime: TopologyRuntime): () => void {
    this.declarePipelines(runtime.runners.keys());
    const subscription = runtime.events$.subscribe((event) => this.observe(event));
    return () => subscription.unsubscribe();
  }
}

export interface MetricsEndpoint {
  host: string;
  port: number;
}

/**
 * Where to serve metrics, from the topology's `metrics` section and the command line (which wins);
 * undefined when they are off. On when a port is given, unless `enabled: false`.
 */
export function metricsEndpoint(section: MetricsConfig, flags: { port?: number; host?: string } = {}): MetricsEndpoint | undefined {
  const enabled = flags.port !== undefined || (section.enabled ?? section.port !== undefined);
  if (!enabled) return undefined;
  return { host: flags.host ?? section.host, port: flags.port ?? section.port ?? DEFAULT_METRICS_PORT };
}

/**
 * A port given on the command line. An invalid one is thrown as the error parseArgs throws for an
 * invalid option value, so a command reports it as it reports its other usage errors.
 */
export function portOption(flag: string, text: string): number {
  if (/^\d{1,5}$/.test(text) && Number(text) <= 65535) return Number(text);
  throw Object.assign(new TypeError(`${flag}: expected a port number from 0 to 65535, got ${JSON.stringify(text)}`), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
}

export interface MetricsServer {
  /** http://host:port/metrics, with the port actually bound (port 0 picks a free one). */
  url: string;
  address: AddressInfo;
  close(): Promise<void>;
}

/** Serves the registry at GET /metrics. */
export async function serveMetrics(registry: Registry, at: MetricsEndpoint): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const route = (request.url ?? '/').split('?')[0];
    if (route !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`collecting the metrics failed: ${error.message}\n`),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserFacingError(`port ${at.port} on ${at.host} is already in use, so the metrics server cannot start`, 'choose another with --metrics-port or metrics.port (0 picks a free one)');
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserFacingError(`the metrics server cannot listen on ${at.host}: no such local address`, 'use 127.0.0.1 (the default), or 0.0.0.0 for every interface');
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection must not hold the process open.
        server.closeAllConnections();
      }),
  };
}

/** For `npm start`: metrics of this runtime, fed by its events, served at `at`. */
export async function startMetrics(runtime: TopologyRuntime, at: MetricsEndpoint): Promise<MetricsServer> {
  const metrics = new TopologyMetrics(runtime.config.name);
  const detach = metrics.attach(runtime);
  try {
    const server = await serveMetrics(metrics.registry, at);
    return {
      ...server,
      close: async () => {
        detach();
        await server.close();
      },
    };
  } catch (error) {
    detach();
    throw error;
  }
}
