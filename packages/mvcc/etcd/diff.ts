/**
 * Differential test: random operation sequences run on `MvccStore` and on a real etcd 3.4,
 * every answer compared field by field (results, error codes, watch events).
 *
 *   pnpm --filter @flotilla/mvcc etcd-diff                 20 sequences of 80 operations
 *   pnpm --filter @flotilla/mvcc etcd-diff -- --runs 5 --ops 200 --seed 1234
 *
 * Each sequence starts a fresh etcd (127.0.0.1, ports 23990/23991, temporary data directory,
 * removed afterwards). When `etcd` is not on PATH the script says so and exits 0: install it
 * with `apt-get install -y etcd-server` to run it. A failing sequence prints its seed; rerun
 * with `--seed <seed> --runs 1` to replay it exactly.
 *
 * The one case where the store must differ is the transaction that crashes etcd 3.4.23 (a put
 * with ignoreValue/ignoreLease on a key deleted earlier in the same txn): the store answers
 * KEY_NOT_FOUND, and the harness does not send that transaction to etcd.
 */
import { Buffer } from 'node:buffer';
import { isDeepStrictEqual } from 'node:util';
import type { Compare, Op, RangeRequest, TxnRequest, WatchEvent, WatchRequest } from '../src/index.js';
import { MvccStore } from '../src/index.js';
import { EtcdGateway, type WatchOutcome } from './gateway.js';
import { findEtcd, startEtcd } from './server.js';

/** A small seeded generator (xorshift32 with a splitmix-style seed scramble). */
function rng(seed: number): {
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
} {
  let s = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return {
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)] as (typeof xs)[number],
  };
}

type Rng = ReturnType<typeof rng>;

/** Binary-string pools; converted to Uint8Array so non-UTF-8 bytes reach both sides intact. */
const KEYS = ['a', 'b', 'c', 'd', 'ab', 'abc', 'b\0', 'c\xff', '\xff'];
const ENDS = [undefined, undefined, '\0', 'b', 'c', 'd', 'e', 'ac', '\xff', 'a'];
const VALUES = ['', 'v1', 'v2', 'x', 'yy', '\x80\x00'];
const LEASES = [0, 0, 0, 100, 101, 102];
const bin = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const maybe = (s: string | undefined): Uint8Array | undefined => (s === undefined ? undefined : bin(s));

function genRange(r: Rng, rev: number): RangeRequest {
  return {
    key: bin(r.pick(KEYS)),
    ...(r.chance(0.7) ? { rangeEnd: maybe(r.pick(ENDS)) } : {}),
    revision: r.chance(0.6) ? 0 : r.int(-2, rev + 2),
    limit: r.chance(0.6) ? 0 : r.int(-1, 3),
    sortOrder: r.pick(['none', 'none', 'ascend', 'descend'] as const),
    sortTarget: r.pick(['key', 'key', 'version', 'createRevision', 'modRevision', 'value'] as const),
    keysOnly: r.chance(0.2),
    countOnly: r.chance(0.15),
    minModRevision: r.chance(0.85) ? 0 : r.int(-1, rev),
    maxModRevision: r.chance(0.85) ? 0 : r.int(-1, rev),
    minCreateRevision: r.chance(0.85) ? 0 : r.int(-1, rev),
    maxCreateRevision: r.chance(0.85) ? 0 : r.int(-1, rev),
  };
}

function genPut(r: Rng): Op {
  const ignoreValue = r.chance(0.2);
  const ignoreLease = r.chance(0.2);
  return {
    put: {
      key: bin(r.pick(KEYS)),
      value: bin(ignoreValue && r.chance(0.8) ? '' : r.pick(VALUES)),
      lease: ignoreLease && r.chance(0.8) ? 0 : r.pick(LEASES),
      prevKv: r.chance(0.5),
      ignoreValue,
      ignoreLease,
    },
  };
}

function genCompare(r: Rng, rev: number): Compare {
  const base = { key: bin(r.pick(KEYS)), ...(r.chance(0.3) ? { rangeEnd: maybe(r.pick(ENDS)) } : {}) };
  const result = r.pick(['equal', 'notEqual', 'greater', 'less'] as const);
  if (r.chance(0.3)) return { ...base, target: 'value', result, value: bin(r.pick(VALUES)) };
  const target = r.pick(['version', 'createRevision', 'modRevision', 'lease'] as const);
  const value = target === 'lease' ? r.pick(LEASES) : target === 'version' ? r.int(0, 3) : r.int(0, rev + 1);
  return { ...base, target, result, value };
}

function genOp(r: Rng, rev: number, depth: number): Op {
  const k = r.int(0, depth < 2 ? 9 : 8);
  if (k <= 3) return genPut(r);
  if (k <= 5) return { range: genRange(r, rev) };
  if (k <= 8) {
    const end = r.chance(0.6) ? r.pick(ENDS) : undefined;
    return {
      deleteRange: {
        key: bin(r.pick(KEYS)),
        ...(end === undefined ? {} : { rangeEnd: bin(end) }),
        prevKv: r.chance(0.5),
      },
    };
  }
  return { txn: genTxn(r, rev, depth + 1) };
}

function genTxn(r: Rng, rev: number, depth: number): TxnRequest {
  const n = (max: number): number => r.int(0, max);
  return {
    compare: Array.from({ length: n(2) }, () => genCompare(r, rev)),
    success: Array.from({ length: n(3) }, () => genOp(r, rev, depth)),
    failure: Array.from({ length: n(2) }, () => genOp(r, rev, depth)),
  };
}

/** JSON with byte arrays shown as latin1 strings, for comparing and printing. */
function canon(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v instanceof Uint8Array ? `b:${Buffer.from(v).toString('latin1')}` : v,
  );
}

type Outcome = { ok: unknown } | { error: string };

/** Runs `f`, turning a coded error into `{ error: code }`; `onCrashCase` flags etcd's panic case. */
async function outcome(f: () => unknown, onCrashCase?: () => void): Promise<Outcome> {
  try {
    return { ok: await f() };
  } catch (err) {
    const { code, details } = err as { code?: unknown; details?: { deletedInTxn?: unknown } };
    if (details?.deletedInTxn === true) onCrashCase?.();
    if (typeof code === 'string') return { error: code };
    throw err;
  }
}

const flatten = async (store: MvccStore, req: WatchRequest): Promise<WatchOutcome> => {
  const events: WatchEvent[] = [];
  let canceled = false;
  let compactRevision = 0;
  const w = store.watch(req, (resp) => {
    events.push(...resp.events);
    if (resp.canceled === true) {
      canceled = true;
      compactRevision = resp.compactRevision ?? 0;
    }
  });
  // Deliveries are microtasks; one macrotask turn runs them all.
  await new Promise((resolve) => setImmediate(resolve));
  w.cancel();
  return { events, canceled, compactRevision };
};

async function runSequence(
  url: string,
  seed: number,
  ops: number,
  log: (s: string) => void,
): Promise<boolean> {
  const r = rng(seed);
  const etcd = new EtcdGateway(url);
  await etcd.grantLease(100, 3600);
  await etcd.grantLease(101, 3600);
  // etcd's lease grants do not create revisions, so both sides start at revision 1.
  const store = new MvccStore({ leaseExists: (id) => id === 100 || id === 101 });
  let compacted = 0;
  const stats = new Map<string, number>();
  const fail = (i: number, what: string, ours: unknown, theirs: unknown): false => {
    log(`seed ${seed} op ${i}: ${what}\n  mvcc: ${canon(ours)}\n  etcd: ${canon(theirs)}`);
    return false;
  };
  for (let i = 0; i < ops; i++) {
    const rev = store.revision;
    const kind = r.int(0, 19);
    let ours: Outcome;
    let theirs: Outcome;
    let what: string;
    if (kind < 6) {
      const op = genPut(r);
      if (!('put' in op)) continue;
      const p = op.put;
      what = `put ${canon(p)}`;
      ours = await outcome(() => store.put(p.key, p.value ?? '', p));
      theirs = await outcome(() => etcd.put(p));
    } else if (kind < 10) {
      const q = genRange(r, rev);
      what = `range ${canon(q)}`;
      ours = await outcome(() => store.range(q.key, q.rangeEnd, q));
      theirs = await outcome(() => etcd.range(q));
    } else if (kind < 12) {
      const key = bin(r.pick(KEYS));
      const end = maybe(r.chance(0.6) ? r.pick(ENDS) : undefined);
      const prevKv = r.chance(0.5);
      what = `deleteRange ${canon({ key, end, prevKv })}`;
      ours = await outcome(() => store.deleteRange(key, end, { prevKv }));
      theirs = await outcome(() => etcd.deleteRange(key, end, prevKv));
    } else if (kind < 19) {
      const t = genTxn(r, rev, 0);
      what = `txn ${canon(t)}`;
      let crash = false;
      ours = await outcome(
        () => store.txn(t),
        () => {
          crash = true;
        },
      );
      if (crash) {
        log(`seed ${seed} op ${i}: skipped a txn that crashes etcd 3.4.23 (mvcc: KEY_NOT_FOUND)`);
        continue;
      }
      theirs = await outcome(() => etcd.txn(t));
    } else {
      const target = r.int(Math.max(0, compacted - 1), rev + 1);
      what = `compact ${target}`;
      ours = await outcome(() => store.compact(target));
      theirs = await outcome(() => etcd.compact(target));
      if ('ok' in ours) compacted = target;
    }
    if (!isDeepStrictEqual(JSON.parse(canon(ours)), JSON.parse(canon(theirs))))
      return fail(i, what, ours, theirs);
    const tag = 'error' in ours ? ours.error : 'ok';
    stats.set(tag, (stats.get(tag) ?? 0) + 1);
  }
  // Watches from random retained (and compacted) revisions over random ranges.
  let watched = 0;
  for (let i = 0; i < 4; i++) {
    const end = r.chance(0.7) ? r.pick(ENDS) : undefined;
    const req: WatchRequest = {
      key: bin(r.pick(KEYS)),
      ...(end === undefined ? {} : { rangeEnd: bin(end) }),
      startRevision: r.int(Math.max(1, store.compactRevision - 1), store.revision),
      prevKv: r.chance(0.5),
      filters: r.chance(0.2) ? [r.pick(['noPut', 'noDelete'] as const)] : [],
    };
    const ours = await flatten(store, req);
    const theirs = await etcd.watch(
      req,
      store.revision,
      ours.events.length === 0 && !ours.canceled ? 150 : 2000,
    );
    if (canon(ours) !== canon(theirs)) return fail(ops + i, `watch ${canon(req)}`, ours, theirs);
    watched += ours.events.length;
    if (process.argv.includes('--verbose'))
      log(`  watch ${canon(req)}: ${ours.events.length} events, canceled ${ours.canceled}`);
  }
  log(
    `seed ${seed}: outcomes ${[...stats].map(([k, v]) => `${k}=${v}`).join(' ')}, watch events ${watched}, revision ${store.revision}`,
  );
  return true;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(v)) throw new Error(`--${name} needs an integer`);
  return v;
}

async function main(): Promise<void> {
  const bin = findEtcd();
  if (bin === undefined) {
    console.log(
      'etcd-diff: etcd is not installed (apt-get install -y etcd-server); nothing to compare, skipping.',
    );
    return;
  }
  const runs = arg('runs', 20);
  const ops = arg('ops', 80);
  const first = arg('seed', Date.now() % 1_000_000);
  let failed = 0;
  for (let n = 0; n < runs; n++) {
    const seed = first + n;
    const server = await startEtcd(bin, 23990);
    try {
      const ok = await runSequence(server.url, seed, ops, (s) => console.log(s));
      if (!ok) failed++;
      console.log(`seed ${seed}: ${ok ? 'same' : 'DIFFERENT'}`);
    } finally {
      await server.stop();
    }
  }
  console.log(
    `etcd-diff: ${runs - failed}/${runs} sequences of ${ops} operations matched etcd (seeds ${first}..${first + runs - 1})`,
  );
  if (failed > 0) process.exitCode = 1;
}

await main();
