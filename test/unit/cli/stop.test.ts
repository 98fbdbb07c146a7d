/**
 * Ctrl-C on `npm start`: the terminal sends SIGINT to the whole process group (npm, its shell, tsx and
 * the pipeline process), and npm and tsx pass it on to their children too. One keypress must still be
 * one graceful stop — the batch in flight finishes and commits — not "again: exiting now". (npm itself
 * then reports the Ctrl-C as its exit by SIGINT, whatever the pipeline's exit code, so the test reads the
 * pipeline's own output.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPEATED_SIGNAL_MS, stopSignals } from '../../../bin/signals.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('one Ctrl-C on npm start (SIGINT to the process group) is one graceful stop', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctrl-c-'));
  const file = path.join(dir, 'rate.yaml');
  writeFileSync(
    file,
    [
      'pipelines:',
      '  generate:',
      '    source: { type: rate, rowsPerSecond: 20, totalRows: 100000 }',
      '    sink: { type: console, maxRows: 1 }',
      '    trigger: { interval: 200ms }',
      `logging: { dir: ${JSON.stringify(path.join(dir, 'logs'))} }`,
    ].join('\n'),
  );
  // detached: a process group of its own, like a terminal's foreground job.
  const child = spawn('npm', ['start', '--silent', '--', '--topology', file], { cwd: repo, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 45_000;
    while (!/\[generate\] batch 2:/.test(output)) {
      assert.ok(Date.now() < deadline, `the pipeline to run three batches\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    assert.doesNotMatch(output, /again: exiting now/, output);
    assert.match(output, /SIGINT: stopping gracefully/);
    assert.match(output, /\[generate\] stopped: \d+ batch\(es\)/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
});

test('stop signals: the first stops gracefully, a repeat within the window is the same one, a later one exits now', () => {
  let now = 1_000_000;
  const meaningOf = stopSignals(() => now);
  assert.equal(meaningOf(), 'stop gracefully');
  now += 5;
  assert.equal(meaningOf(), 'same signal again');
  now += REPEATED_SIGNAL_MS - 6;
  assert.equal(meaningOf(), 'same signal again');
  now += 1;
  assert.equal(meaningOf(), 'exit now');
  assert.equal(meaningOf(), 'exit now');
});
