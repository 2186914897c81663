/**
 * `pnpm jepsen`: real-mode runs — `flotilla member` processes on 127.0.0.1 behind a fault
 * proxy, the suite's workloads over `KvClient`, the simulation's nemesis schedules, the same
 * checkers — then the summary table.
 *
 *   pnpm jepsen                                   register, 60 s, 3 members, seed 1
 *   pnpm jepsen --workload all --seconds 60       every workload, one after another
 *   pnpm jepsen --workload lock --members 5 --seed 7 --nemesis partition,client-pause
 *   pnpm jepsen --workload register --out /tmp/runs   keep every run's files, passing ones too
 *
 * Options: `--workload W[,W...]|all` (default register), `--seconds N` (default 60), `--members
 * 3|5` (default 3), `--seed S` (default 1), `--nemesis F[,F...]|none` (default: the workload's
 * families), `--out DIR`, `--quiet` (no progress lines). Failing runs are always written, to
 * `--out DIR` or `test/out/`. Exit code 1 when a checker failed or was undecided, 2 on bad
 * arguments, 130 on Ctrl-C (members are stopped and their temp dirs removed first).
 */
import { parseArgs } from 'node:util';
import type { FaultKind } from '../nemesis/schedule.js';
import { DEFAULT_OUT_DIR } from '../report/artifacts.js';
import { formatRunTable, type SummaryRow } from '../report/summary.js';
import { WORKLOADS, type WorkloadName } from '../workloads/types.js';
import { planRealRun, REAL_FAULT_KINDS } from './plan.js';
import { describeFailure, summaryOf, writeRealRun } from './report.js';
import { runReal } from './run.js';

function fail(message: string): never {
  console.error(`jepsen: ${message}`);
  process.exit(2);
}

function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    fail(`unknown ${what} "${value}" (one of ${allowed.join(', ')})`);
  return value as T;
}

function int(what: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) fail(`${what} must be a non-negative integer, got "${value}"`);
  return n;
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      workload: { type: 'string' },
      seconds: { type: 'string' },
      members: { type: 'string' },
      seed: { type: 'string' },
      nemesis: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
const { values } = parsed;
if (values.help === true) {
  console.log(
    'Usage: pnpm jepsen [--workload register|list-append|watch|lock|lease|all] [--seconds 60] [--members 3|5]\n' +
      `                   [--seed S] [--nemesis ${REAL_FAULT_KINDS.join(',')}|none] [--out DIR] [--quiet]`,
  );
  process.exit(0);
}

const workloads: WorkloadName[] =
  values.workload === undefined
    ? ['register']
    : values.workload === 'all'
      ? [...WORKLOADS]
      : values.workload.split(',').map((w) => oneOf('workload', w, WORKLOADS));
const seconds = int('--seconds', values.seconds, 60);
if (seconds < 1) fail('--seconds must be at least 1');
const members = int('--members', values.members, 3);
if (members !== 3 && members !== 5) fail('--members must be 3 or 5');
const seed = int('--seed', values.seed, 1);
const nemeses: FaultKind[] | undefined =
  values.nemesis === undefined
    ? undefined
    : values.nemesis === 'none'
      ? []
      : values.nemesis.split(',').map((f) => oneOf('nemesis', f, REAL_FAULT_KINDS));
const outDir = values.out ?? DEFAULT_OUT_DIR;
const progress = values.quiet === true ? undefined : (line: string) => console.error(`  ${line}`);

// Ctrl-C / SIGTERM: abort the run in progress; it stops its members and removes its dirs.
const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\njepsen: ${sig}, stopping the members`);
    abort.abort();
  });
}

const rows: SummaryRow[] = [];
let failures = 0;
for (const workload of workloads) {
  if (abort.signal.aborted) break;
  const spec = planRealRun(workload, seed, {
    seconds,
    members: members as 3 | 5,
    ...(nemeses === undefined ? {} : { nemeses }),
  });
  console.error(
    `${workload} (seed ${seed}, ${members} members, nemeses ${spec.schedule.kinds.join(',') || 'none'}):`,
  );
  let r: Awaited<ReturnType<typeof runReal>>;
  try {
    r = await runReal(spec, { signal: abort.signal, ...(progress === undefined ? {} : { progress }) });
  } catch (err) {
    // The harness could not run it (a member that never started, a bug): its members are gone.
    failures++;
    console.log(
      `ERROR ${workload} (seed ${seed}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    continue;
  }
  rows.push(summaryOf(r));
  const files = r.valid !== true || values.out !== undefined ? writeRealRun(outDir, r) : undefined;
  if (r.valid !== true) {
    failures++;
    console.log(describeFailure(r, files));
  } else {
    console.error(`  ok: ${r.stats.ops} ops${files === undefined ? '' : `, files in ${files}`}`);
  }
}

console.log('');
console.log(formatRunTable(rows));
console.log(
  `\n${rows.length} real runs (seed ${seed}, ${seconds} s each, ${members} members): ${failures} failed`,
);
if (failures > 0) console.log(`failing runs' files are in ${outDir}`);
process.exit(abort.signal.aborted ? 130 : failures > 0 ? 1 : 0);
