/**
 * Shared by the http-poll tests: sources made from a config as a topology file would give it, a fake
 * HTTP transport answering on a virtual clock (the requests it saw, when, and what became of them), and
 * ways to run that clock.
 */
import type { IncomingHttpHeaders } from 'node:http';
import winston from 'winston';
import { CaptureTransport, type LogEntry } from '../../../testing/capture.ts';
import { VirtualClock } from '../../../testing/driver.ts';
import { HttpPollSource, type HttpPollDeps, type HttpResponse, type Transport, type TransportOptions } from '../../../sources/http-poll/index.ts';
import { fields } from '../../../sources/http-poll/config.ts';
import { formatErrors } from '../../../topology/errors.ts';
import { objectCodec } from '../../../topology/spec.ts';
import type { ComponentContext, SchedulerLike, Source, SourceBatch, StreamRecord } from '../../../topology/types.ts';
import { componentContext } from '../../../testing/component-context.ts';

export { VirtualClock, type LogEntry };

/** A virtual start time, so that HTTP dates in `Retry-After` mean something. */
export const T0 = Date.parse('2026-11-21T12:00:00Z');

/** RandomUser-like elements of response `n`. */
export const users = (n: number, count: number) => Array.from({ length: count }, (_, i) => ({ login: { uuid: `u${n}-${i}` }, name: { first: `F${n}-${i}` } }));

export function context(logs: LogEntry[], scheduler: SchedulerLike): ComponentContext {
  const logger = winston.createLogger({ level: 'debug', transports: [new CaptureTransport(logs)] });
  return componentContext({ topology: 'test', pipeline: 'main', path: 'pipelines.main.source', logger, scheduler });
}

const codec = objectCodec('http-poll source config', fields);

/** An http-poll source from a config as a topology file would give it (validated, defaults filled in). */
export function httpPoll(config: Record<string, unknown>, ctx: ComponentContext, deps: HttpPollDeps = {}): HttpPollSource {
  const decoded = codec.decode(config);
  if (decoded._tag === 'Left') throw new Error(formatErrors(decoded.left).join('\n'));
  return new HttpPollSource(decoded.right, ctx, deps);
}

/** The source's metrics now, without taking any record. */
export async function metricsOf(source: Source): Promise<Record<string, any>> {
  return (await source.read(0, 0)).metrics as Record<string, any>;
}

// ---------------------------------------------------------------------------------------------
// A fake HTTP transport on the virtual clock.

/** How the fake answers one request: after `after` ms of virtual time (0 when absent). */
export type Answer =
  | { status?: number; body?: unknown; headers?: IncomingHttpHeaders; after?: number }
  /** The request fails (a network error) after `after` ms. */
  | { error: Error; after?: number }
  /** No answer ever: only the abort signal ends it. */
  | 'hang';

export interface FakeRequest {
  n: number;
  /** Virtual time it was made at. */
  at: number;
  url: URL;
  /** When it was answered, failed or aborted. */
  endedAt?: number;
  abortedAt?: number;
}

export class FakeHttp {
  readonly requests: FakeRequest[] = [];
  /** What the source asked the transport for (headers, connections), at start. */
  options: TransportOptions | undefined;
  closed = false;
  /** Most requests in flight at the same time. */
  maxActive = 0;
  private active = 0;

  constructor(
    private readonly clock: VirtualClock,
    /** How request `n` (from 0) is answered; 200 with `{}` when it returns undefined. */
    private readonly answer: (n: number, url: URL) => Answer | undefined,
  ) {}

  readonly transport: Transport = (options) => {
    this.options = options;
    return {
      get: (url, signal) => this.get(url, signal),
      close: () => {
        this.closed = true;
      },
    };
  };

  /** Virtual times of the requests, relative to T0. */
  times(): number[] {
    return this.requests.map((r) => r.at - T0);
  }

  private get(url: string, signal: AbortSignal): Promise<HttpResponse> {
    const request: FakeRequest = { n: this.requests.length, at: this.clock.now(), url: new URL(url) };
    this.requests.push(request);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const answer = this.answer(request.n, request.url) ?? {};
    return new Promise<HttpResponse>((resolve, reject) => {
      const end = () => {
        this.active--;
        request.endedAt = this.clock.now();
        signal.removeEventListener('abort', onAbort);
      };
      const reply =
        answer === 'hang'
          ? undefined
          : this.clock.schedule(() => {
              end();
              if ('error' in answer) reject(answer.error);
              else resolve({ status: answer.status ?? 200, headers: answer.headers ?? {}, body: typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {}) });
            }, answer.after ?? 0);
      const onAbort = () => {
        reply?.unsubscribe();
        end();
        request.abortedAt = request.endedAt;
        reject(Object.assign(new Error('This operation was aborted'), { code: 'ABORT_ERR' }));
      };
      signal.addEventListener('abort', onAbort);
    });
  }
}

/** A 200 with these records at `results`. */
export const ok = (results: unknown[], after?: number): Answer => ({ status: 200, body: { results }, after });

// ---------------------------------------------------------------------------------------------
// Running the virtual clock.

/** Lets every promise callback run: the fake transport answers through the clock only, never through I/O. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Most clock steps a helper takes: a source that requests in a loop without time passing fails, not hangs. */
const MAX_STEPS = 100_000;

/** Run the clock one due time after another until `done()` holds; throws after `maxMs` of virtual time. */
export async function runUntil(clock: VirtualClock, done: () => boolean, what: string, maxMs = 3_600_000): Promise<void> {
  const limit = clock.now() + maxMs;
  await settle();
  for (let steps = 0; !done(); steps++) {
    if (steps > MAX_STEPS || !clock.runNext(limit)) throw new Error(`${what}: not within ${maxMs} ms of virtual time (at ${clock.now() - T0}, after ${steps} steps)`);
    await settle();
  }
}

/** Move the clock forward by `ms`, running everything that falls due meanwhile, in order. */
export async function advance(clock: VirtualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await settle();
  for (let steps = 0; clock.runNext(target); steps++) {
    if (steps > MAX_STEPS) throw new Error('advance: the clock never reaches its target (a loop of timers due at once?)');
    await settle();
  }
  clock.jumpTo(target);
  await settle();
}

/** What `promise` gives, running the clock until it settles; also when, relative to T0. */
export async function clocked<T>(clock: VirtualClock, promise: Promise<T>): Promise<{ value: T; at: number }> {
  let settled = false;
  const done = promise.finally(() => (settled = true));
  done.catch(() => undefined);
  await runUntil(clock, () => settled, 'the promise to settle');
  return { value: await promise, at: clock.now() - T0 };
}

/**
 * Read and commit until the source reports `finished`, running the clock only when there is nothing to
 * read: every record handed out, in order, the last batch, and when it finished (relative to T0).
 */
export async function drain(clock: VirtualClock, source: Source, maxMs = 3_600_000): Promise<{ records: StreamRecord[]; last: SourceBatch; at: number }> {
  const limit = clock.now() + maxMs;
  const records: StreamRecord[] = [];
  for (let steps = 0; ; steps++) {
    await settle();
    if (steps > MAX_STEPS) throw new Error(`the source did not finish within ${MAX_STEPS} steps (at ${clock.now() - T0})`);
    const batch = await source.read(1000, 0);
    records.push(...batch.records);
    if (batch.records.length > 0) {
      await source.commit(batch);
      continue;
    }
    if (batch.finished) return { records, last: batch, at: clock.now() - T0 };
    if (!clock.runNext(limit)) throw new Error(`the source did not finish within ${maxMs} ms of virtual time`);
  }
}
