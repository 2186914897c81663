/**
 * Judges a run: runs the checkers its workload names on the recorded history and logs, and
 * returns one verdict per checker, with the explanation a failing run saves. Shared by the
 * simulation and the real-process mode (which adds its own `raft` / `liveness` verdicts).
 */
import { formatCheckResult } from '../checkers/format.js';
import { checkLeases } from '../checkers/lease/check.js';
import { checkLinearizability } from '../checkers/linearizability/check.js';
import { checkListAppend } from '../checkers/list-append/check.js';
import { checkLocks } from '../checkers/lock/check.js';
import type { LockLogLine, ResourceAccess, SessionRevocation } from '../checkers/lock/log.js';
import type { Validity } from '../checkers/result.js';
import { watchChangesFromHistory } from '../checkers/watch/changes.js';
import { checkWatches } from '../checkers/watch/check.js';
import type { HistoryEvent } from '../history/types.js';
import type { WatchLogLine } from '../history/watch-log.js';
import type { CheckerName } from './types.js';

/** One checker's verdict on a run. */
export interface Verdict {
  readonly checker: CheckerName;
  readonly valid: Validity;
  /** One line for the summary table (anomaly types, or what was checked). */
  readonly summary: string;
  /** The full explanation (what a failing run writes to `explanation.txt`). */
  readonly explanation: string;
}

/** What a run recorded. */
export interface RunRecord {
  readonly history: readonly HistoryEvent[];
  readonly watchLog: readonly WatchLogLine[];
  readonly lockLog: readonly LockLogLine[];
}

/** Options of {@link judge}. */
export interface JudgeOptions {
  /** The lease checker's clock-skew allowance (see `checkLeases`). */
  readonly leaseClockSkewNs?: number;
}

function verdictOf(
  checker: CheckerName,
  result: { valid: Validity; anomalies: readonly { type: string }[] },
  text: string,
): Verdict {
  const types = [...new Set(result.anomalies.map((a) => a.type))].sort();
  const summary =
    result.valid === true ? 'ok' : result.valid === 'unknown' ? 'unknown (budget)' : types.join(', ');
  return { checker, valid: result.valid, summary, explanation: text };
}

/** Runs the checkers named in `checkers` on `record`. */
export function judge(
  checkers: readonly CheckerName[],
  record: RunRecord,
  options: JudgeOptions = {},
): Verdict[] {
  const out: Verdict[] = [];
  for (const name of checkers) {
    switch (name) {
      case 'linearizability': {
        const r = checkLinearizability(record.history);
        out.push(verdictOf(name, r, formatCheckResult(r)));
        break;
      }
      case 'list-append': {
        const r = checkListAppend(record.history);
        out.push(verdictOf(name, r, formatCheckResult(r)));
        break;
      }
      case 'watch': {
        const r = checkWatches(record.watchLog, watchChangesFromHistory(record.history));
        out.push(verdictOf(name, r, formatCheckResult(r)));
        break;
      }
      case 'lock': {
        const accesses = record.lockLog.filter((l): l is ResourceAccess => l.type === 'access');
        const revocations = record.lockLog.filter(
          (l): l is SessionRevocation => l.type === 'session-revoked',
        );
        const r = checkLocks({ history: record.history, accesses, revocations });
        out.push(verdictOf(name, r, formatCheckResult(r)));
        break;
      }
      case 'lease': {
        const r = checkLeases(record.history, { clockSkewNs: options.leaseClockSkewNs ?? 0 });
        out.push(verdictOf(name, r, formatCheckResult(r)));
        break;
      }
      case 'raft':
      case 'liveness':
        // Judged by the mode that ran the cluster (it observed the members).
        break;
    }
  }
  return out;
}
