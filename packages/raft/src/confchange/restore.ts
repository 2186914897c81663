import { RaftError } from '../errors.js';
import { confStateOf } from '../tracker/tracker.js';
import type { ConfChangeSingle, ConfState, NodeId } from '../types.js';
import { Changer, type ChangerInput, type ConfigAndProgress } from './changer.js';

const add = (nodeId: NodeId): ConfChangeSingle => ({ type: 'addNode', nodeId });
const learner = (nodeId: NodeId): ConfChangeSingle => ({ type: 'addLearner', nodeId });

function sameMembers(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  return x.every((v, i) => v === y[i]);
}

/** True when two ConfStates describe the same configuration (lists compared as sets). */
export function confStatesEquivalent(a: ConfState, b: ConfState): boolean {
  return (
    sameMembers(a.voters, b.voters) &&
    sameMembers(a.learners, b.learners) &&
    sameMembers(a.votersOutgoing, b.votersOutgoing) &&
    sameMembers(a.learnersNext, b.learnersNext) &&
    a.autoLeave === b.autoLeave
  );
}

/**
 * Rebuilds the configuration a {@link ConfState} describes, starting from `input` (normally an
 * empty configuration), by replaying changes through the {@link Changer} so every invariant is
 * checked on the way (etcd's confchange.Restore):
 *
 * - not joint: add each voter, then each learner, one simple change at a time;
 * - joint: first build the outgoing configuration with simple changes, then enter the joint
 *   configuration with one change that removes the outgoing voters and adds the incoming voters,
 *   learners and learnersNext (a learner-to-be that still votes in the outgoing half lands in
 *   learnersNext, exactly as the original demotion did).
 *
 * Throws `INVALID_CONF_CHANGE` when `cs` is inconsistent (for example a learner that is also a
 * voter), so a corrupt ConfState is never installed.
 */
export function restoreConfState(input: ChangerInput, cs: ConfState): ConfigAndProgress {
  for (const list of [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext]) {
    for (const id of list) {
      if (!Number.isSafeInteger(id) || id <= 0) {
        throw new RaftError('INVALID_CONF_CHANGE', `ConfState member ${String(id)} is not a valid node id`);
      }
    }
  }
  let cur: ConfigAndProgress = { config: input.config, progress: new Map(input.progress) };
  const step = (f: (c: Changer) => ConfigAndProgress): void => {
    cur = f(new Changer({ ...input, config: cur.config, progress: cur.progress }));
  };
  if (cs.votersOutgoing.length === 0) {
    for (const id of cs.voters) step((c) => c.simple([add(id)]));
    for (const id of cs.learners) step((c) => c.simple([learner(id)]));
    // learnersNext only exist in a joint configuration.
    if (cs.learnersNext.length > 0) {
      throw new RaftError('INVALID_CONF_CHANGE', 'learnersNext must be empty in a non-joint ConfState');
    }
  } else {
    for (const id of cs.votersOutgoing) step((c) => c.simple([add(id)]));
    const incoming: ConfChangeSingle[] = [
      ...cs.votersOutgoing.map((nodeId): ConfChangeSingle => ({ type: 'removeNode', nodeId })),
      ...cs.voters.map(add),
      ...cs.learners.map(learner),
      ...cs.learnersNext.map(learner),
    ];
    step((c) => c.enterJoint(cs.autoLeave, incoming));
  }
  if (!confStatesEquivalent(confStateOf(cur.config), cs)) {
    throw new RaftError('INVALID_CONF_CHANGE', `ConfState ${JSON.stringify(cs)} is not self-consistent`);
  }
  return cur;
}
