/**
 * dedupe — drops records whose key was seen recently (bounded memory: `maxKeys`, `ttl`).
 *
 * ```yaml
 * - type: dedupe
 *   field: login.uuid
 *   maxKeys: 100000
 *   ttl: 1h
 * ```
 * See also: `key-by` (sets the key dedupe compares by default), `filter`. What it does: the spec's
 * description below (docs/operators.md).
 */
import type { Subscriber } from 'rxjs';
import { PositiveDuration, PositiveInt } from '../topology/codecs.ts';
import { defineComponent } from '../topology/registry.ts';
import { optional, withDefault, type ConfigOf } from '../topology/spec.ts';
import type { BatchScope, ComponentContext, Operator, StreamRecord } from '../topology/types.ts';
import { compilePath, kindOf, PathText, scalarText } from './path.ts';
import { perRecord } from './per-record.ts';


const fields = {
  field: optional(PathText, 'Path of the value to compare, e.g. `login.uuid`; by default the record key is compared.'),
  maxKeys: withDefault(PositiveInt, 100_000, 'Most keys remembered; beyond it the least recently seen key is forgotten.'),
  ttl: optional(PositiveDuration, 'How long a key is remembered after it was last seen (e.g. 10m, 1h); by default until maxKeys evicts it.'),
};

export type DedupeConfig = ConfigOf<typeof fields>;

export function dedupeOperator(config: DedupeConfig, ctx: ComponentContext): Operator {
  const { maxKeys, ttl, field } = config;
  const read = field === undefined ? undefined : compilePath(field);
  // Key → when it was last seen (ctx.scheduler time). A Map iterates in insertion order; re-inserting
  // a key on every sighting keeps it ordered from least to most recently seen, so eviction and
  // expiry both take from the front.
  let lastSeen = new Map<string, number>();
  let duplicatesDropped = 0;

  function keyOf(record: StreamRecord): string | undefined {
    if (read === undefined) return record.key ?? undefined;
    return scalarText(read(record.value));
  }

  function forgetExpired(now: number): void {
    if (ttl === undefined) return;
    for (const [key, seenAt] of lastSeen) {
      if (now - seenAt < ttl) break;
      lastSeen.delete(key);
    }
  }

  function handle(record: StreamRecord, out: Subscriber<StreamRecord>, batch: BatchScope): void {
    const key = keyOf(record);
    if (key === undefined) {
      batch.deadLetter(record, read === undefined ? 'the record has no key to compare' : `dedupe field ${field} is ${kindOf(read(record.value))}, expected a string, number or boolean`);
      return;
    }
    const now = ctx.scheduler.now();
    forgetExpired(now);
    const seenAt = lastSeen.get(key);
    // The front-only sweep assumes a clock that never goes back; the ttl check here covers one that does.
    const isDuplicate = seenAt !== undefined && (ttl === undefined || now - seenAt < ttl);
    lastSeen.delete(key);
    lastSeen.set(key, now);
    if (isDuplicate) {
      duplicatesDropped += 1;
      return;
    }
    if (lastSeen.size > maxKeys) lastSeen.delete(lastSeen.keys().next().value!);
    out.next(record);
  }

  return {
    apply: perRecord(handle),
    snapshot: () => ({ lastSeen: new Map(lastSeen), duplicatesDropped }),
    restore(snapshot) {
      const saved = snapshot as { lastSeen: Map<string, number>; duplicatesDropped: number };
      // A copy again: the same snapshot is restored again if the redelivered batch fails too.
      lastSeen = new Map(saved.lastSeen);
      duplicatesDropped = saved.duplicatesDropped;
    },
    metrics: () => {
      forgetExpired(ctx.scheduler.now());
      return { duplicatesDropped, keysInState: lastSeen.size };
    },
    describe: () => `dedupe by ${field ?? 'record key'} (at most ${maxKeys} keys${ttl === undefined ? '' : `, forgotten ${ttl} ms after last seen`})`,
  };
}

defineComponent({
  kind: 'operator',
  type: 'dedupe',
  summary: 'Drops records whose key (the record key, or a field) was seen recently.',
  description:
    'Remembers the keys it has seen, in memory, for the pipeline run, and drops a record whose key it remembers. Every sighting, dropped duplicates included, refreshes the key. ' +
    'Memory is bounded by `maxKeys` (least recently seen keys are forgotten first) and, with `ttl`, keys not seen for that long are forgotten (by the runtime clock). ' +
    'The state is in memory only (a restart forgets it); the runtime snapshots it before each batch (a copy of the remembered keys) and restores it when a batch fails, so redelivered records are not dropped as duplicates of themselves (the copy costs O(keysInState) per batch). ' +
    'A record without a key (null record key; missing, null or non-scalar field) goes to the dead-letter output. Metrics: duplicatesDropped, keysInState.',
  fields,
  examples: ['type: dedupe', 'type: dedupe\nfield: login.uuid\nmaxKeys: 100000\nttl: 1h'],
  create: dedupeOperator,
});
