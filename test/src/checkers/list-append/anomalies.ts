import type { CompletionType, MicroOp, RegisterKey } from '../../history/types.js';
import type { EdgeName } from './graph.js';
import type { Txn } from './txns.js';

/** A transaction as anomalies carry it: enough to print and to find it in the history. */
export interface TxnRef {
  /** Operation number: "T12" in explanations. */
  readonly id: number;
  readonly process: number;
  readonly type: CompletionType;
  readonly invokeIndex: number;
  readonly completionIndex: number;
  readonly mops: readonly MicroOp[];
}

export function txnRef(t: Txn): TxnRef {
  return {
    id: t.op.id,
    process: t.op.process,
    type: t.op.type,
    invokeIndex: t.op.invoke.index,
    completionIndex: t.op.completion.index,
    mops: t.mops,
  };
}

/**
 * Cycle anomalies, after Adya's generalized isolation levels as Elle names them. A cycle's
 * class is set by its edges: `ww` (write-write: the next version of a key), `wr` (write-read:
 * a txn read another's append), `rw` (read-write anti-dependency: a txn read a version that
 * another txn's append overwrote) and `rt` (real time: one txn completed before the other was
 * invoked; strict serializability requires the serial order to respect it).
 * - `G0`: only ww edges (write cycle: dirty writes).
 * - `G1c`: ww and wr edges, at least one wr (circular information flow).
 * - `G-single`: exactly one rw edge (read skew; forbidden even by snapshot isolation).
 * - `G2`: two or more rw edges (write skew, anti-dependency cycles; serializability forbids).
 * - `...-realtime`: the same, closed only with at least one rt edge: serializable, but not
 *   strictly (a stale read, a lost acknowledged write).
 */
export type CycleType =
  | 'G0'
  | 'G1c'
  | 'G-single'
  | 'G2'
  | 'G0-realtime'
  | 'G1c-realtime'
  | 'G-single-realtime'
  | 'G2-realtime';

/** One edge of a printed cycle. */
export interface CycleStep {
  readonly from: TxnRef;
  readonly to: TxnRef;
  readonly edge: EdgeName;
  /** Why the edge exists, in words. */
  readonly why: string;
}

export interface CycleAnomaly {
  readonly type: CycleType;
  readonly message: string;
  /** The cycle, each step's `to` being the next step's `from`, the last returning to the first. */
  readonly cycle: readonly CycleStep[];
}

/** G1a (aborted read): an ok txn read an element appended only by a failed txn. */
export interface AbortedReadAnomaly {
  readonly type: 'G1a';
  readonly message: string;
  readonly key: RegisterKey;
  readonly element: number;
  readonly reader: TxnRef;
  readonly writer: TxnRef;
}

/** G1b (intermediate read): a read ends at an element its writer followed with another append. */
export interface IntermediateReadAnomaly {
  readonly type: 'G1b';
  readonly message: string;
  readonly key: RegisterKey;
  readonly element: number;
  readonly reader: TxnRef;
  readonly writer: TxnRef;
}

/** A read whose list holds the same element twice (an append applied twice). */
export interface DuplicateElementsAnomaly {
  readonly type: 'duplicate-elements';
  readonly message: string;
  readonly key: RegisterKey;
  readonly reader: TxnRef;
  readonly value: readonly number[];
  readonly duplicates: readonly number[];
}

/** A txn whose read disagrees with its own earlier reads and appends of that key. */
export interface InternalAnomaly {
  readonly type: 'internal';
  readonly message: string;
  readonly key: RegisterKey;
  readonly txn: TxnRef;
  readonly expected: string;
  readonly value: readonly number[];
}

/** Two reads of a key neither of which is a prefix of the other: no single version order. */
export interface IncompatibleOrderAnomaly {
  readonly type: 'incompatible-order';
  readonly message: string;
  readonly key: RegisterKey;
  readonly reads: readonly { readonly txn: TxnRef; readonly value: readonly number[] }[];
}

/**
 * Lost update (Adya's P4): two or more committed txns read the same version of a key and then
 * each appended to it. In any serial order the later one would have read the other's append.
 */
export interface LostUpdateAnomaly {
  readonly type: 'lost-update';
  readonly message: string;
  readonly key: RegisterKey;
  readonly read: readonly number[];
  readonly txns: readonly TxnRef[];
}

/**
 * Lost append: an ok txn's append appears in no read at all, although a txn invoked after it
 * completed read the key (and so, under strict serializability, had to see it). This is how
 * an acknowledged write lost to a crash or overwritten by a newer leader (Raft's Figure 8)
 * shows up.
 */
export interface LostAppendAnomaly {
  readonly type: 'lost-append';
  readonly message: string;
  readonly key: RegisterKey;
  readonly element: number;
  readonly writer: TxnRef;
  readonly reader: TxnRef;
  readonly read: readonly number[];
}

/** An ok read holding an element no txn ever appended. */
export interface GarbageReadAnomaly {
  readonly type: 'garbage-read';
  readonly message: string;
  readonly key: RegisterKey;
  readonly element: number;
  readonly reader: TxnRef;
}

/** Every anomaly {@link checkListAppend} reports. */
export type ListAppendAnomaly =
  | CycleAnomaly
  | AbortedReadAnomaly
  | IntermediateReadAnomaly
  | DuplicateElementsAnomaly
  | InternalAnomaly
  | IncompatibleOrderAnomaly
  | LostUpdateAnomaly
  | LostAppendAnomaly
  | GarbageReadAnomaly;
