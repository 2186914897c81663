/**
 * A simulated run's result in the shared report shapes: a summary row, its files, and the
 * message a failing run prints (seed, replay command, verdicts, where its files are).
 */
import { failureText, nemesisText, type RunArtifacts, writeRunArtifacts } from '../report/artifacts.js';
import type { SummaryRow } from '../report/summary.js';
import type { RunResult } from './run.js';

/** The summary row of a run. */
export function summaryOf(r: RunResult): SummaryRow {
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
  };
}

/** The files of a run. */
export function artifactsOf(r: RunResult): RunArtifacts {
  const s = r.spec;
  const nemesis = nemesisText(s.schedule, r.nemesisLog);
  return {
    runId: r.runId,
    history: r.record.history,
    watchLog: r.record.watchLog,
    lockLog: r.record.lockLog,
    verdicts: r.verdicts,
    nemesis,
    meta: {
      runId: r.runId,
      seed: s.seed,
      workload: s.workload,
      profile: s.profile,
      faults: [...s.faultNames],
      replay: r.replay,
      valid: r.valid,
      members: [...s.founders],
      loadMs: s.loadMs,
      nemeses: [...s.schedule.kinds],
      stats: { ...r.stats },
      problems: [...r.problems],
    },
  };
}

/** Writes the run's files under `dir` and returns their directory. */
export function writeRun(dir: string, r: RunResult): string {
  return writeRunArtifacts(dir, artifactsOf(r));
}

/** What a failing run prints: the seed, how to replay it, what failed, where its files are. */
export function describeFailure(r: RunResult, filesAt?: string): string {
  return failureText({ runId: r.runId, seed: r.spec.seed, replay: r.replay, verdicts: r.verdicts }, filesAt);
}
