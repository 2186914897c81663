/**
 * A run's files, so a person (or another checker) can study it: written to
 * `test/out/<run-id>/` for every failing run, and for every run with `--out DIR`.
 *
 * | file              | content                                                                 |
 * | ----------------- | ----------------------------------------------------------------------- |
 * | `history.jsonl`   | the client history (the format in test/README.md)                       |
 * | `watch.jsonl`     | delivered watch events and start/end markers (watch workload)            |
 * | `lock.jsonl`      | resource accesses and session revocations (lock workload)                |
 * | `run.json`        | seed, workload, profile, faults, replay command, verdicts, counts        |
 * | `nemesis.txt`     | the schedule (data) and what each event did when it ran                  |
 * | `explanation.txt` | every checker's explanation, failing ones first, and liveness problems   |
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatLockLog, type LockLogLine } from '../checkers/lock/log.js';
import { formatHistory } from '../history/jsonl.js';
import type { HistoryEvent, JsonValue } from '../history/types.js';
import { formatWatchLog, type WatchLogLine } from '../history/watch-log.js';
import { formatSchedule, type NemesisSchedule } from '../nemesis/schedule.js';
import type { NemesisLogLine } from '../nemesis/sim-nemesis.js';
import type { Verdict } from '../workloads/judge.js';

/** `test/out`, where failing runs are written by default (git-ignored). */
export const DEFAULT_OUT_DIR: string = resolve(fileURLToPath(import.meta.url), '../../../out');

/** What {@link writeRunArtifacts} writes; every mode can fill it. */
export interface RunArtifacts {
  readonly runId: string;
  readonly history: readonly HistoryEvent[];
  readonly watchLog: readonly WatchLogLine[];
  readonly lockLog: readonly LockLogLine[];
  readonly verdicts: readonly Verdict[];
  /** The schedule as text (`formatSchedule`) and the executed log, one line each. */
  readonly nemesis: string;
  /** Facts about the run for `run.json` (seed, workload, replay command, counts, ...). */
  readonly meta: Readonly<Record<string, JsonValue>>;
}

/**
 * The `nemesis` text of {@link RunArtifacts}: the schedule, optional notes on how it was made,
 * then what each event did.
 */
export function nemesisText(
  schedule: NemesisSchedule,
  log: readonly NemesisLogLine[],
  notes: readonly string[] = [],
): string {
  return [
    formatSchedule(schedule),
    ...notes,
    '',
    'what each event did (ms since the load phase started):',
    ...log.map((l) => `  ${String(l.at).padStart(6)}  ${l.event}  ->  ${l.did}`),
  ].join('\n');
}

/**
 * What a failing run prints, in every mode: seed, replay command, what failed (each failing
 * checker's explanation, cut at 40 lines), where its files are.
 */
export function failureText(
  run: {
    readonly runId: string;
    readonly seed: number;
    readonly replay: string;
    readonly verdicts: readonly Verdict[];
  },
  filesAt?: string,
): string {
  const failing = run.verdicts.filter((v) => v.valid !== true);
  return [
    `FAIL ${run.runId} (seed ${run.seed}): ${failing.map((v) => `${v.checker}: ${v.summary}`).join('; ')}`,
    `  replay: ${run.replay}`,
    ...(filesAt === undefined ? [] : [`  files:  ${filesAt}`]),
    ...failing.map((v) => indent(v.explanation, 4, 40)),
  ].join('\n');
}

function indent(text: string, n: number, maxLines: number): string {
  const lines = text.split('\n');
  const kept = lines.slice(0, maxLines).map((l) => `${' '.repeat(n)}${l}`);
  if (lines.length > maxLines)
    kept.push(`${' '.repeat(n)}... (${lines.length - maxLines} more lines in explanation.txt)`);
  return kept.join('\n');
}

/** Writes `a` to `<dir>/<run-id>/` and returns that directory. */
export function writeRunArtifacts(dir: string, a: RunArtifacts): string {
  const target = join(dir, a.runId);
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'history.jsonl'), formatHistory(a.history));
  if (a.watchLog.length > 0) writeFileSync(join(target, 'watch.jsonl'), formatWatchLog(a.watchLog));
  if (a.lockLog.length > 0) writeFileSync(join(target, 'lock.jsonl'), formatLockLog(a.lockLog));
  const verdicts = a.verdicts.map((v) => ({ checker: v.checker, valid: v.valid, summary: v.summary }));
  writeFileSync(join(target, 'run.json'), `${JSON.stringify({ ...a.meta, verdicts }, null, 2)}\n`);
  writeFileSync(join(target, 'nemesis.txt'), `${a.nemesis}\n`);
  const ordered = [...a.verdicts].sort((x, y) => Number(x.valid === true) - Number(y.valid === true));
  writeFileSync(join(target, 'explanation.txt'), `${ordered.map((v) => v.explanation).join('\n\n')}\n`);
  return target;
}
