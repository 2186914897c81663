/**
 * A real run in the shared report shapes (`report/`): its summary row (with throughput and
 * latency columns), its files (the simulation's set, plus `chart.html` and the members' logs
 * under `members/`), and what a failing run prints.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureText, nemesisText, type RunArtifacts, writeRunArtifacts } from '../report/artifacts.js';
import type { SummaryRow } from '../report/summary.js';
import { writeChart } from './chart.js';
import type { RealRunResult } from './run.js';
import { faultWindows, throughputOf, timelineOf } from './timeline.js';

/** The summary row of a run, with `ok/s`, `p50 ms`, `p99 ms` and `wall s` columns. */
export function summaryOf(r: RealRunResult): SummaryRow {
  const t = throughputOf(r.record.history, r.spec.loadMs);
  return {
    runId: r.runId,
    workload: r.spec.workload,
    nemeses: r.spec.schedule.kinds,
    ops: r.stats.ops,
    ok: r.stats.ok,
    fail: r.stats.fail,
    info: r.stats.info,
    verdicts: r.verdicts.map((v) => ({ checker: v.checker, valid: v.valid, summary: v.summary })),
    valid: r.valid,
    extra: {
      'ok/s': t.okPerS.toFixed(1),
      'p50 ms': t.p50Ms.toFixed(1),
      'p99 ms': t.p99Ms.toFixed(1),
      'wall s': (r.stats.wallMs / 1000).toFixed(1),
    },
  };
}

/** The files of a run (the shared set). */
export function artifactsOf(r: RealRunResult): RunArtifacts {
  const s = r.spec;
  const nemesis = nemesisText(s.schedule, r.nemesisLog, [
    `(generated as the simulation's schedule over ${s.loadMs / s.timeScale} ms, times × ${s.timeScale})`,
  ]);
  return {
    runId: r.runId,
    history: r.record.history,
    watchLog: r.record.watchLog,
    lockLog: r.record.lockLog,
    verdicts: r.verdicts,
    nemesis,
    meta: {
      runId: r.runId,
      mode: 'real',
      seed: s.seed,
      workload: s.workload,
      replay: s.replay,
      valid: r.valid,
      members: [...s.founders],
      loadMs: s.loadMs,
      tickMs: s.tickMs,
      memberArgs: [...s.memberArgs],
      leaseTtlS: s.leaseTtlS,
      leaseClockSkewNs: s.leaseClockSkewNs,
      nemeses: [...s.schedule.kinds],
      stats: { ...r.stats },
      throughput: { ...throughputOf(r.record.history, s.loadMs) },
      problems: [...r.problems],
    },
  };
}

/** Bucket width of the chart: about 120 points over the run, at least 250 ms. */
function bucketMs(loadMs: number): number {
  return Math.max(250, Math.round(loadMs / 120 / 250) * 250);
}

/** Writes the run's files, `chart.html` and the member logs under `dir`; returns their directory. */
export function writeRealRun(dir: string, r: RealRunResult): string {
  const target = writeRunArtifacts(dir, artifactsOf(r));
  const failing = r.verdicts.filter((v) => v.valid !== true).map((v) => `${v.checker}: ${v.summary}`);
  writeChart(join(target, 'chart.html'), {
    title: `${r.runId}: ${r.spec.workload}, ${r.spec.founders.length} members, nemeses ${r.spec.schedule.kinds.join(', ') || 'none'}`,
    notes: [
      `seed ${r.spec.seed}; ${r.stats.ops} ops (${r.stats.ok} ok / ${r.stats.fail} fail / ${r.stats.info} info)`,
      `verdicts: ${r.verdicts.map((v) => `${v.checker} ${v.valid === true ? 'ok' : v.valid === false ? 'FAIL' : 'unknown'}`).join(', ')}`,
      ...(failing.length > 0 ? [`failing: ${failing.join('; ')}`] : []),
      `replay: ${r.spec.replay}`,
    ],
    timeline: timelineOf(r.record.history, bucketMs(r.spec.loadMs)),
    windows: faultWindows({
      kinds: r.spec.schedule.kinds,
      durationMs: r.healedAt ?? r.spec.loadMs,
      events: r.executed,
    }),
    loadEndS: r.spec.loadMs / 1000,
  });
  const logs = join(target, 'members');
  mkdirSync(logs, { recursive: true });
  for (const [name, text] of r.memberLogs) writeFileSync(join(logs, `${name}.log`), text);
  return target;
}

/** What a failing run prints: seed, replay command, what failed, where its files are. */
export function describeFailure(r: RealRunResult, filesAt?: string): string {
  return failureText(
    { runId: r.runId, seed: r.spec.seed, replay: r.spec.replay, verdicts: r.verdicts },
    filesAt,
  );
}
