/**
 * CPU (and wall) time per record of the user pipeline's 12-field `mapping`, through the operator as the
 * runtime runs it (`from(records).pipe(mapping.apply)`), beside RxJS delivering the same records
 * through a pass-through operator. No services needed; docs/operators-mapping-cost.md has the figures
 * and how they were measured.
 *
 *   npx tsx bench/mapping-cost.ts
 */
import assert from 'node:assert/strict';
import { asyncScheduler, from } from 'rxjs';
import { parse } from 'yaml';
import '../operators/mapping.ts';
import { perRecord } from '../operators/per-record.ts';
import { formatErrors } from '../topology/errors.ts';
import { silentLogger } from '../operations/logger.ts';
import { registry } from '../topology/registry.ts';
import type { Operator, StreamRecord } from '../topology/types.ts';
import { batchScope } from '../testing/batch-scope.ts';
// The users and the hand-written reference rows of the mapping's unit tests.
import { randomUser, referenceRow, USER_MAPPING_YAML } from '../test/unit/operators/randomuser-fixture.ts';
import { componentContext } from '../testing/component-context.ts';

const RECORDS = 200_000;
// 10,000 distinct users (~20 MB, more than the caches hold) cycled: 200,000 distinct ones would take
// half a gigabyte and seconds to build.
const users = Array.from({ length: 10_000 }, (_, i) => JSON.parse(JSON.stringify(randomUser(i))));
const records: StreamRecord[] = Array.from({ length: RECORDS }, (_, i) => ({ key: null, value: users[i % users.length], timestamp: i, origin: { topic: 'users_created', partition: 0, offset: i } }));

const decoded = registry.decode('operator', parse(USER_MAPPING_YAML));
if (decoded._tag === 'Left') throw new Error(`the user mapping did not decode: ${formatErrors(decoded.left).join('; ')}`);
const mapping = await registry.create('operator', decoded.right, componentContext({ topology: 'mapping-cost', pipeline: 'process', path: 'operators[0]', logger: silentLogger(), scheduler: asyncScheduler }));
const passThrough = perRecord((r, out) => out.next(r));
const deadLetters: string[] = [];
const batch = batchScope({ deadLetter: (_record, reason) => void deadLetters.push(reason) });

// CPU time as well as wall time: on a shared 2-core machine wall time mostly measures the others.
function nsPerRecord(apply: Operator['apply'], lastValue: unknown): { cpu: number; wall: number } {
  let count = 0;
  let last: StreamRecord | undefined;
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  apply(from(records), batch).subscribe((r) => {
    count += 1;
    last = r;
  });
  const wall = Number(process.hrtime.bigint() - wallStart);
  const cpu = process.cpuUsage(cpuStart);
  assert.equal(count, RECORDS);
  assert.deepEqual(last?.value, lastValue);
  assert.deepEqual(deadLetters, []);
  return { cpu: ((cpu.user + cpu.system) * 1000) / RECORDS, wall: wall / RECORDS };
}
const median = (runs: number[]): number => [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)];
const lastUser = users[(RECORDS - 1) % users.length];
const measure = (apply: Operator['apply'], lastValue: unknown): string => {
  const runs = [1, 2, 3, 4, 5].map(() => nsPerRecord(apply, lastValue));
  return `${median(runs.map((r) => r.cpu)).toFixed(0)} ns CPU (${median(runs.map((r) => r.wall)).toFixed(0)} ns wall)`;
};

nsPerRecord(mapping.apply, referenceRow(lastUser)); // warm-up: let V8 optimise
nsPerRecord(passThrough, lastUser);
const mapped = measure(mapping.apply, referenceRow(lastUser));
const baseline = measure(passThrough, lastUser);
process.stdout.write(`mapping of 12 fields over ${RECORDS} records: ${mapped} per record through the operator; RxJS delivery alone: ${baseline}; node ${process.version}\n`);
