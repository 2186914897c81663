import type { RegisterValue } from '../../history/types.js';
import type { RegisterCall } from './register-ops.js';
import { type SearchOp, type SearchOutcome, searchLinearization } from './wgl.js';

/**
 * The compare-and-set register model (Knossos' `cas-register`), compiled for the search.
 *
 * States are small integers: 0 is "absent" (`null`), and each distinct value seen for the key
 * gets its own number, so a step is a couple of integer comparisons. An operation's meaning:
 * - read `v`: possible only when the state is `v`; the state is unchanged;
 * - write `v`: always possible; the state becomes `v`;
 * - cas `[e, n]` that completed `ok`: possible only when the state is `e`; it becomes `n`;
 * - cas of unknown outcome (`info`): if the state is `e` it may have succeeded (state `n`),
 *   otherwise it failed without effect. Either way it may also never have happened.
 */
const READ = 0;
const WRITE = 1;
const CAS = 2;
const UNOBSERVED = 1;

/** One key's operations, ready for {@link searchLinearization}. */
export interface CompiledRegister {
  /** The operations kept for the search; search op `i` is `calls[i]`. */
  readonly calls: readonly RegisterCall[];
  readonly ops: readonly SearchOp[];
  /** Operations left out because they cannot matter (see {@link compileRegister}). */
  readonly pruned: number;
  readonly step: (state: number, op: number) => number;
}

function valueKey(v: RegisterValue | null): string {
  return v === null ? 'null' : `${typeof v}:${v}`;
}

/**
 * Compiles one key's register calls. Operations that cannot change the verdict are left out:
 * - `fail` operations: they certainly did not happen (a failed cas has no effect);
 * - reads that did not complete `ok`: their result is unknown, so they constrain nothing;
 * - `info` writes and cas whose new value no `ok` read returns and no cas expects: if such an
 *   operation took effect, nothing could observe its value before the next write replaced it,
 *   so every linearization using it remains one without it. This keeps crashed clients from
 *   blowing up the search (each pending `info` operation may otherwise double the states).
 *
 * And an `info` write or cas whose value *was* observed by an `ok` read or cas, when it is the
 * only operation writing that value, certainly happened before that observer returned: it is
 * searched as a definite operation returning just before the first observer's return.
 */
export function compileRegister(all: readonly RegisterCall[]): CompiledRegister {
  const observed = new Set<string>();
  for (const c of all) {
    if (c.op.type === 'fail') continue;
    if (c.f === 'read' && c.op.type === 'ok' && c.value !== undefined) observed.add(valueKey(c.value));
    if (c.f === 'cas') observed.add(valueKey(c.expected));
  }
  const calls: RegisterCall[] = [];
  for (const c of all) {
    if (c.op.type === 'fail') continue;
    if (c.f === 'read' && (c.op.type !== 'ok' || c.value === undefined)) continue;
    if (c.op.type === 'info' && c.f !== 'read' && !observed.has(valueKey(c.value))) continue;
    calls.push(c);
  }

  // An unknown-outcome write whose value an ok operation observed, and which is the only
  // operation writing that value, certainly took effect, and before the first such observer
  // returned: give it that finite return so the search need not carry it to infinity.
  const writers = new Map<string, number>();
  const firstObserved = new Map<string, number>();
  for (const c of calls) {
    if (c.f !== 'read') writers.set(valueKey(c.value), (writers.get(valueKey(c.value)) ?? 0) + 1);
    if (c.op.type !== 'ok' || c.f === 'write') continue;
    const seen = valueKey(c.f === 'read' ? (c.value ?? null) : c.expected);
    firstObserved.set(
      seen,
      Math.min(firstObserved.get(seen) ?? Number.POSITIVE_INFINITY, c.op.completion.index),
    );
  }
  const deadline = (c: RegisterCall): number => {
    if (c.op.type === 'ok' || c.f === 'read') return c.op.completion.index;
    const k = valueKey(c.value);
    const observedBy = firstObserved.get(k);
    // Just before the observer's return, so the two never share a position.
    return writers.get(k) === 1 && observedBy !== undefined ? observedBy - 0.5 : Number.POSITIVE_INFINITY;
  };

  // States 0 and 1 are special: 0 is absent; 1 stands for every value nobody observes. Two
  // states that differ only in which unobserved value the register holds behave the same for
  // every remaining operation (no read returns it, no cas expects it), so merging them lets
  // the memoization collapse the orders of concurrent blind writes.
  const ids = new Map<string, number>([['null', 0]]);
  const values: (RegisterValue | null)[] = [null, null];
  const intern = (v: RegisterValue | null): number => {
    const k = valueKey(v);
    if (!observed.has(k)) return UNOBSERVED;
    let id = ids.get(k);
    if (id === undefined) {
      id = values.length;
      ids.set(k, id);
      values.push(v);
    }
    return id;
  };

  const n = calls.length;
  const kind = new Uint8Array(n);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  const definite = new Uint8Array(n);
  const ops: SearchOp[] = [];
  for (let i = 0; i < n; i++) {
    const c = calls[i] as RegisterCall;
    const ret = deadline(c);
    // An info cas given a deadline must have succeeded (its new value was observed).
    const isDefinite = ret !== Number.POSITIVE_INFINITY;
    definite[i] = isDefinite ? 1 : 0;
    ops.push({ call: c.op.invoke.index, ret, definite: isDefinite, pure: c.f === 'read' });
    if (c.f === 'read') {
      kind[i] = READ;
      a[i] = intern(c.value ?? null);
    } else if (c.f === 'write') {
      kind[i] = WRITE;
      a[i] = intern(c.value);
    } else {
      kind[i] = CAS;
      a[i] = intern(c.expected);
      b[i] = intern(c.value);
    }
  }

  const step = (state: number, op: number): number => {
    const k = kind[op];
    if (k === WRITE) return a[op] as number;
    if (k === READ) return state === a[op] ? state : -1;
    if (state === a[op]) return b[op] as number;
    return definite[op] === 1 ? -1 : state;
  };
  return { calls, ops, pruned: all.length - n, step };
}

/** Runs the search on compiled calls from the absent state. */
export function searchRegister(
  compiled: CompiledRegister,
  maxSteps: number,
  trackPartial = false,
): SearchOutcome {
  return searchLinearization(compiled.ops, 0, compiled.step, { maxSteps, trackPartial });
}

/** Register values after each operation of a linearization (for explanations). */
export function statesAlong(compiled: CompiledRegister, order: readonly number[]): (RegisterValue | null)[] {
  const out: (RegisterValue | null)[] = [];
  // Replay on the real values: the compiled states merge values nobody observed.
  let value: RegisterValue | null = null;
  for (const op of order) {
    const c = compiled.calls[op];
    if (c?.f === 'write' || (c?.f === 'cas' && c.expected === value)) value = c.value;
    out.push(value);
  }
  return out;
}
