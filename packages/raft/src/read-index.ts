import type { Raft } from './raft.js';
import { bcastHeartbeat } from './replication.js';
import { type HeartbeatRespMessage, NONE, type NodeId, type ReadIndexMessage } from './types.js';

/**
 * The leader's side of linearizable reads (thesis §6.4). The read index is the commit index when
 * the request arrives; it is answered once the leader knows no newer leader existed at that
 * moment:
 *
 * - `'safe'` mode: a heartbeat round proves that we were still leader after the request arrived
 *   (the `ReadOnly` queue, confirmed by sequence numbers).
 * - `'leaseBased'` mode: at once while the leader's lease holds (thesis §6.4.1, `LeaderLease`);
 *   otherwise by the same kind of heartbeat round, counted in the lease's sequences.
 *
 * The answer goes to the leader's host as a ReadState or back to the follower that forwarded
 * the request.
 */

/** A ReadIndex request reaches the leader. */
export function leaderReadIndex(r: Raft, m: ReadIndexMessage): void {
  // A new leader's commit index may be behind what its predecessor committed until it commits
  // an entry of its own term: park the request until then (etcd #7331). Parked requests are
  // dropped if we lose leadership (the requester retries).
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  serve(r, m);
}

function serve(r: Raft, m: ReadIndexMessage): void {
  const index = r.raftLog.committed;
  if (r.trk.isSingleton()) {
    // Alone, nobody else can be leader: the commit index is the read index.
    respond(r, m.from, m.context, index);
  } else if (r.cfg.readOnlyOption === 'safe') {
    // Queue it, count our own acknowledgement, and start a heartbeat round carrying its sequence.
    r.readOnly.addRequest(index, m.from, m.context);
    r.readOnly.recvAck(r.id, r.readOnly.heartbeatSeq());
    bcastHeartbeat(r);
  } else if (
    // Test-only fault (faults.ts): a leader that ignores the loss of its quorum trusts its lease.
    r.faults.leaderIgnoresQuorumLoss ||
    r.lease.valid(r.trk.config.voters, r.leadTransferee !== NONE)
  ) {
    respond(r, m.from, m.context, index);
  } else {
    // No lease to lean on: wait for a quorum to acknowledge the heartbeat we send now, after
    // the request arrived (as in 'safe' mode), then answer with the commit index of arrival.
    r.lease.wait(bcastHeartbeat(r), { from: m.from, context: m.context, index });
    answerConfirmed(r);
  }
}

/** The leader committed an entry of its term: serve the parked requests. */
export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) serve(r, m);
}

/** A heartbeat answer echoing read sequence `m.readSeq`: answer every request a quorum confirmed. */
export function recvReadAck(r: Raft, m: HeartbeatRespMessage): void {
  if (m.readSeq === 0) return;
  if (r.cfg.readOnlyOption === 'safe') {
    r.readOnly.recvAck(m.from, m.readSeq);
    for (const req of r.readOnly.maybeAdvance(r.trk.config.voters))
      respond(r, req.from, req.context, req.index);
  } else {
    r.lease.recvAck(m.from, m.readSeq);
    answerConfirmed(r);
  }
}

/** `'leaseBased'` mode: answer the waiting reads a quorum round confirmed. */
function answerConfirmed(r: Raft): void {
  for (const req of r.lease.confirmed(r.trk.config.voters)) respond(r, req.from, req.context, req.index);
}

function respond(r: Raft, from: NodeId, context: Uint8Array, index: number): void {
  if (from === NONE || from === r.id) {
    r.readStates.push({ index, requestCtx: context });
  } else {
    r.send({ type: 'readIndexResp', from: r.id, to: from, term: r.term, index, context });
  }
}
