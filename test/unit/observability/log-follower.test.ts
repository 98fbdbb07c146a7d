/**
 * Following a log across rotations: every line exactly once, in order. The rotations are done by hand,
 * the way winston-daily-rotate-file does them (operations/logger.ts): x.log is a symlink to the live file
 * x-<date>.log[.N]; a rotation starts x-<date>.log.N+1 and moves the symlink to it. Also: a poll while
 * the symlink is being replaced, two rotations between polls, a truncation, partial lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LogFollower } from '../../../operations/log-follower.ts';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'log-follower-'));
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);
const text = (from: number, to: number) => `${lines(from, to).join('\n')}\n`;

/** A log folder as the logger leaves it: x.log → x-2026-11-21.log, and a rotate() that starts the next file. */
function rotatingLog() {
  const dir = fresh();
  const link = path.join(dir, 'x.log');
  let n = 0;
  const live = () => path.join(dir, n === 0 ? 'x-2026-11-21.log' : `x-2026-11-21.log.${n}`);
  writeFileSync(live(), '');
  symlinkSync(path.basename(live()), link);
  return {
    link,
    append: (data: string) => appendFileSync(live(), data),
    /** Starts the next file; `relink: false` leaves the symlink on the old file for now. */
    rotate(relink = true) {
      n++;
      writeFileSync(live(), '');
      if (relink) this.relink();
    },
    relink() {
      const temporary = path.join(dir, 'x.log.tmp');
      symlinkSync(path.basename(live()), temporary);
      renameSync(temporary, link);
    },
    unlink: () => unlinkSync(link),
  };
}

test('a rotation: the lines written just before it and after it, each once', async () => {
  const log = rotatingLog();
  log.append(text(1, 3));
  const follower = await LogFollower.open(log.link);
  assert.deepEqual(await follower.poll(), lines(1, 3));
  assert.deepEqual(await follower.poll(), [], 'nothing new');
  log.append(text(4, 5)); // written just before the rotation, not yet read
  log.rotate();
  log.append(text(6, 8));
  assert.deepEqual(await follower.poll(), lines(4, 8));
  log.append(text(9, 9));
  assert.deepEqual(await follower.poll(), lines(9, 9), 'follows the new file');
  await follower.close();
});

test('while the symlink is missing, a poll reads the old file to its end; the next one picks up the new file', async () => {
  const log = rotatingLog();
  log.append(text(1, 1));
  const follower = await LogFollower.open(log.link);
  await follower.poll();
  log.append(text(2, 2));
  log.rotate(false);
  log.unlink();
  assert.deepEqual(await follower.poll(), lines(2, 2), 'the old file, read to its end');
  log.append(text(3, 4));
  log.relink();
  assert.deepEqual(await follower.poll(), lines(3, 4));
  await follower.close();
});

test('two rotations between polls: the file started and finished in between is read too, in order', async () => {
  const log = rotatingLog();
  log.append(text(1, 2));
  const follower = await LogFollower.open(log.link);
  assert.deepEqual(await follower.poll(), lines(1, 2));
  log.append(text(3, 3));
  log.rotate();
  log.append(text(4, 5));
  log.rotate();
  log.append(text(6, 7));
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

test('the real topology logger rotating by size under a burst: the follower sees every line exactly once', async () => {
  const { createTopologyLogger } = await import('../../../operations/logger.ts');
  const dir = fresh();
  const { logger, file, close } = createTopologyLogger('burst', { dir, level: 'info', console: 'off', maxSize: 20_000, maxFiles: 1000 });
  const seen: number[] = [];
  const collect = (batch: string[]) => seen.push(...batch.map((l) => JSON.parse(l).n as number).filter((n) => n !== undefined));
  const N = 3000;
  // The symlink appears with the first line.
  logger.info('start', { n: -1 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const follower = await LogFollower.open(file);
  for (let i = 0; i < N; i++) {
    logger.info('line', { n: i });
    if (i % 500 === 0) collect(await follower.poll());
  }
  await close();
  collect(await follower.poll());
  await follower.close();
  const { readdirSync } = await import('node:fs');
  assert.ok(readdirSync(dir).filter((f) => f.startsWith('burst-')).length >= 5, 'the log really rotated several times');
  const unique = new Set(seen.filter((n) => n >= 0));
  assert.equal(unique.size, N, 'no line lost');
  assert.equal(seen.filter((n) => n >= 0).length, N, 'none read twice');
});
