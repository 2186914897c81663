/**
 * TEST-ONLY FAULT SWITCHES. Each one breaks a Raft rule on purpose so the verification suite
 * (`test/` at the repository root) can prove that its checkers catch the bug. They are not part
 * of `RaftConfig` and no configuration can turn them on: a switch is armed by
 * {@link armRaftFaults}, exported only from `@flotilla/raft/testing`, for the node built on one
 * particular `Storage` object. Production code never imports that entry point.
 *
 * Every use of a switch in the core is one line next to the rule it breaks, marked
 * "test-only fault"; grep for `faults.` to audit them.
 */
import type { Storage } from './storage.js';

/** The Raft core's fault switches (all off unless armed). */
export interface RaftFaults {
  /**
   * The leader ignores the loss of its quorum: the CheckQuorum step-down (thesis §6.2) is
   * skipped, and with lease-based reads it answers from its lease whether or not a quorum
   * acknowledged it recently (thesis §6.4.1), as if the quorum were still there. Harmless to
   * safety with ReadIndex reads (a deposed leader cannot confirm a heartbeat round), a stale
   * read with lease-based reads.
   */
  readonly leaderIgnoresQuorumLoss?: boolean;
  /**
   * The leader commits an entry of an earlier term as soon as a quorum holds it, by counting
   * replicas, instead of only entries of its own term (the mistake the Raft paper's §5.4.2 and
   * Figure 8 describe): such an entry can still be overwritten by a later leader.
   */
  readonly commitPreviousTermByCount?: boolean;
}

const NONE: RaftFaults = Object.freeze({});
const armed = new WeakMap<Storage, RaftFaults>();

/**
 * Arms `faults` for the `RawNode` that will be created on `storage` (read once, when the node is
 * constructed). Test-only: see the module comment.
 */
export function armRaftFaults(storage: Storage, faults: RaftFaults): void {
  armed.set(storage, Object.freeze({ ...faults }));
}

/** The switches armed for a node built on `storage` (none by default). @internal */
export function raftFaultsOf(storage: Storage): RaftFaults {
  return armed.get(storage) ?? NONE;
}
