import type { VoteResult } from './quorum/quorum.js';
import type { CampaignType, Raft } from './raft.js';
import type { VoteMessage, VoteRespMessage } from './types.js';
import { NONE } from './types.js';

/**
 * Starts a campaign (§5.2): a PreVote round (thesis §9.6) or a real election. Vote requests go
 * to every voter of both halves of the configuration (thesis §4.3: a joint configuration needs a
 * majority of each). The candidate's vote for itself is a message to itself, released only once
 * the host has persisted the Ready that carries the new term and vote, like any other vote.
 */
export function campaign(r: Raft, t: CampaignType): void {
  let term: number;
  let voteType: VoteMessage['type'];
  if (t === 'preElection') {
    r.becomePreCandidate();
    voteType = 'preVote';
    // A pre-vote asks for the term we would campaign in, without adopting it.
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    voteType = 'vote';
    term = r.term;
  }
  const respType: VoteRespMessage['type'] = voteType === 'preVote' ? 'preVoteResp' : 'voteResp';
  const index = r.raftLog.lastIndex();
  const logTerm = r.raftLog.lastTerm();
  for (const id of r.trk.voterNodes()) {
    if (id === r.id) {
      r.send({ type: respType, from: r.id, to: r.id, term, reject: false });
      continue;
    }
    r.logger.info(
      `${r.id} [logterm: ${logTerm}, index: ${index}] sent ${voteType} request to ${id} at term ${r.term}`,
    );
    r.send({ type: voteType, from: r.id, to: id, term, index, logTerm, transfer: t === 'transfer' });
  }
}

/**
 * Answers a vote or pre-vote request (§5.2, §5.4.1). We grant when we have not voted for
 * someone else in this term (or, for a pre-vote, the request is for a future term) and the
 * candidate's log is at least as up-to-date as ours. Granting a real vote records it and
 * restarts our election timer (we just helped someone else become leader).
 *
 * Learners answer too: a learner may have been promoted by a conf change it has not applied
 * yet, and the cluster may need its vote (etcd's campaign_learner_must_vote).
 */
export function grantOrRejectVote(r: Raft, m: VoteMessage): void {
  const respType = m.type === 'preVote' ? 'preVoteResp' : 'voteResp';
  const canVote =
    r.vote === m.from ||
    // Not voted yet, and no leader known in this term.
    (r.vote === NONE && r.lead === NONE) ||
    // A pre-vote for a later term: we would vote in that term.
    (m.type === 'preVote' && m.term > r.term);
  const lastIndex = r.raftLog.lastIndex();
  const lastTerm = r.raftLog.lastTerm();
  if (canVote && r.raftLog.isUpToDate(m.index, m.logTerm)) {
    r.logger.info(
      `${r.id} [logterm: ${lastTerm}, index: ${lastIndex}, vote: ${r.vote}] cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}`,
    );
    // The answer carries the request's term: for a pre-vote that is the future term, so the
    // pre-candidate recognises it (our own term is unchanged).
    r.send({ type: respType, from: r.id, to: m.from, term: m.term, reject: false });
    if (m.type === 'vote') {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.logger.info(
      `${r.id} [logterm: ${lastTerm}, index: ${lastIndex}, vote: ${r.vote}] rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}`,
    );
    r.send({ type: respType, from: r.id, to: m.from, term: r.term, reject: true });
  }
}

/** Records a vote and returns the election's result. */
export function poll(r: Raft, m: VoteRespMessage): VoteResult {
  if (m.reject) r.logger.info(`${r.id} received ${m.type} rejection from ${m.from} at term ${r.term}`);
  else r.logger.info(`${r.id} received ${m.type} from ${m.from} at term ${r.term}`);
  r.trk.recordVote(m.from, !m.reject);
  const { granted, rejected, result } = r.trk.tallyVotes();
  r.logger.info(`${r.id} has received ${granted} ${m.type} votes and ${rejected} vote rejections`);
  return result;
}

/**
 * Starts an election of type `t` if this member may: not already leader, a voter without a
 * pending snapshot, and no committed conf change left to apply (campaigning with a configuration
 * that is about to change could elect a leader the new configuration does not support; etcd
 * raft.go hup).
 */
export function hup(r: Raft, t: CampaignType): void {
  if (r.state === 'leader') {
    r.logger.debug(`${r.id} ignoring hup because already leader`);
    return;
  }
  if (!r.promotable()) {
    r.logger.warn(`${r.id} is unpromotable and can not campaign`);
    return;
  }
  if (hasUnappliedConfChanges(r)) {
    r.logger.warn(
      `${r.id} cannot campaign at term ${r.term} since there are still pending configuration changes to apply`,
    );
    return;
  }
  r.logger.info(`${r.id} is starting a new election at term ${r.term}`);
  campaign(r, t);
}

/** True when a committed conf change is not yet applied (scans the committed, unapplied entries). */
function hasUnappliedConfChanges(r: Raft): boolean {
  const log = r.raftLog;
  if (log.applied >= log.committed) return false;
  return log.scan(log.applied + 1, log.committed + 1, log.maxApplyingEntsSize, (ents) => {
    for (const e of ents) if (e.type === 'confChange') return true;
    return false;
  });
}
