/**
 * The producer sink's recovery from a producer that stops delivering: a write whose delivery reports
 * never come fails (retryable) after deliveryTimeout plus the grace, and the next write runs on a new
 * producer. Fake producers stand in for librdkafka, so this runs without a broker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import Kafka from 'node-rdkafka';
import { asyncScheduler } from 'rxjs';
import winston from 'winston';
import Transport from 'winston-transport';
import { isRetryableKafkaError, kafkaProducerSink, KafkaWriteError } from '../../../sinks/kafka/producer.ts';
import { recordToMessage } from '../../../sinks/kafka/messages.ts';
import type { ComponentContext, StreamRecord } from '../../../topology/types.ts';
import { componentContext } from '../../../testing/component-context.ts';

/** Connects at once; delivers each produced message on the next poll, unless it is `wedged`. */
class FakeProducer extends EventEmitter {
  produced = 0;
  disconnected = false;
  private pending: unknown[] = [];
  private connected = false;

  constructor(private readonly wedged: boolean) {
    super();
  }

  connect(_options: unknown, done: (error: null, metadata: unknown) => void): void {
    this.connected = true;
    setImmediate(() => done(null, { brokers: [{ id: 1, host: '127.0.0.1', port: 9092 }], topics: [] }));
  }

  isConnected(): boolean {
    return this.connected;
  }

  produce(_topic: string, _partition: null, _value: unknown, _key: unknown, _timestamp: unknown, opaque: unknown): void {
    this.produced++;
    if (!this.wedged) this.pending.push(opaque);
  }

  poll(): void {
    for (const opaque of this.pending.splice(0)) this.emit('delivery-report', null, { opaque });
  }

  disconnect(done: () => void): void {
    this.connected = false;
    this.disconnected = true;
    setImmediate(done);
  }
}

class Capture extends Transport {
  constructor(private readonly lines: string[]) {
    super();
  }
  override log(info: { message: string }, next: () => void): void {
    this.lines.push(info.message);
    next();
  }
}

test('a producer whose delivery reports stop coming fails its write (retryable) and is replaced before the next one', async () => {
  const producers = [new FakeProducer(true), new FakeProducer(false)];
  const made: FakeProducer[] = [];
  const warnings: string[] = [];
  const ctx: ComponentContext = componentContext({
    topology: 't',
    pipeline: 'p',
    path: 'pipelines.p.sink',
    logger: winston.createLogger({ level: 'warn', transports: [new Capture(warnings)] }),
    scheduler: asyncScheduler,
  });
  const sink = kafkaProducerSink(
    { client: { brokers: '127.0.0.1:9092', clientId: 'test', connectTimeout: 1000, rdkafka: {} }, topic: 'users', deliveryTimeout: 20, tuning: {} },
    ctx,
    'kafka topic users',
    recordToMessage,
    {
      newProducer: () => {
        made.push(producers[made.length]);
        return made.at(-1) as unknown as Kafka.Producer;
      },
      reportGraceMs: 30,
    },
  );
  const records: StreamRecord[] = [{ key: 'a', value: { id: 'a' }, timestamp: 0 }];
  await sink.start();

  await assert.rejects(sink.write(records), (error: unknown) => {
    assert.ok(error instanceof KafkaWriteError);
    assert.match(error.message, /1 of 1 message\(s\) not acknowledged within 0\.05 s/);
    assert.equal(error.code, Kafka.CODES.ERRORS.ERR__MSG_TIMED_OUT);
    assert.ok(isRetryableKafkaError(error), 'the chunk is retried');
    return true;
  });
  assert.equal(made.length, 1, 'not replaced before a write needs it');

  await sink.write(records);
  assert.equal(made.length, 2, 'the next write made a new producer');
  assert.ok(producers[0].disconnected, 'the wedged producer was disconnected');
  assert.equal(producers[1].produced, 1, 'the record went through the new producer');
  assert.deepEqual(warnings, ['kafka topic users: replacing the producer whose delivery reports stopped coming (librdkafka lost its brokers)']);

  await sink.write(records);
  assert.equal(made.length, 2, 'a producer that delivers is kept');
  await sink.close();
});
