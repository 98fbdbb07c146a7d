/**
 * Dead letters as the console and `npm run dead-letters` read them (operations/console/dead-letters.ts):
 * a dead-letter message as the dead-letter sink writes it becomes a letter with its reason, stage,
 * origin and bytes; the reason filter; which letters a replay writes back — once per origin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from 'node-rdkafka';
import { deadLetterMessage } from '../../../sinks/dead-letter.ts';
import type { DeadLetterValue, StreamRecord } from '../../../topology/types.ts';
import { letterOf, matchesReason, planReplay, type DeadLetter } from '../../../operations/console/dead-letters.ts';

/** The Kafka message the dead-letter sink writes for a rejected record, as a consumer reads it back. */
function written(record: StreamRecord<DeadLetterValue>, at: { partition: number; offset: number }): Message {
  const out = deadLetterMessage(record);
  return { topic: 'users_dead', partition: at.partition, offset: at.offset, key: out.key === undefined ? undefined : Buffer.from(String(out.key)), value: out.value as Buffer, size: (out.value as Buffer).length, timestamp: out.timestamp ?? undefined, headers: out.headers };
}

const rejected = (key: string, reason: string, origin: { topic: string; partition: number; offset: number } | undefined, pipeline = 'process'): StreamRecord<DeadLetterValue> => ({
  key,
  value: { reason, stage: 'operators[1] (mapping)', topology: 'user-pipeline', pipeline, value: null, failedAt: Date.parse('2026-12-06T05:00:00Z'), ...(origin ? { origin } : {}) },
  timestamp: Date.parse('2026-12-06T04:59:00Z'),
  raw: Buffer.from(`{"id":"${key}","postcode":"SW1A 1AA"}`),
});

test('a dead-letter message read back: reason, stage, pipeline, time, origin, key, the original bytes', () => {
  const letter = letterOf(written(rejected('u1', 'post_code: "SW1A 1AA" is not an integer', { topic: 'users', partition: 2, offset: 41 }), { partition: 0, offset: 7 }));
  assert.deepEqual(letter, {
    topic: 'users_dead',
    partition: 0,
    offset: 7,
    key: 'u1',
    timestamp: Date.parse('2026-12-06T04:59:00Z'),
    reason: 'post_code: "SW1A 1AA" is not an integer',
    stage: 'operators[1] (mapping)',
    pipeline: 'process',
    failedAt: '2026-12-06T05:00:00.000Z',
    origin: { topic: 'users', partition: 2, offset: 41 },
    size: 33,
    preview: Buffer.from('{"id":"u1","postcode":"SW1A 1AA"}').toString('base64'),
  });
  assert.equal(Buffer.from(letter.preview, 'base64').length, letter.size);
});

test('the reason filter: anywhere in the reason, ignoring case; empty or absent matches all', () => {
  const letter = { reason: 'post_code: path location.postcode is "SW1A 1AA"' };
  assert.equal(matchesReason(letter, 'POSTCODE'), true);
  assert.equal(matchesReason(letter, 'sw1a 1aa'), true);
  assert.equal(matchesReason(letter, 'invalid JSON'), false);
  assert.equal(matchesReason(letter, ''), true);
  assert.equal(matchesReason(letter, undefined), true);
});

test('a replay writes each origin once; letters without an origin, and those asked for but gone, are counted apart', () => {
  const letters: DeadLetter[] = [
    letterOf(written(rejected('u1', 'post_code: bad', { topic: 'users', partition: 0, offset: 5 }), { partition: 0, offset: 0 })),
    // The same message rejected by a second pipeline reading the topic.
    letterOf(written(rejected('u1', 'post_code: bad', { topic: 'users', partition: 0, offset: 5 }, 'nat_minute'), { partition: 0, offset: 1 })),
    letterOf(written(rejected('u2', 'post_code: bad', { topic: 'users', partition: 1, offset: 5 }), { partition: 0, offset: 2 })),
    letterOf(written(rejected('u3', 'invalid JSON: Unexpected end', { topic: 'users', partition: 1, offset: 9 }), { partition: 0, offset: 3 })),
    letterOf(written(rejected('u4', 'post_code: bad', undefined), { partition: 0, offset: 4 })),
  ];
  const byReason = planReplay(letters, { reason: 'post_code' });
  assert.deepEqual(byReason.letters.map((l) => l.key), ['u1', 'u2']);
  assert.deepEqual(byReason.report, { replayed: 0, duplicates: 1, withoutOrigin: 1, missing: 0, byTopic: {} });

  const all = planReplay(letters, { reason: '' });
  assert.deepEqual(all.letters.map((l) => l.key), ['u1', 'u2', 'u3']);

  const chosen = planReplay(letters, { letters: [{ topic: 'users_dead', partition: 0, offset: 3 }, { topic: 'users_dead', partition: 0, offset: 99 }] });
  assert.deepEqual(chosen.letters.map((l) => l.key), ['u3'], 'only the letters chosen, whatever their reason');
  assert.equal(chosen.report.missing, 1, 'one asked for is not in the topic');
});
