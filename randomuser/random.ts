/**
 * The fast seeded randomness behind the RandomUser generator and the server's fault choice: sfc32 (a
 * small, well-tested 128-bit-state PRNG), a 32-bit mixer, and deterministic v4-shaped UUIDs.
 *
 * Math.random cannot be seeded and faker's own generator is too slow to call per field, so every
 * per-user choice goes through `Random`.
 */
import { createHash, randomBytes } from 'node:crypto';

/** MurmurHash3's finaliser: a bijection on 32-bit integers that spreads every input bit. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A random seed in the real API's style (16 hex digits). */
export function randomSeed(): string {
  return randomBytes(8).toString('hex');
}

/** Four 32-bit words derived from a seed string (its MD5), used as a PRNG state or a key. */
export type SeedKey = readonly [number, number, number, number];

export function seedKey(seed: string): SeedKey {
  const digest = createHash('md5').update(seed).digest();
  return [digest.readUInt32BE(0), digest.readUInt32BE(4), digest.readUInt32BE(8), digest.readUInt32BE(12)];
}

/**
 * sfc32. Its state transition is a bijection, so distinct starting states never merge: two users
 * seeded differently never share a random stream.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    // The first outputs of a freshly seeded sfc32 are still correlated with the seed words.
    for (let i = 0; i < 12; i++) this.u32();
  }

  static fromSeed(seed: string): Random {
    return new Random(...seedKey(seed));
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A 32-bit word as 8 hex digits; a table lookup, as toString(16) + padStart showed up in profiles. */
function hex8(word: number): string {
  return HEX_BYTES[word >>> 24] + HEX_BYTES[(word >>> 16) & 0xff] + HEX_BYTES[(word >>> 8) & 0xff] + HEX_BYTES[word & 0xff];
}

/**
 * A v4-shaped UUID for user `index` of `page` under `key`. The first and last words are a 4-round
 * Feistel permutation of (page, index) keyed by the seed, so within one seed two different
 * (page, index) pairs can never get the same UUID; the middle words come from the user's own stream.
 */
export function uuidFor(key: SeedKey, page: number, index: number, random: Random): string {
  let left = page >>> 0;
  let right = index >>> 0;
  for (let round = 0; round < 4; round++) {
    const next = (left ^ mix32(right ^ key[round])) >>> 0;
    left = right;
    right = next;
  }
  const middle = hex8((random.u32() & 0xffff0fff) | 0x00004000);
  const variant = hex8((random.u32() & 0x3fffffff) | 0x80000000);
  const last = hex8(right);
  return `${hex8(left)}-${middle.slice(0, 4)}-${middle.slice(4)}-${variant.slice(0, 4)}-${variant.slice(4)}${last}`;
}
