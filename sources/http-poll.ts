/**
 * http-poll — polls an HTTP JSON endpoint and turns each element of an array in the response into a
 * record.
 *
 * `concurrency` pollers each GET the URL every `interval`, parse the body once and append the array at
 * `recordsPath` to an in-memory buffer; `read` hands buffered records out in order. A failed request
 * (network error, timeout, 5xx, 429, an error body, truncated JSON, a body of the wrong shape) is
 * counted by kind, logged (rate-limited) and retried with capped exponential backoff and full jitter,
 * honouring `Retry-After`; it never yields records. Any other 4xx is a configuration mistake: it is
 * logged as an error and polling stops; once the records already fetched have been committed, `read`
 * fails with that error, so the pipeline's `onFailure` policy makes it loud.
 *
 * An HTTP poll cannot be replayed, so the source keeps every handed-out record until its batch is
 * committed, and a rollback puts them back at the front of the buffer in their original order.
 *
 * ```yaml
 * source:
 *   type: http-poll
 *   url: ${RANDOMUSER_URL:-https://randomuser.me/api/}
 *   query: { results: 5000, nat: "us,gb" }
 *   keyPath: login.uuid
 *   interval: 1s
 *   concurrency: 4
 *   duration: 2m        # then the pipeline ends, once everything fetched is written
 * ```
 * See also: the `rate` source (a known load without a server), the `memory` source.
 */
import http from 'node:http';
import https from 'node:https';
import got, { type Got } from 'got';
import * as t from 'io-ts';
import { Subject, filter, firstValueFrom, merge, timer, type Subscription } from 'rxjs';
import { defineComponent } from '../topology/registry.ts';
import { objectCodec, optional, required, withDefault, type ConfigOf } from '../topology/spec.ts';
import { Duration, HttpUrl, NonEmptyString, NonNegativeInt, PositiveInt } from '../topology/codecs.ts';
import { UserFacingError } from '../topology/errors.ts';
import { maskSecrets, registerSecret } from '../topology/secrets.ts';
import type { ComponentContext, Offsets, SchedulerLike, Source, SourceBatch, StreamRecord } from '../topology/types.ts';

/** Why one request yielded no records. */
export type FailureKind = 'network' | 'timeout' | 'http5xx' | 'http429' | 'http4xx' | 'invalidJson' | 'errorBody' | 'unexpectedShape';
const FAILURE_KINDS: readonly FailureKind[] = ['network', 'timeout', 'http5xx', 'http429', 'http4xx', 'invalidJson', 'errorBody', 'unexpectedShape'];

export interface Failure {
  kind: FailureKind;
  status?: number;
  message: string;
  retryable: boolean;
  /** The server's `Retry-After`, in ms from now. */
  retryAfterMs?: number;
}

/** `results`, `data.items`: field names separated by dots; an array element by its index (`items.0`). */
function pathCodec(allowRoot: boolean): t.Type<string, unknown, unknown> {
  const valid = (u: unknown): u is string => typeof u === 'string' && ((allowRoot && u === '') || u.split('.').every((s) => s.trim() !== '' && s === s.trim()));
  return new t.Type<string, unknown, unknown>(
    allowRoot ? 'a dot-separated path such as results or data.items ("" for the body itself)' : 'a dot-separated path such as login.uuid',
    valid,
    (u, c) => (valid(u) ? t.success(u) : t.failure(u, c)),
    (a) => a,
  );
}

type Scalar = string | number | boolean;
const ScalarValue = new t.Type<Scalar, unknown, unknown>(
  'a string, number or boolean',
  (u): u is Scalar => ['string', 'number', 'boolean'].includes(typeof u),
  (u, c) => (['string', 'number', 'boolean'].includes(typeof u) ? t.success(u as Scalar) : t.failure(u, c)),
  (a) => a,
);

/**
 * Names to strings, numbers or booleans (query parameters, headers). Not the shared StringMap: its
 * union reports one error per member (`query.results[0]`, `[1]`, `[2]`) instead of one per bad value.
 */
const ScalarMap = new t.Type<Record<string, Scalar>, unknown, unknown>(
  'a map of names to strings, numbers or booleans',
  (u): u is Record<string, Scalar> => typeof u === 'object' && u !== null && !Array.isArray(u) && Object.values(u).every((v) => ScalarValue.is(v)),
  (u, c) => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c);
    const errors: t.Errors = [];
    const out: Record<string, Scalar> = {};
    for (const [key, value] of Object.entries(u)) {
      // null (`seed:` or an empty `${SEED:-}`) leaves the parameter out.
      if (value === null) continue;
      if (!ScalarValue.is(value)) errors.push({ value, context: [...c, { key, type: ScalarValue, actual: value }] });
      else out[key] = value;
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out);
  },
  (a) => a,
);

const retryFields = {
  maxAttempts: optional(PositiveInt, 'Consecutive failed attempts of one request before the source gives up and fails the pipeline; unlimited when absent (a source should keep trying).'),
  initialBackoff: withDefault(Duration, 500, 'Upper bound of the first backoff; doubles with each consecutive failure (full jitter: the actual pause is random below the bound).'),
  maxBackoff: withDefault(Duration, 30_000, 'Cap of the backoff bound.'),
  maxRetryAfter: withDefault(
    Duration,
    300_000,
    "Longest `Retry-After` (seconds or an HTTP date, on 429 and 503) that is obeyed: no poller requests again before the server's wish (up to this cap), and the poller that got it waits at least its backoff too.",
  ),
};
type RetryConfig = ConfigOf<typeof retryFields>;
const defaultRetry: RetryConfig = { initialBackoff: 500, maxBackoff: 30_000, maxRetryAfter: 300_000 };

const fields = {
  url: required(HttpUrl, 'The URL to GET. Credentials in it (`https://user:pass@host/`) are sent as basic auth and never logged.'),
  query: withDefault(ScalarMap, {}, 'Query parameters added to the URL (they replace same-named ones in it), e.g. `{ results: 5000, nat: "us,gb" }` for RandomUser.'),
  pageParam: optional(
    NonEmptyString,
    'Query parameter numbered 1, 2, 3… on successive requests (a retry repeats its number), for paged APIs: RandomUser with a `seed` in `query` and `pageParam: page` gives the same users on every run.',
  ),
  firstPage: withDefault(NonNegativeInt, 1, 'Number of the first request when `pageParam` is set.'),
  headers: withDefault(ScalarMap, {}, 'Extra request headers. Shown by --describe: put credentials in `authorization` instead.'),
  authorization: optional(NonEmptyString, 'Value of the `Authorization` header, e.g. `Bearer …`. Secret: never logged or printed.', { secret: true }),
  recordsPath: withDefault(pathCodec(true), 'results', 'Where the array of records is in the response body (dot-separated); "" when the body itself is the array.'),
  keyPath: optional(pathCodec(false), 'Path in each element whose value (a string or number) becomes the record key, e.g. `login.uuid`; the key is null when absent.'),
  interval: withDefault(Duration, 1000, 'Time from the start of one request to the start of the next, per poller; 0 = back to back. A slower response is followed at once.'),
  concurrency: withDefault(PositiveInt, 1, 'Pollers requesting in parallel, each on its own keep-alive connection; their starts are spread over one `interval`.'),
  duration: optional(Duration, 'Stop requesting this long after start; the source then reports `finished` once everything fetched is committed, and the pipeline ends. Unbounded when absent.'),
  maxRequests: optional(PositiveInt, 'Stop after this many successful requests in total (failed attempts are retried and do not count); the source then finishes as with `duration`.'),
  timeout: withDefault(Duration, 10_000, 'Per request: no complete response within this time is a `timeout` failure (the request is aborted and retried).'),
  retry: withDefault(objectCodec('http-poll retry', retryFields), defaultRetry, 'How failed requests are retried.'),
  maxBuffered: withDefault(
    PositiveInt,
    50_000,
    'Records held in memory (buffered plus handed out but uncommitted) at which the pollers pause until the pipeline commits; a response in flight still lands, so this may be exceeded by up to `concurrency` responses.',
  ),
};

export type HttpPollConfig = ConfigOf<typeof fields>;

/** Exponential backoff with full jitter: a random pause in [0, min(maxMs, initialMs × 2^attempt)]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  // The exponent is bounded so that 0 × 2^attempt can never become 0 × Infinity = NaN.
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 40));
  return Math.round(random() * ceiling);
}

/** `Retry-After` as ms from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The pause before retrying after the `failures`-th consecutive failure (1-based). */
export function retryDelay(failure: Failure, failures: number, retry: RetryConfig, random: () => number = Math.random): number {
  const backoff = backoffDelay(failures - 1, retry.initialBackoff, retry.maxBackoff, random);
  return failure.retryAfterMs === undefined ? backoff : Math.max(backoff, Math.min(failure.retryAfterMs, retry.maxRetryAfter));
}

function readPath(value: unknown, segments: readonly string[]): unknown {
  let current = value;
  for (const segment of segments) {
    // Own properties only: a path must not reach Object.prototype (`__proto__`, `constructor`).
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function segmentsOf(path: string): string[] {
  return path === '' ? [] : path.split('.');
}

/** A short, single-line excerpt of a body for messages. */
function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Statuses other than 429 and 5xx after which retrying can help. */
const RETRYABLE_4XX = new Set([408, 425]);

/** Classify one response: the elements to turn into records, or why there are none. */
function classify(status: number, retryAfter: string | undefined, body: string, recordsPath: readonly string[], recordsPathText: string, now: number): unknown[] | Failure {
  if (status === 429 || status >= 500) {
    const kind = status === 429 ? 'http429' : 'http5xx';
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter, now) : undefined;
    return { kind, status, retryable: true, retryAfterMs, message: `HTTP ${status}${body ? `: ${excerpt(body)}` : ''}` };
  }
  // Other 4xx, and a 1xx/3xx that got did not resolve (e.g. a redirect without Location).
  if (status < 200 || status >= 300) {
    return { kind: 'http4xx', status, retryable: RETRYABLE_4XX.has(status), message: `HTTP ${status}${body ? `: ${excerpt(body)}` : ''}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return { kind: 'invalidJson', status, retryable: true, message: `the body is not valid JSON (${(error as Error).message}; ${body.length} bytes)` };
  }
  const elements = readPath(parsed, recordsPath);
  if (Array.isArray(elements)) return elements;
  const errorField = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>).error : undefined;
  if (errorField !== undefined) {
    return { kind: 'errorBody', status, retryable: true, message: `the body is an error: ${excerpt(typeof errorField === 'string' ? errorField : JSON.stringify(errorField))}` };
  }
  const where = recordsPathText === '' ? 'the body' : `"${recordsPathText}"`;
  return { kind: 'unexpectedShape', status, retryable: true, message: `${where} is not an array (${elements === undefined ? 'absent' : typeof elements}): ${excerpt(body, 120)}` };
}

/** Records with consecutive sequence numbers: one response in the buffer, or one handed-out batch. */
interface Chunk {
  firstSeq: number;
  records: StreamRecord[];
}

/** Consecutive network failures before the first success after which the URL is reported unreachable. */
const UNREACHABLE_AFTER = 3;
/** Per failure kind, at most one warning per this many ms (the counts are in every batch's metrics). */
const LOG_EVERY_MS = 10_000;

export class HttpPollSource implements Source {
  private readonly scheduler: SchedulerLike;
  private readonly requestUrl: string;
  /** The URL without credentials, for logs and --describe. */
  private readonly safeUrl: string;
  /** host + path: the records' origin topic. */
  private readonly topic: string;
  private readonly recordsPath: string[];
  private readonly keyPath: string[] | undefined;

  private client: Got | undefined;
  private agents: http.Agent[] = [];
  private pollers: Promise<void>[] = [];
  private deadline: Subscription | undefined;
  private readonly controllers = new Set<AbortController>();
  /** Emits on every change a waiting poller or reader may be waiting for. */
  private readonly changes$ = new Subject<void>();

  /** Not yet handed out, in fetch order; `head` indexes into the first chunk. */
  private buffer: Chunk[] = [];
  private head = 0;
  private bufferedCount = 0;
  /** Handed out, not yet committed, in order. */
  private pending: Chunk[] = [];
  private pendingCount = 0;
  private nextSeq = 0;

  private closed = false;
  private deadlinePassed = false;
  /** Set by `drain`: no new request; what was fetched is still handed out, then the source finishes. */
  private draining = false;
  private fatal: Error | undefined;
  private claimed = 0;
  private succeeded = 0;
  private inFlight = 0;
  private requests = 0;
  private recordsFetched = 0;
  private keylessRecords = 0;
  private readonly failures = Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>;
  private lastError: { text: string; at: number } | undefined;
  private readonly logState = Object.fromEntries(FAILURE_KINDS.map((k) => [k, { lastAt: -Infinity, suppressed: 0 }])) as Record<FailureKind, { lastAt: number; suppressed: number }>;
  private unreachableStreak = 0;
  /** No poller starts a request before this time: a server's Retry-After concerns the client, not one poller. */
  private notBefore = -Infinity;
  private everSucceeded = false;

  constructor(
    private readonly config: HttpPollConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.scheduler = ctx.scheduler;
    const url = new URL(config.url);
    for (const [name, value] of Object.entries(config.query)) url.searchParams.set(name, String(value));
    this.requestUrl = url.toString();
    // A password in the URL may surface in a client library's error message, or a server may quote the
    // basic-auth header back: mask the password and that header's token in every log line.
    if (url.password) {
      registerSecret(url.password);
      let user = url.username;
      let password = url.password;
      try {
        user = decodeURIComponent(user);
        password = decodeURIComponent(password);
        registerSecret(password);
      } catch {
        // Not valid percent-encoding: only the raw form can appear anywhere.
      }
      registerSecret(Buffer.from(`${user}:${password}`).toString('base64'));
    }
    // The field is masked as a whole (`Bearer abc…`); a server may quote just the credential after the scheme.
    const credential = config.authorization?.match(/^\S+\s+(\S.*)$/)?.[1];
    if (credential) registerSecret(credential);
    url.username = '';
    url.password = '';
    this.safeUrl = url.toString();
    this.topic = `${url.host}${url.pathname}`;
    this.recordsPath = segmentsOf(config.recordsPath);
    this.keyPath = config.keyPath === undefined ? undefined : segmentsOf(config.keyPath);
  }

  async start(): Promise<void> {
    const agentOptions = { keepAlive: true, maxSockets: this.config.concurrency };
    const agent = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    this.agents = [agent.http, agent.https];
    this.client = got.extend({
      agent,
      headers: {
        accept: 'application/json',
        ...Object.fromEntries(Object.entries(this.config.headers).map(([k, v]) => [k.toLowerCase(), String(v)])),
        ...(this.config.authorization === undefined ? {} : { authorization: this.config.authorization }),
      },
      // Read as text and parse once here: a truncated body is then a counted failure, not a client error.
      responseType: 'text',
      throwHttpErrors: false,
      // Retries and timeouts are this source's own (counted, logged, on the scheduler).
      retry: { limit: 0 },
    });
    if (this.config.duration !== undefined) {
      this.deadline = timer(this.config.duration, this.scheduler).subscribe(() => {
        this.deadlinePassed = true;
        this.changed();
      });
    }
    // Staggered over one interval, so that n pollers make n evenly spaced requests per interval, not bursts.
    const { interval, concurrency } = this.config;
    this.pollers = Array.from({ length: concurrency }, (_, i) => this.poll(Math.round((i * interval) / concurrency)));
  }

  /** A graceful stop: poll no more, and finish once every record already fetched is committed. */
  drain(): void {
    this.draining = true;
    this.changed();
  }

  async read(maxRecords: number, waitMs: number): Promise<SourceBatch> {
    if (this.bufferedCount === 0 && waitMs > 0 && !this.nothingMoreComing()) {
      const arrived$ = this.changes$.pipe(filter(() => this.bufferedCount > 0 || this.nothingMoreComing()));
      await firstValueFrom(merge(timer(waitMs, this.scheduler), arrived$), { defaultValue: 0 });
    }
    // Once stopping, a source that gave up has nothing more to say: it finishes instead of failing again.
    if (this.fatal && !this.draining && this.bufferedCount === 0 && this.pendingCount === 0) throw this.fatal;
    const start = this.position();
    const records = this.take(maxRecords);
    if (records.length > 0) {
      this.pending.push({ firstSeq: start, records });
      this.pendingCount += records.length;
    }
    return this.batch(records, { seq: start }, { seq: start + records.length });
  }

  async commit(batch: SourceBatch): Promise<void> {
    const end = Number(batch.endOffsets.seq);
    while (this.pending.length > 0 && this.pending[0].firstSeq + this.pending[0].records.length <= end) {
      this.pendingCount -= this.pending.shift()!.records.length;
    }
    this.changed();
  }

  async rollback(): Promise<void> {
    if (this.pending.length === 0) return;
    if (this.head > 0) {
      const first = this.buffer[0];
      this.buffer[0] = { firstSeq: first.firstSeq + this.head, records: first.records.slice(this.head) };
      this.head = 0;
    }
    this.buffer.unshift(...this.pending);
    this.bufferedCount += this.pendingCount;
    this.pending = [];
    this.pendingCount = 0;
    this.changed();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deadline?.unsubscribe();
    for (const controller of this.controllers) controller.abort();
    this.changed();
    await Promise.all(this.pollers);
    for (const agent of this.agents) agent.destroy();
  }

  describe(): string {
    const url = new URL(this.safeUrl);
    const query = [...url.searchParams].map(([k, v]) => `${k}=${v}`).join('&');
    url.search = '';
    const every = this.config.interval === 0 ? 'back to back' : `every ${formatDuration(this.config.interval)}`;
    const limits = [
      this.config.duration === undefined ? '' : `for ${formatDuration(this.config.duration)}`,
      this.config.maxRequests === undefined ? '' : `at most ${this.config.maxRequests} requests`,
    ].filter(Boolean);
    return `http-poll ${url} (${query ? `${query} ` : ''}${every}, concurrency ${this.config.concurrency}${limits.length > 0 ? `, ${limits.join(', ')}` : ''})`;
  }

  private changed(): void {
    this.changes$.next();
  }

  /** No new request will start, for good: the run is over, or it failed, or the source is closed. */
  private pollingOver(): boolean {
    return this.closed || this.draining || this.fatal !== undefined || this.deadlinePassed || (this.config.maxRequests !== undefined && this.succeeded >= this.config.maxRequests);
  }

  private nothingMoreComing(): boolean {
    return this.pollingOver() && this.inFlight === 0;
  }

  private position(): number {
    return this.buffer.length > 0 ? this.buffer[0].firstSeq + this.head : this.nextSeq;
  }

  private take(max: number): StreamRecord[] {
    const out: StreamRecord[] = [];
    while (out.length < max && this.buffer.length > 0) {
      const chunk = this.buffer[0].records;
      const end = Math.min(chunk.length, this.head + max - out.length);
      for (let i = this.head; i < end; i++) out.push(chunk[i]);
      this.head = end;
      if (this.head === chunk.length) {
        this.buffer.shift();
        this.head = 0;
      }
    }
    this.bufferedCount -= out.length;
    return out;
  }

  private batch(records: StreamRecord[], startOffsets: Offsets, endOffsets: Offsets): SourceBatch {
    return {
      records,
      startOffsets,
      endOffsets,
      caughtUp: this.bufferedCount === 0,
      finished: (this.fatal === undefined || this.draining) && this.nothingMoreComing() && this.bufferedCount === 0 && this.pendingCount === 0,
      metrics: this.metrics(),
    };
  }

  private metrics(): NonNullable<SourceBatch['metrics']> {
    return {
      requests: this.requests,
      recordsFetched: this.recordsFetched,
      buffered: this.bufferedCount,
      uncommitted: this.pendingCount,
      inFlight: this.inFlight,
      ...(this.keylessRecords > 0 ? { keylessRecords: this.keylessRecords } : {}),
      failures: { ...this.failures },
      // Metrics carry numbers only (SourceBatch), so the last error is `{ "<kind>: <message>": <when, ms> }`.
      ...(this.lastError ? { lastError: { [this.lastError.text]: this.lastError.at } } : {}),
    };
  }

  /** One poller: claim a request, attempt it until it succeeds (backing off), pause, repeat. */
  private async poll(offset: number): Promise<void> {
    await this.pause(offset);
    for (let request = this.claim(); request !== undefined; request = this.claim()) {
      const url = this.urlOf(request);
      for (let failuresInARow = 0; ; ) {
        if (!(await this.roomInBuffer())) return;
        await this.pause(this.notBefore - this.scheduler.now());
        if (this.pollingOver()) return;
        const startedAt = this.scheduler.now();
        const outcome = await this.attempt(url);
        // A server may quote the credentials back in its error: mask them before they reach metrics, logs or errors.
        const failure = outcome && { ...outcome, message: maskSecrets(outcome.message) };
        if (failure === undefined) {
          if (failuresInARow > 0) this.ctx.logger.info(`GET ${this.safeUrl} succeeded again after ${failuresInARow} failed attempt(s)`, { url: this.safeUrl });
          await this.pause(this.config.interval - (this.scheduler.now() - startedAt));
          break;
        }
        if (this.closed) return;
        failuresInARow++;
        this.noteFailure(failure);
        const { maxAttempts } = this.config.retry;
        if (!failure.retryable || (maxAttempts !== undefined && failuresInARow >= maxAttempts)) {
          this.giveUp(failure, failuresInARow);
          return;
        }
        // Never faster than `interval`, even when retrying.
        const delay = Math.max(retryDelay(failure, failuresInARow, this.config.retry), this.config.interval - (this.scheduler.now() - startedAt));
        if (failure.retryAfterMs !== undefined) this.notBefore = Math.max(this.notBefore, this.scheduler.now() + Math.min(failure.retryAfterMs, this.config.retry.maxRetryAfter));
        this.logFailure(failure, failuresInARow, delay);
        await this.pause(delay);
        if (this.pollingOver()) return;
      }
    }
  }

  /**
   * Reserve the next request (one of `maxRequests`); its index, or undefined when polling is over. A
   * failed attempt keeps its reservation: its retry is the same request, with the same page.
   */
  private claim(): number | undefined {
    if (this.pollingOver()) return undefined;
    if (this.config.maxRequests !== undefined && this.claimed >= this.config.maxRequests) return undefined;
    return this.claimed++;
  }

  /** The URL of request number `index` (its page number, when `pageParam` is set). */
  private urlOf(index: number): string {
    if (this.config.pageParam === undefined) return this.requestUrl;
    const url = new URL(this.requestUrl);
    url.searchParams.set(this.config.pageParam, String(this.config.firstPage + index));
    return url.toString();
  }

  /** Backpressure: wait while the pipeline holds `maxBuffered` records. False when polling is over. */
  private async roomInBuffer(): Promise<boolean> {
    while (!this.pollingOver() && this.bufferedCount + this.pendingCount >= this.config.maxBuffered) {
      await firstValueFrom(this.changes$, { defaultValue: undefined });
    }
    return !this.pollingOver();
  }

  /** Wait `ms` on the scheduler, or less when polling ends meanwhile. */
  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.pollingOver()) return;
    const over$ = this.changes$.pipe(filter(() => this.pollingOver()));
    await firstValueFrom(merge(timer(ms, this.scheduler), over$), { defaultValue: 0 });
  }

  /** One GET. Records are appended before the in-flight count drops, so no reader sees a gap. */
  private async attempt(requestUrl: string): Promise<Failure | undefined> {
    const controller = new AbortController();
    let timedOut = false;
    const timeout = timer(this.config.timeout, this.scheduler).subscribe(() => {
      timedOut = true;
      controller.abort();
    });
    this.controllers.add(controller);
    this.inFlight++;
    this.requests++;
    try {
      const response = await this.client!.get(requestUrl, { signal: controller.signal });
      const outcome = classify(response.statusCode, response.headers['retry-after'], response.body, this.recordsPath, this.config.recordsPath, this.scheduler.now());
      if (!Array.isArray(outcome)) return outcome;
      this.append(outcome);
      return undefined;
    } catch (error) {
      if (timedOut) return { kind: 'timeout', retryable: true, message: `no complete response within ${formatDuration(this.config.timeout)}` };
      const code = (error as { code?: string }).code;
      return { kind: 'network', retryable: true, message: `${(error as Error).message}${code && !(error as Error).message.includes(code) ? ` (${code})` : ''}` };
    } finally {
      timeout.unsubscribe();
      this.controllers.delete(controller);
      this.inFlight--;
      this.changed();
    }
  }

  private append(elements: unknown[]): void {
    const now = this.scheduler.now();
    const firstSeq = this.nextSeq;
    const records = new Array<StreamRecord>(elements.length);
    for (let i = 0; i < elements.length; i++) {
      const value = elements[i];
      records[i] = { key: this.keyOf(value), value, timestamp: now, origin: { topic: this.topic, offset: firstSeq + i }, raw: JSON.stringify(value) };
    }
    this.nextSeq += records.length;
    this.recordsFetched += records.length;
    if (records.length > 0) {
      this.buffer.push({ firstSeq, records });
      this.bufferedCount += records.length;
    }
    this.succeeded++;
    this.unreachableStreak = 0;
    this.everSucceeded = true;
  }

  private keyOf(value: unknown): string | null {
    if (this.keyPath === undefined) return null;
    const key = readPath(value, this.keyPath);
    if (typeof key === 'string') return key;
    if (typeof key === 'number') return String(key);
    this.keylessRecords++;
    return null;
  }

  private noteFailure(failure: Failure): void {
    this.failures[failure.kind]++;
    this.lastError = { text: `${failure.kind}: ${failure.message}`, at: this.scheduler.now() };
    if (this.everSucceeded) return;
    this.unreachableStreak = failure.kind === 'network' || failure.kind === 'timeout' ? this.unreachableStreak + 1 : 0;
    if (this.unreachableStreak === UNREACHABLE_AFTER) {
      this.ctx.logger.error(
        `cannot reach ${this.safeUrl}: the first ${this.unreachableStreak} attempts failed (${failure.message}) — no internet, or a proxy in the way? Check the url, or run offline: npm start -- --topology ${this.ctx.topology} --offline`,
        { url: this.safeUrl, kind: failure.kind },
      );
    }
  }

  /** A warning per failure, at most one per kind every LOG_EVERY_MS; the rest are counted in it. */
  private logFailure(failure: Failure, attempt: number, delayMs: number): void {
    const now = this.scheduler.now();
    const state = this.logState[failure.kind];
    if (now - state.lastAt < LOG_EVERY_MS) {
      state.suppressed++;
      return;
    }
    const notLogged = state.suppressed;
    state.lastAt = now;
    state.suppressed = 0;
    this.ctx.logger.warn(`GET ${this.safeUrl} failed (${failure.kind}, attempt ${attempt}): ${failure.message}; retrying in ${delayMs} ms`, {
      kind: failure.kind,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      url: this.safeUrl,
      attempt,
      retryInMs: delayMs,
      ...(notLogged > 0 ? { notLoggedSinceLast: notLogged } : {}),
    });
  }

  private giveUp(failure: Failure, attempts: number): void {
    const what = failure.retryable ? `gave up after ${attempts} failed attempts (retry.maxAttempts); the last: ${failure.message}` : `answered ${failure.message}`;
    const hint =
      failure.status === 401 || failure.status === 403
        ? 'check `authorization` and `headers`'
        : failure.status === 404
          ? 'check the path in `url`'
          : failure.retryable
            ? 'check that the server is healthy, or raise retry.maxAttempts'
            : 'check `url`, `query` and `headers`';
    this.fatal = new UserFacingError(`http-poll: GET ${this.safeUrl} ${what}; polling has stopped`, hint);
    this.ctx.logger.error(this.fatal.message, { url: this.safeUrl, kind: failure.kind, ...(failure.status === undefined ? {} : { status: failure.status }) });
    this.changed();
  }
}

defineComponent({
  kind: 'source',
  type: 'http-poll',
  summary: 'Polls an HTTP JSON endpoint; each element of an array in the response becomes a record.',
  description:
    '`concurrency` pollers GET `url` every `interval` (keep-alive connections) and turn each element of the array at `recordsPath` into a record: key from `keyPath`, value the element, timestamp the fetch time, `raw` its JSON. ' +
    'A failed request — network error, timeout, 5xx, 429, a 200 whose body is not JSON (e.g. truncated), an `error` body, or no array at `recordsPath` — never yields records: it is counted by kind in every batch\'s metrics, logged (rate-limited) and retried with exponential backoff, full jitter and a cap, obeying `Retry-After` on 429 and 503. ' +
    'Any other 4xx (except 408 and 425, retried) means the configuration is wrong: polling stops with an error naming the URL and status, and once what was fetched is committed, the next read fails the pipeline. ' +
    'There is no replay in HTTP, so the source keeps handed-out records until their batch is committed; a rollback puts them back at the front in order (at-least-once). ' +
    'Polling pauses while `maxBuffered` records are held. With `duration` or `maxRequests`, the source reports `finished` once everything fetched is committed, and the pipeline ends.',
  fields,
  examples: [
    'source: { type: http-poll, url: "${RANDOMUSER_URL:-https://randomuser.me/api/}", query: { results: 1 }, keyPath: login.uuid, interval: 1s, duration: 2m }',
    'source: { type: http-poll, url: "${RANDOMUSER_URL:-https://randomuser.me/api/}", query: { results: 5000 }, keyPath: login.uuid, interval: 0, concurrency: 4 }',
  ],
  create: (config, ctx) => new HttpPollSource(config, ctx),
});
