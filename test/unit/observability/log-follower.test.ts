/**
 * Following a log across rotations: every line exactly once, in order. The rotations are done by hand,
 * exactly as winston's File transport with `tailable: true` does them (topology/logger.ts): the live
 * file is renamed to x1.log (x1 to x2 first, and so on) and a new x.log is created. Also: a poll
 * between the rename and the new file, two rotations between polls, a truncation, partial lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LogFollower } from '../../../topology/log-follower.ts';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'log-follower-'));
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);
const text = (from: number, to: number) => `${lines(from, to).join('\n')}\n`;

test('a rotation (x.log renamed to x1.log, a new x.log): the lines written just before it and after it, each once', async () => {
  const file = path.join(fresh(), 'x.log');
  writeFileSync(file, text(1, 3));
  const follower = await LogFollower.open(file);
  assert.deepEqual(await follower.poll(), lines(1, 3));
  assert.deepEqual(await follower.poll(), [], 'nothing new');
  appendFileSync(file, text(4, 5)); // written just before the rotation, not yet read
  renameSync(file, path.join(path.dirname(file), 'x1.log'));
  writeFileSync(file, text(6, 6));
  appendFileSync(file, text(7, 8));
  assert.deepEqual(await follower.poll(), lines(4, 8));
  appendFileSync(file, text(9, 9));
  assert.deepEqual(await follower.poll(), lines(9, 9), 'follows the new file');
  await follower.close();
});

test('between the rename and the new file, a poll waits; the next one picks up both', async () => {
  const file = path.join(fresh(), 'x.log');
  writeFileSync(file, text(1, 1));
  const follower = await LogFollower.open(file);
  await follower.poll();
  appendFileSync(file, text(2, 2));
  renameSync(file, path.join(path.dirname(file), 'x1.log'));
  assert.deepEqual(await follower.poll(), lines(2, 2), 'the old file, read to its end');
  writeFileSync(file, text(3, 4));
  assert.deepEqual(await follower.poll(), lines(3, 4));
  await follower.close();
});

test('two rotations between polls: the file rotated away in between is read too, in order', async () => {
  const dir = fresh();
  const file = path.join(dir, 'x.log');
  const rotate = () => {
    // As winston's tailable rotation: x1 → x2, then x → x1, then a new x.
    try {
      renameSync(path.join(dir, 'x1.log'), path.join(dir, 'x2.log'));
    } catch {
      // no x1.log yet
    }
    renameSync(file, path.join(dir, 'x1.log'));
  };
  writeFileSync(file, text(1, 2));
  const follower = await LogFollower.open(file);
  assert.deepEqual(await follower.poll(), lines(1, 2));
  appendFileSync(file, text(3, 3));
  rotate();
  writeFileSync(file, text(4, 5));
  rotate();
  writeFileSync(file, text(6, 7));
  assert.deepEqual(await follower.poll(), lines(3, 7));
  await follower.close();
});

test('a file truncated in place is read again from its start', async () => {
  const file = path.join(fresh(), 'x.log');
  writeFileSync(file, text(1, 5));
  const follower = await LogFollower.open(file);
  assert.deepEqual(await follower.poll(), lines(1, 5));
  truncateSync(file, 0);
  appendFileSync(file, text(6, 6));
  assert.deepEqual(await follower.poll(), lines(6, 6));
  await follower.close();
});

test('a line is returned once it is complete, even when it ends inside a multi-byte character', async () => {
  const file = path.join(fresh(), 'x.log');
  const line = Buffer.from('{"message":"Jokinenrinne, Kuopio — Mäkelä"}\n');
  const cut = line.indexOf(Buffer.from('ä')) + 1; // between the two bytes of "ä"
  writeFileSync(file, Buffer.concat([Buffer.from('first\n'), line.subarray(0, cut)]));
  const follower = await LogFollower.open(file);
  assert.deepEqual(await follower.poll(), ['first']);
  appendFileSync(file, line.subarray(cut));
  assert.deepEqual(await follower.poll(), ['{"message":"Jokinenrinne, Kuopio — Mäkelä"}']);
  appendFileSync(file, 'no newline yet');
  assert.deepEqual(await follower.poll(), []);
  assert.deepEqual(await follower.readAll(), ['no newline yet'], 'readAll also returns a last line without a newline');
  await follower.close();
});

test('a missing file is an ENOENT error at open', async () => {
  await assert.rejects(LogFollower.open(path.join(fresh(), 'missing.log')), { code: 'ENOENT' });
});
