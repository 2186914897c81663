import { leaderStepProp } from './proposal.js';
import type { Raft } from './raft.js';
import { leaderReadIndex, recvReadAck } from './read-index.js';
import { bcastHeartbeat, maybeSendAppend, sendAppend, sendTimeoutNow } from './replication.js';
import {
  type AppRespMessage,
  type HeartbeatRespMessage,
  type Message,
  NONE,
  type TransferLeaderMessage,
} from './types.js';

/** The leader's handling of every message that is not about terms or votes. */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'beat':
      bcastHeartbeat(r);
      return;
    case 'checkQuorum':
      // Thesis §6.2: a leader that did not hear from a quorum within an election timeout may be
      // deposed already; stepping down lets the clients find the real leader. (Lease reads do
      // not wait for this: the lease expires on its own, lease-read.ts.)
      // Test-only fault (faults.ts): a leader that ignores the loss of its quorum.
      if (!r.trk.quorumActive() && !r.faults.leaderIgnoresQuorumLoss) {
        r.logger.warn(`${r.id} stepped down to follower since quorum is not active`);
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case 'prop':
      leaderStepProp(r, m);
      return;
    case 'readIndex':
      leaderReadIndex(r, m);
      return;
    case 'transferLeader':
      stepTransferLeader(r, m);
      return;
  }
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) {
    r.logger.debug(`${r.id} no progress available for ${m.from}`);
    return;
  }
  switch (m.type) {
    case 'appResp':
      pr.recentActive = true;
      if (m.reject) handleAppReject(r, m);
      else handleAppAck(r, m);
      return;
    case 'heartbeatResp':
      handleHeartbeatResp(r, m);
      return;
    case 'snapStatus':
      if (pr.state !== 'snapshot') return;
      // Success: the follower has the snapshot, probe from just after it. Failure: forget it
      // and probe from the match point (which will send another snapshot if needed).
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      r.logger.debug(
        `${r.id} snapshot ${m.reject ? 'failed' : 'succeeded'}, resumed sending replication messages to ${m.from} [${pr}]`,
      );
      // Wait for a heartbeat response (or an answer) before probing, so we do not send into a
      // connection that just failed.
      pr.msgAppFlowPaused = true;
      return;
    case 'unreachable':
      // The transport dropped a message to it: stop pipelining blind, probe instead.
      if (pr.state === 'replicate') pr.becomeProbe();
      r.logger.debug(`${r.id} failed to send message to ${m.from} because it is unreachable [${pr}]`);
      return;
    default:
      return;
  }
}

/**
 * A follower rejected an `app`: move its `next` back using its hint (fast back-off) and probe
 * again. With a term in the hint, skip our own entries whose term is above it
 * (`findConflictByTerm` on the leader's log), so one round trip skips a whole term.
 */
function handleAppReject(r: Raft, m: AppRespMessage): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  r.logger.debug(
    `${r.id} received appResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`,
  );
  let nextProbe = m.rejectHint;
  if (m.logTerm > 0) nextProbe = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
  if (pr.maybeDecrTo(m.index, nextProbe)) {
    r.logger.debug(`${r.id} decreased progress of ${m.from} to [${pr}]`);
    if (pr.state === 'replicate') pr.becomeProbe();
    sendAppend(r, m.from);
  }
}

/** A follower (or the leader itself, after persisting) acknowledged entries up to `m.index`. */
function handleAppAck(r: Raft, m: AppRespMessage): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  // A repeated ack of the match point still ends a probe: the follower matches there.
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
  if (pr.state === 'probe') {
    pr.becomeReplicate();
  } else if (pr.state === 'snapshot' && pr.match + 1 >= r.raftLog.firstIndex()) {
    // The follower caught up past our compaction point (for example through the snapshot):
    // replicate from the log again.
    r.logger.debug(
      `${r.id} recovered from needing snapshot, resumed sending replication messages to ${m.from} [${pr}]`,
    );
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === 'replicate') {
    pr.inflights.freeLE(m.index);
  }

  if (r.maybeCommit()) {
    r.onLeaderCommit();
  } else if (m.from !== r.id && pr.canBumpCommit(r.raftLog.committed)) {
    // The follower has entries it does not know are committed: tell it.
    sendAppend(r, m.from);
  }
  if (m.from !== r.id) {
    // Refill the pipeline the ack freed (sends nothing when there is nothing new).
    while (maybeSendAppend(r, m.from, false)) {}
    // Thesis §3.10: the transferee caught up; tell it to campaign now.
    if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
      r.logger.info(`${r.id} sent timeoutNow to ${m.from} after received appResp`);
      sendTimeoutNow(r, m.from);
    }
  }
}

function handleHeartbeatResp(r: Raft, m: HeartbeatRespMessage): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  // A heartbeat response proves the follower is reachable: resume probing, or catch it up.
  if (pr.match < r.raftLog.lastIndex() || pr.state === 'probe') sendAppend(r, m.from);
  recvReadAck(r, m);
}

// ---------------------------------------------------------------------------------------------
// Leadership transfer (thesis §3.10)
// ---------------------------------------------------------------------------------------------

function stepTransferLeader(r: Raft, m: TransferLeaderMessage): void {
  const transferee = m.transferee;
  const pr = r.trk.progress.get(transferee);
  if (pr === undefined) {
    r.logger.debug(`${r.id} ignored transferring leadership to unknown member ${transferee}`);
    return;
  }
  if (pr.isLearner) {
    r.logger.debug(`${r.id} ignored transferring leadership to learner ${transferee}`);
    return;
  }
  const last = r.leadTransferee;
  if (last !== NONE) {
    if (last === transferee) {
      r.logger.info(
        `${r.id} [term ${r.term}] transfer leadership to ${transferee} is in progress, ignores request to same node`,
      );
      return;
    }
    r.abortLeaderTransfer();
    r.logger.info(`${r.id} [term ${r.term}] abort previous transferring leadership to ${last}`);
  }
  if (transferee === r.id) {
    r.logger.debug(`${r.id} is already leader. Ignored transferring leadership to self`);
    return;
  }
  r.logger.info(`${r.id} [term ${r.term}] starts to transfer leadership to ${transferee}`);
  // The transfer must complete within an election timeout (tickHeartbeat aborts it after).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) {
    sendTimeoutNow(r, transferee);
    r.logger.info(`${r.id} sends timeoutNow to ${transferee} immediately as it already has up-to-date log`);
  } else {
    sendAppend(r, transferee);
  }
}
