/**
 * A small seeded pseudo-random generator, so nothing in Flotilla's deterministic parts touches
 * `Math.random()`. The Raft core draws its randomized election timeouts from one; the simulated
 * network, file system and cluster tests draw their faults from others, so a whole run replays
 * exactly from its seed.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's "small fast counting" generator, public domain),
 * seeded through splitmix32 so that nearby seeds (1, 2, 3, ...) give unrelated streams. It is
 * fast and statistically good enough for simulation; it is not cryptographic.
 */
export interface Random {
  /** A float uniformly distributed in `[0, 1)`. */
  next(): number;
  /** An integer uniformly distributed in `[min, max)`; requires `min < max`. */
  int(min: number, max: number): number;
  /** True with probability `p` (0 ≤ p ≤ 1). */
  chance(p: number): boolean;
  /** An element of a non-empty array, chosen uniformly. */
  pick<T>(items: readonly T[]): T;
  /** A new independent generator derived from this one's stream (for per-component streams). */
  fork(): Random;
}

/** Creates a {@link Random} from an integer seed. The same seed always yields the same stream. */
export function seededRandom(seed: number): Random {
  // splitmix32 expands the seed into four well-mixed 32-bit words of state.
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();

  const nextU32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // Warm up so the first outputs do not reflect the seed's structure.
  for (let i = 0; i < 12; i++) nextU32();

  const rng: Random = {
    next: () => nextU32() / 4294967296,
    int(min, max) {
      if (!(min < max)) throw new RangeError(`int(${min}, ${max}): min must be < max`);
      return min + Math.floor(rng.next() * (max - min));
    },
    chance: (p) => rng.next() < p,
    pick(items) {
      if (items.length === 0) throw new RangeError('pick from an empty array');
      return items[rng.int(0, items.length)] as (typeof items)[number];
    },
    fork: () => seededRandom(nextU32()),
  };
  return rng;
}
