import type { NodeId } from '@flotilla/raft';
import { ReplicaError } from '../errors.js';
import { checkNodeId } from '../transport/checks.js';

/**
 * Which directed links of a simulated network are down. Three independent layers, all lifted by
 * {@link LinkFaults.heal}:
 *
 * - a partition: the nodes split into groups; only nodes of one group talk. A node named in no
 *   group is alone in a group of its own (so `partition([[1, 2]])` on a 5-node cluster leaves
 *   3, 4 and 5 each cut off).
 * - isolated nodes: cut off from everyone, in both directions.
 * - one-way cuts `from → to`: enough to build bridges and rings (Jepsen's partition shapes),
 *   and asymmetric faults where A hears B but B does not hear A.
 *
 * A link is up when no layer cuts it.
 */
export class LinkFaults {
  /** Partition group of each named node; `undefined` = no partition in force. */
  #groupOf: Map<NodeId, number> | undefined;
  readonly #isolated = new Set<NodeId>();
  /** One-way cuts keyed `from:to`. */
  readonly #cuts = new Set<string>();

  /** True when a message from `from` to `to` may pass. */
  canReach(from: NodeId, to: NodeId): boolean {
    if (this.#isolated.has(from) || this.#isolated.has(to)) return false;
    if (this.#cuts.has(`${from}:${to}`)) return false;
    const groups = this.#groupOf;
    if (groups === undefined) return true;
    const a = groups.get(from);
    const b = groups.get(to);
    return a !== undefined && a === b;
  }

  /** Replaces the partition in force (if any) with `groups`. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    if (!Array.isArray(groups))
      throw new ReplicaError('INVALID_ARGUMENT', 'partition takes an array of groups');
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, g) => {
      if (!Array.isArray(group))
        throw new ReplicaError('INVALID_ARGUMENT', 'each partition group is an array');
      for (const id of group) {
        checkNodeId(id, 'partition member');
        if (groupOf.has(id)) {
          throw new ReplicaError('INVALID_ARGUMENT', `node ${id} appears in two partition groups`);
        }
        groupOf.set(id, g);
      }
    });
    this.#groupOf = groupOf;
  }

  isolate(id: NodeId): void {
    checkNodeId(id);
    this.#isolated.add(id);
  }

  cut(from: NodeId, to: NodeId): void {
    checkNodeId(from, 'cut from');
    checkNodeId(to, 'cut to');
    this.#cuts.add(`${from}:${to}`);
  }

  uncut(from: NodeId, to: NodeId): void {
    this.#cuts.delete(`${from}:${to}`);
  }

  /** Lifts every partition, isolation and cut. */
  heal(): void {
    this.#groupOf = undefined;
    this.#isolated.clear();
    this.#cuts.clear();
  }
}
