/** `auto` replication: the copies of a topic or keyspace follow the cluster's size, and a majority must have a write. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLeft } from 'fp-ts/lib/Either.js';
import { ReplicationFactorOrAuto, resolveMinInsyncReplicas, resolveReplicationFactor } from '../../../topology/codecs.ts';
import { nativePort } from '../../../clients/cassandra.ts';

test('replication factor auto: one copy per node, at most 3; a number as it is', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9].map((nodes) => resolveReplicationFactor('auto', nodes)), [1, 1, 2, 3, 3, 3]);
  assert.equal(resolveReplicationFactor(5, 3), 5, 'a given factor is not capped (the brokers refuse one above their number, with the reason)');
});

test('min.insync.replicas auto: a majority of three or more copies, 1 with fewer; a number as it is', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((copies) => resolveMinInsyncReplicas('auto', copies)), [1, 1, 2, 3, 3]);
  assert.equal(resolveMinInsyncReplicas(1, 3), 1);
});

test('the codec takes a positive integer (or its text, from ${VAR:-3}) or "auto", and nothing else', () => {
  assert.deepEqual(ReplicationFactorOrAuto.decode('auto'), { _tag: 'Right', right: 'auto' });
  assert.deepEqual(ReplicationFactorOrAuto.decode(3), { _tag: 'Right', right: 3 });
  assert.deepEqual(ReplicationFactorOrAuto.decode('2'), { _tag: 'Right', right: 2 });
  for (const bad of [0, -1, 1.5, 'Auto', 'three', null]) assert.ok(isLeft(ReplicationFactorOrAuto.decode(bad)), String(bad));
});

test("the Cassandra client looks for the nodes it discovers on its contact points' port", () => {
  assert.equal(nativePort(['127.0.0.2:9042', '127.0.0.3:9042']), 9042);
  assert.equal(nativePort(['10.0.0.1:29042', '10.0.0.2:29042']), 29042);
  assert.equal(nativePort(['cassandra']), 9042, 'no port: the default');
  assert.equal(nativePort(['a:19042', 'b:29042']), 9042, 'ports that differ: the default');
});
