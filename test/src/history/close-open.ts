import type { HistoryEvent } from './types.js';

/**
 * Operations still in flight when a run was cut short end `info` (their outcome is unknown), so
 * the history keeps the format's rule that every invoke has exactly one completion. Used by the
 * simulation and the real-process runs alike.
 */
export function closeOpenOperations(events: readonly HistoryEvent[]): HistoryEvent[] {
  const open = new Map<number, HistoryEvent>();
  for (const e of events) {
    if (e.type === 'invoke') open.set(e.process, e);
    else open.delete(e.process);
  }
  const out = [...events];
  const last = events[events.length - 1];
  for (const inv of open.values()) {
    out.push({
      index: out.length,
      time: last?.time ?? 0,
      process: inv.process,
      type: 'info',
      f: inv.f,
      value: inv.value,
      error: 'RUN_CUT_SHORT',
    });
  }
  return out;
}
