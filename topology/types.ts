/**
 * The framework's core contract: records, and the three component kinds (source, operator, sink)
 * the runtime composes. The runtime knows only these interfaces; concrete components live in
 * `sources/`, `operators/` and `sinks/` and register themselves by `type` (see registry.ts).
 *
 * Semantics mirror Spark Structured Streaming's micro-batches:
 * - a source hands out a batch of records on each trigger (`read`), and forgets them only when the
 *   runtime `commit`s that batch, which happens after the sink (and the dead-letter sink) acknowledged
 *   every record of it; `rollback` makes every uncommitted record readable again (at-least-once);
 * - operators transform one batch at a time (the batch's records as an Observable that completes at
 *   the end of the batch, and the batch's scope for dead letters); stateful operators keep state
 *   across batches;
 * - a sink writes a batch and resolves only when every record is durably acknowledged.
 */
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { Logger } from 'winston';

/** Where a record came from, for dead-letter reports and offsets. */
export interface RecordOrigin {
  topic?: string;
  partition?: number;
  offset?: number | string;
}

/**
 * A task: one input partition, with the state the pipeline's stateful operators keep for it (Kafka
 * Streams' StreamTask). A record's task is its partition (`origin.partition`); a source without
 * partitions has the one task 0. A task's state moves with its partition, and is restored from its
 * stores' changelogs when the partition is assigned.
 */
export type TaskId = number;

/** The task a record belongs to. */
export function taskOf(record: StreamRecord): TaskId {
  return record.origin?.partition ?? 0;
}

/** One record flowing through a pipeline. */
export interface StreamRecord<V = unknown> {
  /** Partitioning / message key (Kafka key, Cassandra partition), or null. */
  key: string | null;
  /** The payload: parsed JSON for most sources, or a Buffer/string for raw ones. */
  value: V;
  /** Event time (ms since epoch): the Kafka timestamp, or when the source produced the record. */
  timestamp: number;
  /** Where it came from (source topic/partition/offset), when known. */
  origin?: RecordOrigin;
  /** The original bytes as received, kept so a dead-letter can carry them unchanged. */
  raw?: Buffer | string;
  /**
   * The value as the source decoded it from `raw` (the same reference), when it did (the kafka source's
   * `json` format): while `value` is still this one, `raw` is its encoding, and a sink may send those
   * bytes rather than encode the value again (the kafka sink's `payload: unchanged-raw`).
   */
  decoded?: unknown;
  headers?: Record<string, string>;
}

/** A record that could not be processed, and why. Written to the pipeline's dead-letter sink. */
export interface DeadLetter {
  /** The record as it was when it failed (its `raw` bytes are what the dead-letter topic carries). */
  record: StreamRecord;
  /** A human-readable reason, e.g. `login.uuid: expected a string, got undefined`. */
  reason: string;
  /** The component that rejected it, e.g. `operators[0] (validate)`. */
  stage: string;
}

/** Opaque per-source position. Kafka: { "users_created/0": 1234 }; memory: { index: 10 }. */
export type Offsets = Record<string, number | string>;

/** What one `read` returns. */
export interface SourceBatch {
  records: StreamRecord[];
  /** Position before this batch (for progress events). */
  startOffsets: Offsets;
  /** Position after this batch; `commit` persists it. */
  endOffsets: Offsets;
  /** True when the source has nothing more available right now (Spark's availableNow stops here). */
  caughtUp: boolean;
  /** True when the source will never produce more (a finite memory source, an http-poll run's duration elapsed). */
  finished: boolean;
  /** Source-specific figures for the progress event (e.g. consumer lag, HTTP errors by kind). */
  metrics?: Record<string, number | Record<string, number>>;
  /**
   * What the source read but could not make a record of (a Kafka message that is not JSON), with why:
   * dead-lettered, counted as input, and committed past with the batch.
   */
  rejected?: Array<{ record: StreamRecord; reason: string }>;
  /**
   * Tasks given to this source since its previous read, each with the committed position of its
   * partitions (where its reading resumes; -1 for a partition never committed): the pipeline restores
   * their state before it processes any of their records. Only sources whose positions outlive the
   * process (Kafka) report tasks; durable state needs one.
   */
  assigned?: Array<{ task: TaskId; committed: Offsets }>;
  /** Tasks taken from this source since its previous read: their state is dropped. */
  revoked?: TaskId[];
}

/** What an operator may do within the batch it is applying to. */
export interface BatchScope {
  /** Set a record aside with the reason: written to the dead-letter output and acknowledged before the batch commits. */
  deadLetter(record: StreamRecord, reason: string): void;
  /**
   * Note that `key` of one of the operator's stores (`Operator.stores`) now holds `value` for `task`
   * (undefined: deleted). The value is copied (as JSON) at once; the batch's checkpoint writes it to
   * the store's changelog before the batch's offsets are committed. Call it once per changed key, at
   * the end of the batch.
   */
  changed(store: string, task: TaskId, key: string, value: unknown): void;
  /** The pipeline's clock, for processing-time decisions (a window's idle timeout). */
  now(): number;
  /** True for the batch that ends an availableNow run, which an operator may use to write what it holds. */
  readonly endOfInput: boolean;
}

/** A store's entries as its changelog held them at a task's committed position: key → value. */
export type StoreEntries = ReadonlyMap<string, unknown>;

/** Services the runtime hands to every component it creates. */
export interface ComponentContext {
  /** The topology and pipeline this component belongs to. */
  topology: string;
  pipeline: string;
  /**
   * Which of the processes that run the topology this one is: `npm start` claims `<host>-<n>` or takes
   * `--instance NAME` (operations/instance.ts); a runtime given none has `default`. Unique among the
   * live processes of a pipeline and the same after a restart, it ends the transactional id of an
   * exactly-once pipeline.
   */
  instance: string;
  /** Where in the topology file this component is, e.g. `pipelines.process.operators[1]`. */
  path: string;
  logger: Logger;
  /** The clock: real time in production, a virtual one under the test driver. */
  scheduler: SchedulerLike;
  /** The pipeline's delivery guarantee (`processing`): under exactly-once, outputs join one transaction per batch. */
  processing: Processing;
  /**
   * A resource the pipeline's components share, made by the first one that asks (e.g. the one Kafka
   * transactional producer of an exactly-once pipeline); the pipeline closes it after its components.
   */
  shared<T extends SharedResource>(key: string, create: () => T): T;
}

/** The instance of a runtime given none (ComponentContext.instance). */
export const DEFAULT_INSTANCE = 'default';

export type Processing = 'at-least-once' | 'exactly-once';

export interface SharedResource {
  close(): Promise<void>;
}

export interface Source {
  /**
   * Whose committed positions the source reads from (Kafka: its consumer group): durable state is kept
   * under it, since state is only valid with the positions it was committed with. A new group starts
   * with state of its own.
   */
  readonly positionScope?: string;
  /**
   * Sources that report tasks (`SourceBatch.assigned`): how many partitions their input has, asked
   * when a task is first restored (a changelog is created with as many partitions).
   */
  partitions?(): Promise<number>;
  /** Connect / subscribe. Throws a clear error (naming the address and the fix) when it cannot. */
  start(): Promise<void>;
  /**
   * Up to `maxRecords` records not yet handed out. May wait briefly (at most `waitMs`) for records
   * to arrive; returns an empty batch when there are none.
   */
  read(maxRecords: number, waitMs: number): Promise<SourceBatch>;
  /**
   * Exactly-once sources: called before a batch's outputs are written, to begin the transaction that its
   * outputs, its state changes and its `commit` complete (and its `rollback` aborts).
   */
  prepareBatch?(): Promise<void>;
  /** Persist the position after `batch` (batches are committed in the order they were read). */
  commit(batch: SourceBatch): Promise<void>;
  /** Forget every read-but-uncommitted batch: the next `read` starts at the last committed position. */
  rollback(): Promise<void>;
  /**
   * Optional, for sources whose records live only in memory until committed (an HTTP poll): take no
   * new input and report `finished` once everything taken is committed, so a graceful stop loses nothing.
   */
  drain?(): void;
  /** Release resources. Uncommitted records are not committed. */
  close(): Promise<void>;
  /** Short description for `--describe`, e.g. `kafka topic users_created (group user-pipeline)`. */
  describe(): string;
}

export interface Operator {
  /**
   * Transform one batch: `input` completes at the end of the batch, and so must the output. A record
   * the operator cannot process goes to `batch.deadLetter`; an error in the output fails the batch.
   */
  apply(input: Observable<StreamRecord>, batch: BatchScope): Observable<StreamRecord>;
  /** Current event-time watermark (ms), for stateful event-time operators; shown in progress events. */
  watermark?(): number | undefined;
  /** Figures for progress events, e.g. { windowsInState: 12, lateRowsDropped: 3 }. */
  metrics?(): Record<string, number>;
  /**
   * Stateful operators only: a copy of the state, taken before each batch. When a batch fails and its
   * records are redelivered, the runtime `restore`s the copy taken before the first uncommitted batch,
   * so redelivered records are neither double counted nor dropped as duplicates.
   */
  snapshot?(): unknown;
  restore?(snapshot: unknown): void;
  /**
   * Stateful operators only: the names of their stores. Each is kept per task, and made durable by the
   * pipeline's state backend (a changelog per store) when the pipeline has one.
   */
  stores?: readonly string[];
  /** A task was assigned: its stores' entries as their changelogs hold them, before any record of the task. */
  loadTask?(task: TaskId, stores: ReadonlyMap<string, StoreEntries>): void;
  /** A task was revoked: forget its state. */
  dropTask?(task: TaskId): void;
  /**
   * Whether a batch without input would do something now (at processing time `now`; `endOfInput`: the
   * availableNow run or the finite source has ended) — a window's idle timeout. When it says so after
   * an empty read, the pipeline runs a batch without input; its output is written and committed as usual.
   */
  idleWork?(now: number, endOfInput: boolean): boolean;
  describe(): string;
  close?(): Promise<void>;
}

/** The value of a record handed to a pipeline's dead-letter sink. */
export interface DeadLetterValue {
  reason: string;
  stage: string;
  topology: string;
  pipeline: string;
  origin?: RecordOrigin;
  /** The rejected record's value as it was at the failing stage (the sink may prefer `raw`). */
  value: unknown;
  /** When it was dead-lettered (ms since epoch). */
  failedAt: number;
}

export interface Sink {
  /** Connect; create topics / keyspaces / tables when configured to. */
  start(): Promise<void>;
  /** Write every record; resolve only when all are acknowledged. Reject (nothing partial is assumed). */
  write(records: StreamRecord[]): Promise<void>;
  /** Whether a failed write is worth retrying (timeouts, unavailable); others fail the batch at once. */
  isRetryable?(error: unknown): boolean;
  close(): Promise<void>;
  describe(): string;
}

/** The changes one batch made to one store of one task, and the source position they reflect. */
export interface StoreChanges {
  store: string;
  task: TaskId;
  /** The task's source position after the batch: a restore ignores changes past the committed position. */
  position: Offsets;
  /** Key → the value as JSON text, or undefined when the key was deleted. */
  entries: Map<string, string | undefined>;
}

/**
 * Where a pipeline's operator state is made durable: a changelog per store (Kafka Streams' and Quix
 * Streams' model). `write` runs in each batch's checkpoint, after the sink and dead letters are
 * acknowledged and before the offsets are committed; `restore` when a task is assigned.
 */
export interface StateBackend {
  /** Connect. `stores` are the pipeline's store ids (`<topology>.<pipeline>.<position scope>.<operator>.<store>`). */
  start(stores: readonly string[]): Promise<void>;
  /**
   * A task's entries of `store` as they were at `committed`: for each key the latest value written at
   * or before that position; changes written past it (by a batch whose offsets were never committed)
   * are left out. `partitions`: how many tasks the input has (a changelog has one partition per task).
   */
  restore(store: string, task: TaskId, committed: Offsets, partitions: number): Promise<{ entries: Map<string, unknown>; read: number }>;
  /** Make a batch's changes durable; resolves once every one is acknowledged (a failure fails the batch, which is retried). */
  write(changes: readonly StoreChanges[]): Promise<void>;
  close(): Promise<void>;
  /** Where one store's changelog is, e.g. `kafka topic user-pipeline.nat_minute.1-window.windows-changelog`. */
  describe(store: string): string;
}

export type ComponentKind = 'source' | 'operator' | 'sink' | 'state';

export interface ComponentInstanceByKind {
  source: Source;
  operator: Operator;
  sink: Sink;
  state: StateBackend;
}

/** Re-exported for component authors. */
export type { Observable, OperatorFunction, SchedulerLike };
