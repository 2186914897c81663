import type { ConfChange, ConfChangeSingle, NodeId, RawNode } from '@flotilla/raft';
import type { SimCluster } from './cluster.js';

/**
 * Proposes a random membership change on the current leader, as an operator would: add a new
 * member as voter or learner (its process starts on empty storage), promote a learner, demote or
 * remove a voter, remove a learner, or do two of these at once through a joint configuration
 * (transition auto, implicit or explicit). When the leader is in an explicit joint
 * configuration, it proposes leaving it instead. The core refuses what it can tell is invalid
 * (one change at a time, never the last voter); refusals are ignored.
 *
 * Like a careful operator (and etcd's server, which transfers leadership before removing the
 * leader), it removes or demotes the leader itself only with a simple change in a configuration
 * of three or more voters. Otherwise availability can be lost for good (etcd-io/etcd#10563):
 * with voters (1 3), leader 3 demotes itself and steps down once it applies the change; if 1
 * never heard that the change committed, 1 still needs 3's vote, and 3 refuses it whenever its
 * log holds entries 1 lacks — while 3, now a learner, may not campaign. Safety is unaffected.
 */
export function proposeMembershipChange(c: SimCluster): void {
  const lead = c.leader();
  if (lead === undefined) return;
  const cfg = lead.s.config;
  const raft = lead.n.raft as RawNode;
  if (cfg.votersOutgoing.length > 0) {
    if (!cfg.autoLeave) {
      c.trace(`conf change on ${lead.n.id}: leave joint`);
      c.quietly(() => raft.proposeConfChange({ changes: [] }));
    }
    return;
  }
  const fresh = [...c.nodes.values()].filter((n) => !n.started).map((n) => n.id);
  const voters = cfg.voters;
  const learners = cfg.learners;
  const steps: (() => ConfChangeSingle)[] = [];
  const take = (ids: readonly NodeId[]): NodeId => c.rng.pick(ids);
  if (fresh.length > 0) {
    steps.push(() => ({ type: 'addNode', nodeId: take(fresh) }));
    steps.push(() => ({ type: 'addLearner', nodeId: take(fresh) }));
  }
  if (learners.length > 0) {
    steps.push(() => ({ type: 'addNode', nodeId: take(learners) }));
    steps.push(() => ({ type: 'removeNode', nodeId: take(learners) }));
  }
  const joint = c.rng.chance(0.35);
  // The leader is a removal target only for a simple change among three or more voters.
  const removable = joint || voters.length < 3 ? voters.filter((id) => id !== lead.n.id) : voters;
  if (voters.length > 1 && removable.length > 0) {
    steps.push(() => ({ type: 'removeNode', nodeId: take(removable) }));
    steps.push(() => ({ type: 'addLearner', nodeId: take(removable) }));
  }
  if (steps.length === 0) return;
  const changes: ConfChangeSingle[] = [c.rng.pick(steps)()];
  if (joint) {
    const second = c.rng.pick(steps)();
    if (second.nodeId !== changes[0]?.nodeId) changes.push(second);
  }
  const transition = c.rng.pick(['auto', 'auto', 'implicit', 'explicit'] as const);
  const cc: ConfChange = { transition, changes };
  // A new member's process starts now, on empty storage; it learns everything from the leader.
  for (const ch of changes) {
    const n = c.node(ch.nodeId);
    if (!n.started) c.start(n);
  }
  c.counts.confChanges++;
  c.trace(
    `conf change on ${lead.n.id}: ${changes.map((ch) => `${ch.type}(${ch.nodeId})`).join(' ')} (${transition})`,
  );
  c.quietly(() => raft.proposeConfChange(cc));
}
