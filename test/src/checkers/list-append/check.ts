import type { HistoryEvent } from '../../history/types.js';
import { pairOperations } from '../../history/validate.js';
import { type CheckResult, requirePositiveInteger } from '../result.js';
import { analyzeKeys } from './analysis.js';
import type { ListAppendAnomaly } from './anomalies.js';
import { findCycles } from './cycles.js';
import { inferDependencies } from './dependencies.js';
import { decodeTxn, type Txn } from './txns.js';

/** Options of {@link checkListAppend}. */
export interface ListAppendOptions {
  /**
   * Start edges tried per search rung and cyclic component when extracting a short cycle
   * (each try is one breadth-first search; the shortest cycle found is reported). Default 100.
   */
  readonly maxStartEdges?: number;
}

/** Counters of a list-append check. */
export interface ListAppendStats {
  readonly txns: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly keys: number;
  /** Pairs of txns related by at least one dependency. */
  readonly edges: number;
  readonly ww: number;
  readonly wr: number;
  readonly rw: number;
  readonly rt: number;
  /** Operations of other functions in the history (ignored). */
  readonly ignored: number;
}

/** The result of {@link checkListAppend}. */
export type ListAppendResult = CheckResult<'list-append', ListAppendAnomaly, ListAppendStats>;

/**
 * Checks a list-append history for strict serializability, the way Elle does.
 *
 * Each key holds a list; txns append unique integers and read whole lists. Because every read
 * shows the full list, the reads reveal each key's version order (they must all be prefixes
 * of the longest); from it the checker infers write-write, write-read and read-write
 * dependencies between txns, adds real-time order, and looks for cycles: any cycle means no
 * serial order explains what the clients saw. Anomalies that need no cycle (aborted and
 * intermediate reads, duplicates, garbage, internal inconsistency, incompatible orders, lost
 * updates, lost appends) are reported too.
 *
 * `info` txns are treated as possibly committed: what reads show of their appends counts, and
 * they may be ordered anywhere after their invoke. `fail` txns certainly did not commit, so a
 * read of their appends is an aborted read (G1a).
 *
 * @throws VerificationError `HISTORY_MALFORMED` if the history breaks the format or two txns
 *   append the same element to a key.
 */
export function checkListAppend(
  history: readonly HistoryEvent[],
  options: ListAppendOptions = {},
): ListAppendResult {
  const maxStartEdges = requirePositiveInteger('maxStartEdges', options.maxStartEdges ?? 100);
  const txns: Txn[] = [];
  let ignored = 0;
  for (const op of pairOperations(history)) {
    const t = decodeTxn(op);
    if (t === undefined) ignored++;
    else txns.push(t);
  }
  const { keys, anomalies } = analyzeKeys(txns);
  const deps = inferDependencies(txns, keys.values());
  const cycles = findCycles(deps, { maxStartEdges });
  const all: ListAppendAnomaly[] = [...cycles, ...anomalies];
  const counts = deps.graph.edgeCounts();
  return {
    checker: 'list-append',
    valid: all.length === 0,
    anomalies: all,
    stats: {
      txns: txns.length,
      ok: txns.filter((t) => t.op.type === 'ok').length,
      fail: txns.filter((t) => t.op.type === 'fail').length,
      info: txns.filter((t) => t.op.type === 'info').length,
      keys: keys.size,
      edges: counts.pairs,
      ...counts.byType,
      ignored,
    },
  };
}
