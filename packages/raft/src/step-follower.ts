import { hup } from './election.js';
import { RaftError } from './errors.js';
import { restoreSnapshot } from './membership.js';
import type { Raft } from './raft.js';
import {
  type AppMessage,
  type HeartbeatMessage,
  type Message,
  NONE,
  type NodeId,
  type PropMessage,
  type SnapMessage,
} from './types.js';

/**
 * A follower's handling of every message that is not about terms or votes (Raft.step has
 * already matched the message's term to ours). A follower is passive (§5.1): it answers the
 * leader, forwards requests to it, and campaigns only when told (timeoutNow) or when its
 * election timer fires.
 */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'prop':
      forwardProposal(r, m);
      return;
    // §5.2: "A server remains in follower state as long as it receives valid RPCs from a leader
    // or candidate": each message from the leader restarts the election timer and names it.
    case 'app':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case 'heartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case 'snap':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    // Requests only the leader can serve are forwarded to it (etcd's proposal and ReadIndex
    // forwarding); without a known leader they are dropped and the requester retries.
    case 'transferLeader':
      if (r.lead === NONE) {
        r.logger.info(`${r.id} no leader at term ${r.term}; dropping leader transfer msg`);
        return;
      }
      r.send({ type: 'transferLeader', from: r.id, to: r.lead, term: r.term, transferee: m.transferee });
      return;
    case 'timeoutNow':
      // Thesis §3.10: the leader asks us to take over; campaign now, skipping PreVote and
      // bypassing vote stickiness (the vote requests are marked as a transfer).
      r.logger.info(
        `${r.id} [term ${r.term}] received timeoutNow from ${m.from} and starts an election to get leadership`,
      );
      hup(r, 'transfer');
      return;
    case 'readIndex':
      if (r.lead === NONE) {
        r.logger.info(`${r.id} no leader at term ${r.term}; dropping index reading msg`);
        return;
      }
      // A read a peer forwarded to us while we led is not passed on again: the leader answers
      // the sender of the message it gets, and our transport carries only our own messages (a
      // transport authenticates the sender by its connection), so a second hop could never
      // answer the reader. Dropped like a lost message: the reader's request times out and it
      // retries. (etcd-raft re-forwards it keeping the sender; its transport does not check.)
      if (m.from !== r.id) {
        r.logger.info(
          `${r.id} not leader at term ${r.term}; dropping index reading msg forwarded by ${m.from}`,
        );
        return;
      }
      r.send({ type: 'readIndex', from: r.id, to: r.lead, term: 0, context: m.context });
      return;
    case 'readIndexResp':
      // The leader confirmed our forwarded read: hand the read point to our host.
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    default:
      return;
  }
}

/**
 * Refuses a proposal: our own caller gets `PROPOSAL_DROPPED`; a peer's forwarded proposal is
 * dropped silently (like a lost message, the proposer's client times out and retries).
 */
export function dropProposal(r: Raft, why: string): void {
  r.logger.info(`${r.id} ${why} at term ${r.term}; dropping proposal`);
  if (r.steppingOwnProposal) throw new RaftError('PROPOSAL_DROPPED', `proposal dropped: ${why}`);
}

/**
 * Sends a proposal on to the leader, unless we cannot. A proposal a peer forwarded to us while we
 * led goes on as ours: the leader never answers a proposal (the proposer learns the outcome from
 * the log), and our transport only carries messages from us, so keeping the original sender as
 * etcd-raft does would make the transport refuse it.
 */
function forwardProposal(r: Raft, m: PropMessage): void {
  if (r.lead === NONE) {
    dropProposal(r, 'no leader');
  } else if (r.cfg.disableProposalForwarding) {
    dropProposal(r, `not forwarding to leader ${r.lead}`);
  } else {
    r.send({ type: 'prop', from: r.id, to: r.lead, term: 0, entries: m.entries });
  }
}

/**
 * Acknowledges that our log matches the leader's up to `index`. Like every `appResp` it is held
 * back until the Ready carrying those entries is persisted: the leader counts it toward a commit
 * quorum, so it must never promise entries a crash could still lose (§5.3, Figure 2).
 */
function sendAppAck(r: Raft, to: NodeId, index: number): void {
  r.send({ type: 'appResp', from: r.id, to, term: r.term, index, reject: false, rejectHint: 0, logTerm: 0 });
}

/**
 * The receiving side of AppendEntries (§5.3). Entries at or below our commit index are known to
 * match (Log Matching Property), so a message starting below it is answered with our commit
 * index and the leader moves on from there. Otherwise we append when our log has the entry just
 * before the new ones, or reject with a hint for fast back-off.
 */
export function handleAppendEntries(r: Raft, m: AppMessage): void {
  const log = r.raftLog;
  if (m.index < log.committed) {
    sendAppAck(r, m.from, log.committed);
    return;
  }
  const last = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (last >= 0) {
    sendAppAck(r, m.from, last);
    return;
  }
  r.logger.debug(
    `${r.id} [logterm: ${log.term(m.index) ?? 0}, index: ${m.index}] rejected app [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
  );
  // Our log is shorter, or has another term at m.index. Any entry with a term above m.logTerm
  // can not match, so the hint skips them all:
  //
  //   idx        1 2 3 4 5 6 7 8 9
  //   leader     1 3 3 3 5 5 5 5 5     probes (index 8, term 5)
  //   follower   1 1 1 1 2 2           hint: index 6 (min(8, last)), term 2
  //
  // The leader then looks for its last entry with term ≤ 2 (index 1) and probes from there.
  const hint = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
  r.send({
    type: 'appResp',
    from: r.id,
    to: m.from,
    term: r.term,
    index: m.index,
    reject: true,
    rejectHint: hint.index,
    logTerm: hint.term,
  });
}

/**
 * A heartbeat (§5.2): learn the commit index (the leader capped it at what we are known to hold,
 * so it never points past our log) and echo the ReadIndex sequence it carries (thesis §6.4). The
 * answer promises nothing durable, so it is not held back.
 */
export function handleHeartbeat(r: Raft, m: HeartbeatMessage): void {
  r.raftLog.commitTo(m.commit);
  r.send({ type: 'heartbeatResp', from: r.id, to: m.from, term: r.term, readSeq: m.readSeq });
}

/**
 * InstallSnapshot (§7). The answer acknowledges the snapshot's index (our new last index) or, when
 * we did not need it, our commit index: either way the leader learns where our log now matches.
 */
export function handleSnapshot(r: Raft, m: SnapMessage): void {
  const { index, term } = m.snapshot.metadata;
  const restored = restoreSnapshot(r, m.snapshot);
  r.logger.info(
    `${r.id} [commit: ${r.raftLog.committed}] ${restored ? 'restored' : 'ignored'} snapshot [index: ${index}, term: ${term}]`,
  );
  sendAppAck(r, m.from, restored ? r.raftLog.lastIndex() : r.raftLog.committed);
}
