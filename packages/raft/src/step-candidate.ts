import { campaign, poll } from './election.js';
import type { Raft } from './raft.js';
import { bcastAppend } from './replication.js';
import { dropProposal, handleAppendEntries, handleHeartbeat, handleSnapshot } from './step-follower.js';
import { type Message, NONE } from './types.js';

/**
 * A candidate's or pre-candidate's handling of every message that is not about terms or votes.
 * A candidate waits for one of three outcomes (§5.2): it wins (a quorum of votes), another server
 * establishes itself as leader (a message from a leader of our term), or the election times out
 * (the next tick starts another). A pre-candidate (thesis §9.6) goes through the same steps
 * without having changed its term, and on winning starts the real election.
 */
export function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case 'prop':
      // No leader to forward to during an election.
      dropProposal(r, 'no leader');
      return;
    // §5.2: a leader of our term exists (a message from a higher term already made us a
    // follower in Raft.step); accept it and handle the message as a follower.
    case 'app':
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case 'heartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case 'snap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case 'voteResp':
    case 'preVoteResp': {
      // Only answers to our current kind of campaign count (a late pre-vote answer can arrive
      // after the real election started).
      if ((m.type === 'preVoteResp') !== (r.state === 'preCandidate')) return;
      const result = poll(r, m);
      if (result === 'won') {
        if (r.state === 'preCandidate') {
          campaign(r, 'election');
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (result === 'lost') {
        // PreVote and vote answers both carry a term ≥ ours here, so stay at our term.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    case 'timeoutNow':
      // Already campaigning: a transfer request adds nothing (etcd ignores it too).
      r.logger.debug(`${r.id} [term ${r.term} state ${r.state}] ignored timeoutNow from ${m.from}`);
      return;
    default:
      return;
  }
}
