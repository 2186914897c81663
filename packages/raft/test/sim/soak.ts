/**
 * Runs many simulation seeds outside the test suite, or replays one with a full trace.
 *
 *   pnpm --filter @flotilla/raft soak -- --seeds 5000 --from 1     (thousands of seeds)
 *   node --conditions=@flotilla/source --import tsx packages/raft/test/sim/soak.ts --seed 1234 --trace
 *
 * Options: `--seeds N` (default 1000), `--from S` (first seed, default 1), `--steps N` (fault
 * phase length, default 2500), `--seed S` (run only S), `--trace` (print every event),
 * `--broken ackBeforePersist|forgetVote` (drive with a deliberately wrong host). Exits 1 on the
 * first failure, printing the seed, the replay command and the last events.
 */
import type { BrokenDriver } from './cluster.js';
import { runSimulation, SimFailure } from './run.js';

function arg(name: string): string | undefined {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 ? process.argv[k + 1] : undefined;
}

function num(name: string, dflt: number): number {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`--${name} must be an integer, got ${v}`);
  return n;
}

const only = arg('seed');
const from = only === undefined ? num('from', 1) : Number(only);
const count = only === undefined ? num('seeds', 1000) : 1;
const steps = num('steps', 2500);
const traceOn = process.argv.includes('--trace');
const brokenArg = arg('broken');
if (brokenArg !== undefined && brokenArg !== 'ackBeforePersist' && brokenArg !== 'forgetVote') {
  throw new Error(`--broken must be ackBeforePersist or forgetVote, got ${brokenArg}`);
}
const broken: BrokenDriver | undefined = brokenArg;

const t0 = performance.now();
let ticks = 0;
let committed = 0;
for (let seed = from; seed < from + count; seed++) {
  try {
    const r = runSimulation(seed, {
      steps,
      ...(broken === undefined ? {} : { broken }),
      ...(traceOn ? { trace: (l: string) => console.log(l) } : {}),
    });
    ticks += r.faultTicks + r.livenessTicks;
    committed += r.committed;
    if (only !== undefined) console.log(JSON.stringify(r));
  } catch (err) {
    console.error(err instanceof SimFailure ? err.message : err);
    process.exit(1);
  }
  const done = seed - from + 1;
  if (only === undefined && done % 100 === 0) {
    const s = (performance.now() - t0) / 1000;
    console.log(
      `${done}/${count} seeds ok (${s.toFixed(1)} s, ${ticks} ticks, ${committed} entries committed)`,
    );
  }
}
const s = (performance.now() - t0) / 1000;
console.log(`${count} seed(s) from ${from} passed in ${s.toFixed(1)} s`);
