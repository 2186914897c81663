/**
 * A brute-force linearizability oracle for tiny register histories: it tries every subset of
 * the unknown-outcome operations and every order of the chosen operations that respects real
 * time, against the cas-register model. Exponential, so only for differential tests of the
 * real checker (which prunes, memoizes and takes shortcuts that this oracle does not).
 */
import { type HistoryEvent, type JsonValue, pairOperations } from '@flotilla/verification';

interface Op {
  readonly key: string;
  readonly f: string;
  readonly ok: boolean;
  readonly invoke: number;
  readonly ret: number;
  readonly arg: JsonValue;
  readonly result: JsonValue;
}

export function bruteLinearizable(history: readonly HistoryEvent[]): boolean {
  const ops: Op[] = [];
  for (const o of pairOperations(history)) {
    if (o.type === 'fail') continue;
    if (o.f === 'read' && o.type !== 'ok') continue;
    const inv = o.invoke.value as readonly JsonValue[];
    const done = o.completion.value as readonly JsonValue[];
    ops.push({
      key: JSON.stringify(inv[0]),
      f: o.f,
      ok: o.type === 'ok',
      invoke: o.invoke.index,
      ret: o.type === 'ok' ? o.completion.index : Number.POSITIVE_INFINITY,
      arg: inv[1] ?? null,
      result: done[1] ?? null,
    });
  }
  const keys = [...new Set(ops.map((o) => o.key))];
  return keys.every((k) => keyLinearizable(ops.filter((o) => o.key === k)));
}

function keyLinearizable(ops: readonly Op[]): boolean {
  const optional = ops.filter((o) => !o.ok);
  const definite = ops.filter((o) => o.ok);
  for (let mask = 0; mask < 1 << optional.length; mask++) {
    const chosen = [...definite, ...optional.filter((_, i) => (mask & (1 << i)) !== 0)];
    if (search(chosen, [], null)) return true;
  }
  return false;
}

function search(left: readonly Op[], done: readonly Op[], state: JsonValue): boolean {
  if (left.length === 0) return true;
  for (const op of left) {
    // Real time: no remaining op may have returned before this one was invoked.
    if (left.some((o) => o !== op && o.ret < op.invoke)) continue;
    let next: JsonValue = state;
    if (op.f === 'read') {
      if (JSON.stringify(op.result) !== JSON.stringify(state)) continue;
    } else if (op.f === 'write') {
      next = op.arg;
    } else {
      const [expected, fresh] = op.arg as readonly JsonValue[];
      if (JSON.stringify(expected ?? null) === JSON.stringify(state)) next = fresh ?? null;
      else if (op.ok) continue;
    }
    if (
      search(
        left.filter((o) => o !== op),
        [...done, op],
        next,
      )
    )
      return true;
  }
  return false;
}
