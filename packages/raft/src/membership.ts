import { Changer, type ConfigAndProgress } from './confchange/changer.js';
import { confStatesEquivalent, restoreConfState } from './confchange/restore.js';
import { RaftError } from './errors.js';
import type { Raft } from './raft.js';
import { maybeSendAppend } from './replication.js';
import type { Progress } from './tracker/progress.js';
import { describeTrackerConfig, EMPTY_TRACKER_CONFIG, type TrackerConfig } from './tracker/tracker.js';
import { type ConfChange, type ConfState, NONE, type NodeId, type Snapshot } from './types.js';

/**
 * Membership changes as etcd applies them: a change takes effect when its entry is *applied*
 * (not when appended, unlike the thesis' §4.1 variant), one at a time, simple or through a joint
 * configuration (thesis §4.3).
 */

/**
 * Runs the Changer operation `cc` asks for: an empty change leaves the joint configuration;
 * `'implicit'`/`'explicit'` (or several changes under `'auto'`) enter one; a single change under
 * `'auto'` is simple.
 */
export function runConfChange(changer: Changer, cc: ConfChange): ConfigAndProgress {
  if (cc.changes.length === 0) return changer.leaveJoint();
  if (cc.transition === 'implicit') return changer.enterJoint(true, cc.changes);
  if (cc.transition === 'explicit') return changer.enterJoint(false, cc.changes);
  if (cc.changes.length > 1) return changer.enterJoint(true, cc.changes);
  return changer.simple(cc.changes);
}

/**
 * Why the leader refuses to append `cc` now, or undefined when it is acceptable: a change is
 * still pending (one at a time), it would enter a joint configuration twice, leave one that is
 * not joint, or the Changer rejects it against the current configuration (for example it removes
 * the last voter). The dry run is exact because nothing is pending: the current configuration
 * is the one the change will be applied to.
 */
export function confChangeProblem(r: Raft, cc: ConfChange): string | undefined {
  const applied = r.raftLog.applied;
  const joint = r.trk.config.voters.isJoint;
  const leave = cc.changes.length === 0;
  if (r.pendingConfIndex > applied) {
    return `possible unapplied conf change at index ${r.pendingConfIndex} (applied to ${applied})`;
  }
  if (joint && !leave) return 'must transition out of joint config first';
  if (!joint && leave) return 'not in joint state; refusing empty conf change';
  try {
    runConfChange(new Changer(r.changerInput()), cc);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}

/**
 * Applies a committed conf change (the host calls this through `RawNode.applyConfChange`).
 * Throws `INVALID_CONF_CHANGE` and changes nothing when the change does not apply to the current
 * configuration.
 */
export function applyConfChange(r: Raft, cc: ConfChange): ConfState {
  const next = runConfChange(new Changer(r.changerInput()), cc);
  return switchToConfig(r, next.config, next.progress);
}

/**
 * Installs a configuration and reacts to it: a leader that is no longer a voter steps down
 * (stepDownOnRemoval); a leader re-evaluates its commit index (the quorum changed) and catches
 * up new members; a transfer to a member that is no longer a voter is aborted.
 */
export function switchToConfig(r: Raft, config: TrackerConfig, progress: Map<NodeId, Progress>): ConfState {
  r.trk.setConfig(config, progress);
  r.logger.info(`${r.id} switched to configuration ${describeTrackerConfig(config)}`);
  const cs = r.trk.confState();
  const pr = progress.get(r.id);
  r.isLearner = pr?.isLearner === true;
  if ((pr === undefined || r.isLearner) && r.state === 'leader') {
    // etcd-io/etcd#11038: a removed leader that keeps leading strands the cluster. By default
    // it steps down at once; the others elect a leader from the new configuration.
    if (r.cfg.stepDownOnRemoval) r.becomeFollower(r.term, NONE);
    return cs;
  }
  if (r.state !== 'leader' || cs.voters.length === 0) return cs;
  // The quorum changed: entries may be committed now (for example a slow voter was removed).
  if (r.maybeCommit()) {
    r.onLeaderCommit();
  } else {
    for (const id of r.trk.ids) if (id !== r.id) maybeSendAppend(r, id, false);
  }
  if (r.leadTransferee !== NONE && !config.voters.has(r.leadTransferee)) r.abortLeaderTransfer();
  return cs;
}

/**
 * A follower installs the leader's snapshot (§7). Returns false when it is not needed: it is not
 * newer than our commit index, or our log already has its last entry (then we only fast-forward
 * the commit index; the entries after it may still be useful). Refuses (false) a snapshot whose
 * configuration does not contain us. Throws `INVALID_CONF_CHANGE`, with nothing changed, when its
 * configuration is inconsistent.
 */
export function restoreSnapshot(r: Raft, s: Snapshot): boolean {
  const { index, term, confState: cs } = s.metadata;
  if (index <= r.raftLog.committed) return false;
  if (r.state !== 'follower') {
    // Only a follower receives snapshots (the sender is the leader of our term). etcd treats
    // this as a should-never-happen case and moves to a new term to be safe.
    r.logger.warn(`${r.id} attempted to restore snapshot as ${r.state}; should never happen`);
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  const member = cs.voters.includes(r.id) || cs.learners.includes(r.id) || cs.votersOutgoing.includes(r.id);
  if (!member) {
    r.logger.warn(
      `${r.id} attempted to restore snapshot but it is not in the ConfState; should never happen`,
    );
    return false;
  }
  if (r.raftLog.matchTerm(index, term)) {
    r.logger.info(
      `${r.id} [commit: ${r.raftLog.committed}, lastindex: ${r.raftLog.lastIndex()}, lastterm: ${r.raftLog.lastTerm()}] fast-forwarded commit to snapshot [index: ${index}, term: ${term}]`,
    );
    r.raftLog.commitTo(index);
    return false;
  }
  // Build the new configuration first: if the snapshot's ConfState is inconsistent we refuse it
  // before touching the log.
  const restored = restoreConfState(
    {
      config: EMPTY_TRACKER_CONFIG,
      progress: new Map(),
      lastIndex: index,
      maxInflight: r.trk.maxInflight,
      maxInflightBytes: r.trk.maxInflightBytes,
    },
    cs,
  );
  r.raftLog.restore(s);
  r.trk.resetVotes();
  const got = switchToConfig(r, restored.config, restored.progress);
  if (!confStatesEquivalent(got, cs)) {
    throw new RaftError('INVARIANT_VIOLATED', 'restored configuration differs from the snapshot ConfState');
  }
  r.logger.info(
    `${r.id} [commit: ${r.raftLog.committed}, lastindex: ${r.raftLog.lastIndex()}, lastterm: ${r.raftLog.lastTerm()}] restored snapshot [index: ${index}, term: ${term}]`,
  );
  return true;
}
