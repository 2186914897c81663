/**
 * Minimal reproductions of core bugs the simulation found, kept as regression tests once fixed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage, type NetworkMessage, type NodeId, RawNode } from '@flotilla/raft';

interface Member {
  readonly node: RawNode;
  readonly storage: MemoryStorage;
}

function cluster(ids: NodeId[]): Map<NodeId, Member> {
  const m = new Map<NodeId, Member>();
  for (const id of ids) {
    const storage = new MemoryStorage();
    const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage });
    node.bootstrap(ids);
    m.set(id, { node, storage });
  }
  return m;
}

/** Handles every Ready and delivers every message the filter lets through, until quiet. */
function pump(ms: Map<NodeId, Member>, keep: (m: NetworkMessage) => boolean, held: NetworkMessage[]): void {
  for (let round = 0; round < 100; round++) {
    const out: NetworkMessage[] = [];
    for (const { node, storage } of ms.values()) {
      while (node.hasReady()) {
        const rd = node.ready();
        if (rd.snapshot) storage.applySnapshot(rd.snapshot);
        storage.append(rd.entries);
        if (rd.hardState) storage.setHardState(rd.hardState);
        out.push(...rd.messages);
        node.advance();
      }
    }
    if (out.length === 0) return;
    for (const m of out) {
      if (!keep(m)) held.push(m);
      else ms.get(m.to)?.node.step(m);
    }
  }
}

function member(ms: Map<NodeId, Member>, id: NodeId): RawNode {
  const m = ms.get(id);
  if (m === undefined) throw new Error(`no member ${id}`);
  return m.node;
}

test('a proposal forwarded back to its proposer is dropped silently when the leader refuses it', () => {
  // Expected (README "A forwarded proposal the leader drops is dropped silently"; RawNode.step
  // documents no PROPOSAL_DROPPED): step() of a network `prop` never throws PROPOSAL_DROPPED,
  // whoever proposed it. A proposal can come back to its proposer: 1 forwards it to leader 2,
  // 2 hands leadership to 1 and, now a follower, forwards the late message to its leader 1.
  const ms = cluster([1, 2, 3]);
  const held: NetworkMessage[] = [];
  pump(ms, () => true, held);
  member(ms, 2).campaign();
  pump(ms, () => true, held);
  member(ms, 1).propose(new TextEncoder().encode('x'));
  pump(ms, (m) => m.type !== 'prop', held); // 1's forwarded proposal to 2 is delayed
  member(ms, 2).transferLeader(1);
  pump(ms, (m) => m.type !== 'prop', held);
  assert.equal(member(ms, 1).status().raftState, 'leader');
  const late = held.splice(0).find((m) => m.type === 'prop' && m.to === 2);
  assert.ok(late !== undefined);
  member(ms, 2).step(late); // 2 is a follower of 1 now: it forwards the proposal to 1, as its own
  const back: NetworkMessage[] = [];
  pump(ms, (m) => m.type !== 'prop', back);
  const forwardedBack = back.find((m) => m.type === 'prop' && m.from === 2 && m.to === 1);
  assert.ok(forwardedBack !== undefined, 'the proposal comes back to 1, from 2');
  // Leader 1 refuses proposals while it transfers leadership to 3 (3 never answers).
  member(ms, 1).transferLeader(3);
  assert.doesNotThrow(() => member(ms, 1).step(forwardedBack));
});
