/** http-poll: the source — pollers requesting on the scheduler, the records they fetched, commit and rollback. */
import { Subject, filter, firstValueFrom, merge, timer, type Subscription } from 'rxjs';
import { errorMessage, UserFacingError } from '../../topology/errors.ts';
import { maskSecrets, registerSecret } from '../../topology/secrets.ts';
import { ReplayBuffer } from '../../topology/replay-buffer.ts';
import type { ComponentContext, Offsets, SchedulerLike, Source, SourceBatch, StreamRecord } from '../../topology/types.ts';
import type { HttpPollConfig } from './config.ts';
import { classify, FAILURE_KINDS, readPath, retryDelay, segmentsOf, type Failure, type FailureKind } from './response.ts';
import { gotTransport, type HttpTransport, type Transport } from './transport.ts';

/** What the source does I/O and draws random numbers with; the real ones unless a test injects fakes. */
export interface HttpPollDeps {
  /** The HTTP client (default: got on keep-alive agents). */
  transport?: Transport;
  /** Uniform in [0, 1), for the backoff's jitter (default: Math.random). */
  random?: () => number;
}

/** `2s`, `1m`, `150ms`: a duration as a topology file would write it. */
function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
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

  private readonly transport: Transport;
  private readonly random: () => number;
  private client: HttpTransport | undefined;
  private pollers: Promise<void>[] = [];
  private deadline: Subscription | undefined;
  private readonly controllers = new Set<AbortController>();
  /** Emits on every change a waiting poller or reader may be waiting for. */
  private readonly changes$ = new Subject<void>();

  /** Fetched records in fetch order: those not yet handed out, and those handed out but not yet committed. */
  private readonly records = new ReplayBuffer<StreamRecord>();

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
    deps: HttpPollDeps = {},
  ) {
    this.scheduler = ctx.scheduler;
    this.transport = deps.transport ?? gotTransport;
    this.random = deps.random ?? Math.random;
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
    this.client = this.transport({
      headers: {
        accept: 'application/json',
        ...Object.fromEntries(Object.entries(this.config.headers).map(([k, v]) => [k.toLowerCase(), String(v)])),
        ...(this.config.authorization === undefined ? {} : { authorization: this.config.authorization }),
      },
      connections: this.config.concurrency,
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
    if (this.records.buffered === 0 && waitMs > 0 && !this.nothingMoreComing()) {
      const arrived$ = this.changes$.pipe(filter(() => this.records.buffered > 0 || this.nothingMoreComing()));
      await firstValueFrom(merge(timer(waitMs, this.scheduler), arrived$), { defaultValue: 0 });
    }
    // Once stopping, a source that gave up has nothing more to say: it finishes instead of failing again.
    if (this.fatal && !this.draining && this.records.buffered === 0 && this.records.uncommitted === 0) throw this.fatal;
    const { firstSeq, items } = this.records.take(maxRecords);
    return this.batch(items, { seq: firstSeq }, { seq: firstSeq + items.length });
  }

  async commit(batch: SourceBatch): Promise<void> {
    this.records.commit(Number(batch.endOffsets.seq));
    this.changed();
  }

  async rollback(): Promise<void> {
    if (this.records.rollback()) this.changed();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deadline?.unsubscribe();
    for (const controller of this.controllers) controller.abort();
    this.changed();
    await Promise.all(this.pollers);
    this.client?.close();
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

  private batch(records: StreamRecord[], startOffsets: Offsets, endOffsets: Offsets): SourceBatch {
    return {
      records,
      startOffsets,
      endOffsets,
      caughtUp: this.records.buffered === 0,
      finished: (this.fatal === undefined || this.draining) && this.nothingMoreComing() && this.records.buffered === 0 && this.records.uncommitted === 0,
      metrics: this.metrics(),
    };
  }

  private metrics(): NonNullable<SourceBatch['metrics']> {
    return {
      requests: this.requests,
      recordsFetched: this.recordsFetched,
      buffered: this.records.buffered,
      uncommitted: this.records.uncommitted,
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
        const delay = Math.max(retryDelay(failure, failuresInARow, this.config.retry, this.random), this.config.interval - (this.scheduler.now() - startedAt));
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
    while (!this.pollingOver() && this.records.buffered + this.records.uncommitted >= this.config.maxBuffered) {
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
      const response = await this.client!.get(requestUrl, controller.signal);
      const outcome = classify(response.status, response.headers['retry-after'], response.body, this.recordsPath, this.config.recordsPath, this.scheduler.now());
      if (!Array.isArray(outcome)) return outcome;
      this.append(outcome);
      return undefined;
    } catch (error) {
      if (timedOut) return { kind: 'timeout', retryable: true, message: `no complete response within ${formatDuration(this.config.timeout)}` };
      const code = (error as { code?: string }).code;
      const message = errorMessage(error);
      return { kind: 'network', retryable: true, message: `${message}${code && !message.includes(code) ? ` (${code})` : ''}` };
    } finally {
      timeout.unsubscribe();
      this.controllers.delete(controller);
      this.inFlight--;
      this.changed();
    }
  }

  private append(elements: unknown[]): void {
    const now = this.scheduler.now();
    const firstSeq = this.records.end;
    const records = new Array<StreamRecord>(elements.length);
    for (let i = 0; i < elements.length; i++) {
      const value = elements[i];
      records[i] = { key: this.keyOf(value), value, timestamp: now, origin: { topic: this.topic, offset: firstSeq + i }, raw: JSON.stringify(value) };
    }
    this.records.append(records);
    this.recordsFetched += records.length;
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
