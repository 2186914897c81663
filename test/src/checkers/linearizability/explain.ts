import type { RegisterValue } from '../../history/types.js';
import { compileRegister, searchRegister, statesAlong } from './register-model.js';
import type { RegisterCall } from './register-ops.js';

/** Budgets for explaining a non-linearizable key. */
export interface ExplainBudget {
  /** Search steps allowed for each trial sub-history. */
  readonly maxSteps: number;
  /** Trial sub-histories checked in total. */
  readonly maxChecks: number;
}

/** What {@link explainKey} found. */
export interface KeyExplanation {
  /** Events of this key's history (invokes and completions) that are still linearizable. */
  readonly prefixEvents: number | null;
  /** The operation whose completion first makes the history non-linearizable. */
  readonly culprit: RegisterCall | null;
  /** The smallest failing sub-history found (whole operations, in invoke order). */
  readonly subhistory: readonly RegisterCall[];
  /** The longest partial linearization of that sub-history, with the value after each step. */
  readonly partial: readonly { readonly call: RegisterCall; readonly after: RegisterValue | null }[];
  /** Trial sub-histories checked. */
  readonly checks: number;
}

/** The value an operation observes: what a read returned or a cas expected. */
function observes(c: RegisterCall): RegisterValue | null | undefined {
  if (c.f === 'read') return c.op.type === 'ok' ? c.value : undefined;
  return c.f === 'cas' ? c.expected : undefined;
}

/**
 * Explains why one key's calls are not linearizable, within a budget.
 *
 * 1. The culprit comes from the failed search: the operation whose completion no
 *    linearization gets past. Every event before it is linearizable (the prefix).
 * 2. The smallest failing sub-history. Operations invoked after the culprit's completion are
 *    irrelevant. Windows of the operations invoked last before it (8, 16, 32, ... of them) are
 *    tried first, each completed with a write of every value its operations observe (so the
 *    sub-history never fails merely because a writer was left out); the first window that
 *    fails is then shrunk delta-debugging style: chunks of operations are dropped while the
 *    rest still fails, halves first, down to single operations.
 * 3. The longest partial linearization the search finds for that sub-history.
 */
export function explainKey(
  calls: readonly RegisterCall[],
  stuck: { readonly culprit: RegisterCall; readonly position: number } | null,
  budget: ExplainBudget,
): KeyExplanation {
  // An unknown-outcome culprit (searched with a deadline) is not the story's subject.
  const culprit = stuck !== null && stuck.culprit.op.type === 'ok' ? stuck.culprit : null;
  let checks = 0;
  const fails = (subset: readonly RegisterCall[]): boolean => {
    if (checks >= budget.maxChecks) return false;
    checks++;
    return searchRegister(compileRegister(subset), budget.maxSteps).result === 'not-linearizable';
  };

  const relevant = calls.filter((c) => c.op.type !== 'fail');
  const writersOf = new Map<string, RegisterCall[]>();
  for (const c of relevant) {
    if (c.f === 'read') continue;
    const k = JSON.stringify(c.value);
    writersOf.set(k, [...(writersOf.get(k) ?? []), c]);
  }
  /** Adds the writers of every observed value, to a fixpoint (a cas writer observes too). */
  const supportedClosure = (subset: readonly RegisterCall[]): RegisterCall[] => {
    const kept = new Set(subset);
    const queue = [...subset];
    for (let c = queue.pop(); c !== undefined; c = queue.pop()) {
      const seen = observes(c);
      if (seen === null || seen === undefined) continue;
      const writers = writersOf.get(JSON.stringify(seen)) ?? [];
      if (writers.some((w) => kept.has(w))) continue;
      for (const w of writers) {
        kept.add(w);
        queue.push(w);
      }
    }
    return relevant.filter((c) => kept.has(c));
  };
  const supported = (subset: readonly RegisterCall[]): boolean =>
    supportedClosure(subset).length === subset.length;

  const cut = stuck === null ? Number.POSITIVE_INFINITY : Math.ceil(stuck.position);
  const before = relevant.filter((c) => c.op.invoke.index <= cut);
  let prefixEvents: number | null = null;
  if (stuck !== null) {
    prefixEvents = 0;
    for (const c of relevant) {
      if (c.op.invoke.index < cut) prefixEvents++;
      if (c.op.completion.index < cut) prefixEvents++;
    }
  }

  // Growing windows of the latest operations before the culprit's completion.
  let current: RegisterCall[] = before;
  for (let size = 8; size < before.length; size *= 2) {
    const window = before.slice(before.length - size);
    if (culprit !== null && !window.includes(culprit)) window.push(culprit);
    const candidate = supportedClosure(window);
    if (candidate.length < before.length && fails(candidate)) {
      current = candidate;
      break;
    }
  }

  // Delta debugging over whole operations; the culprit stays so the story is about it.
  let chunk = Math.max(1, current.length >> 1);
  while (checks < budget.maxChecks) {
    let removed = false;
    for (let from = 0; from < current.length && checks < budget.maxChecks; ) {
      const candidate = current.filter((c, i) => i < from || i >= from + chunk || c === culprit);
      if (candidate.length < current.length && supported(candidate) && fails(candidate)) {
        current = candidate;
        removed = true;
      } else {
        from += chunk;
      }
    }
    if (chunk === 1 && !removed) break;
    if (!removed) chunk = Math.max(1, chunk >> 1);
  }

  const compiled = compileRegister(current);
  const outcome = searchRegister(compiled, budget.maxSteps, true);
  const order = outcome.result === 'not-linearizable' ? outcome.partial : [];
  const after = statesAlong(compiled, order);
  const partial = order.map((op, i) => ({
    call: compiled.calls[op] as RegisterCall,
    after: after[i] ?? null,
  }));
  return { prefixEvents, culprit, subhistory: current, partial, checks };
}
