/**
 * Test helper: a topic's configuration as the brokers describe it (Kafka's admin API, DescribeConfigs
 * v1), which node-rdkafka's AdminClient does not offer. One request over a plain socket to the first
 * broker of `brokers`: enough to check what a component created, not a client.
 */
import { connect } from 'node:net';

const DESCRIBE_CONFIGS = 32;
const VERSION = 1;
const TOPIC = 2;

function string(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function int(bytes: 1 | 2 | 4, value: number): Buffer {
  const out = Buffer.alloc(bytes);
  if (bytes === 1) out.writeInt8(value);
  else if (bytes === 2) out.writeInt16BE(value);
  else out.writeInt32BE(value);
  return out;
}

function request(topic: string, names: readonly string[]): Buffer {
  const body = Buffer.concat([
    // Header v1: api key, version, correlation id, client id.
    int(2, DESCRIBE_CONFIGS), int(2, VERSION), int(4, 1), string('describe-configs-test'),
    // One resource (the topic) with the config names asked for, without synonyms.
    int(4, 1), int(1, TOPIC), string(topic), int(4, names.length), ...names.map(string), int(1, 0),
  ]);
  return Buffer.concat([int(4, body.length), body]);
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}
  int8 = () => this.bytes.readInt8((this.at += 1) - 1);
  int16 = () => this.bytes.readInt16BE((this.at += 2) - 2);
  int32 = () => this.bytes.readInt32BE((this.at += 4) - 4);
  string = (): string | null => {
    const length = this.int16();
    if (length < 0) return null;
    return this.bytes.toString('utf8', this.at, (this.at += length));
  };
}

function parse(response: Buffer, topic: string): Record<string, string | null> {
  const r = new Reader(response);
  r.int32(); // correlation id
  r.int32(); // throttle time
  const configs: Record<string, string | null> = {};
  for (let results = r.int32(); results > 0; results--) {
    const error = r.int16();
    const message = r.string();
    r.int8();
    const name = r.string();
    if (error !== 0) throw new Error(`DescribeConfigs of ${name}: error ${error}${message ? ` (${message})` : ''}`);
    for (let n = r.int32(); n > 0; n--) {
      const key = r.string()!;
      configs[key] = r.string();
      r.int8(); // read only
      r.int8(); // source
      r.int8(); // sensitive
      for (let synonyms = r.int32(); synonyms > 0; synonyms--) {
        r.string();
        r.string();
        r.int8();
      }
    }
    if (name !== topic) throw new Error(`DescribeConfigs answered for ${name}, not ${topic}`);
  }
  return configs;
}

/** The values of `names` in `topic`'s configuration (the brokers' defaults included). */
export function describeTopicConfig(brokers: string, topic: string, names: readonly string[], timeoutMs = 10_000): Promise<Record<string, string | null>> {
  const [host, port] = brokers.split(',')[0].trim().split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port ?? 9092) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`DescribeConfigs of ${topic}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(request(topic, names)));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(parse(received.subarray(4, 4 + received.readInt32BE(0)), topic));
      } catch (error) {
        reject(error as Error);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
