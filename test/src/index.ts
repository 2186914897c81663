/**
 * `@flotilla/verification`: the history format and the checkers of Flotilla's Jepsen-style
 * verification suite.
 *
 * - Histories: {@link HistoryRecorder} records client operations as they run;
 *   {@link parseHistory} / {@link formatHistory} read and write `history.jsonl` (Jepsen's shape);
 *   {@link pairOperations} validates a history and pairs invokes with completions. Watch logs
 *   ({@link parseWatchLog}) and lock logs ({@link parseLockLog}) have their own JSONL files.
 * - Checkers, each returning `{ checker, valid: true | false | 'unknown', anomalies, stats }`
 *   with a `format...` function for people: {@link checkLinearizability} (cas registers, WGL
 *   search), {@link checkListAppend} (Elle-style strict serializability), {@link checkWatches},
 *   {@link checkLocks} and {@link checkLeases}. {@link formatCheckResult} formats any of them.
 *
 * @example
 * ```ts
 * import { HistoryRecorder, checkLinearizability, formatCheckResult } from '@flotilla/verification';
 *
 * let now = 0;
 * const rec = new HistoryRecorder({ clock: () => (now += 1000) });
 * rec.invoke(0, 'write', ['x', 1]).ok(undefined, { revision: 2 });
 * rec.invoke(0, 'write', ['x', 2]).ok(undefined, { revision: 3 });
 * rec.invoke(1, 'read', ['x', null]).ok(['x', 1]); // a stale read
 * const result = checkLinearizability(rec.events);
 * console.log(result.valid); // false
 * console.log(formatCheckResult(result));
 * ```
 *
 * @packageDocumentation
 */

export * from './checkers/format.js';
export * from './checkers/lease/check.js';
export {
  checkLinearizability,
  describeOperation,
  type ExplainedOperation,
  type LinearizabilityAnomaly,
  type LinearizabilityHint,
  type LinearizabilityOptions,
  type LinearizabilityResult,
  type LinearizabilityStats,
  type NonLinearizableAnomaly,
  type UndecidedAnomaly,
} from './checkers/linearizability/check.js';
export { formatLinearizability } from './checkers/linearizability/format.js';
export * from './checkers/list-append/anomalies.js';
export {
  checkListAppend,
  type ListAppendOptions,
  type ListAppendResult,
  type ListAppendStats,
} from './checkers/list-append/check.js';
export { formatListAppend } from './checkers/list-append/format.js';
export * from './checkers/lock/check.js';
export * from './checkers/lock/log.js';
export {
  type AnomalyBase,
  anomalyTypes,
  type CheckResult,
  formatNanos,
  type Validity,
} from './checkers/result.js';
export * from './checkers/watch/changes.js';
export {
  checkWatches,
  type WatchAnomaly,
  type WatchResult,
  type WatchStats,
} from './checkers/watch/check.js';
export { formatWatches } from './checkers/watch/format.js';
export { VerificationError, type VerificationErrorCode } from './errors.js';
export { formatHistory, formatHistoryEvent, parseHistory } from './history/jsonl.js';
export * from './history/recorder.js';
export * from './history/types.js';
export { type HistoryProblem, pairOperations, validateHistory } from './history/validate.js';
export * from './history/watch-log.js';
