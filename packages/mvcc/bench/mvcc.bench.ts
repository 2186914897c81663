/**
 * Benchmarks of @flotilla/mvcc (issue 5's figures). Run from the repository root:
 *
 *   node scripts/bench.mjs packages/mvcc        (= pnpm bench packages/mvcc)
 *
 * Single process, 100-byte values, 1M keys (MVCC_BENCH_KEYS overrides). Prints one line per
 * figure and never fails on a timing. Wall-clock timings are noisy on the shared 2-core
 * machines, so each timed loop runs four times and prints the best and median wall-clock rates
 * and the rate per CPU-second (process CPU time, GC threads included).
 *
 * Each figure runs in its own child process (this file with the section's name as argument),
 * so one section's heap and JIT state cannot slow another's: measured in one shared process,
 * point reads came out 2x slower after the write sections than alone.
 */
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MvccStore } from '@flotilla/mvcc';

const N = Number(process.env.MVCC_BENCH_KEYS ?? 1_000_000);
const VALUE_SIZE = 100;
const REPEATS = 4;

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const line = (label: string, text: string): void => console.log(`${label.padEnd(46)} ${text}`);

const keyOf = (i: number): string => `key-${i.toString().padStart(8, '0')}`;
const FILLER = Buffer.alloc(VALUE_SIZE, 'x');
/**
 * A 100-byte ASCII value differing per key, as a flat string (what decoding bytes from the
 * network gives; a concatenated string would also keep its rope node alive in the store).
 */
function valueFor(i: number): string {
  const b = Buffer.from(FILLER);
  b.write(`value-${i}-`);
  return b.toString('latin1');
}

/** A deterministic permutation of 0..n-1 (Fisher-Yates over xorshift32). */
function shuffled(n: number, seed: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
  return a;
}

/** Wall-clock and CPU (user + system, all threads) milliseconds of `body`. */
async function measure<T>(body: () => T | Promise<T>): Promise<{ result: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await body();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { result, wall, cpu: (c.user + c.system) / 1000 };
}

/**
 * Runs `body` (returning its op count) REPEATS times; prints the best and median wall-clock
 * rates, and the best rate per CPU-second, which the other engineers' load disturbs less.
 */
async function rate(label: string, body: (round: number) => number | Promise<number>): Promise<void> {
  const rates: number[] = [];
  const cpuRates: number[] = [];
  // Start without the garbage earlier sections left behind. (Only once: right after a forced
  // full GC the JIT and the heap need a while to settle, which slowed the first round 2-3x.)
  gc?.();
  for (let r = 0; r < REPEATS; r++) {
    const { result: ops, wall, cpu } = await measure(() => body(r));
    rates.push(ops / (wall / 1000));
    cpuRates.push(ops / (cpu / 1000));
  }
  rates.sort((x, y) => x - y);
  const best = rates[rates.length - 1] as number;
  const median = rates[Math.floor(rates.length / 2)] as number;
  const perCpu = Math.max(...cpuRates);
  line(
    label,
    `best ${fmt(best).padStart(10)}/s  median ${fmt(median).padStart(10)}/s  per CPU-s ${fmt(perCpu).padStart(10)}/s`,
  );
}

/** A store of N keys (one version each, values from a pool of 1024), compacted. */
function builtStore(keys: readonly string[], values: readonly string[]): MvccStore {
  const store = new MvccStore();
  for (let i = 0; i < N; i++) store.put(keys[i] as string, values[i & 1023] as string);
  store.compact(store.revision);
  return store;
}

const sections: Record<string, () => Promise<void>> = {
  // Memory, snapshot and restore: N keys, one version each, no history; keys and values are
  // generated on the fly so the process holds little besides the store.
  async memory() {
    gc?.();
    const rssBase = process.memoryUsage().rss;
    const store = new MvccStore();
    const build = await measure(() => {
      for (let i = 0; i < N; i++) store.put(keyOf(i), valueFor(i));
    });
    // Compacting to the current revision leaves no history at all (not even the revision log).
    store.compact(store.revision);
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    line(
      `memory: ${fmt(N)} keys x ${VALUE_SIZE} B, no history`,
      `RSS ${mb(m.rss)} (process before the store ${mb(rssBase)}), JS heap ${mb(m.heapUsed)}`,
    );
    line('  (building it, values generated on the fly)', `${fmt(N / (build.wall / 1000))} puts/s`);
    for (let round = 0; round < 2; round++) {
      const snap = await measure(() => store.snapshot());
      const back = await measure(() => MvccStore.restore(snap.result));
      line(
        `snapshot + restore of ${fmt(N)} keys`,
        `${(snap.wall + back.wall).toFixed(0)} ms wall (snapshot ${snap.wall.toFixed(0)}, restore ${back.wall.toFixed(0)}), ` +
          `${(snap.cpu + back.cpu).toFixed(0)} ms CPU, ${mb(snap.result.byteLength)}`,
      );
      if (back.result.hashKV().hash !== store.hashKV().hash) throw new Error('restored store differs');
    }
  },

  async puts() {
    const keys = Array.from({ length: N }, (_, i) => keyOf(i));
    const values = Array.from({ length: 1024 }, (_, i) => valueFor(i));
    const order = shuffled(N, 42);
    await rate(`put, ${fmt(N)} distinct keys, sequential order`, (round) => {
      const store = new MvccStore();
      for (let i = 0; i < N; i++) store.put(keys[i] as string, values[(i + round) & 1023] as string);
      return N;
    });
    await rate(`put, ${fmt(N)} distinct keys, random order`, () => {
      const store = new MvccStore();
      for (let i = 0; i < N; i++) store.put(keys[order[i] as number] as string, values[i & 1023] as string);
      return N;
    });
  },

  async overwrite() {
    const keys = Array.from({ length: N }, (_, i) => keyOf(i));
    const store = builtStore(
      keys,
      Array.from({ length: 1024 }, (_, i) => valueFor(i)),
    );
    const order = shuffled(N, 42);
    const bin = new Uint8Array(VALUE_SIZE).fill(0xab);
    await rate('put, overwrite random existing keys, Uint8Array', () => {
      const n = Math.min(N, 500_000);
      for (let i = 0; i < n; i++) store.put(keys[order[i] as number] as string, bin);
      return n;
    });
  },

  async reads() {
    const keys = Array.from({ length: N }, (_, i) => keyOf(i));
    const store = builtStore(
      keys,
      Array.from({ length: 1024 }, (_, i) => valueFor(i)),
    );
    const order = shuffled(N, 42);
    const probes = Array.from({ length: 200_000 }, (_, i) => keys[order[i % N] as number] as string);
    let sink = 0;
    // Accumulate into a local: a captured, mutated outer variable in the loop measured 2x slower.
    await rate('point get (range of one key), random keys', () => {
      let found = 0;
      for (let pass = 0; pass < 5; pass++) for (const k of probes) found += store.range(k).kvs.length;
      sink += found;
      return 5 * probes.length;
    });
    // The same reads over a hot set that fits in the CPU caches: the uniform figure above is
    // bound by memory latency (a Map lookup among a million keys alone costs ~0.5 µs here).
    const hot = Array.from({ length: 200_000 }, (_, i) => keys[order[i % 10_000] as number] as string);
    await rate('point get, random keys of a 10,000-key hot set', () => {
      let found = 0;
      for (let pass = 0; pass < 5; pass++) for (const k of hot) found += store.range(k).kvs.length;
      sink += found;
      return 5 * hot.length;
    });
    await rate('range of 100 keys ([k, k+100)), random start', () => {
      const n = 20_000;
      let found = 0;
      for (let i = 0; i < n; i++) {
        const start = (order[i % N] as number) % (N - 100);
        found += store.range(keys[start] as string, keys[start + 100] as string).kvs.length;
      }
      sink += found;
      return n;
    });
    if (sink === 0) console.log('(unreachable: keeps the reads from being optimized away)');
  },

  async txns() {
    const keys = Array.from({ length: N }, (_, i) => keyOf(i));
    const values = Array.from({ length: 1024 }, (_, i) => valueFor(i));
    const store = builtStore(keys, values);
    const order = shuffled(N, 42);
    await rate('txn: 1 compare + 1 put', () => {
      const n = 300_000;
      for (let i = 0; i < n; i++) {
        const key = keys[order[i % N] as number] as string;
        store.txn({
          compare: [{ key, target: 'version', result: 'greater', value: 0 }],
          success: [{ put: { key, value: values[i & 1023] as string } }],
          failure: [],
        });
      }
      return n;
    });
  },

  // Watch fan-out: 1,000 watchers on distinct keys, puts round-robin over those keys.
  async watch() {
    const keys = Array.from({ length: N }, (_, i) => keyOf(i));
    const values = Array.from({ length: 1024 }, (_, i) => valueFor(i));
    const store = builtStore(keys, values);
    const W = 1000;
    let delivered = 0;
    const watchers = Array.from({ length: W }, (_, i) =>
      store.watch({ key: keys[i] as string }, (resp) => {
        delivered += resp.events.length;
      }),
    );
    await rate(`watch fan-out: ${fmt(W)} watchers, distinct keys`, async () => {
      const n = 300_000;
      const before = delivered;
      // Yield every W puts so deliveries keep up (each watcher then holds one event).
      for (let i = 0; i < n; i++) {
        store.put(keys[i % W] as string, values[i & 1023] as string);
        if (i % W === W - 1) await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (delivered - before !== n) throw new Error(`delivered ${delivered - before} of ${n} events`);
      return n;
    });
    for (const w of watchers) w.cancel();
  },

  // The machine's memory latency, which bounds uniformly random point gets: a get follows a
  // chain of loads that each depend on the one before (probe key → hash slot → record array →
  // record), and over a million keys each one misses the caches and the TLB. A pointer chase
  // through a 256 MB array measures one such dependent miss; the same loads made independent
  // of each other show how much the CPU overlaps when it can.
  async latency() {
    const slots = (256 * 2 ** 20) / 4;
    const a = new Int32Array(slots);
    const lines = slots / 16; // one 64-byte line per step
    const order = shuffled(lines, 7);
    for (let i = 0; i < lines; i++) a[(order[i] as number) * 16] = (order[(i + 1) % lines] as number) * 16;
    const steps = 2_000_000;
    let sink = 0;
    await rate('memory: dependent random loads over 256 MB', () => {
      let p = 0;
      for (let i = 0; i < steps; i++) p = a[p] as number;
      sink += p;
      return steps;
    });
    await rate('memory: independent random loads over 256 MB', () => {
      let acc = 0;
      for (let i = 0; i < steps; i++) acc += a[(order[i % lines] as number) * 16] as number;
      sink += acc;
      return steps;
    });
    if (sink === -1) console.log('(unreachable: keeps the loads from being optimized away)');
  },
};

const section = process.argv[2];
if (section === undefined) {
  console.log(`@flotilla/mvcc: ${fmt(N)} keys x ${VALUE_SIZE} B values, node ${process.version}`);
  for (const name of Object.keys(sections)) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), name], {
      stdio: 'inherit',
    });
    if (r.status !== 0) process.exitCode = 1;
  }
} else {
  const run = sections[section];
  if (run === undefined)
    throw new Error(`unknown section ${section}; one of ${Object.keys(sections).join(', ')}`);
  await run();
}
