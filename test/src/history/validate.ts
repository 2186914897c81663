import { VerificationError } from '../errors.js';
import { toHistoryEvent } from './jsonl.js';
import type { HistoryEvent, JsonObject, Operation } from './types.js';

/** Why {@link validateHistory} rejected a history (the `reason` in the error's details). */
export type HistoryProblem =
  | 'index-not-increasing'
  | 'time-decreasing'
  | 'concurrent-invoke'
  | 'process-reused-after-info'
  | 'completion-without-invoke'
  | 'function-mismatch'
  | 'invoke-without-completion';

function malformed(reason: HistoryProblem, event: HistoryEvent, message: string): VerificationError {
  return new VerificationError(
    'HISTORY_MALFORMED',
    `history event #${event.index} (process ${event.process}, ${event.type} ${event.f}): ${message}`,
    { details: { reason, index: event.index, process: event.process } },
  );
}

/**
 * Checks the rules between a history's events and pairs every invoke with its completion.
 *
 * The rules (Jepsen's, which Knossos and Elle rely on):
 * - `index` strictly increases and `time` never decreases along the history;
 * - a process has at most one operation in flight: it invokes, then completes, then may invoke
 *   again; a completion needs an earlier invoke by the same process with the same `f`;
 * - every invoke has exactly one completion;
 * - a process whose operation ended in `info` never invokes again (its request may still be in
 *   flight, so Jepsen retires it and the client continues as a new process).
 *
 * Each event's own shape is checked too, so events built by hand get the same scrutiny as
 * parsed ones. Returns the operations in invoke order (`id` 0, 1, 2, ...).
 *
 * @throws VerificationError `HISTORY_MALFORMED` with `details.reason` a {@link HistoryProblem}
 *   (or `bad-field`) and `details.index` the offending event.
 */
export function pairOperations(events: readonly HistoryEvent[]): Operation[] {
  const pending = new Map<number, { event: HistoryEvent; slot: number }>();
  const crashed = new Set<number>();
  const invokes: HistoryEvent[] = [];
  const completions: (HistoryEvent | undefined)[] = [];
  let lastIndex = -1;
  let lastTime = 0;
  for (const given of events) {
    // Re-check the shape: an event built in code may carry anything.
    const e = toHistoryEvent(given as unknown as JsonObject, `history event #${String(given.index)}`);
    if (e.index <= lastIndex) {
      throw malformed(
        'index-not-increasing',
        e,
        `index must increase (the previous event was #${lastIndex})`,
      );
    }
    if (e.time < lastTime) {
      throw malformed('time-decreasing', e, `time ${e.time} is before the previous event's ${lastTime}`);
    }
    lastIndex = e.index;
    lastTime = e.time;
    if (e.type === 'invoke') {
      if (crashed.has(e.process)) {
        throw malformed(
          'process-reused-after-info',
          e,
          'this process had an operation end in "info" and must not invoke again (use a fresh process id)',
        );
      }
      const busy = pending.get(e.process);
      if (busy !== undefined) {
        throw malformed(
          'concurrent-invoke',
          e,
          `the process already has operation #${busy.event.index} (${busy.event.f}) in flight`,
        );
      }
      pending.set(e.process, { event: e, slot: invokes.length });
      invokes.push(e);
      completions.push(undefined);
      continue;
    }
    const open = pending.get(e.process);
    if (open === undefined) {
      throw malformed(
        'completion-without-invoke',
        e,
        'no invoke of this process is in flight (a completion before its invoke, or a second completion)',
      );
    }
    if (open.event.f !== e.f) {
      throw malformed(
        'function-mismatch',
        e,
        `completes invoke #${open.event.index} whose f is "${open.event.f}"`,
      );
    }
    pending.delete(e.process);
    if (e.type === 'info') crashed.add(e.process);
    completions[open.slot] = e;
  }
  for (const { event } of pending.values()) {
    throw malformed('invoke-without-completion', event, 'this invoke has no completion');
  }
  const ops: Operation[] = [];
  for (let i = 0; i < invokes.length; i++) {
    const invoke = invokes[i];
    const completion = completions[i];
    // Both exist: every pending invoke was completed or we threw above.
    if (invoke === undefined || completion === undefined) continue;
    if (completion.type === 'invoke') continue;
    ops.push({ id: i, process: invoke.process, f: invoke.f, type: completion.type, invoke, completion });
  }
  return ops;
}

/**
 * Checks a history against the format's rules (see {@link pairOperations}) and returns it
 * unchanged. Use it on a history before handing it to another tool.
 *
 * @throws VerificationError `HISTORY_MALFORMED` naming the first offending event.
 */
export function validateHistory(events: readonly HistoryEvent[]): readonly HistoryEvent[] {
  pairOperations(events);
  return events;
}
