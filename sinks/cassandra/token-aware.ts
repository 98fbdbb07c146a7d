/**
 * Token-aware batching for the cassandra sink: rows grouped by the set of replicas their partition key
 * maps to, each group small enough for one UNLOGGED batch.
 *
 * Why only rows of one replica set: an unlogged batch goes to one coordinator, which must forward every
 * row to that row's replicas; when all the rows share those replicas and the coordinator is one of them,
 * the batch costs the cluster about what its rows would cost alone, minus a request each. Rows of other
 * replicas would make the coordinator a proxy for them (the slow multi-partition batch). Why bounded
 * in bytes: Cassandra logs a warning for every batch above `batch_size_warn_threshold` (5 KiB by
 * default) and refuses those above `batch_size_fail_threshold` (50 KiB).
 *
 * See also: sink.ts (which sends the groups), config.ts (`batching`).
 */
import cassandra from 'cassandra-driver';
import type { CqlType } from './config.ts';

/**
 * Per column, what a value adds to a mutation besides its bytes (cell flags, timestamp, the column's
 * id and the value's length): an over-estimate, so that the estimate errs towards smaller batches.
 */
export const CELL_OVERHEAD_BYTES = 16;

/** The encoded size of one converted value (the value the driver is handed), about. */
export function valueBytes(value: unknown): number {
  if (value === null || value === undefined || value === cassandra.types.unset) return 0;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (Buffer.isBuffer(value)) return value.length;
  if (typeof value === 'number' || value instanceof Date) return 8;
  if (typeof value === 'boolean') return 1;
  if (value instanceof cassandra.types.Uuid) return 16;
  return String(value).length;
}

/** A row's estimated share of a batch: its values and a per-column allowance. */
export function rowBytes(params: readonly unknown[]): number {
  let bytes = 0;
  for (const value of params) bytes += valueBytes(value) + CELL_OVERHEAD_BYTES;
  return bytes;
}

export interface GroupLimits {
  maxBytes: number;
  maxRows: number;
}

/**
 * Rows `0 … count-1` in groups: every group's rows have the same replica set (`replicasOf`, a string
 * naming it; undefined when unknown, and such a row is a group of its own), and its rows' `bytesOf`
 * add up to at most `maxBytes` and `maxRows` rows — except a single row above `maxBytes`, alone. Rows
 * keep their order within a group. Every row is in exactly one group.
 */
export function groupByReplicas(count: number, replicasOf: (row: number) => string | undefined, bytesOf: (row: number) => number, limits: GroupLimits): number[][] {
  const groups: number[][] = [];
  const open = new Map<string, { rows: number[]; bytes: number }>();
  for (let row = 0; row < count; row++) {
    const replicas = replicasOf(row);
    const bytes = bytesOf(row);
    if (replicas === undefined) {
      groups.push([row]);
      continue;
    }
    const group = open.get(replicas);
    if (group && group.bytes + bytes <= limits.maxBytes && group.rows.length < limits.maxRows) {
      group.rows.push(row);
      group.bytes += bytes;
      continue;
    }
    if (group) groups.push(group.rows);
    open.set(replicas, { rows: [row], bytes });
  }
  for (const group of open.values()) groups.push(group.rows);
  return groups;
}

/** Partition key values → the routing key the driver hashes into a token (its own layout for composite keys). */
export function routingKeyOf(parts: readonly Buffer[]): Buffer {
  if (parts.length === 1) return parts[0];
  // Composite: each part as a 2-byte length, the bytes, and a 0 byte (Cassandra's CompositeType).
  const out = Buffer.allocUnsafe(parts.reduce((n, part) => n + part.length + 3, 0));
  let at = 0;
  for (const part of parts) {
    out.writeUInt16BE(part.length, at);
    part.copy(out, at + 2);
    out[at + 2 + part.length] = 0;
    at += part.length + 3;
  }
  return out;
}

/** The driver's encoder, as a prepared INSERT would encode a partition key column (protocol v4; scalars encode the same in every version). */
const encoder = new (cassandra as unknown as { Encoder: new (version: number, options: object) => { encode(value: unknown, type: object): Buffer } }).Encoder(4, {});

/** Encodes partition-key values of one CQL type (the type resolved once: by name, the driver parses it on every call). */
export function keyPartEncoder(type: CqlType): (value: unknown) => Buffer {
  // getByName is in the driver's JavaScript, not its typings.
  const typeInfo = (cassandra.types.dataTypes as unknown as { getByName(name: string): object }).getByName(type);
  return (value) => encoder.encode(value, typeInfo);
}

/** What the sink needs of the driver's metadata. */
export interface ReplicaLookup {
  getReplicas(keyspace: string, routingKey: Buffer): ReadonlyArray<{ address: string }> | null | undefined;
}

/**
 * A function naming the replica set of a routing key: the replicas' addresses, sorted. The driver
 * hands out one array per token range, so the name is computed once per range, not per row.
 */
export function replicaSetNamer(client: ReplicaLookup, keyspace: string): (routingKey: Buffer) => string | undefined {
  const names = new WeakMap<object, string>();
  return (routingKey) => {
    const hosts = client.getReplicas(keyspace, routingKey);
    if (!hosts || hosts.length === 0) return undefined;
    let name = names.get(hosts);
    if (name === undefined) {
      name = hosts
        .map((host) => host.address)
        .sort()
        .join(',');
      names.set(hosts, name);
    }
    return name;
  };
}
