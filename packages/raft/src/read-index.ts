import type { Raft } from './raft.js';
import { bcastHeartbeat } from './replication.js';
import { type HeartbeatRespMessage, NONE, type NodeId, type ReadIndexMessage } from './types.js';

/**
 * The leader's side of linearizable reads (thesis §6.4). The read index is the commit index when
 * the request arrives; in `'safe'` mode it is answered once a heartbeat round proves that we were
 * still leader after the request arrived (the `ReadOnly` queue, confirmed by sequence numbers);
 * in `'leaseBased'` mode it is answered at once (thesis §6.4.1: CheckQuorum bounds how long a
 * deposed leader can believe it leads). The answer goes to the leader's host as a ReadState or
 * back to the follower that forwarded the request.
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
  } else {
    respond(r, m.from, m.context, index);
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
  if (r.cfg.readOnlyOption !== 'safe' || m.readSeq === 0) return;
  r.readOnly.recvAck(m.from, m.readSeq);
  for (const req of r.readOnly.maybeAdvance(r.trk.config.voters))
    respond(r, req.from, req.context, req.index);
}

function respond(r: Raft, from: NodeId, context: Uint8Array, index: number): void {
  if (from === NONE || from === r.id) {
    r.readStates.push({ index, requestCtx: context });
  } else {
    r.send({ type: 'readIndexResp', from: r.id, to: from, term: r.term, index, context });
  }
}
