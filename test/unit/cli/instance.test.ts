/**
 * The instance of `npm start`: two processes of a topology started together claim `<host>-0` and
 * `<host>-1`, and a clean stop frees the slot; `--instance NAME` is used as it is, without a slot; a
 * name Kafka would refuse is refused before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { safeName } from '../../../operations/instance.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A topology that runs until stopped, its log folder and slot folder beside it. */
function topology(): { file: string; slots: string; logs: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'instance-cli-'));
  const file = path.join(dir, 'ticks.yaml');
  const logs = path.join(dir, 'logs');
  writeFileSync(
    file,
    ['pipelines:', '  tick:', '    source: { type: rate, rowsPerSecond: 5 }', '    sink: { type: console, maxRows: 1 }', '    trigger: { interval: 200ms }', `logging: { dir: ${JSON.stringify(logs)} }`].join('\n'),
  );
  return { file, slots: path.join(dir, 'slots'), logs };
}

/** Runs bin/run.ts until its start is logged; `stop` sends SIGTERM and waits for its exit. */
function start(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/run.ts', ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    started: async (): Promise<string> => {
      const deadline = Date.now() + 45_000;
      while (!/running topology .*; instance /.test(output)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `the topology to start\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return /; instance ([^ ;]+)/.exec(output)![1];
    },
    stop: async (): Promise<number | null> => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

test('two processes of a topology claim <host>-0 and <host>-1; a clean stop frees the slot', { timeout: 90_000 }, async () => {
  const { file, slots } = topology();
  const env = { USER_STREAM_INSTANCE_DIR: slots, USER_STREAM_INSTANCE: '' };
  const a = start(['--topology', file], env);
  const b = start(['--topology', file], env);
  try {
    const names = [await a.started(), await b.started()].sort();
    const host = safeName(hostname());
    assert.deepEqual(names, [`${host}-0`, `${host}-1`]);
    assert.deepEqual(readdirSync(path.join(slots, 'ticks')).sort(), ['0.pid', '1.pid']);
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
    assert.deepEqual(readdirSync(path.join(slots, 'ticks')), [], 'no slot file is left');
  } finally {
    a.kill();
    b.kill();
  }
});

test('--instance NAME is used as it is, without a slot file', { timeout: 60_000 }, async () => {
  const { file, slots } = topology();
  const run = start(['--topology', file, '--instance', 'pod-3'], { USER_STREAM_INSTANCE_DIR: slots });
  try {
    assert.equal(await run.started(), 'pod-3');
    assert.equal(existsSync(slots), false);
    assert.equal(await run.stop(), 0);
  } finally {
    run.kill();
  }
});

test('an instance name Kafka would refuse is refused before anything runs', () => {
  const { file, slots, logs } = topology();
  for (const [args, env, where] of [
    [['--instance', 'pod 3'], {}, '--instance'],
    [[], { USER_STREAM_INSTANCE: 'pod/3' }, 'USER_STREAM_INSTANCE'],
  ] as const) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/run.ts', '--topology', file, ...args], { cwd: repo, env: { ...process.env, USER_STREAM_INSTANCE_DIR: slots, ...env }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^error: ${where} "pod.3" is not an instance name\\n  → use letters, digits`));
  }
  assert.equal(existsSync(slots), false);
  assert.equal(existsSync(logs), false);
});
