import { VerificationError } from '../errors.js';
import { formatHistory } from './jsonl.js';
import type { CompletionType, HistoryEvent, JsonValue } from './types.js';

/** Options of {@link HistoryRecorder}. */
export interface HistoryRecorderOptions {
  /**
   * Nanoseconds since the run started. Simulations pass their simulated clock; real-process runs
   * pass a monotonic clock (e.g. `process.hrtime.bigint()` minus the start, as a number). Must
   * never go backwards: the format requires `time` to be non-decreasing along the history.
   */
  readonly clock: () => number;
}

/** Extra fields of an `ok` completion. */
export interface OkOptions {
  /** The store revision the operation was given (required for ok writes, cas and txns). */
  readonly revision?: number;
}

/** Extra fields of a `fail` or `info` completion. */
export interface ErrorOptions {
  /** A short description for people (an error code such as `OUTCOME_UNKNOWN`). */
  readonly error?: string;
}

/**
 * An operation in flight, returned by {@link HistoryRecorder.invoke}. Complete it exactly once.
 * Each completion defaults its `value` to the invoke's value (what Jepsen writes for fail/info).
 */
export interface OperationHandle {
  /** The invoke event. */
  readonly invoke: HistoryEvent;
  /** True once `ok`, `fail` or `info` was called. */
  readonly completed: boolean;
  /** The operation certainly happened; `value` is its result. */
  ok(value?: JsonValue, options?: OkOptions): HistoryEvent;
  /** The operation certainly did not happen. */
  fail(value?: JsonValue, options?: ErrorOptions): HistoryEvent;
  /** The outcome is unknown (timeout, crash); the process is retired afterwards. */
  info(value?: JsonValue, options?: ErrorOptions): HistoryEvent;
}

/**
 * Records a client history in the `history.jsonl` format as clients run.
 *
 * It enforces the format's rules as events arrive (one operation in flight per process, one
 * completion per invoke, no invoke from a process retired by `info`, non-decreasing time), so a
 * buggy client fails loudly at the call that broke the rule rather than producing a history the
 * checkers reject later. A rejected call throws `RECORDER_MISUSE` and records nothing.
 *
 * @example
 * ```ts
 * const rec = new HistoryRecorder({ clock: () => sim.nowNanos() });
 * const op = rec.invoke(0, 'write', ['x', 1]);
 * const { revision } = await kv.put('x', '1');
 * op.ok(['x', 1], { revision });
 * await writeFile('history.jsonl', rec.toJsonl());
 * ```
 */
export class HistoryRecorder {
  private readonly clock: () => number;
  private readonly log: HistoryEvent[] = [];
  private readonly busy = new Map<number, HistoryEvent>();
  private readonly retired = new Set<number>();
  private lastTime = 0;

  constructor(options: HistoryRecorderOptions) {
    this.clock = options.clock;
  }

  /** The events recorded so far, in order. */
  get events(): readonly HistoryEvent[] {
    return this.log;
  }

  /** Processes with an operation in flight. */
  get inFlight(): number {
    return this.busy.size;
  }

  /** Whether `process` may invoke now (not busy and not retired by an `info`). */
  canInvoke(process: number): boolean {
    return !this.busy.has(process) && !this.retired.has(process);
  }

  /**
   * Records an invoke and returns the handle that completes it.
   *
   * @throws VerificationError `RECORDER_MISUSE` if the process is busy or retired, the process id
   *   is not a non-negative integer, `f` is empty, or the clock went backwards.
   */
  invoke(process: number, f: string, value: JsonValue): OperationHandle {
    if (!Number.isSafeInteger(process) || process < 0) {
      throw misuse(`process must be a non-negative integer, got ${process}`);
    }
    if (f === '') throw misuse('f must not be empty');
    const open = this.busy.get(process);
    if (open !== undefined) {
      throw misuse(`process ${process} already has operation #${open.index} (${open.f}) in flight`);
    }
    if (this.retired.has(process)) {
      throw misuse(`process ${process} was retired by an "info" completion; invoke as a fresh process`);
    }
    const invoke = this.append({ process, type: 'invoke', f, value });
    this.busy.set(process, invoke);
    let done = false;
    const complete = (type: CompletionType, v: JsonValue | undefined, extra: OkOptions & ErrorOptions) => {
      if (done) throw misuse(`operation #${invoke.index} (${f} by process ${process}) was already completed`);
      const event = this.append({
        process,
        type,
        f,
        value: v === undefined ? invoke.value : v,
        ...(extra.revision !== undefined ? { revision: extra.revision } : {}),
        ...(extra.error !== undefined ? { error: extra.error } : {}),
      });
      done = true;
      this.busy.delete(process);
      if (type === 'info') this.retired.add(process);
      return event;
    };
    return {
      invoke,
      get completed() {
        return done;
      },
      ok: (v, options = {}) => complete('ok', v, options),
      fail: (v, options = {}) => complete('fail', v, options),
      info: (v, options = {}) => complete('info', v, options),
    };
  }

  /** The history as `history.jsonl` text. */
  toJsonl(): string {
    return formatHistory(this.log);
  }

  private append(partial: Omit<HistoryEvent, 'index' | 'time'>): HistoryEvent {
    const time = this.clock();
    if (!Number.isFinite(time) || time < this.lastTime) {
      throw misuse(`the clock returned ${time}, before the previous event's ${this.lastTime}`);
    }
    if (partial.revision !== undefined && (!Number.isSafeInteger(partial.revision) || partial.revision < 0)) {
      throw misuse(`revision must be a non-negative integer, got ${partial.revision}`);
    }
    this.lastTime = time;
    // Copy the value: a client may reuse or mutate its arrays after recording them.
    const event: HistoryEvent = {
      index: this.log.length,
      time,
      ...partial,
      value: structuredClone(partial.value),
    };
    this.log.push(event);
    return event;
  }
}

function misuse(message: string): VerificationError {
  return new VerificationError('RECORDER_MISUSE', message);
}
