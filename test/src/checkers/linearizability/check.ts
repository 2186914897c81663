import { keyId } from '../../history/keys.js';
import type { HistoryEvent, RegisterKey, RegisterValue } from '../../history/types.js';
import { pairOperations } from '../../history/validate.js';
import { type CheckResult, requirePositiveInteger, show } from '../result.js';
import { explainKey } from './explain.js';
import { compileRegister, searchRegister } from './register-model.js';
import { decodeRegisterCall, type RegisterCall } from './register-ops.js';

/** Options of {@link checkLinearizability}. */
export interface LinearizabilityOptions {
  /** Search steps allowed per key before the key is reported `unknown`. Default 20,000,000. */
  readonly maxSteps?: number;
  /** Explain failing keys (smallest failing sub-history, longest prefix). Default true. */
  readonly explain?: boolean;
  /** Search steps allowed for each trial history while explaining. Default 200,000. */
  readonly explainMaxSteps?: number;
  /** Trial histories checked while explaining one key. Default 400. */
  readonly explainMaxChecks?: number;
}

/**
 * A best-effort name for what went wrong, read off the smallest failing sub-history, so the
 * "checkers bite" tests can tell a stale read from a lost update. The verdict never depends
 * on it.
 * - `stale-read`: the culprit read (or cas) observed a value that an `ok` write had already
 *   replaced before the culprit was invoked (a read served from stale state, or a lost write).
 * - `lost-update`: two `ok` cas operations succeeded from the same expected value.
 * - `garbage-read`: the culprit observed a value no operation ever wrote.
 */
export type LinearizabilityHint = 'stale-read' | 'lost-update' | 'garbage-read';

/** One register operation in an explanation. */
export interface ExplainedOperation {
  readonly id: number;
  readonly process: number;
  readonly f: 'read' | 'write' | 'cas';
  readonly type: 'ok' | 'info' | 'fail';
  /** Value read or written (`null` = absent; `undefined` for a read of unknown result). */
  readonly value: RegisterValue | null | undefined;
  /** Expected value of a cas. */
  readonly expected?: RegisterValue | null;
  readonly invokeIndex: number;
  readonly invokeTime: number;
  /** Completion event; for `info` operations the return is at infinity for the search. */
  readonly completionIndex: number;
  readonly completionTime: number;
  readonly revision?: number;
}

/** A key whose history has no linearization. */
export interface NonLinearizableAnomaly {
  readonly type: 'nonlinearizable';
  readonly message: string;
  readonly key: RegisterKey;
  readonly hint: LinearizabilityHint | null;
  /** Operations of this key (after decoding, before pruning). */
  readonly keyOperations: number;
  /** Events of this key's history that are still linearizable, or null when not computed. */
  readonly linearizablePrefixEvents: number | null;
  /** The operation whose completion first cannot be linearized. */
  readonly culprit: ExplainedOperation | null;
  /** The smallest failing sub-history found, in invoke order. */
  readonly subhistory: readonly ExplainedOperation[];
  /** The longest partial linearization of the sub-history, with the value after each step. */
  readonly partialLinearization: readonly {
    readonly op: ExplainedOperation;
    readonly after: RegisterValue | null;
  }[];
}

/** A key the search could not decide within its step budget. */
export interface UndecidedAnomaly {
  readonly type: 'undecided';
  readonly message: string;
  readonly key: RegisterKey;
  readonly steps: number;
}

export type LinearizabilityAnomaly = NonLinearizableAnomaly | UndecidedAnomaly;

/** Counters of a linearizability check. */
export interface LinearizabilityStats {
  readonly keys: number;
  readonly operations: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  /** Operations left out of the search because they cannot change the verdict. */
  readonly pruned: number;
  /** Operations of other functions in the history (ignored). */
  readonly ignored: number;
  /** Search steps over all keys. */
  readonly steps: number;
}

/** The result of {@link checkLinearizability}. */
export type LinearizabilityResult = CheckResult<
  'linearizability',
  LinearizabilityAnomaly,
  LinearizabilityStats
>;

/**
 * Checks that a register-workload history is linearizable with respect to a compare-and-set
 * register per key, initially absent (`null`).
 *
 * Keys are checked independently: linearizability is compositional (Herlihy & Wing's
 * locality; Porcupine's "P-compositionality"), so a history is linearizable iff each key's
 * sub-history is. Each key is searched with {@link searchLinearization}; a key that exhausts
 * `maxSteps` makes the verdict `'unknown'` unless another key already failed.
 *
 * @throws VerificationError `HISTORY_MALFORMED` if the history breaks the format.
 */
export function checkLinearizability(
  history: readonly HistoryEvent[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const maxSteps = requirePositiveInteger('maxSteps', options.maxSteps ?? 20_000_000);
  const explainMaxSteps = requirePositiveInteger('explainMaxSteps', options.explainMaxSteps ?? 200_000);
  const explainMaxChecks = requirePositiveInteger('explainMaxChecks', options.explainMaxChecks ?? 400);

  const byKey = new Map<string, { key: RegisterKey; calls: RegisterCall[] }>();
  let ignored = 0;
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const op of pairOperations(history)) {
    const call = decodeRegisterCall(op);
    if (call === undefined) {
      ignored++;
      continue;
    }
    if (op.type === 'ok') ok++;
    else if (op.type === 'fail') fail++;
    else info++;
    const id = keyId(call.key);
    let group = byKey.get(id);
    if (group === undefined) {
      group = { key: call.key, calls: [] };
      byKey.set(id, group);
    }
    group.calls.push(call);
  }

  const anomalies: LinearizabilityAnomaly[] = [];
  let steps = 0;
  let pruned = 0;
  let failed = false;
  let undecided = false;
  for (const { key, calls } of byKey.values()) {
    const compiled = compileRegister(calls);
    pruned += compiled.pruned;
    const outcome = searchRegister(compiled, maxSteps);
    steps += outcome.steps;
    if (outcome.result === 'linearizable') continue;
    if (outcome.result === 'unknown') {
      undecided = true;
      anomalies.push({
        type: 'undecided',
        key,
        steps: outcome.steps,
        message: `key ${show(key)}: no verdict within ${maxSteps} search steps`,
      });
      continue;
    }
    failed = true;
    const culprit = compiled.calls[outcome.culprit];
    const position = compiled.ops[outcome.culprit]?.ret;
    const stuck = culprit === undefined || position === undefined ? null : { culprit, position };
    anomalies.push(
      explainFailure(key, calls, stuck, options.explain ?? true, {
        maxSteps: explainMaxSteps,
        maxChecks: explainMaxChecks,
      }),
    );
  }
  return {
    checker: 'linearizability',
    valid: failed ? false : undecided ? 'unknown' : true,
    anomalies,
    stats: { keys: byKey.size, operations: ok + fail + info, ok, fail, info, pruned, ignored, steps },
  };
}

function explainFailure(
  key: RegisterKey,
  calls: readonly RegisterCall[],
  stuck: { readonly culprit: RegisterCall; readonly position: number } | null,
  explain: boolean,
  budget: { maxSteps: number; maxChecks: number },
): NonLinearizableAnomaly {
  if (!explain) {
    return {
      type: 'nonlinearizable',
      key,
      hint: null,
      keyOperations: calls.length,
      linearizablePrefixEvents: null,
      culprit: null,
      subhistory: [],
      partialLinearization: [],
      message: `key ${show(key)}: not linearizable (${calls.length} operations)`,
    };
  }
  const e = explainKey(calls, stuck, budget);
  const hint = hintFor(e.culprit, e.subhistory, calls);
  const culprit = e.culprit === null ? null : explained(e.culprit);
  const what =
    culprit === null ? '' : `; first operation that cannot be placed: ${describeOperation(culprit)}`;
  return {
    type: 'nonlinearizable',
    key,
    hint,
    keyOperations: calls.length,
    linearizablePrefixEvents: e.prefixEvents,
    culprit,
    subhistory: e.subhistory.map(explained),
    partialLinearization: e.partial.map((p) => ({ op: explained(p.call), after: p.after })),
    message:
      `key ${show(key)}: not linearizable${hint === null ? '' : ` (looks like a ${hint})`}${what}; ` +
      `smallest failing sub-history: ${e.subhistory.length} of ${calls.length} operations`,
  };
}

/** The decoded operation in the shape explanations print. */
export function explained(c: RegisterCall): ExplainedOperation {
  const base = {
    id: c.op.id,
    process: c.op.process,
    f: c.f,
    type: c.op.type,
    invokeIndex: c.op.invoke.index,
    invokeTime: c.op.invoke.time,
    completionIndex: c.op.completion.index,
    completionTime: c.op.completion.time,
    ...(c.op.completion.revision !== undefined ? { revision: c.op.completion.revision } : {}),
  };
  return c.f === 'cas' ? { ...base, value: c.value, expected: c.expected } : { ...base, value: c.value };
}

/** `read x → 5`, `write x := 5`, `cas x 3 → 5`, with the outcome and process. */
export function describeOperation(op: ExplainedOperation): string {
  const v = (x: RegisterValue | null | undefined) =>
    x === undefined ? '?' : x === null ? 'absent' : show(x);
  const body =
    op.f === 'read'
      ? `read → ${v(op.value)}`
      : op.f === 'write'
        ? `write := ${v(op.value)}`
        : `cas ${v(op.expected)} → ${v(op.value)}`;
  return `T${op.id} (process ${op.process}) ${body} [${op.type}]`;
}

function hintFor(
  culprit: RegisterCall | null,
  sub: readonly RegisterCall[],
  all: readonly RegisterCall[],
): LinearizabilityHint | null {
  if (culprit === null || culprit.f === 'write') return null;
  const seen = culprit.f === 'read' ? culprit.value : culprit.expected;
  if (seen === undefined) return null;
  const writers = all.filter((c) => c.f !== 'read' && c.value === seen);
  if (seen !== null && writers.every((w) => w.op.type === 'fail')) return 'garbage-read';
  const casOk = sub.filter((c) => c.f === 'cas' && c.op.type === 'ok');
  for (let i = 0; i < casOk.length; i++) {
    for (let j = i + 1; j < casOk.length; j++) {
      const x = casOk[i];
      const y = casOk[j];
      if (x?.f === 'cas' && y?.f === 'cas' && x.expected === y.expected && x.value !== y.value) {
        return 'lost-update';
      }
    }
  }
  // Stale: an ok write of another value completed before the culprit was invoked, and every
  // write of the value seen had completed before that write was even invoked.
  const liveWriters = writers.filter((w) => w.op.type !== 'fail');
  if (liveWriters.some((w) => w.op.type !== 'ok')) return null;
  const replaced = all.some(
    (w) =>
      w.f !== 'read' &&
      w.op.type === 'ok' &&
      w.value !== seen &&
      w.op.completion.index < culprit.op.invoke.index &&
      liveWriters.every((x) => x.op.completion.index < w.op.invoke.index),
  );
  return replaced ? 'stale-read' : null;
}
