import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeLogTail, tailLines } from '../../../services/log-tail.ts';

const dir = await mkdtemp(join(tmpdir(), 'log-tail-'));
const numbered = (n: number): string => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n');

test('the last N lines, without the empty string after a final newline', async () => {
  const file = join(dir, 'a.log');
  await writeFile(file, `${numbered(100)}\n`);
  assert.deepEqual(await tailLines(file, 3), ['line 98', 'line 99', 'line 100']);
});

test('a file shorter than N gives all its lines', async () => {
  const file = join(dir, 'b.log');
  await writeFile(file, 'only\ntwo');
  assert.deepEqual(await tailLines(file, 30), ['only', 'two']);
});

test('reading only the end of a big file drops the partial first line', async () => {
  const file = join(dir, 'c.log');
  await writeFile(file, `${numbered(1000)}\n`);
  const lines = await tailLines(file, 1000, 100);
  assert.ok(lines.length > 0 && lines.length < 20);
  assert.equal(lines[lines.length - 1], 'line 1000');
  for (const line of lines) assert.match(line, /^line \d+$/, 'no partial line');
});

test('a missing file has no lines, and the error block says so, naming the path', async () => {
  const file = join(dir, 'missing.log');
  assert.deepEqual(await tailLines(file, 30), []);
  assert.match(await describeLogTail(file), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is empty or missing`));
});

test('the error block names the file and quotes each line', async () => {
  const file = join(dir, 'd.log');
  await writeFile(file, 'Error: Could not find or load main class\n');
  assert.equal(await describeLogTail(file), `Last 1 lines of ${file}:\n  | Error: Could not find or load main class`);
});
