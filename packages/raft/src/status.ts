import type { Raft } from './raft.js';
import type { NodeId, ProgressStatus, Status } from './types.js';

/**
 * A snapshot of a member's state for observability and tests: term, vote, commit, applied,
 * leader, role, transfer target, configuration, and on the leader every member's progress.
 * Everything is copied: later changes to the node do not show through.
 */
export function getStatus(r: Raft): Status {
  const base = {
    id: r.id,
    term: r.term,
    vote: r.vote,
    commit: r.raftLog.committed,
    applied: r.raftLog.applied,
    lead: r.lead,
    raftState: r.state,
    leadTransferee: r.leadTransferee,
    config: r.trk.confState(),
  };
  // Only the leader's progress is meaningful (followers keep entries for every member too, but
  // never update them), so only the leader reports it; the key is absent otherwise.
  if (r.state !== 'leader') return base;
  const progress = new Map<NodeId, ProgressStatus>();
  for (const id of r.trk.ids) {
    const pr = r.trk.progress.get(id);
    if (pr === undefined) continue;
    progress.set(id, {
      match: pr.match,
      next: pr.next,
      state: pr.state,
      recentActive: pr.recentActive,
      isLearner: pr.isLearner,
    });
  }
  return { ...base, progress };
}
