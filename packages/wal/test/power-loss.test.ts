/**
 * The power-loss property: random Raft-like calls against a WAL on a SimFileSystem, crashes at
 * random points (before or after any file operation: mid-write, between a write and its fsync,
 * in the middle of a segment cut or a snapshot), with random tearing, and injected fsync and
 * write failures. After every recovery:
 * - every call that resolved with a durability promise (a mustSync save, a snapshot) is there;
 * - the state is exactly the one after some prefix of the calls that were issued (nothing that
 *   was never written appears, and nothing is half-applied);
 * - Raft can restart from it (contiguous entries, non-decreasing terms, commit in range).
 *
 * `WAL_POWER_LOSS_RUNS` sets the number of runs (default 200; `pnpm --filter @flotilla/wal soak`
 * runs thousands). A failure prints fast-check's seed and path: rerun with
 * `WAL_POWER_LOSS_SEED=<seed> WAL_POWER_LOSS_PATH=<path>`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { type Random, seededRandom } from '@flotilla/raft';
import { openReplicaStorage, type SimFault, SimFileSystem, type TearMode } from '@flotilla/wal';
import fc from 'fast-check';
import { assertRaftAcceptable, type View, viewOf } from './helpers.js';
import { applyOp, EMPTY_VIEW, isDurable, nextOp, type Op, runOp } from './model.js';

const RUNS = Number(process.env.WAL_POWER_LOSS_RUNS ?? 200);
const TEAR_MODES: readonly TearMode[] = ['drop', 'torn', 'garbage', 'pages'];

interface Issued {
  readonly op: Op;
  /** The view if this op and every one before it survived. */
  readonly after: View;
  resolved: boolean;
}

const key = (v: View): string => JSON.stringify(v);

/** One run: several life cycles of open → calls → crash (or fault) → recover and check. */
async function run(seed: number, segmentBytes: number, cycles: number): Promise<void> {
  const rng = seededRandom(seed);
  const fs = new SimFileSystem({ rng: rng.fork() });
  const dir = '/node';
  let durable: View = EMPTY_VIEW; // the state recovered last time (all of it was durable)
  let accepted: View = EMPTY_VIEW;
  for (let cycle = 0; cycle < cycles; cycle++) {
    const rs = await openReplicaStorage(dir, { fs, segmentBytes });
    const context = `seed ${seed}, cycle ${cycle}`;
    assert.deepEqual(viewOf(rs), durable, `${context}: reopening must not change the state`);
    const issued: Issued[] = [];
    const promises: Promise<void>[] = [];
    accepted = durable;
    armFaults(fs, rng);
    const crashesBefore = fs.stats.crashes;
    let failed = false;
    for (let burst = 0; burst < rng.int(2, 7) && !failed; burst++) {
      // A burst of calls issued without waiting, as a busy replica does: they group-commit.
      for (let i = rng.int(1, 7); i > 0; i--) {
        const op = nextOp(accepted, rng);
        accepted = applyOp(accepted, op);
        const rec: Issued = { op, after: accepted, resolved: false };
        issued.push(rec);
        promises.push(
          runOp(rs, op).then(
            () => {
              rec.resolved = true;
            },
            (err: unknown) => {
              // Only I/O failures (injected or from the crash) may reject a valid call.
              assert.ok(isFlotillaError(err, 'WAL_IO'), `${context}: unexpected rejection ${String(err)}`);
              failed = true;
            },
          ),
        );
      }
      if (rng.chance(0.15)) break; // crash with calls in flight
      await Promise.allSettled(promises);
      if (fs.stats.crashes !== crashesBefore) break;
    }
    fs.clearFaults();
    const crashed = fs.stats.crashes !== crashesBefore || rng.chance(0.8);
    if (fs.stats.crashes === crashesBefore && crashed) {
      fs.crash({
        rng,
        writes: rng.pick([...TEAR_MODES, 'random'] as const),
        keepDirectoryChange: rng.next(),
      });
    }
    await Promise.allSettled(promises);
    await rs.close().catch(() => undefined);

    // What must be there: everything up to the last call that resolved with a durability promise.
    let mustHave = -1;
    for (const [i, rec] of issued.entries()) if (rec.resolved && isDurable(rec.op)) mustHave = i;
    const recovered = await openReplicaStorage(dir, { fs, segmentBytes });
    const got = viewOf(recovered);
    assertRaftAcceptable(recovered, context);
    const candidates = [durable, ...issued.map((r) => r.after)].slice(mustHave + 1);
    const match = candidates.findIndex((v) => key(v) === key(got));
    assert.ok(
      match >= 0,
      `${context}: recovered state is not the state after any allowed prefix (must have ${mustHave + 1} of ${issued.length} calls)\n` +
        `got ${key(got)}\nlast acknowledged ${key(candidates[0] ?? durable)}`,
    );
    durable = got;
    await recovered.close();
  }
}

/** Sometimes arms a crash at a random upcoming file operation, or an fsync or write failure. */
function armFaults(fs: SimFileSystem, rng: Random): void {
  const roll = rng.next();
  if (roll < 0.6) {
    const at = rng.int(1, 80);
    const fault: SimFault = {
      crash: rng.chance(0.5) ? 'before' : 'after',
      options: { writes: rng.pick(TEAR_MODES), keepDirectoryChange: rng.next() },
    };
    let n = 0;
    fs.setFaultHook(() => (++n === at ? fault : undefined));
  } else if (roll < 0.7) {
    fs.failNextSync();
  } else if (roll < 0.8) {
    const at = rng.int(1, 30);
    let n = 0;
    fs.setFaultHook((op) =>
      op.kind === 'write' && ++n === at
        ? { fail: 'ENOSPC', partialBytes: rng.int(0, (op.bytes ?? 0) + 1) }
        : undefined,
    );
  }
}

test('power loss: acknowledged saves survive, nothing else appears, Raft can restart', async () => {
  const seed = process.env.WAL_POWER_LOSS_SEED;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom(160, 400, 1024, 64 * 1024),
      fc.integer({ min: 2, max: 5 }),
      run,
    ),
    {
      numRuns: RUNS,
      includeErrorInReport: true,
      ...(seed === undefined ? {} : { seed: Number(seed), path: process.env.WAL_POWER_LOSS_PATH }),
    },
  );
});
