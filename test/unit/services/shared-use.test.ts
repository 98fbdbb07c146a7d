import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { beginUse, endUse } from '../../../services/shared-use.ts';

const kafka = { service: 'kafka' as const, pid: 501 };
const cassandra = { service: 'cassandra' as const, pid: 502 };

test('a lone user stops what it started', async () => {
  const state = await mkdtemp(join(tmpdir(), 'shared-use-'));
  await beginUse(state, 10);
  assert.deepEqual(await endUse(state, [kafka], { pid: 10, isAlive: () => false }), { stopNow: [kafka], stillUsedBy: [] });
});

test('a user that finishes while another is still using the services hands them over to the last one', async () => {
  const state = await mkdtemp(join(tmpdir(), 'shared-use-'));
  const alive = new Set([10, 20]);
  const isAlive = (pid: number) => alive.has(pid);
  await beginUse(state, 10);
  await beginUse(state, 20);

  assert.deepEqual(await endUse(state, [kafka, cassandra], { pid: 10, isAlive }), { stopNow: [], stillUsedBy: [20] }, 'the first to finish stops nothing');
  alive.delete(10);
  assert.deepEqual(await endUse(state, [], { pid: 20, isAlive }), { stopNow: [kafka, cassandra], stillUsedBy: [] }, 'the last stops what was handed over');
  assert.equal(existsSync(join(state, 'users', 'handover.json')), false, 'and nothing is handed over twice');
  assert.deepEqual(await endUse(state, [], { pid: 30, isAlive: () => false }), { stopNow: [], stillUsedBy: [] });
});

test('a user that died without ending its use does not keep the services up forever', async () => {
  const state = await mkdtemp(join(tmpdir(), 'shared-use-'));
  await beginUse(state, 10);
  await beginUse(state, 66);
  assert.deepEqual(await endUse(state, [kafka], { pid: 10, isAlive: (pid) => pid === 10 }), { stopNow: [kafka], stillUsedBy: [] });
  assert.equal(existsSync(join(state, 'users', '66.user')), false, 'the dead user’s registration is cleaned up');
});
