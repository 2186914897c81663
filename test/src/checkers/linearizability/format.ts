import { formatNanos, show, verdictLine } from '../result.js';
import {
  describeOperation,
  type ExplainedOperation,
  type LinearizabilityResult,
  type NonLinearizableAnomaly,
} from './check.js';

/**
 * Draws operations as bars on a shared axis of event order (not time, so short operations
 * stay visible): `|====|` from invoke to completion, `|===…` for an `info` operation whose
 * return is at infinity. Two bars that overlap horizontally were concurrent.
 */
export function timeline(ops: readonly ExplainedOperation[]): string[] {
  const points = [...new Set(ops.flatMap((o) => [o.invokeIndex, o.completionIndex]))].sort((a, b) => a - b);
  const rank = new Map(points.map((p, i) => [p, i]));
  const labels = ops.map((o) => describeOperation(o));
  const width = Math.max(...labels.map((l) => l.length));
  const cell = 3;
  return ops.map((o, i) => {
    const from = (rank.get(o.invokeIndex) ?? 0) * cell;
    const to = (rank.get(o.completionIndex) ?? 0) * cell;
    const bar =
      o.type === 'info'
        ? `|${'='.repeat(Math.max(1, points.length * cell - from))}…`
        : `|${'='.repeat(Math.max(1, to - from - 1))}|`;
    const when = `t=${formatNanos(o.invokeTime)}..${o.type === 'info' ? '∞' : formatNanos(o.completionTime)}`;
    return `  ${(labels[i] ?? '').padEnd(width)}  ${' '.repeat(from)}${bar}  ${when}`;
  });
}

function formatFailure(a: NonLinearizableAnomaly): string[] {
  const lines = [`key ${show(a.key)}: NOT LINEARIZABLE${a.hint === null ? '' : ` (looks like a ${a.hint})`}`];
  if (a.linearizablePrefixEvents !== null) {
    lines.push(
      `  The key's history is linearizable for its first ${a.linearizablePrefixEvents} events; ` +
        'the next one is the completion of:',
    );
  }
  if (a.culprit !== null) lines.push(`    ${describeOperation(a.culprit)}`);
  if (a.subhistory.length > 0) {
    lines.push(
      `  Smallest failing sub-history found (${a.subhistory.length} of ${a.keyOperations} operations; ` +
        'no order of these respects both real time and the register):',
    );
    lines.push(...timeline(a.subhistory).map((l) => `  ${l}`));
  }
  if (a.partialLinearization.length > 0) {
    lines.push('  Longest partial linearization of it (value after each step):');
    for (const p of a.partialLinearization) {
      lines.push(`    ${describeOperation(p.op)}  ⇒ ${p.after === null ? 'absent' : show(p.after)}`);
    }
    const placed = new Set(a.partialLinearization.map((p) => p.op.id));
    const left = a.subhistory.filter((o) => !placed.has(o.id) && o.type === 'ok');
    if (left.length > 0) {
      lines.push(`  ...after which none of these can take effect: ${left.map((o) => `T${o.id}`).join(', ')}`);
    }
  } else if (a.subhistory.length > 0) {
    lines.push('  Not even the first operation of it can be linearized from the initial (absent) value.');
  }
  return lines;
}

/** The human explanation of a linearizability result. */
export function formatLinearizability(result: LinearizabilityResult): string {
  const s = result.stats;
  const lines = [
    verdictLine('linearizability (cas register per key)', result.valid),
    `  ${s.keys} keys, ${s.operations} operations (${s.ok} ok, ${s.fail} fail, ${s.info} info); ` +
      `${s.pruned} pruned, ${s.ignored} of other workloads ignored; ${s.steps} search steps`,
  ];
  for (const a of result.anomalies) {
    if (a.type === 'undecided') lines.push(`key ${show(a.key)}: UNKNOWN after ${a.steps} search steps`);
    else lines.push(...formatFailure(a));
  }
  return lines.join('\n');
}
