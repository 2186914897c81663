import { FlotillaError, type FlotillaErrorOptions } from '@flotilla/errors';

/**
 * The codes `@flotilla/verification` throws. Stable public API: callers branch on them.
 *
 * - `HISTORY_MALFORMED`: a history (or one of its JSONL lines) breaks the format: a line that is
 *   not a JSON object, a field of the wrong type, an invoke without exactly one completion, a
 *   completion before its invoke, a process with two operations in flight, a workload value of
 *   the wrong shape. `details` names the line or event `index` and a `reason`.
 * - `WATCH_LOG_MALFORMED`: a `watch.jsonl` line of the wrong shape, an event before its watcher
 *   started, or a watcher whose restarts name a different range.
 * - `LOCK_LOG_MALFORMED`: a `lock.jsonl` line (resource access or session revocation) of the
 *   wrong shape.
 * - `INVALID_OPTION`: a checker option out of range (a negative budget or skew).
 * - `RECORDER_MISUSE`: a {@link HistoryRecorder} used against the format's rules (an operation
 *   completed twice, a process invoking while busy or after an `info`, a clock running backwards).
 *   The recorder is left unchanged.
 */
export type VerificationErrorCode =
  | 'HISTORY_MALFORMED'
  | 'WATCH_LOG_MALFORMED'
  | 'LOCK_LOG_MALFORMED'
  | 'INVALID_OPTION'
  | 'RECORDER_MISUSE';

/** Every error `@flotilla/verification` throws on purpose. */
export class VerificationError extends FlotillaError {
  declare readonly code: VerificationErrorCode;
  constructor(code: VerificationErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}
