/**
 * The open-loop load generator of the latency and steady legs: it produces users to Kafka on a fixed
 * schedule — message i of a phase is due at start + i / rate — whatever the pipeline does, and stamps
 * each with the time it was due (`bench_produced_at_us`), so a generator that falls behind adds to the
 * latency instead of hiding it (no coordinated omission). How late it really produced is reported too.
 *
 * Users come from the RandomUser generator (every nationality and quirk), each sent with a fresh
 * login.uuid so that every record is a row of its own.
 */
import { randomUUID } from 'node:crypto';
import type Kafka from 'node-rdkafka';
import { generateUsers } from '../randomuser/generator.ts';
import { connectProducer, disconnect, produce, type ProducerSettings } from './kafka.ts';
import { PRODUCED_AT_FIELD } from './topology.ts';
import { distribution, nowUs, round, sleep, type Distribution } from './stats.ts';

/** A user's JSON cut around its login.uuid, so a message is three concatenations. */
interface Template {
  before: string;
  after: string;
}

function templates(count: number): Template[] {
  const out: Template[] = [];
  for (let page = 1; out.length < count; page++) {
    for (const user of generateUsers({ seed: 'bench-latency', page, results: Math.min(5000, count) }).users) {
      const json = JSON.stringify(user);
      const at = json.indexOf(user.login.uuid);
      out.push({ before: json.slice(1, at), after: json.slice(at + user.login.uuid.length) });
    }
  }
  return out.slice(0, count);
}

export interface Phase {
  name: string;
  rate: number;
  seconds: number;
}

export interface PhaseRecord extends Phase {
  /** µs since the epoch: first message due, last message due. */
  startUs: number;
  endUs: number;
  produced: number;
  /** Rate actually achieved over the phase, messages/s. */
  achievedRate: number;
  /** How long after its due time each message was handed to the producer, ms. */
  lateness: Distribution;
}

/** Where each delivered message landed, and when it was due. */
export interface Deliveries {
  /** `topic/partition` → offsets and due times (µs), in offset order. */
  byPartition: Map<string, { offsets: number[]; dueUs: number[] }>;
  failed: number;
}

export class LoadGenerator {
  readonly deliveries: Deliveries = { byPartition: new Map(), failed: 0 };
  produced = 0;
  private delivered = 0;
  private producer!: Kafka.Producer;
  private readonly pool: Template[];
  private next = 0;

  constructor(
    private readonly brokers: string,
    private readonly topic: string,
    private readonly settings: ProducerSettings,
    poolSize = 20_000,
  ) {
    this.pool = templates(poolSize);
  }

  async start(): Promise<void> {
    this.producer = await connectProducer(this.brokers, this.settings, (error, report) => {
      this.delivered++;
      if (error) {
        this.deliveries.failed++;
        return;
      }
      const key = `${report.topic}/${report.partition}`;
      let partition = this.deliveries.byPartition.get(key);
      if (!partition) this.deliveries.byPartition.set(key, (partition = { offsets: [], dueUs: [] }));
      partition.offsets.push(report.offset);
      partition.dueUs.push(report.opaque as number);
    });
  }

  private async send(dueUs: number): Promise<void> {
    const template = this.pool[this.next++ % this.pool.length];
    const uuid = randomUUID();
    const value = Buffer.from(`{"${PRODUCED_AT_FIELD}":${dueUs},${template.before}${uuid}${template.after}`);
    await produce(this.producer, this.topic, value, uuid, dueUs);
    this.produced++;
  }

  /** Produce `count` messages at once (warm-up), stamped now. */
  async burst(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.send(nowUs());
  }

  async run(phase: Phase): Promise<PhaseRecord> {
    const total = Math.round(phase.rate * phase.seconds);
    const intervalUs = 1e6 / phase.rate;
    const late: number[] = [];
    const startUs = nowUs();
    for (let i = 0; i < total; ) {
      const now = nowUs();
      // Everything due by now goes out now; then sleep until the next one is due.
      while (i < total && startUs + i * intervalUs <= now) {
        const due = Math.round(startUs + i * intervalUs);
        late.push((nowUs() - due) / 1000);
        await this.send(due);
        i++;
      }
      if (i < total) await sleep(Math.max(0, (startUs + i * intervalUs - nowUs()) / 1000));
    }
    const endUs = Math.round(startUs + (total - 1) * intervalUs);
    return { ...phase, startUs, endUs, produced: total, achievedRate: round((total * 1e6) / Math.max(1, nowUs() - startUs), 1), lateness: distribution(late) };
  }

  /** Wait until every produced message has a delivery report. */
  async flushed(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.delivered < this.produced && Date.now() < deadline) await sleep(10);
  }

  async close(): Promise<void> {
    await this.flushed();
    await disconnect(this.producer);
  }
}
