/**
 * The simulation harness itself: the pausable node clock, nemesis schedules as data, exact
 * replay from a seed, the summary tables, and the `pnpm soak` entry point (its files and exit
 * codes).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '@flotilla/raft';
import { SimClock } from '@flotilla/replica/testing';
import { formatHistory } from '../src/history/jsonl.js';
import { describeEvent, formatSchedule, generateSchedule } from '../src/nemesis/schedule.js';
import { formatAggregateTable, formatRunTable } from '../src/report/summary.js';
import { NodeClock } from '../src/sim/node-clock.js';
import { planRun, replayCommand } from '../src/sim/plan.js';
import { describeFailure, summaryOf } from '../src/sim/report.js';
import { runSimulation } from '../src/sim/run.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

test('a paused node clock holds its timers and runs them in order on resume', () => {
  const base = new SimClock();
  const clock = new NodeClock(base);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('a'), 10);
  clock.setTimeout(() => fired.push('b'), 20);
  const cleared = clock.setTimeout(() => fired.push('never'), 15);
  clock.clearTimeout(cleared);
  clock.pause();
  base.advance(50);
  assert.equal(fired.length, 0, 'nothing runs while paused');
  assert.equal(clock.now(), 50, 'time keeps counting, as a monotonic clock does');
  clock.resume();
  base.advance(0);
  assert.deepEqual(fired, ['a', 'b']);
  clock.skew.setRate(2);
  clock.setTimeout(() => fired.push('fast'), 10);
  base.advance(5);
  assert.deepEqual(
    fired,
    ['a', 'b', 'fast'],
    'a clock running at rate 2 fires a 10 ms timer after 5 base ms',
  );
});

test('a nemesis schedule is data: a function of its seed, sorted, inside the load phase', () => {
  const options = {
    kinds: ['partition', 'crash', 'clock', 'membership', 'disk', 'client-pause'] as const,
    durationMs: 3000,
  };
  const a = generateSchedule(seededRandom(5), options);
  const b = generateSchedule(seededRandom(5), options);
  assert.deepEqual(a, b);
  assert.ok(a.events.length > 10);
  assert.ok(a.events.every((e, i) => e.at <= 3000 && (i === 0 || (a.events[i - 1]?.at ?? 0) <= e.at)));
  assert.match(
    formatSchedule(a),
    /^nemesis partition, crash, clock, membership, disk, client-pause over 3000 ms/,
  );
  assert.equal(describeEvent({ at: 420, type: 'partition', shape: 'ring' }), '+420ms partition shape=ring');
});

test('a run replays exactly from its seed', async () => {
  const spec = planRun('list-append', 11, { loadMs: 800 });
  const first = await runSimulation(spec);
  const second = await runSimulation(planRun('list-append', 11, { loadMs: 800 }));
  assert.equal(first.valid, true);
  assert.ok(first.stats.ok > 10, `the run did work: ${JSON.stringify(first.stats)}`);
  assert.equal(formatHistory(second.record.history), formatHistory(first.record.history));
  assert.deepEqual(second.nemesisLog, first.nemesisLog);
  assert.equal(first.replay, 'pnpm soak --workload list-append --seed 11 --load-ms 800');
  assert.equal(
    replayCommand(planRun('lock', 3, { profile: 'client-pauses', faults: ['lock-no-recheck'], members: 5 })),
    'pnpm soak --workload lock --seed 3 --profile client-pauses --fault lock-no-recheck --members 5',
  );
  const table = formatRunTable([summaryOf(first)]);
  assert.match(table, /run\s+workload\s+nemeses\s+ops\s+ok\/fail\/info\s+verdicts/);
  assert.match(table, /list-append-11\s+list-append/);
  assert.match(formatAggregateTable([summaryOf(first), summaryOf(second)]), /list-append\s+2\s+/);
});

test('one-entry messages may cost a reordering network many messages per catch-up, short of a storm (register seed 40224)', async () => {
  // Three learners caught up with one entry per message over a network that reorders: each
  // overtaken append sends the leader back to probing (see messageBudget in src/sim/run.ts).
  const spec = planRun('register', 40224);
  assert.equal(spec.node.raft?.maxSizePerMsg, 0);
  const r = await runSimulation(spec);
  assert.equal(r.valid, true, describeFailure(r));
  assert.ok(r.stats.messages > 400_000, `delivered ${r.stats.messages} messages`);
});

function soak(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    ['--conditions=@flotilla/source', '--import', 'tsx', 'test/src/sim/soak.ts', ...args],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('pnpm soak keeps every run with --out, ends with the table, and exits 1 on a failure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-soak-'));
  try {
    const ok = soak(['--workload', 'lease', '--seeds', '2', '--from', '3', '--load-ms', '600', '--out', dir]);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /workload\s+runs\s+nemeses\s+ops\s+ok\/fail\/info\s+checker verdicts/);
    assert.match(ok.out, /lease\s+2\s+/);
    assert.deepEqual(readdirSync(dir).sort(), ['lease-3', 'lease-4']);
    for (const f of ['history.jsonl', 'run.json', 'nemesis.txt', 'explanation.txt'])
      assert.ok(existsSync(join(dir, 'lease-3', f)), f);
    const run = JSON.parse(readFileSync(join(dir, 'lease-3', 'run.json'), 'utf8')) as { replay: string };
    assert.equal(run.replay, 'pnpm soak --workload lease --seed 3 --load-ms 600');

    const bad = soak([
      '--workload',
      'register',
      '--seed',
      '1',
      '--profile',
      'partitions',
      '--fault',
      'local-reads',
      '--out',
      dir,
    ]);
    assert.equal(bad.status, 1, bad.out);
    assert.match(bad.out, /FAIL register-1-partitions-local-reads \(seed 1\): linearizability/);
    assert.match(
      bad.out,
      /replay: pnpm soak --workload register --seed 1 --profile partitions --fault local-reads/,
    );
    assert.ok(existsSync(join(dir, 'register-1-partitions-local-reads', 'explanation.txt')));

    const usage = soak(['--workload', 'nope']);
    assert.equal(usage.status, 2);
    assert.match(usage.out, /unknown workload "nope"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
