import type { ConfChangeSingle, ConfState, NodeId } from '@flotilla/raft';
import { ReplicaError } from './errors.js';
import { PendingRequest } from './requests.js';

/**
 * One step of a membership change, as `changeMembership` takes it. Several steps in one call
 * are made with joint consensus (thesis §4.3): the cluster first runs under C_old,new (decisions
 * need a majority of both the old and the new voters), then the leader leaves it for C_new on
 * its own once C_old,new is applied.
 */
export type MembershipChange =
  | { readonly type: 'addVoter'; readonly id: NodeId; readonly address: string }
  | { readonly type: 'addLearner'; readonly id: NodeId; readonly address: string }
  /** Makes a learner a voter (it keeps its address). */
  | { readonly type: 'promoteLearner'; readonly id: NodeId }
  /** Removes a voter or a learner. */
  | { readonly type: 'remove'; readonly id: NodeId };

/** What a membership change resolves with: the index of the entry that completed it, and the
 * configuration from then on. */
export interface MembershipResult {
  readonly index: number;
  readonly confState: ConfState;
}

/** A membership change waiting to be applied (and, for a joint change, for the joint
 * configuration to be left). */
export class ConfRequest extends PendingRequest<MembershipResult> {
  constructor(
    readonly seq: number,
    readonly onDone: (req: ConfRequest) => void,
    resolve: (value: MembershipResult) => void,
    reject: (err: unknown) => void,
    deadline: number,
  ) {
    super(resolve, reject, 'membership change', deadline, true);
  }

  protected override onSettled(): void {
    this.onDone(this);
  }
}

function bad(message: string): never {
  throw new ReplicaError('INVALID_ARGUMENT', message);
}

function checkId(id: unknown): asserts id is NodeId {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0)
    bad(`member id must be a positive safe integer, got ${String(id)}`);
}

/**
 * Checks `changes` and turns them into Raft's `ConfChange` steps plus the addresses to carry in
 * the context. Throws `INVALID_ARGUMENT` (nothing proposed) for an empty list, a malformed step,
 * an add without an address, or the same member twice.
 */
export function toConfChange(changes: readonly MembershipChange[]): {
  changes: ConfChangeSingle[];
  addresses: Array<readonly [NodeId, string]>;
} {
  if (!Array.isArray(changes) || changes.length === 0) bad('changeMembership needs at least one change');
  const seen = new Set<NodeId>();
  const out: ConfChangeSingle[] = [];
  const addresses: Array<readonly [NodeId, string]> = [];
  for (const c of changes) {
    if (typeof c !== 'object' || c === null) bad('a membership change must be an object');
    checkId(c.id);
    if (seen.has(c.id)) bad(`member ${c.id} appears twice in one change`);
    seen.add(c.id);
    switch (c.type) {
      case 'addVoter':
      case 'addLearner':
        if (typeof c.address !== 'string' || c.address === '') bad(`adding member ${c.id} needs its address`);
        out.push({ type: c.type === 'addVoter' ? 'addNode' : 'addLearner', nodeId: c.id });
        addresses.push([c.id, c.address]);
        break;
      case 'promoteLearner':
        out.push({ type: 'addNode', nodeId: c.id });
        break;
      case 'remove':
        out.push({ type: 'removeNode', nodeId: c.id });
        break;
      default:
        bad(`unknown membership change type ${String((c as { type: unknown }).type)}`);
    }
  }
  return { changes: out, addresses };
}

/** Every member of a configuration, in both halves of a joint one. */
export function membersOf(cs: ConfState): Set<NodeId> {
  const s = new Set<NodeId>();
  for (const list of [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext])
    for (const id of list) s.add(id);
  return s;
}

/** True while a joint configuration is active. */
export function isJoint(cs: ConfState): boolean {
  return cs.votersOutgoing.length > 0;
}
