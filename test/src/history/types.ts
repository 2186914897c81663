/**
 * The history format: one client operation event per line of `history.jsonl`, in Jepsen's shape.
 * This file is a contract shared with an independent checker, so the field names and value
 * shapes below are exactly the JSON written to disk (see test/README.md, "Histories").
 */

/** Any JSON value, as read from or written to a JSONL line. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  readonly [field: string]: JsonValue;
}

/**
 * What an event says about its operation.
 *
 * - `invoke`: a client started the operation.
 * - `ok`: it certainly happened, with the result in `value`.
 * - `fail`: it certainly did not happen (no effect anywhere, ever).
 * - `info`: unknown (a timeout, `OUTCOME_UNKNOWN`, a crash): it may take effect at any time
 *   after its invoke, or never. Like Jepsen, a process whose operation ended in `info` is
 *   considered crashed and never invokes again; clients continue under a fresh process id.
 */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/** The three ways an operation completes. */
export type CompletionType = Exclude<EventType, 'invoke'>;

/** One line of `history.jsonl`. */
export interface HistoryEvent {
  /** Position in the history: strictly increasing along the file (Jepsen numbers from 0). */
  readonly index: number;
  /** Nanoseconds since the run started, on the recorder's clock; never decreases along the file. */
  readonly time: number;
  /** The client process (a non-negative integer): one operation in flight at a time. */
  readonly process: number;
  readonly type: EventType;
  /** The operation's function: `read`, `write`, `cas`, `txn`, `acquire`, `grant`, ... */
  readonly f: string;
  /** The workload-specific argument (on invoke) or result (on completion). */
  readonly value: JsonValue;
  /** The store revision an `ok` write, cas or txn was given (etcd's header revision). */
  readonly revision?: number;
  /** A short error description on `fail` / `info` (for people; checkers do not parse it). */
  readonly error?: string;
}

/**
 * An invoke paired with its completion, as {@link pairOperations} returns it.
 *
 * Invariant: `invoke.process === completion.process`, `invoke.f === completion.f`,
 * `invoke.index < completion.index`, and `completion.type === type`.
 */
export interface Operation {
  /** Number of the operation in invoke order (0, 1, 2, ...): "T12" in explanations. */
  readonly id: number;
  readonly process: number;
  readonly f: string;
  readonly type: CompletionType;
  readonly invoke: HistoryEvent;
  readonly completion: HistoryEvent;
}

/** A register key (the register workload runs one independent register per key). */
export type RegisterKey = string | number;

/** A register value; `null` means "absent" (never written, or deleted). */
export type RegisterValue = string | number;

/** Function names of the register workload. */
export type RegisterFunction = 'read' | 'write' | 'cas';

/** A list-append micro-op: append `value` to the list at `key`. */
export type AppendMicroOp = readonly ['append', RegisterKey, number];

/** A list-append micro-op: read the list at `key` (`null` on invoke, the list on `ok`). */
export type ReadMicroOp = readonly ['r', RegisterKey, readonly number[] | null];

/** One micro-op of a list-append `txn`. */
export type MicroOp = AppendMicroOp | ReadMicroOp;
