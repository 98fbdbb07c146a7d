/**
 * The instance of a process: a given name, or a slot claimed under the slot folder — the lowest one no
 * live process holds, taken over when its process died, freed on release, and never the same for two
 * processes claiming at the same moment (in one process, and in several).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ABANDONED_EMPTY_SLOT_MS, claimSlot, instanceFolder, releaseSlot, resolveInstance, safeName, type SlotHost } from '../../../operations/instance.ts';
import { UserFacingError } from '../../../topology/errors.ts';

const root = mkdtempSync(path.join(tmpdir(), 'instance-'));
after(() => rmSync(root, { recursive: true, force: true }));
const folder = () => mkdtempSync(path.join(root, 'slots-'));

/** A machine on which the pids in `alive` run; `now` is its clock. */
function machine(alive: Set<number>, now = () => Date.now()) {
  return (pid: number): SlotHost => ({ pid, hostname: 'build-7', isAlive: (p) => alive.has(p), now });
}

test('claims take the lowest free slot: 0, then 1; a released slot is the next one taken', async () => {
  const dir = folder();
  const alive = new Set([101, 102, 103]);
  const on = machine(alive);
  const a = await resolveInstance({ topology: 'users', folder: dir, host: on(101) });
  const b = await resolveInstance({ topology: 'users', folder: dir, host: on(102) });
  assert.equal(a.name, 'build-7-0');
  assert.equal(b.name, 'build-7-1');
  assert.deepEqual(a.slot, { n: 0, file: path.join(dir, 'users', '0.pid') });
  assert.equal(readFileSync(a.slot!.file, 'utf8'), '101\n', 'the slot file holds its pid');
  await a.release();
  assert.equal(existsSync(path.join(dir, 'users', '0.pid')), false, 'a release removes the slot file');
  const c = await resolveInstance({ topology: 'users', folder: dir, host: on(103) });
  assert.equal(c.name, 'build-7-0');
  // Another topology has slots of its own.
  assert.equal((await resolveInstance({ topology: 'orders', folder: dir, host: on(101) })).name, 'build-7-0');
});

test('a slot whose process died is taken over: a restart after kill -9 gets the same slot back', async () => {
  const dir = folder();
  const alive = new Set([200]);
  const on = machine(alive);
  assert.equal((await claimSlot(dir, on(200))).n, 0);
  alive.delete(200); // killed: the file stays
  alive.add(201);
  const again = await claimSlot(dir, on(201));
  assert.equal(again.n, 0);
  assert.equal(readFileSync(again.file, 'utf8'), '201\n');
  assert.deepEqual(readdirSync(dir), ['0.pid'], 'no take-over file is left');
});

test('a release frees only its own slot: a slot taken over meanwhile stays with its new holder', async () => {
  const dir = folder();
  const alive = new Set([300, 301]);
  const on = machine(alive);
  const first = await claimSlot(dir, on(300));
  writeFileSync(first.file, '301\n');
  await releaseSlot(first.file, on(300));
  assert.equal(readFileSync(first.file, 'utf8'), '301\n');
  await releaseSlot(first.file, on(301));
  assert.equal(existsSync(first.file), false);
  await releaseSlot(first.file, on(301)); // twice: nothing to do
});

test('an empty slot file is a claimer still writing its pid; once old it was abandoned and is taken over', async () => {
  const dir = folder();
  let now = Date.now();
  const on = machine(new Set([400]), () => now);
  writeFileSync(path.join(dir, '0.pid'), '');
  assert.equal((await claimSlot(dir, on(400))).n, 1, 'a young empty file is held');
  await releaseSlot(path.join(dir, '1.pid'), on(400));
  now += ABANDONED_EMPTY_SLOT_MS + 1000;
  assert.equal((await claimSlot(dir, on(400))).n, 0, 'an old empty file is taken over');
});

test('a take-over in progress is left alone; one whose taker died is taken over too', async () => {
  const dir = folder();
  const alive = new Set([500, 501]);
  const on = machine(alive);
  writeFileSync(path.join(dir, '0.pid'), '900\n'); // dead
  writeFileSync(path.join(dir, '0.pid.takeover-900'), '501\n'); // a live process is taking slot 0 over
  assert.equal((await claimSlot(dir, on(500))).n, 1);
  assert.equal(readFileSync(path.join(dir, '0.pid'), 'utf8'), '900\n', 'slot 0 is left to its taker');
  alive.delete(501); // the taker died before it finished
  assert.equal((await claimSlot(dir, on(500))).n, 0, 'its take-over is taken over');
  assert.deepEqual(readdirSync(dir).sort(), ['0.pid', '1.pid']);
});

test('claims racing in one process never share a slot, with or without dead slots to take over', async () => {
  for (let round = 0; round < 30; round++) {
    const dir = folder();
    const pids = [601, 602, 603, 604, 605, 606];
    const on = machine(new Set(pids));
    // Every other round, slots 0 and 1 are held by dead processes: the racers take them over.
    if (round % 2 === 1) {
      writeFileSync(path.join(dir, '0.pid'), '990\n');
      writeFileSync(path.join(dir, '1.pid'), '991\n');
    }
    // Started a little apart, so that one racer's steps fall between another's.
    const slots = await Promise.all(pids.map((pid, i) => new Promise((resolve) => setTimeout(resolve, (i * round) % 4)).then(() => claimSlot(dir, on(pid)))));
    assert.deepEqual(slots.map((s) => s.n).sort(), [0, 1, 2, 3, 4, 5], `round ${round}`);
    for (const [i, slot] of slots.entries()) assert.equal(readFileSync(slot.file, 'utf8'), `${pids[i]}\n`, `round ${round}: slot ${slot.n} holds its claimer's pid`);
  }
});

const CHILD = fileURLToPath(new URL('claim-slot-child.ts', import.meta.url));

test('processes starting at the same moment get different slots, a dead process\'s among them', { timeout: 60_000 }, async () => {
  const dir = folder();
  writeFileSync(path.join(dir, '0.pid'), '2147483647\n'); // no such process
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = children.map((child) => {
    let text = '';
    const waiters: Array<() => void> = [];
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      waiters.splice(0).forEach((wake) => wake());
    });
    return {
      until: (pattern: RegExp) =>
        new Promise<string>((resolve) => {
          const check = () => (pattern.test(text) ? resolve(text) : waiters.push(check));
          check();
        }),
    };
  });
  try {
    await Promise.all(lines.map((l) => l.until(/ready/)));
    for (const child of children) child.stdin.write('go\n');
    const outputs = await Promise.all(lines.map((l) => l.until(/slot \d+|error/)));
    const slots = outputs.map((text) => Number(/slot (\d+)/.exec(text)?.[1] ?? NaN));
    assert.deepEqual([...slots].sort(), [0, 1, 2, 3], outputs.join(' | '));
  } finally {
    for (const child of children) child.stdin.end();
  }
});

test('a given instance is used as it is, without a slot; one Kafka would refuse is refused', async () => {
  const dir = folder();
  const given = await resolveInstance({ topology: 'users', folder: dir, given: 'eu-west.pod-3' });
  assert.equal(given.name, 'eu-west.pod-3');
  assert.equal(given.slot, undefined);
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
  await assert.rejects(resolveInstance({ topology: 'users', folder: dir, given: 'pod 3' }), (error: Error) => error instanceof UserFacingError && /"pod 3" is not an instance name/.test(error.message));
  await assert.rejects(resolveInstance({ topology: 'users', folder: dir, given: '' }), UserFacingError);
});

test('host and topology names become names Kafka and the file system take', () => {
  assert.equal(safeName('build-7.example.com'), 'build-7.example.com');
  assert.equal(safeName('Jürgen\'s Mac'), 'J_rgen_s_Mac');
  assert.equal(safeName(''), '_');
  assert.equal(safeName('..'), '___');
});

test('the slot folder is .state/instances of the working directory, or USER_STREAM_INSTANCE_DIR', () => {
  assert.equal(instanceFolder({}, '/srv/app'), '/srv/app/.state/instances');
  assert.equal(instanceFolder({ USER_STREAM_INSTANCE_DIR: 'run/slots' }, '/srv/app'), '/srv/app/run/slots');
  assert.equal(instanceFolder({ USER_STREAM_INSTANCE_DIR: '/var/run/user-stream' }, '/srv/app'), '/var/run/user-stream');
});
