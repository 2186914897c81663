/**
 * `pnpm soak`: many deterministic simulated runs, then the summary table.
 *
 *   pnpm soak --seeds 200                      every workload with seeds 1..200
 *   pnpm soak --seeds 50 --from 1000 --workload lock,lease
 *   pnpm soak --workload register --seed 17    one run (what a failing run prints to replay it)
 *   pnpm soak --seeds 20 --profile partitions --fault local-reads
 *   pnpm soak --seeds 20 --out /tmp/runs       keep every run's files, passing ones too
 *
 * Options: `--seeds N` (default 20), `--from S` (default 1), `--seed S` (= `--from S --seeds 1`),
 * `--workload W[,W...]` (default all), `--profile P`, `--fault F` (repeatable), `--load-ms MS`,
 * `--members 3|5`, `--out DIR`, `--verbose` (a line per run). Failing runs are always written,
 * to `--out DIR` or `test/out/`. Exits 1 when a run failed or was undecided.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_OUT_DIR } from '../report/artifacts.js';
import { formatAggregateTable, formatRunTable, type SummaryRow } from '../report/summary.js';
import { WORKLOADS, type WorkloadName } from '../workloads/types.js';
import { FAULT_NAMES, type FaultName, PROFILES, type ProfileName, planRun } from './plan.js';
import { describeFailure, summaryOf, writeRun } from './report.js';
import { runSimulation } from './run.js';

function fail(message: string): never {
  console.error(`soak: ${message}`);
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
  if (!Number.isSafeInteger(n)) fail(`${what} must be an integer, got "${value}"`);
  return n;
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    from: { type: 'string' },
    seed: { type: 'string' },
    workload: { type: 'string' },
    profile: { type: 'string' },
    fault: { type: 'string', multiple: true },
    'load-ms': { type: 'string' },
    members: { type: 'string' },
    out: { type: 'string' },
    verbose: { type: 'boolean' },
  },
});

const single = values.seed !== undefined;
const from = int('--seed/--from', values.seed ?? values.from, 1);
const count = single ? 1 : int('--seeds', values.seeds, 20);
const workloads: WorkloadName[] =
  values.workload === undefined || values.workload === 'all'
    ? [...WORKLOADS]
    : values.workload.split(',').map((w) => oneOf('workload', w, WORKLOADS));
const profile: ProfileName = oneOf('profile', values.profile ?? 'default', PROFILES);
const faults: FaultName[] = (values.fault ?? []).map((f) => oneOf('fault', f, FAULT_NAMES));
const members = values.members === undefined ? undefined : int('--members', values.members, 3);
if (members !== undefined && members !== 3 && members !== 5) fail('--members must be 3 or 5');
const loadMs = values['load-ms'] === undefined ? undefined : int('--load-ms', values['load-ms'], 3000);
const outDir = values.out ?? DEFAULT_OUT_DIR;

const rows: SummaryRow[] = [];
const failures: string[] = [];
const started = performance.now();
for (let seed = from; seed < from + count; seed++) {
  for (const workload of workloads) {
    const spec = planRun(workload, seed, {
      profile,
      faults,
      ...(loadMs === undefined ? {} : { loadMs }),
      ...(members === undefined ? {} : { members: members as 3 | 5 }),
    });
    const t = performance.now();
    const r = await runSimulation(spec);
    const ms = performance.now() - t;
    const row = summaryOf(r);
    rows.push({ ...row, extra: { 'wall s': (ms / 1000).toFixed(1) } });
    const files = r.valid !== true || values.out !== undefined ? writeRun(outDir, r) : undefined;
    if (r.valid !== true) {
      const text = describeFailure(r, files);
      failures.push(text);
      console.log(text);
    } else if (values.verbose === true) {
      console.log(
        `ok   ${r.runId}  ${r.stats.ops} ops  ${(ms / 1000).toFixed(1)} s${files ? `  ${files}` : ''}`,
      );
    }
  }
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log('');
if (values.verbose === true) console.log(`${formatRunTable(rows)}\n`);
console.log(formatAggregateTable(rows));
console.log(
  `\n${rows.length} runs (seeds ${from}..${from + count - 1}, profile ${profile}${faults.length > 0 ? `, faults ${faults.join(', ')}` : ''}) in ${seconds} s wall: ${failures.length} failed`,
);
if (failures.length > 0) {
  console.log(`failing runs' files are in ${outDir}`);
  process.exit(1);
}
