import { VerificationError } from '../../errors.js';
import type { HistoryEvent, JsonValue } from '../../history/types.js';
import { pairOperations } from '../../history/validate.js';
import { decodeRegisterCall } from '../linearizability/register-ops.js';
import { decodeTxn } from '../list-append/txns.js';

/** What a watch event's value must be for a committed change. */
export type ValueExpectation =
  | { readonly kind: 'exact'; readonly value: JsonValue }
  /** A list-append key's new list: it must end with the elements the txn appended. */
  | { readonly kind: 'ends-with'; readonly elements: readonly number[] }
  | { readonly kind: 'any' };

/** A change the history says was committed at a known revision. */
export interface CommittedChange {
  /** The key as a watch reports it (register keys are converted with `String`). */
  readonly key: string;
  readonly revision: number;
  readonly event: 'put' | 'delete';
  readonly expect: ValueExpectation;
  /** The operation that made it (`T12`), so two changes of one revision can be told apart. */
  readonly opId: number;
}

/** A change of unknown outcome (an `info` write): it may or may not have been committed. */
export interface PossibleChange {
  readonly key: string;
  readonly event: 'put' | 'delete';
  readonly value: JsonValue;
  readonly opId: number;
}

/** The changes a watch checker compares watch logs against. */
export interface WatchChanges {
  readonly committed: readonly CommittedChange[];
  readonly possible: readonly PossibleChange[];
}

/**
 * Derives the changes watchers must see from a client history:
 * - an `ok` register `write` or `cas` is a put of its new value at its `revision`;
 * - an `ok` list-append `txn` that appended to a key is a put at the txn's `revision` whose
 *   value (the key's list) must end with the elements appended;
 * - an `info` write or cas is a possible put of its value at an unknown revision;
 * - `fail` operations changed nothing.
 * Other functions are ignored; pass extra changes (e.g. deletes by lease expiry) to
 * {@link checkWatches} yourself.
 *
 * @throws VerificationError `HISTORY_MALFORMED` if the history breaks the format or an `ok`
 *   write, cas or txn with appends carries no `revision`.
 */
export function watchChangesFromHistory(history: readonly HistoryEvent[]): WatchChanges {
  const committed: CommittedChange[] = [];
  const possible: PossibleChange[] = [];
  for (const op of pairOperations(history)) {
    const call = decodeRegisterCall(op);
    if (call !== undefined) {
      if (call.f === 'read' || op.type === 'fail') continue;
      const key = String(call.key);
      if (op.type === 'info') {
        possible.push({ key, event: 'put', value: call.value, opId: op.id });
        continue;
      }
      committed.push({
        key,
        revision: requireRevision(op.completion, op.f),
        event: 'put',
        expect: { kind: 'exact', value: call.value },
        opId: op.id,
      });
      continue;
    }
    const txn = decodeTxn(op);
    if (txn === undefined || op.type !== 'ok') continue;
    const appended = new Map<string, number[]>();
    for (const m of txn.mops) {
      if (m[0] === 'append') appended.set(String(m[1]), [...(appended.get(String(m[1])) ?? []), m[2]]);
    }
    if (appended.size === 0) continue;
    const revision = requireRevision(op.completion, 'txn');
    for (const [key, elements] of appended) {
      committed.push({ key, revision, event: 'put', expect: { kind: 'ends-with', elements }, opId: op.id });
    }
  }
  return { committed, possible };
}

function requireRevision(e: HistoryEvent, f: string): number {
  if (e.revision !== undefined) return e.revision;
  throw revisionMissing(e, f);
}

function revisionMissing(e: HistoryEvent, f: string): VerificationError {
  return new VerificationError(
    'HISTORY_MALFORMED',
    `history event #${e.index} (process ${e.process}): an ok ${f} must carry its "revision" for the watch checker`,
    { details: { reason: 'missing-revision', index: e.index, process: e.process } },
  );
}
