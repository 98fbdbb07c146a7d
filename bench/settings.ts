/**
 * How big each leg of `npm run bench` is: the full run, and `--quick` (a minute or two, for a smoke
 * check of the figures and of the benchmark itself).
 */
import type { IngestProducerSettings } from './topology.ts';
import type { WriteMethod } from './ceilings.ts';

export interface IngestTrial {
  results: number;
  concurrency: number;
  producer: IngestProducerSettings;
}

export interface BenchSettings {
  mode: 'quick' | 'full';
  /** Users per ingest sweep trial. */
  ingestTrialUsers: number;
  /** Explore the ingest settings one knob at a time from `ingestStart`; quick runs only `ingestStart`. */
  ingestSweep: boolean;
  ingestStart: IngestTrial;
  /** The process leg's topic size; the best ingest settings fill it. */
  processUsers: number;
  /** Rounds of [ceilings, pipeline], alternating their order. */
  processRounds: number;
  /** The formats leg: users in each of its topics (JSON and Avro), and rounds of [JSON, Avro] process runs, alternating their order. */
  formatUsers: number;
  formatRounds: number;
  /** Rounds of the window pipeline [state durable, state in memory], alternating their order. */
  windowRounds: number;
  /** Users the window pipeline reads in each run: the process leg's topic, or (more users) one of their own. */
  windowUsers: number;
  /** Users of the scale leg's topic (of `scalePartitions` partitions, its own). */
  scaleUsers: number;
  scalePartitions: number;
  /** How many processes share the window pipeline in the scale leg's runs; each round runs every count. */
  scaleProcesses: number[];
  /** Rounds of the scale leg, alternating their order (1, 2, 3; 3, 2, 1; …). */
  scaleRounds: number;
  /** Keys of the store the restore leg restores. */
  restoreKeys: number;
  cassandraSweep: { methods: WriteMethod[]; concurrencies: number[]; rowsPerTrial: number };
  latencyRates: number[];
  latencySeconds: number;
  steadyRate: number;
  steadySeconds: number;
  /** Load at the steady rate before the steady run's measurements start. */
  steadyWarmupSeconds: number;
  /** Memory sampling period of the steady run, ms. */
  steadySampleMs: number;
}

/**
 * Where the ingest sweep starts, and what quick runs use: the best settings the full runs found (see
 * docs/performance.md).
 */
export const INGEST_BEST: IngestTrial = {
  results: 5000,
  concurrency: 2,
  producer: { compression: 'lz4', linger: 5, batchMaxRows: 5000, batchConcurrency: 2 },
};

/** The knobs the full run's ingest sweep tries, one at a time. */
export const INGEST_KNOBS = {
  results: [1000, 5000],
  concurrency: [1, 2, 4],
  compression: ['lz4', 'none', 'snappy'],
  linger: [5, 20, 50],
  batch: [
    [5000, 2],
    [10000, 2],
    [20000, 1],
  ],
} as const;

export const QUICK: BenchSettings = {
  mode: 'quick',
  ingestTrialUsers: 50_000,
  ingestSweep: false,
  ingestStart: INGEST_BEST,
  processUsers: 50_000,
  processRounds: 2,
  formatUsers: 20_000,
  formatRounds: 2,
  windowRounds: 2,
  // 50,000 users are 5 batches: too few to see a cost per batch. Through the repartition topic one
  // process reads 10,000–18,000 users a second: 100,000 keep the leg to about a minute.
  windowUsers: 100_000,
  // About 12 s of one process. Processes that join together take about 6 s to settle their partitions
  // (two cooperative rebalances, 3 s heartbeats): fewer users would leave too little after it.
  scaleUsers: 150_000,
  scalePartitions: 6,
  scaleProcesses: [1, 2, 3],
  scaleRounds: 2,
  restoreKeys: 100_000,
  cassandraSweep: { methods: ['lanes', 'executeConcurrent'], concurrencies: [64, 256, 1024], rowsPerTrial: 10_000 },
  latencyRates: [100, 1000, 5000],
  latencySeconds: 10,
  steadyRate: 1000,
  steadySeconds: 60,
  steadyWarmupSeconds: 10,
  steadySampleMs: 1000,
};

export const FULL: BenchSettings = {
  mode: 'full',
  ingestTrialUsers: 100_000,
  ingestSweep: true,
  ingestStart: INGEST_BEST,
  processUsers: 500_000,
  processRounds: 3,
  formatUsers: 200_000,
  formatRounds: 2,
  windowRounds: 3,
  windowUsers: 500_000,
  scaleUsers: 500_000,
  scalePartitions: 6,
  scaleProcesses: [1, 2, 3],
  scaleRounds: 3,
  restoreKeys: 1_000_000,
  cassandraSweep: { methods: ['lanes', 'executeConcurrent'], concurrencies: [32, 64, 128, 256, 512, 1024], rowsPerTrial: 50_000 },
  latencyRates: [100, 1000, 5000],
  latencySeconds: 60,
  steadyRate: 1000,
  steadySeconds: 600,
  steadyWarmupSeconds: 60,
  steadySampleMs: 5000,
};
