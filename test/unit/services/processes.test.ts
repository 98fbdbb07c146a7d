import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  commandLineMatches,
  commandLineOf,
  formatPidRecord,
  isOurProcessRunning,
  ownershipMarkers,
  parsePidRecord,
  readPidFile,
  spawnDetached,
  stopProcess,
  withLock,
  writePidFile,
  type PidRecord,
} from '../../../services/processes.ts';

const dir = await mkdtemp(join(tmpdir(), 'processes-'));
const record = (pid: number, stateDir = dir): PidRecord => ({
  service: 'kafka',
  pid,
  address: '127.0.0.1:9092',
  stateDir,
  logFile: join(dir, 'kafka.log'),
  startedAt: '2026-11-21T00:00:00.000Z',
});

let fakes = 0;

/** A stand-in server: a node process carrying the ownership markers on its command line. Resolves once it runs its script. */
async function fakeServer(stateDir: string, ignoreSigterm = false): Promise<number> {
  const script = `${ignoreSigterm ? "process.on('SIGTERM', () => {});" : ''} console.log('ready'); setInterval(() => {}, 1000)`;
  const logFile = join(dir, `fake-${++fakes}.log`);
  const child = spawnDetached(process.execPath, ['-e', script, '--', ...ownershipMarkers('kafka', stateDir)], { cwd: dir, logFile });
  const deadline = Date.now() + 20_000;
  while (!(await readFile(logFile, 'utf8')).includes('ready')) {
    assert.ok(Date.now() < deadline, 'the fake server did not start within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child.pid!;
}

const leftovers: number[] = [];
after(() => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
});

test('a pid record survives a round trip through its file', async () => {
  const file = join(dir, 'rt', 'kafka.pid');
  await writePidFile(file, record(4242));
  assert.deepEqual(await readPidFile(file), record(4242));
  assert.equal(await readPidFile(join(dir, 'none.pid')), undefined, 'no file, no record');
});

test('pid files that are not ours are ignored, not trusted', () => {
  assert.equal(parsePidRecord(''), undefined);
  assert.equal(parsePidRecord('12345\n'), undefined, 'a bare pid (another tool’s pid file)');
  assert.equal(parsePidRecord('{"service":"kafka","pid":1,"address":"a","stateDir":"/s","logFile":"/l"}'), undefined, 'pid 1 is never ours');
  assert.equal(parsePidRecord('{"service":"redis","pid":99,"address":"a","stateDir":"/s","logFile":"/l"}'), undefined);
  assert.equal(parsePidRecord('{"service":"kafka","pid":99.5,"address":"a","stateDir":"/s","logFile":"/l"}'), undefined);
  assert.deepEqual(parsePidRecord(formatPidRecord(record(99))), record(99));
});

test('a command line is ours only with both markers, for this service and this state dir', () => {
  const ours = `java -Xmx512m ${ownershipMarkers('kafka', '/state').join(' ')} -cp x kafka.Kafka`;
  assert.equal(commandLineMatches({ service: 'kafka', stateDir: '/state' }, ours), true);
  assert.equal(commandLineMatches({ service: 'cassandra', stateDir: '/state' }, ours), false, 'other service');
  assert.equal(commandLineMatches({ service: 'kafka', stateDir: '/state2' }, ours), false, 'other checkout');
  assert.equal(commandLineMatches({ service: 'kafka', stateDir: '/sta' }, ours), false, 'a prefix of the dir is not the dir');
  assert.equal(commandLineMatches({ service: 'kafka', stateDir: '/state' }, 'java -cp x kafka.Kafka'), false);
});

test('stopProcess stops our process with SIGTERM and waits until it is gone', async () => {
  const pid = await fakeServer(dir);
  leftovers.push(pid);
  assert.equal(await isOurProcessRunning(record(pid)), true);
  assert.equal(await stopProcess(record(pid), { graceMs: 5000, log: () => undefined }), 'stopped');
  assert.equal(await commandLineOf(pid), undefined, 'the process is gone (and reaped)');
});

test('stopProcess escalates to SIGKILL when SIGTERM is ignored', async () => {
  const pid = await fakeServer(dir, true);
  leftovers.push(pid);
  const lines: string[] = [];
  assert.equal(await stopProcess(record(pid), { graceMs: 500, log: (line) => lines.push(line) }), 'killed');
  assert.equal(await commandLineOf(pid), undefined);
  assert.match(lines.join('\n'), /sending SIGKILL/);
});

test('stopProcess never signals a process whose command line is not ours (a reused pid)', async () => {
  const pid = await fakeServer(join(dir, 'another-checkout'));
  leftovers.push(pid);
  assert.equal(await stopProcess(record(pid), { graceMs: 500, log: () => undefined }), 'not-running');
  assert.notEqual(await commandLineOf(pid), undefined, 'still running');
});

test('withLock runs holders one after the other, and releases the lock on failure', async () => {
  const lock = join(dir, 'locks', 'services.lock');
  const order: string[] = [];
  const hold = (name: string, ms: number) =>
    withLock(lock, () => undefined, async () => {
      order.push(`${name}+`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      order.push(`${name}-`);
    });
  await Promise.all([hold('a', 200), hold('b', 10)]);
  assert.deepEqual(order, ['a+', 'a-', 'b+', 'b-']);
  await assert.rejects(withLock(lock, () => undefined, async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await withLock(lock, () => undefined, async () => 'free again'), 'free again');
});

test('a lock left by a dead process is taken over', async () => {
  const lock = join(dir, 'stale.lock');
  const dead = await fakeServer(dir);
  await stopProcess(record(dead), { graceMs: 5000, log: () => undefined });
  await writeFile(lock, `${dead}\n`);
  assert.equal(await withLock(lock, () => undefined, async () => readFile(lock, 'utf8')), `${process.pid}\n`);
});
