/**
 * A pipeline's side of durable state: the ids of its operators' stores, restoring a task's stores
 * when the task is assigned (before any of its records), and writing each batch's changes in the
 * batch's checkpoint. Without a state backend, state lives in the operators' memory only: a restart
 * or a swap starts it empty.
 */
import type { Batch } from './batch.ts';
import type { Offsets, Operator, Source, StateBackend, StoreEntries, TaskId } from './types.ts';

/** What restoring some tasks took: for the log, and the progress event of the next batch. */
export interface RestoreReport {
  tasks: TaskId[];
  /** Changelog entries read, and keys restored (the latest committed value of each). */
  entriesRead: number;
  keys: number;
  ms: number;
}

export class PipelineStores {
  /** Per operator (by index): its stores' pipeline-wide ids, by store name. */
  private readonly ids: Array<Map<string, string>>;
  private partitions: number | undefined;

  constructor(
    where: { topology: string; pipeline: string; operatorTypes: readonly string[]; positionScope?: string },
    private readonly operators: readonly Operator[],
    readonly backend: StateBackend | undefined,
  ) {
    const scope = where.positionScope === undefined ? '' : `${where.positionScope}.`;
    this.ids = operators.map((op, i) => new Map((op.stores ?? []).map((store) => [store, `${where.topology}.${where.pipeline}.${scope}${i}-${where.operatorTypes[i]}.${store}`])));
  }

  /**
   * `<topology>.<pipeline>.<position scope>.<operator index>-<type>.<store>` (the scope: the source's
   * consumer group): stable while the pipeline's operators keep their order and its source its group.
   */
  storeId(operator: number, store: string): string {
    const id = this.ids[operator]?.get(store);
    if (id === undefined) throw new Error(`operators[${operator}] has no store "${store}" (its stores: ${[...(this.ids[operator]?.keys() ?? [])].join(', ') || 'none'})`);
    return id;
  }

  /** Every store id, with the operator it belongs to. */
  all(): Array<{ operator: number; store: string; id: string }> {
    return this.ids.flatMap((byName, operator) => [...byName].map(([store, id]) => ({ operator, store, id })));
  }

  /** Each store and where it is kept, for --describe: `operators[1] windows: kafka changelog topic … (compacted)`. */
  describe(): string[] {
    return this.all().map(({ operator, store, id }) => `operators[${operator}] ${store}: ${this.backend ? this.backend.describe(id) : 'in memory only (no state backend)'}`);
  }

  /** Whether some operator keeps state that a backend makes durable. */
  get durable(): boolean {
    return this.backend !== undefined && this.all().length > 0;
  }

  async start(source: Source): Promise<void> {
    if (!this.durable) return;
    if (!source.partitions) throw new Error(`${source.describe()} has no partitions whose positions outlive the process, so its pipeline's state cannot be made durable; remove \`state\` (state then lives in memory only)`);
    await this.backend!.start(this.all().map((s) => s.id));
  }

  /** Restore the stores of newly assigned tasks and hand them to their operators; undefined when nothing is durable. */
  async restore(assigned: ReadonlyArray<{ task: TaskId; committed: Offsets }>, source: Source, now: () => number): Promise<RestoreReport | undefined> {
    if (!this.durable || assigned.length === 0) return undefined;
    const started = now();
    this.partitions ??= await source.partitions!();
    let entriesRead = 0;
    let keys = 0;
    for (const { task, committed } of assigned) {
      for (const [operator, byName] of this.ids.entries()) {
        if (byName.size === 0) continue;
        const stores = new Map<string, StoreEntries>();
        for (const [store, id] of byName) {
          const { entries, read } = await this.backend!.restore(id, task, committed, this.partitions);
          stores.set(store, entries);
          entriesRead += read;
          keys += entries.size;
        }
        this.operators[operator].loadTask?.(task, stores);
      }
    }
    return { tasks: assigned.map((a) => a.task), entriesRead, keys, ms: now() - started };
  }

  /** The checkpoint's state step: the batch's changes, durable before its offsets are committed. */
  async flush(batch: Batch): Promise<void> {
    if (!this.durable) return;
    const changes = batch.storeChanges();
    if (changes.length > 0) await this.backend!.write(changes);
  }
}
