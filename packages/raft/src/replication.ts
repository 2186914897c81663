import { isFlotillaError } from '@flotilla/errors';
import { RaftError } from './errors.js';
import { NO_ENTRIES, payloadBytes } from './log/limit.js';
import type { Raft } from './raft.js';
import type { Progress } from './tracker/progress.js';
import type { Entry, NodeId } from './types.js';

/**
 * The leader's sending side of log replication (§5.3) and of heartbeats, with etcd's flow
 * control: a follower in `'probe'` gets one message at a time, one in `'replicate'` a pipeline
 * bounded by the inflight window, one in `'snapshot'` nothing until the snapshot is reported.
 */

/** Sends an `app` to `to` (even an empty one, to carry the commit index). */
export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/**
 * Sends `to` the entries after its `next` index, at most `maxSizePerMsg` bytes, unless its
 * progress is paused. Falls back to a snapshot when the entries (or the term of the entry before
 * them) were compacted. With `sendIfEmpty` false nothing is sent when there are no new entries.
 * Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.raftLog.term(prevIndex);
  if (prevTerm === undefined) return maybeSendSnapshot(r, to, pr);

  let ents: readonly Entry[] | undefined = NO_ENTRIES;
  // In replicate state with a full window, send only an empty message (the commit index).
  if (pr.state !== 'replicate' || !pr.inflights.full())
    ents = r.raftLog.entries(pr.next, r.cfg.maxSizePerMsg);
  if (ents === undefined) return maybeSendSnapshot(r, to, pr);
  if (ents.length === 0 && !sendIfEmpty) return false;

  const commit = r.raftLog.committed;
  r.send({
    type: 'app',
    from: r.id,
    to,
    term: r.term,
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit,
  });
  // Byte accounting only matters with a byte limit on the window; skip the pass otherwise.
  const bytes =
    ents.length === 0 || pr.inflights.maxBytes === Number.POSITIVE_INFINITY ? 0 : payloadBytes(ents);
  pr.sentEntries(ents.length, bytes);
  pr.setSentCommit(commit);
  return true;
}

/**
 * §7: the follower needs entries we compacted, so send the latest snapshot instead. Only to a
 * recently active follower (a snapshot is expensive); when the storage cannot produce one right
 * now (`SNAPSHOT_TEMPORARILY_UNAVAILABLE`) we try again on a later heartbeat response or probe.
 */
function maybeSendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  if (!pr.recentActive) {
    r.logger.debug(`ignore sending snapshot to ${to} since it is not recently active`);
    return false;
  }
  let snapshot: ReturnType<typeof r.raftLog.snapshot>;
  try {
    snapshot = r.raftLog.snapshot();
  } catch (err) {
    if (isFlotillaError(err, 'SNAPSHOT_TEMPORARILY_UNAVAILABLE')) {
      r.logger.debug(`${r.id} failed to send snapshot to ${to} because snapshot is temporarily unavailable`);
      return false;
    }
    throw err;
  }
  if (snapshot.metadata.index === 0) {
    throw new RaftError('INVARIANT_VIOLATED', 'need a non-empty snapshot to catch up a follower');
  }
  const { index, term } = snapshot.metadata;
  r.logger.debug(
    `${r.id} [firstindex: ${r.raftLog.firstIndex()}, commit: ${r.raftLog.committed}] sent snapshot[index: ${index}, term: ${term}] to ${to} [${pr}]`,
  );
  pr.becomeSnapshot(index);
  r.send({ type: 'snap', from: r.id, to, term: r.term, snapshot });
  return true;
}

/**
 * Sends a heartbeat (§5.2). Its commit index is capped at what the follower is known to hold,
 * so a follower never learns a commit index beyond its log (etcd).
 */
export function sendHeartbeat(r: Raft, to: NodeId, readSeq: number): void {
  const pr = r.trk.progress.get(to);
  if (pr === undefined) return;
  const commit = Math.min(pr.match, r.raftLog.committed);
  r.send({ type: 'heartbeat', from: r.id, to, term: r.term, commit, readSeq });
  pr.setSentCommit(commit);
}

/** Sends `app` messages (possibly empty, to carry the commit index) to every other member. */
export function bcastAppend(r: Raft): void {
  for (const id of r.trk.ids) {
    if (id !== r.id) maybeSendAppend(r, id, true);
  }
}

/**
 * Sends heartbeats to every other member, carrying the read sequence (thesis §6.4): in `'safe'`
 * mode the one that would confirm every pending read, in `'leaseBased'` mode a fresh one that
 * renews the lease once a quorum echoes it (lease-read.ts). Returns the sequence sent.
 */
export function bcastHeartbeat(r: Raft): number {
  const seq = r.cfg.readOnlyOption === 'safe' ? r.readOnly.heartbeatSeq() : r.lease.nextHeartbeat(r.id);
  for (const id of r.trk.ids) {
    if (id !== r.id) sendHeartbeat(r, id, seq);
  }
  return seq;
}

/**
 * Tells the transferee to campaign now (thesis §3.10). Its campaign bypasses the followers'
 * vote stickiness, so the lease is over for this term (`LeaderLease.revoke`).
 */
export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.lease.revoke();
  r.send({ type: 'timeoutNow', from: r.id, to, term: r.term });
}
