import { describeChanges } from './confchange/changer.js';
import { decodeConfChange, encodeConfChange } from './confchange/codec.js';
import { RaftError } from './errors.js';
import { EMPTY_DATA } from './log/limit.js';
import { confChangeProblem } from './membership.js';
import type { Raft } from './raft.js';
import { maybeSendAppend } from './replication.js';
import { type ConfChange, type EntryType, NONE, type PropMessage } from './types.js';

/**
 * Proposals: how a command reaches the leader's log (§5.3 "the leader appends the command to its
 * log as a new entry"). The leader appends at once and broadcasts once per Ready; a follower
 * forwards to its leader; anything that cannot be taken now is refused with `PROPOSAL_DROPPED`
 * and changes nothing.
 */

function dropped(r: Raft, why: string): never {
  r.logger.debug(`${r.id} [term ${r.term}] dropping proposal: ${why}`);
  throw new RaftError('PROPOSAL_DROPPED', `proposal dropped: ${why}`);
}

/**
 * Proposes one entry: appended at once on the leader, forwarded by a follower, refused by a
 * candidate or by a follower without leader or with forwarding disabled.
 */
export function propose(r: Raft, type: EntryType, data: Uint8Array): void {
  if (r.state === 'leader') {
    leaderPropose(r, type, data);
    return;
  }
  // Followers and candidates handle it as the message a peer would forward, marked as our own so
  // a refusal reaches the caller.
  r.steppingOwnProposal = true;
  try {
    r.step({ type: 'prop', from: r.id, to: r.id, term: 0, entries: [{ term: 0, index: 0, type, data }] });
  } finally {
    r.steppingOwnProposal = false;
  }
}

/**
 * Proposes a membership change. The leader refuses one it can tell is invalid with
 * `INVALID_CONF_CHANGE` (see `confChangeProblem`); a follower cannot tell and forwards it, and the
 * leader turns an invalid one into an empty entry.
 */
export function proposeConfChange(r: Raft, cc: ConfChange): void {
  const data = encodeConfChange(cc);
  if (r.state === 'leader') {
    checkLeaderAcceptsProposals(r);
    const problem = confChangeProblem(r, cc);
    if (problem !== undefined) {
      r.logger.info(`${r.id} refusing conf change ${describeChanges(cc.changes)}: ${problem}`);
      throw new RaftError('INVALID_CONF_CHANGE', `conf change refused: ${problem}`);
    }
  }
  propose(r, 'confChange', data);
}

/** Throws `PROPOSAL_DROPPED` when the leader can not take proposals right now. */
export function checkLeaderAcceptsProposals(r: Raft): void {
  // A leader removed from the configuration (with stepDownOnRemoval off) keeps leading until the
  // next election but must not grow the log.
  if (!r.trk.progress.has(r.id)) dropped(r, 'the leader is not a member of the configuration');
  // Thesis §3.10: stop accepting proposals during a transfer, or the transferee may never
  // catch up.
  if (r.leadTransferee !== NONE) dropped(r, `leadership transfer to ${r.leadTransferee} in progress`);
}

/**
 * The leader appends one entry of its own (the hot path: one allocation, the Entry). The
 * followers get it with the next broadcast, once per Ready (`pendingBcast`), so a batch of
 * proposals leaves as one message per follower. A conf change becomes the pending one.
 */
export function leaderPropose(r: Raft, type: EntryType, data: Uint8Array): void {
  checkLeaderAcceptsProposals(r);
  if (!r.appendEntry(type, data)) dropped(r, 'uncommitted entries exceed maxUncommittedEntriesSize');
  if (type === 'confChange') r.pendingConfIndex = r.raftLog.lastIndex();
  r.pendingBcast = true;
}

/**
 * Proposals forwarded by a follower (or stepped by the host). All entries are admitted or none.
 * A conf change the leader can tell is invalid is replaced by an empty normal entry, as etcd
 * does, so the proposal still gets an index and the logs stay consistent.
 */
export function leaderStepProp(r: Raft, m: PropMessage): void {
  try {
    if (m.entries.length === 0) dropped(r, 'empty proposal');
    checkLeaderAcceptsProposals(r);
    let size = 0;
    for (const e of m.entries) size += e.data.byteLength;
    if (!r.increaseUncommittedSize(size)) dropped(r, 'uncommitted entries exceed maxUncommittedEntriesSize');
  } catch (err) {
    // Our own proposal: the caller hears about it. A forwarded proposal (whoever sent it, even
    // this node: a proposal can be forwarded back to its proposer): nobody to tell (the proposer
    // times out and retries, as after a lost message).
    if (r.steppingOwnProposal) throw err;
    return;
  }
  for (const e of m.entries) {
    let type: EntryType = e.type;
    let data = e.data;
    if (type === 'confChange') {
      let problem: string | undefined;
      try {
        problem = confChangeProblem(r, decodeConfChange(data));
      } catch {
        problem = 'undecodable conf change';
      }
      if (problem !== undefined) {
        r.logger.info(`${r.id} ignoring conf change from ${m.from}: ${problem}`);
        type = 'normal';
        data = EMPTY_DATA;
      }
    }
    // The batch's size was admitted as a whole above (a replaced conf change keeps counting its
    // original size until applied: conservative).
    r.appendAdmittedEntry(type, data);
    if (type === 'confChange') r.pendingConfIndex = r.raftLog.lastIndex();
  }
  r.pendingBcast = true;
}

const LEAVE_JOINT = encodeConfChange({ changes: [] });

/** Thesis §4.3 auto-leave: the leader proposes the empty conf change that leaves C_old,new. */
export function proposeLeaveJoint(r: Raft): void {
  const problem = confChangeProblem(r, { changes: [] });
  if (problem !== undefined) throw new RaftError('INVALID_CONF_CHANGE', problem);
  leaderPropose(r, 'confChange', LEAVE_JOINT);
}

/** Sends the proposals appended since the last broadcast (see `pendingBcast`). */
export function flushPendingBcast(r: Raft): void {
  if (!r.pendingBcast) return;
  r.pendingBcast = false;
  if (r.state !== 'leader') return;
  // Fill each follower's pipeline: in replicate state as many messages as the inflight window
  // and maxSizePerMsg allow, in probe state the one probe.
  for (const id of r.trk.ids) {
    if (id !== r.id) while (maybeSendAppend(r, id, false)) {}
  }
}
