/**
 * Recovery hands Raft a `MemoryStorage` whose recovered entries stay in the segment buffers and
 * become objects only when read. It must behave exactly as a plain `MemoryStorage` holding the
 * same log. This property builds one log both ways (the `MemoryStorage` of the WAL that wrote
 * it, and the storage of the same directory reopened) and runs the same random calls on both,
 * comparing every answer and every error.
 *
 * `WAL_STORAGE_RUNS` sets the number of runs (default 150). A failure prints fast-check's seed
 * and path: rerun with `WAL_STORAGE_SEED=<seed> WAL_STORAGE_PATH=<path>`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { type Entry, MemoryStorage, type Random, seededRandom } from '@flotilla/raft';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import fc from 'fast-check';
import { cs, ent, hex, hs, snap } from './helpers.js';

const RUNS = Number(process.env.WAL_STORAGE_RUNS ?? 150);
const DIR = '/data/r1';

/** Any answer or error of a storage call, in a form `deepEqual` compares. */
function outcome(call: () => unknown): unknown {
  try {
    const v = call();
    const isEntry = (e: unknown): e is Entry => typeof e === 'object' && e !== null && 'data' in e;
    if (Array.isArray(v) && v.every(isEntry)) return v.map((e) => [e.index, e.term, e.type, hex(e.data)]);
    return v ?? null;
  } catch (err) {
    if (isFlotillaError(err)) return { error: err.code };
    throw err;
  }
}

function view(st: MemoryStorage): unknown {
  const first = st.firstIndex();
  const last = st.lastIndex();
  const meta = st.snapshot().metadata;
  return {
    first,
    last,
    initial: st.initialState(),
    snapshot: [meta.index, meta.term, hex(st.snapshot().data)],
    entries: outcome(() => st.entries(first, last + 1)),
    terms: Array.from({ length: last - first + 2 }, (_, k) => st.term(first - 1 + k)),
  };
}

/** Writes a random log through a WAL: a possible snapshot, saves with conflicting suffixes, compaction. */
async function writeLog(fs: SimFileSystem, rng: Random, segmentBytes: number): Promise<MemoryStorage> {
  const rs = await openReplicaStorage(DIR, { fs, segmentBytes });
  let term = 1;
  let last = 0;
  if (rng.chance(0.4)) {
    last = rng.int(1, 20);
    term = rng.int(1, 4);
    await rs.save({ snapshot: snap(last, term), entries: [], hardState: hs(term, 1, last), mustSync: true });
  }
  const first = last + 1;
  for (let s = rng.int(0, 12); s > 0; s--) {
    // Start anywhere from the first entry to right after the last: a conflicting suffix is cut.
    const from = rng.int(first, last + 2);
    if (rng.chance(0.3)) term += rng.int(1, 3);
    const entries: Entry[] = [];
    for (let i = from; i < from + rng.int(1, 40); i++) {
      entries.push(
        ent(i, term, rng.chance(0.2) ? new Uint8Array(0) : `e${i}-t${term}`.repeat(rng.int(1, 30))),
      );
    }
    if (rng.chance(0.2)) entries[0] = { ...(entries[0] as Entry), type: 'confChange' };
    last = from + entries.length - 1;
    await rs.save({
      entries,
      hardState: rng.chance(0.5) ? hs(term, 2, from - 1) : undefined,
      mustSync: true,
    });
  }
  if (last > first && rng.chance(0.3)) {
    // A local snapshot and compaction: recovery then starts after it.
    const at = rng.int(first, last);
    await rs.saveSnapshot(snap(at, rs.storage.term(at)));
    if (rng.chance(0.5)) await rs.compact(at);
  }
  await rs.close();
  // Recovery starts the log after the newest snapshot (as etcd does): the live storage keeps
  // the entries a local snapshot covers until compact() is called.
  const st = rs.storage;
  const snapIndex = st.snapshot().metadata.index;
  if (snapIndex >= st.firstIndex()) st.compact(snapIndex);
  return st;
}

/** One random call, made on both storages with the same arguments; the answers must match. */
function step(rng: Random, model: MemoryStorage, got: MemoryStorage, round: number): void {
  const first = model.firstIndex();
  const last = model.lastIndex();
  const near = (lo: number, hi: number): number => rng.int(lo, hi + 1);
  const both = (what: string, call: (st: MemoryStorage) => unknown): void => {
    assert.deepEqual(
      outcome(() => call(got)),
      outcome(() => call(model)),
      `${what} (call ${round})`,
    );
  };
  switch (rng.int(0, 8)) {
    case 0: {
      const lo = near(first - 2, last + 2);
      const hi = near(lo - 1, last + 3);
      const max = rng.pick([undefined, 0, 1, 40, 200, 5000]);
      both(`entries(${lo}, ${hi}, ${max})`, (st) => st.entries(lo, hi, max));
      break;
    }
    case 1: {
      const i = near(first - 3, last + 2);
      both(`term(${i})`, (st) => st.term(i));
      break;
    }
    case 2: {
      // New entries from anywhere around the log: appends, conflicting suffixes, gaps, compacted prefixes.
      const from = near(first - 3, last + 2);
      const term = rng.int(1, 12);
      const entries = Array.from({ length: rng.int(1, 6) }, (_, k) => ent(from + k, term, `new${round}`));
      both(`append(${from}..)`, (st) => st.append(entries));
      break;
    }
    case 3: {
      const i = near(first - 2, last + 1);
      both(`compact(${i})`, (st) => st.compact(i));
      break;
    }
    case 4: {
      const s = snap(near(first - 2, last + 3), rng.int(1, 12), `applied${round}`);
      both(`applySnapshot(${s.metadata.index})`, (st) => st.applySnapshot(s));
      break;
    }
    case 5: {
      const i = near(first - 2, last + 1);
      const data = new TextEncoder().encode(`created${round}`);
      both(`createSnapshot(${i})`, (st) => {
        const s = st.createSnapshot(i, cs([1, 2]), data);
        return [s.metadata.index, s.metadata.term];
      });
      break;
    }
    case 6: {
      const h = hs(rng.int(1, 9), rng.int(0, 3), rng.int(0, 9));
      both('setHardState', (st) => st.setHardState(h));
      break;
    }
    default:
      both('firstIndex/lastIndex', (st) => [st.firstIndex(), st.lastIndex()]);
  }
  assert.deepEqual(view(got), view(model), `state after call ${round}`);
}

async function run(seed: number, segmentBytes: number): Promise<void> {
  const rng = seededRandom(seed);
  const fs = new SimFileSystem({ rng: rng.fork() });
  const model = await writeLog(fs, rng, segmentBytes);
  const again = await openReplicaStorage(DIR, { fs, segmentBytes });
  const got = again.storage;
  assert.deepEqual(view(got), view(model), `seed ${seed}: the recovered storage holds the written log`);
  for (let round = 0; round < 60; round++) step(rng, model, got, round);
  await again.close();
}

describe('recovered storage', () => {
  test('behaves exactly as MemoryStorage on random calls', async () => {
    const seed = process.env.WAL_STORAGE_SEED;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(160, 1024, 64 * 1024), run),
      {
        numRuns: RUNS,
        ...(seed === undefined ? {} : { seed: Number(seed), path: process.env.WAL_STORAGE_PATH }),
      },
    );
  });

  test('overrides every method of MemoryStorage (its own state would be wrong)', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs });
    await rs.save({ entries: [ent(1, 1)], mustSync: true });
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs });
    const proto: unknown = Object.getPrototypeOf(again.storage);
    assert.ok(again.storage instanceof MemoryStorage);
    assert.notEqual(proto, MemoryStorage.prototype, 'a reopened WAL hands out its lazy storage');
    for (const name of Object.getOwnPropertyNames(MemoryStorage.prototype)) {
      if (name === 'constructor') continue;
      assert.ok(Object.hasOwn(proto as object, name), `MemoryStorage.${name} is not overridden`);
    }
    await again.close();
  });

  test('entries stay readable after a compaction inside the recovered segments', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 512 });
    for (let i = 1; i <= 60; i++) await rs.save({ entries: [ent(i, 1, 'x'.repeat(40))], mustSync: true });
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 512 });
    const st = again.storage;
    await again.saveSnapshot(snap(50, 1));
    await again.compact(50);
    assert.equal(st.firstIndex(), 51);
    assert.deepEqual(
      st.entries(51, 61).map((e) => [e.index, new TextDecoder().decode(e.data)]),
      Array.from({ length: 10 }, (_, k) => [51 + k, 'x'.repeat(40)]),
    );
    await again.close();
  });
});
