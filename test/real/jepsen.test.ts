/**
 * The short real-mode run of CI: three `flotilla member` processes on 127.0.0.1 behind the
 * fault proxy, 10 s of register and of list-append load each under partitions and SIGKILL
 * crashes, then the checkers. Each run is bounded (the test times out), and stops its members
 * and removes its temp dir whatever happens (`runReal`). A failing run writes its files to
 * `test/out/<run-id>/` and the assertion prints the seed and the replay command.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateHistory } from '../src/history/validate.js';
import { planRealRun } from '../src/real/plan.js';
import { describeFailure, writeRealRun } from '../src/real/report.js';
import { runReal } from '../src/real/run.js';
import { DEFAULT_OUT_DIR } from '../src/report/artifacts.js';
import type { WorkloadName } from '../src/workloads/types.js';

const SECONDS = 10;
const SEED = Number(process.env.JEPSEN_SEED ?? 2);

for (const workload of ['register', 'list-append'] as const satisfies readonly WorkloadName[]) {
  test(`real ${workload}: ${SECONDS} s under partitions and crashes passes every checker`, {
    timeout: 150_000,
  }, async () => {
    const spec = planRealRun(workload, SEED, { seconds: SECONDS, nemeses: ['partition', 'crash'] });
    assert.ok(
      spec.schedule.events.some((e) => e.type === 'partition'),
      'the plan partitions',
    );
    assert.ok(
      spec.schedule.events.some((e) => e.type === 'crash'),
      'the plan crashes members',
    );
    const r = await runReal(spec);
    const files = r.valid === true ? undefined : writeRealRun(DEFAULT_OUT_DIR, r);
    assert.equal(r.valid, true, describeFailure(r, files));
    // Well-formed: every invoke has one completion, indexes and times in order, ok writes carry revisions.
    assert.doesNotThrow(() => validateHistory(r.record.history));
    assert.ok(r.stats.ok > 20, `only ${r.stats.ok} operations succeeded`);
    const did = r.nemesisLog.map((l) => l.did).join('\n');
    assert.match(did, /isolated|partitioned|bridge|majority ring/, 'a partition was applied');
    assert.match(did, /SIGKILL/, 'a member was killed');
    assert.match(did, /restarted/, 'and restarted');
    assert.deepEqual(
      r.verdicts.map((v) => v.checker),
      [workload === 'register' ? 'linearizability' : 'list-append', 'raft', 'liveness'],
    );
  });
}
