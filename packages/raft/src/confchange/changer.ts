import { RaftError } from '../errors.js';
import { JointConfig } from '../quorum/joint.js';
import { MajorityConfig } from '../quorum/majority.js';
import { Progress } from '../tracker/progress.js';
import type { TrackerConfig } from '../tracker/tracker.js';
import type { ConfChangeSingle, NodeId } from '../types.js';

/** A configuration and the progress map that goes with it: what a change produces. */
export interface ConfigAndProgress {
  readonly config: TrackerConfig;
  readonly progress: Map<NodeId, Progress>;
}

/** What the Changer starts from. */
export interface ChangerInput {
  readonly config: TrackerConfig;
  readonly progress: ReadonlyMap<NodeId, Progress>;
  /** The log's last index: new members start probing there. */
  readonly lastIndex: number;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

/** The mutable working copy a change is applied to. */
interface Working {
  incoming: Set<NodeId>;
  /** Empty when not joint. */
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
  progress: Map<NodeId, Progress>;
}

function refuse(message: string): never {
  throw new RaftError('INVALID_CONF_CHANGE', message);
}

/**
 * Applies membership changes to a configuration (etcd's confchange.Changer). Each operation
 * works on a copy, checks the configuration invariants before and after, and either returns the
 * new configuration and progress map or throws `INVALID_CONF_CHANGE` with the input untouched.
 *
 * Three operations, after thesis §4.3 and etcd's ConfChangeV2:
 * - {@link simple}: change at most one voter directly (§4.1: one server at a time is safe
 *   because any majority of the old and any majority of the new configuration overlap);
 * - {@link enterJoint}: any set of changes, through the joint configuration C_old,new where
 *   decisions need majorities of both;
 * - {@link leaveJoint}: from C_old,new to C_new.
 */
export class Changer {
  readonly #in: ChangerInput;

  constructor(input: ChangerInput) {
    this.#in = input;
  }

  /**
   * Enters a joint configuration: the current voters become the outgoing half, `changes` are
   * applied to the incoming half. With `autoLeave` the leader leaves it on its own once applied.
   */
  enterJoint(autoLeave: boolean, changes: readonly ConfChangeSingle[]): ConfigAndProgress {
    const w = this.#checkAndCopy();
    if (w.outgoing.size > 0) refuse('config is already joint');
    if (w.incoming.size === 0) refuse("can't make a zero-voter config joint");
    w.outgoing = new Set(w.incoming);
    this.#apply(w, changes);
    w.autoLeave = autoLeave;
    return checkAndReturn(w);
  }

  /**
   * Leaves the joint configuration: the outgoing half is dropped, `learnersNext` become learners,
   * and members that are neither incoming voters nor learners lose their progress.
   */
  leaveJoint(): ConfigAndProgress {
    const w = this.#checkAndCopy();
    if (w.outgoing.size === 0) refuse("can't leave a non-joint config");
    for (const id of w.learnersNext) {
      w.learners.add(id);
      const pr = w.progress.get(id);
      if (pr !== undefined) pr.isLearner = true;
    }
    w.learnersNext.clear();
    for (const id of w.outgoing) {
      if (!w.incoming.has(id) && !w.learners.has(id)) w.progress.delete(id);
    }
    w.outgoing.clear();
    w.autoLeave = false;
    return checkAndReturn(w);
  }

  /**
   * Applies `changes` directly, without a joint configuration. Refused when joint, or when more
   * than one voter would change (that needs joint consensus).
   */
  simple(changes: readonly ConfChangeSingle[]): ConfigAndProgress {
    const w = this.#checkAndCopy();
    if (w.outgoing.size > 0) refuse("can't apply simple config change in joint config");
    this.#apply(w, changes);
    // §4.1 (thesis): only a change of at most one voter keeps every majority of the old
    // configuration overlapping every majority of the new one. Learners never count.
    const before = this.#in.config.voters.incoming;
    let diff = 0;
    for (const id of before.ids) if (!w.incoming.has(id)) diff++;
    for (const id of w.incoming) if (!before.has(id)) diff++;
    if (diff > 1) refuse('more than one voter changed without entering joint config');
    return checkAndReturn(w);
  }

  /** Applies each change to the incoming half (and learners), in order. */
  #apply(w: Working, changes: readonly ConfChangeSingle[]): void {
    for (const cc of changes) {
      // etcd: a change with node id 0 is a no-op, which lets the application cancel a
      // committed change deterministically by zeroing its id.
      if (cc.nodeId === 0) continue;
      switch (cc.type) {
        case 'addNode':
          this.#makeVoter(w, cc.nodeId);
          break;
        case 'addLearner':
          this.#makeLearner(w, cc.nodeId);
          break;
        case 'removeNode':
          remove(w, cc.nodeId);
          break;
        default:
          refuse(`unknown conf change type ${String((cc as { type: unknown }).type)}`);
      }
    }
    // A configuration without voters could never elect a leader or commit again.
    if (w.incoming.size === 0) refuse('removed all voters');
  }

  /** Makes `id` an incoming voter (promoting a learner keeps its progress: it has the log). */
  #makeVoter(w: Working, id: NodeId): void {
    const pr = w.progress.get(id);
    if (pr === undefined) {
      this.#initProgress(w, id, false);
      return;
    }
    pr.isLearner = false;
    w.learners.delete(id);
    w.learnersNext.delete(id);
    w.incoming.add(id);
  }

  /**
   * Makes `id` a learner. A voter of the outgoing half can not become a learner while it still
   * votes there, so it goes to `learnersNext` and becomes a learner on leaveJoint.
   */
  #makeLearner(w: Working, id: NodeId): void {
    const pr = w.progress.get(id);
    if (pr === undefined) {
      this.#initProgress(w, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Remove it as a voter, but keep its progress.
    remove(w, id);
    w.progress.set(id, pr);
    if (w.outgoing.has(id)) {
      w.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      w.learners.add(id);
    }
  }

  #initProgress(w: Working, id: NodeId, isLearner: boolean): void {
    if (isLearner) w.learners.add(id);
    else w.incoming.add(id);
    w.progress.set(
      id,
      new Progress({
        // Probe at the last index: the new member most likely has no log and will be caught up
        // by the probe's rejection (or a snapshot); etcd does the same.
        match: 0,
        next: Math.max(this.#in.lastIndex, 1),
        maxInflight: this.#in.maxInflight,
        maxInflightBytes: this.#in.maxInflightBytes,
        isLearner,
        // Count it as active so CheckQuorum does not depose the leader before the new member
        // had a chance to answer.
        recentActive: true,
      }),
    );
  }

  /** A mutable copy of the input (progress cloned), after checking the input's invariants. */
  #checkAndCopy(): Working {
    const c = this.#in.config;
    const progress = new Map<NodeId, Progress>();
    for (const [id, pr] of this.#in.progress) progress.set(id, pr.clone());
    const w: Working = {
      incoming: new Set(c.voters.incoming.ids),
      outgoing: new Set(c.voters.outgoing.ids),
      learners: new Set(c.learners),
      learnersNext: new Set(c.learnersNext),
      autoLeave: c.autoLeave,
      progress,
    };
    checkInvariants(w);
    return w;
  }
}

/** Removes `id` from the incoming voters and learners; its progress goes unless it still votes in the outgoing half. */
function remove(w: Working, id: NodeId): void {
  if (!w.progress.has(id)) return;
  w.incoming.delete(id);
  w.learners.delete(id);
  w.learnersNext.delete(id);
  if (!w.outgoing.has(id)) w.progress.delete(id);
}

/**
 * etcd's checkInvariants: the configuration and the progress map agree. Checked on the input
 * (a corrupt configuration is never built upon) and on the output (a bug in a change is caught
 * before it is installed).
 */
function checkInvariants(w: Working): void {
  // Every member, whatever its role, has a progress (the leader replicates to all of them).
  for (const set of [w.incoming, w.outgoing, w.learners, w.learnersNext]) {
    for (const id of set) if (!w.progress.has(id)) refuse(`no progress for ${id}`);
  }
  // A learner-to-be still votes in the outgoing half, so it is not yet marked as a learner.
  for (const id of w.learnersNext) {
    if (!w.outgoing.has(id)) refuse(`${id} is in learnersNext, but not in the outgoing voters`);
    if (w.progress.get(id)?.isLearner === true) refuse(`${id} is in learnersNext, but is already a learner`);
  }
  // A member either votes or learns, never both (its vote would count twice otherwise).
  for (const id of w.learners) {
    if (w.outgoing.has(id)) refuse(`${id} is a learner and an outgoing voter`);
    if (w.incoming.has(id)) refuse(`${id} is a learner and an incoming voter`);
    if (w.progress.get(id)?.isLearner !== true) refuse(`${id} is a learner, but its progress is not`);
  }
  // Outside a joint configuration there is nothing to leave.
  if (w.outgoing.size === 0) {
    if (w.learnersNext.size > 0) refuse('learnersNext must be empty when not joint');
    if (w.autoLeave) refuse('autoLeave must be false when not joint');
  }
}

function checkAndReturn(w: Working): ConfigAndProgress {
  checkInvariants(w);
  return {
    config: {
      voters: new JointConfig(new MajorityConfig(w.incoming), new MajorityConfig(w.outgoing)),
      learners: w.learners,
      learnersNext: w.learnersNext,
      autoLeave: w.autoLeave,
    },
    progress: w.progress,
  };
}

/** `addNode(1) removeNode(2)`: a readable form of changes. */
export function describeChanges(changes: readonly ConfChangeSingle[]): string {
  return changes.map((c) => `${c.type}(${c.nodeId})`).join(' ');
}
