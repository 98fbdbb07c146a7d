/**
 * Kafka messages ↔ records, without a broker: decoding by format and the JSON dead-letter rule, what
 * the kafka and dead-letter sinks put on the wire, which errors are retryable, and the wording of
 * start-up errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Kafka from 'node-rdkafka';
import type { Message } from 'node-rdkafka';
import { cleanLogMessage, connectError } from '../../../clients/kafka.ts';
import { messageToRecord } from '../../../sources/kafka/records.ts';
import { tasksOf } from '../../../sources/kafka/assignments.ts';
import { taskOf } from '../../../topology/types.ts';
import { encodeValue, rawRecordToMessage, recordToMessage, unchangedRawRecordToMessage } from '../../../sinks/kafka/messages.ts';
import { KafkaWriteError, isRetryableKafkaError } from '../../../sinks/kafka/producer.ts';
import { deadLetterMessage } from '../../../sinks/dead-letter.ts';
import type { DeadLetterValue, StreamRecord } from '../../../topology/types.ts';

const ERR = Kafka.CODES.ERRORS;

function message(value: Buffer | null, extra: Partial<Message> = {}): Message {
  return { topic: 'users_created', partition: 2, offset: 41, key: Buffer.from('user-1'), value, size: value?.length ?? 0, timestamp: 1_700_000_000_000, ...extra };
}

test('json: a valid message becomes a record with key, parsed value, timestamp, origin and raw bytes', () => {
  const raw = Buffer.from('{"name":"Ава","n":1}');
  const { record, invalid } = messageToRecord(message(raw, { headers: [{ trace: Buffer.from('abc') }, { n: Buffer.from('1') }] }), 'json', 5);
  assert.equal(invalid, undefined);
  assert.deepEqual(record, {
    key: 'user-1',
    value: { name: 'Ава', n: 1 },
    timestamp: 1_700_000_000_000,
    origin: { topic: 'users_created', partition: 2, offset: 41 },
    raw,
    decoded: { name: 'Ава', n: 1 },
    headers: { trace: 'abc', n: '1' },
  });
  assert.equal(record.decoded, record.value, 'decoded is the parsed value itself: a sink can tell it was not replaced');
});

test('json: empty, blank, null and unparsable messages are to be dead-lettered with their bytes', () => {
  const cases: Array<[Buffer | null, RegExp | string]> = [
    [Buffer.from('not json'), /^invalid JSON: Unexpected token/],
    [Buffer.from('{"a":1'), /^invalid JSON: /],
    [Buffer.alloc(0), 'invalid JSON: empty message'],
    [Buffer.from(' \n'), 'invalid JSON: empty message'],
    [null, 'invalid JSON: empty message'],
  ];
  for (const [value, reason] of cases) {
    const { record, invalid } = messageToRecord(message(value), 'json', 5);
    if (typeof reason === 'string') assert.equal(invalid, reason);
    else assert.match(invalid ?? '', reason);
    assert.deepEqual(record.raw, value ?? Buffer.alloc(0), 'the original bytes travel with the dead letter');
    assert.deepEqual(record.origin, { topic: 'users_created', partition: 2, offset: 41 });
    assert.equal(record.key, 'user-1');
  }
});

test('string and bytes formats never dead-letter; a null key stays null; a missing timestamp is the read time', () => {
  const raw = Buffer.from('not json');
  assert.deepEqual(messageToRecord(message(raw, { key: null }), 'string', 5), {
    record: { key: null, value: 'not json', timestamp: 1_700_000_000_000, origin: { topic: 'users_created', partition: 2, offset: 41 }, raw },
  });
  assert.equal(messageToRecord(message(raw), 'bytes', 5).record.value, raw);
  assert.equal('decoded' in messageToRecord(message(raw), 'bytes', 5).record, false, 'only a parsed value is marked as decoded');
  assert.equal('decoded' in messageToRecord(message(Buffer.from('not json')), 'json', 5).record, false, 'an unparsable message has no decoded value');
  assert.equal(messageToRecord(message(null), 'bytes', 5).record.value, null);
  assert.equal(messageToRecord(message(null), 'string', 5).invalid, undefined);
  assert.equal(messageToRecord(message(raw, { timestamp: -1 }), 'string', 1234).record.timestamp, 1234);
});

test('the origin of a record is its topic, partition and offset: its task is the partition', () => {
  const { record } = messageToRecord(message(Buffer.from('{}')), 'json', 5);
  assert.deepEqual(record.origin, { topic: 'users_created', partition: 2, offset: 41 });
  assert.equal(taskOf(record), 2);
});

test('an assignment is reported per task (partition number) with each partition\'s committed position, -1 where none', () => {
  const keys = ['users_created/0', 'users_created/1', 'other/1'];
  // node-rdkafka reports "none" as a missing offset (librdkafka: -1001).
  const committed = new Map<string, number | undefined>([
    ['users_created/0', undefined],
    ['users_created/1', 120],
    ['other/1', -1001],
  ]);
  assert.deepEqual(tasksOf(keys, committed), [
    { task: 0, committed: { 'users_created/0': -1 } },
    { task: 1, committed: { 'users_created/1': 120, 'other/1': -1 } },
  ]);
});

test('the kafka sink writes Buffers and strings as they are, other values as JSON, null as a tombstone', () => {
  const bytes = Buffer.from([0, 1, 2]);
  assert.equal(encodeValue(bytes), bytes);
  assert.deepEqual(encodeValue('plain text'), Buffer.from('plain text'));
  assert.deepEqual(encodeValue({ a: [1, 'é'] }), Buffer.from('{"a":[1,"é"]}'));
  assert.deepEqual(encodeValue(0), Buffer.from('0'));
  assert.equal(encodeValue(null), null);
  assert.equal(encodeValue(undefined), null);
  assert.deepEqual(recordToMessage({ key: 'k', value: { n: 1 }, timestamp: 1_700_000_000_000.7, headers: { trace: 'abc' } }), {
    key: 'k',
    value: Buffer.from('{"n":1}'),
    timestamp: 1_700_000_000_000,
    headers: [{ trace: 'abc' }],
  });
  assert.equal(recordToMessage({ key: null, value: 1, timestamp: Number.NaN }).timestamp, null, 'no usable timestamp: the producer stamps it');
});

test('payload: raw sends the bytes the source read, not the value encoded again; a record without them falls back to its value', () => {
  // An http-poll record: `raw` is the element's JSON text, byte for byte what the value encodes to.
  const user = { login: { uuid: 'u-1' }, name: { first: 'Zoë' } };
  const polled = { key: 'u-1', value: user, timestamp: 1_700_000_000_000, raw: JSON.stringify(user), headers: { trace: 'abc' } };
  assert.deepEqual(rawRecordToMessage(polled), recordToMessage(polled));
  // The raw bytes win over the value: a Buffer is sent as it is (the same object), a string as UTF-8.
  const bytes = Buffer.from([0xff, 0x00]);
  assert.equal(rawRecordToMessage({ key: null, value: { changed: true }, timestamp: 1, raw: bytes }).value, bytes);
  assert.deepEqual(rawRecordToMessage({ key: null, value: { changed: true }, timestamp: 1, raw: 'as read' }).value, Buffer.from('as read'));
  assert.deepEqual(rawRecordToMessage({ key: null, value: { n: 1 }, timestamp: 1 }).value, Buffer.from('{"n":1}'));
});

test('payload: unchanged-raw sends the bytes the source read while the value is the one parsed from them, the value encoded once replaced', () => {
  // Bytes that the value does not encode to byte for byte (spacing), so the test tells which was sent.
  const raw = Buffer.from('{ "nat": "FR",  "gender": "female" }');
  const { record } = messageToRecord(message(raw, { headers: [{ trace: Buffer.from('abc') }] }), 'json', 5);
  const keyed: StreamRecord = { ...record, key: '["FR","female"]', headers: { ...record.headers, origin: 'users_created/2/41' } };
  const sent = unchangedRawRecordToMessage(keyed);
  assert.equal(sent.value, raw, 'the same Buffer: not encoded again');
  assert.deepEqual({ ...sent, value: null }, { ...recordToMessage(keyed), value: null }, 'key, timestamp and headers as payload: value has them');
  // A value an operator replaced (a copy of the record with a new value): encoded, whatever raw holds.
  const replaced: StreamRecord = { ...keyed, value: { nat: 'FR', gender: 'female', n: 1 } };
  assert.deepEqual(unchangedRawRecordToMessage(replaced).value, Buffer.from('{"nat":"FR","gender":"female","n":1}'));
  // No decoded value (another source, or another format): the value, encoded.
  assert.deepEqual(unchangedRawRecordToMessage({ key: null, value: { n: 1 }, timestamp: 1, raw: Buffer.from('{ "n": 1 }') }).value, Buffer.from('{"n":1}'));
  // Parsed values that payload: value does not send as JSON: a null stays a tombstone, a string its text.
  assert.equal(unchangedRawRecordToMessage({ key: null, value: null, timestamp: 1, raw: Buffer.from('null'), decoded: null }).value, null);
  assert.deepEqual(unchangedRawRecordToMessage({ key: null, value: 'abc', timestamp: 1, raw: Buffer.from('"abc"'), decoded: 'abc' }).value, Buffer.from('abc'));
});

const letter = (value: unknown): DeadLetterValue => ({
  reason: 'invalid JSON: empty message',
  stage: 'source',
  topology: 'users',
  pipeline: 'ingest',
  origin: { topic: 'users_created', partition: 0, offset: '7' },
  value,
  failedAt: Date.UTC(2026, 10, 21, 8, 30),
});

test('a dead letter carries the original bytes, key and timestamp, and the report as headers', () => {
  const raw = Buffer.from([0xff, 0x00]);
  const record: StreamRecord<DeadLetterValue> = { key: 'user-9', value: letter('ignored: raw wins'), timestamp: 1_700_000_000_000, raw, origin: { topic: 'users_created', partition: 0, offset: 7 } };
  assert.deepEqual(deadLetterMessage(record), {
    key: 'user-9',
    value: raw,
    timestamp: 1_700_000_000_000,
    headers: [
      { 'dead-letter.reason': 'invalid JSON: empty message' },
      { 'dead-letter.stage': 'source' },
      { 'dead-letter.topology': 'users' },
      { 'dead-letter.pipeline': 'ingest' },
      { 'dead-letter.failed-at': '2026-11-21T08:30:00.000Z' },
      { 'dead-letter.origin.topic': 'users_created' },
      { 'dead-letter.origin.partition': '0' },
      { 'dead-letter.origin.offset': '7' },
    ],
  });
  assert.deepEqual(deadLetterMessage({ ...record, raw: 'text raw' }).value, Buffer.from('text raw'));
});

test('a dead letter without raw bytes carries the rejected value as JSON, and no origin headers when unknown', () => {
  const message = deadLetterMessage({ key: null, value: { ...letter({ id: 1 }), origin: undefined }, timestamp: 5 });
  assert.deepEqual(message.value, Buffer.from('{"id":1}'));
  assert.deepEqual(
    message.headers?.map((h) => Object.keys(h)[0]),
    ['dead-letter.reason', 'dead-letter.stage', 'dead-letter.topology', 'dead-letter.pipeline', 'dead-letter.failed-at'],
  );
});

test('retryable: transient broker and timeout errors; not: too large, unknown topic, authorization, bugs', () => {
  for (const code of [ERR.ERR__TRANSPORT, ERR.ERR__MSG_TIMED_OUT, ERR.ERR__TIMED_OUT, ERR.ERR__ALL_BROKERS_DOWN, ERR.ERR_NOT_ENOUGH_REPLICAS, ERR.ERR_LEADER_NOT_AVAILABLE, ERR.ERR_REQUEST_TIMED_OUT]) {
    assert.equal(isRetryableKafkaError(new KafkaWriteError('x', code)), true, `code ${code}`);
  }
  for (const code of [ERR.ERR_MSG_SIZE_TOO_LARGE, ERR.ERR__UNKNOWN_TOPIC, ERR.ERR_UNKNOWN_TOPIC_OR_PART, ERR.ERR_TOPIC_AUTHORIZATION_FAILED, ERR.ERR_SASL_AUTHENTICATION_FAILED, ERR.ERR__AUTHENTICATION, ERR.ERR_RECORD_LIST_TOO_LARGE]) {
    assert.equal(isRetryableKafkaError(new KafkaWriteError('x', code)), false, `code ${code}`);
  }
  assert.equal(isRetryableKafkaError(new KafkaWriteError('not started', undefined)), false);
  assert.equal(isRetryableKafkaError(new TypeError('Do not know how to serialize a BigInt')), false);
  assert.equal(isRetryableKafkaError(undefined), false);
});

test('librdkafka log lines lose their thread, broker and timing decorations', () => {
  assert.equal(
    cleanLogMessage('[thrd:127.0.0.1:1/bootstrap]: 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT, 1 identical error(s) suppressed)'),
    'Connect to ipv4#127.0.0.1:1 failed: Connection refused',
  );
  assert.equal(cleanLogMessage('[thrd:sasl_ssl://k1:9093/1]: sasl_ssl://k1:9093/1: SASL authentication error: Authentication failed'), 'SASL authentication error: Authentication failed');
});

test('start-up errors name the address, the cause, and the fix that fits', () => {
  const refused = connectError({ brokers: '127.0.0.1:9092' }, { message: 'broker transport failure', code: ERR.ERR__TRANSPORT }, 10_000, 'Connect to ipv4#127.0.0.1:9092 failed: Connection refused');
  assert.equal(
    refused.message,
    'cannot reach Kafka at 127.0.0.1:9092 within 10 s (broker transport failure: Connect to ipv4#127.0.0.1:9092 failed: Connection refused)\n' +
      '  → start the local services with "npm run services -- up", or point to your cluster with KAFKA_BROKERS=host:port (or --brokers)',
  );
  const auth = connectError({ brokers: 'k1:9093', sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } }, { message: 'Local: Timed out', code: ERR.ERR__TIMED_OUT }, 2500, 'SASL authentication error: Authentication failed');
  assert.match(auth.message, /^cannot reach Kafka at k1:9093 within 2\.5 s \(Local: Timed out: SASL authentication error/);
  assert.match(auth.message, /check the `sasl` and `ssl` settings/);
  const silent = connectError({ brokers: 'k1:9093', ssl: { enabled: true } }, { message: 'Local: Timed out', code: ERR.ERR__TIMED_OUT }, 10_000);
  assert.match(silent.message, /expects the configured `sasl`\/`ssl` settings/);
  const broken = connectError({ brokers: 'k1:9093', ssl: { enabled: true } }, { message: 'ssl.ca.location failed: system lib', code: ERR.ERR__STATE }, 10_000);
  assert.equal(
    broken.message,
    'cannot start a Kafka client for k1:9093 (ssl.ca.location failed: system lib)\n  → check the `ssl` and `rdkafka` settings (files exist and are readable, option names and values are valid)',
    'a client that could not start is not "unreachable"',
  );
});
