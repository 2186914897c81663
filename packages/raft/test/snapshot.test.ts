/**
 * Snapshots and log compaction (§7): the leader sends its snapshot to a follower that needs
 * compacted entries, retries when the storage cannot produce one, and resumes replication after
 * the snapshot; followers install, skip or fast-forward.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  type ConfState,
  MemoryStorage,
  type NetworkMessage,
  RaftError,
  RawNode,
  type Snapshot,
  type Storage,
} from '@flotilla/raft';
import { enc, Network } from './helpers/network.js';
import { appResp, cs, heartbeatResp, newStorage, only, TestNode, terms } from './helpers/raft.js';

const snap = (index: number, term: number, conf: ConfState = cs([1, 2, 3])): Snapshot => ({
  metadata: { index, term, confState: conf },
  data: enc(`state@${index}`),
});

/** Commits entries on 1..3 while 3 is cut off, then compacts everyone's log behind 3. */
function laggingFollower(): Network {
  const net = new Network([1, 2, 3]);
  net.stabilize();
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 5; i++) net.propose(1, `v${i}`);
  for (const id of [1, 2]) {
    const p = net.peer(id);
    const applied = p.node.status().applied;
    p.storage.createSnapshot(applied, p.confState ?? cs([1, 2, 3]), enc(`state@${applied}`));
    p.storage.compact(applied);
  }
  net.recover();
  return net;
}

describe('sending snapshots', () => {
  test('a follower behind the compaction point gets the snapshot and then the log', () => {
    const net = laggingFollower();
    net.propose(1, 'after');
    const snaps = net.delivered.filter((m) => m.type === 'snap');
    assert.equal(snaps.length, 1);
    const p3 = net.peer(3);
    assert.equal(p3.storage.snapshot().metadata.index, 9);
    assert.deepEqual(p3.storage.snapshot().data, enc('state@9'));
    const rd = p3.readies.find((r) => r.snapshot !== undefined);
    assert.ok(rd);
    assert.deepEqual(rd.committedEntries, [], 'never a snapshot and committed entries together');
    assert.equal(rd.mustSync, true);
    assert.deepEqual(net.appliedData(3), ['after']);
    assert.equal(p3.node.status().applied, net.node(1).status().commit);
    const pr = net.node(1).status().progress?.get(3);
    assert.equal(pr?.state, 'replicate');
    assert.equal(pr?.match, net.node(1).status().commit);
  });

  test('SNAPSHOT_TEMPORARILY_UNAVAILABLE: nothing is sent, the leader retries later', () => {
    const net = laggingFollower();
    const st = net.peer(1).storage;
    let unavailable = true;
    const flaky: Storage = {
      initialState: () => st.initialState(),
      entries: (lo, hi, max) => st.entries(lo, hi, max),
      term: (i) => st.term(i),
      firstIndex: () => st.firstIndex(),
      lastIndex: () => st.lastIndex(),
      snapshot: () => {
        if (unavailable) throw new RaftError('SNAPSHOT_TEMPORARILY_UNAVAILABLE', 'busy');
        return st.snapshot();
      },
    };
    // Restart the leader on the flaky storage; it wins again and catches 3 up.
    net.peers.get(1)?.node; // keep the peer
    const p1 = net.peer(1);
    p1.node = new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage: flaky,
      applied: p1.node.status().applied,
    });
    net.campaign(1);
    assert.equal(net.leader(), 1);
    net.tickAll(3);
    assert.equal(net.delivered.filter((m) => m.type === 'snap').length, 0);
    unavailable = false;
    net.tickAll(3);
    assert.equal(net.delivered.filter((m) => m.type === 'snap').length, 1);
    assert.equal(net.peer(3).storage.snapshot().metadata.index, 9);
  });

  test('no snapshot for a follower that was not recently active', () => {
    const net = laggingFollower();
    net.isolate(3);
    // CheckQuorum is off, so recentActive only changes on messages; fake an inactive follower by
    // having the leader restart (every progress starts inactive) while 3 stays unreachable.
    const p1 = net.peer(1);
    p1.node = new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage: p1.storage,
      applied: p1.node.status().applied,
    });
    net.campaign(1);
    assert.equal(net.leader(), 1);
    const before = net.queue.length;
    net.node(1).reportUnreachable(3);
    net.stabilize();
    assert.equal(net.queue.length, before);
    assert.equal(net.node(1).status().progress?.get(3)?.state, 'probe');
  });

  test('reportSnapshot: finish resumes probing after the snapshot, failure probes from match; both wait for a heartbeat answer', () => {
    const net = laggingFollower();
    net.ignore('snap');
    net.tickAll(2);
    assert.equal(net.node(1).status().progress?.get(3)?.state, 'snapshot');
    net.node(1).reportSnapshot(3, 'failure');
    let pr = net.node(1).status().progress?.get(3);
    assert.equal(pr?.state, 'probe');
    assert.equal(pr?.next, (pr?.match ?? 0) + 1);
    net.recover();
    net.ignore('heartbeat');
    net.stabilize();
    assert.equal(net.node(1).status().progress?.get(3)?.state, 'probe', 'paused until a heartbeat answer');
    net.recover();
    net.tickAll(1);
    pr = net.node(1).status().progress?.get(3);
    assert.equal(pr?.state, 'replicate', 'the retried snapshot went through');
  });

  test('reportSnapshot finish moves the follower to probe right after the snapshot', () => {
    const storage = newStorage(cs([1, 2]), terms(1, 1, 1, 1, 1), { term: 1, vote: 0, commit: 5 });
    storage.createSnapshot(5, cs([1, 2]), enc('s'));
    storage.compact(5);
    const leader = new TestNode(1, [1, 2], { storage });
    leader.elect([2]);
    // 2 rejects everything: it has nothing. The leader needs index 1, which is compacted.
    leader.step({
      type: 'appResp',
      from: 2,
      to: 1,
      term: 2,
      index: 5,
      reject: true,
      rejectHint: 0,
      logTerm: 0,
    });
    leader.step(heartbeatResp(2, 1, 2));
    const msgs = leader.read();
    assert.equal(only(msgs, 'snap').length, 1);
    assert.equal(leader.status().progress?.get(2)?.state, 'snapshot');
    leader.node.reportSnapshot(2, 'finish');
    const pr = leader.status().progress?.get(2);
    assert.deepEqual([pr?.state, pr?.next], ['probe', 6]);
    leader.node.reportSnapshot(2, 'finish'); // not in snapshot state any more: ignored
    assert.equal(leader.status().progress?.get(2)?.state, 'probe');
    leader.step(appResp(2, 1, 2, 6));
    assert.equal(leader.status().progress?.get(2)?.state, 'replicate');
  });
});

describe('receiving snapshots', () => {
  const snapMsg = (s: Snapshot, term = 2): NetworkMessage => ({
    type: 'snap',
    from: 2,
    to: 1,
    term,
    snapshot: s,
  });

  test('a follower installs a newer snapshot, answers after persisting, and cannot campaign meanwhile', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.step(snapMsg(snap(10, 2)));
    assert.equal(n.status().commit, 10);
    n.node.campaign();
    assert.equal(n.status().raftState, 'follower', 'a pending snapshot makes the node unpromotable');
    const rd = n.node.ready();
    assert.equal(rd.snapshot?.metadata.index, 10);
    assert.equal(rd.mustSync, true);
    assert.deepEqual(only(rd.messages, 'appResp'), [], 'the answer waits for persistence');
    n.storage.applySnapshot(rd.snapshot as Snapshot);
    n.node.advance();
    assert.equal(n.status().applied, 10);
    const [resp] = only(n.read(), 'appResp');
    assert.equal(resp?.index, 10);
    assert.deepEqual(n.status().config.voters, [1, 2, 3]);
  });

  test('an older snapshot is ignored and answered with the commit index', () => {
    const n = new TestNode(1, [1, 2, 3], { ents: terms(1, 1, 1), hs: { term: 1, vote: 0, commit: 3 } });
    n.step(snapMsg(snap(2, 1)));
    const [resp] = only(n.read(), 'appResp');
    assert.equal(resp?.index, 3);
    assert.equal(n.storage.snapshot().metadata.index, 0);
  });

  test('a snapshot whose last entry we have only fast-forwards the commit index', () => {
    const n = new TestNode(1, [1, 2, 3], { ents: terms(1, 1, 1, 2), hs: { term: 2, vote: 0, commit: 1 } });
    n.step(snapMsg(snap(3, 1)));
    const [resp] = only(n.read(), 'appResp');
    assert.equal(n.status().commit, 3);
    assert.equal(resp?.index, 3);
    assert.equal(n.storage.lastIndex(), 4, 'the log is kept');
  });

  test('a snapshot that does not contain us is ignored', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.step(snapMsg(snap(10, 2, cs([2, 3]))));
    assert.equal(n.status().commit, 0);
    assert.deepEqual(n.status().config.voters, [1, 2, 3]);
  });

  test('a snapshot with an inconsistent configuration is refused, nothing changes', () => {
    const n = new TestNode(1, [1, 2, 3]);
    const bad = snap(10, 2, {
      voters: [1, 2],
      learners: [2],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    });
    assert.throws(
      () => n.step(snapMsg(bad)),
      (e) => isFlotillaError(e, 'INVALID_CONF_CHANGE'),
    );
    assert.equal(n.status().commit, 0);
    assert.equal(n.node.hasReady(), true, 'only the term change from the message is pending');
    assert.equal(n.node.ready().snapshot, undefined);
  });

  test('a restarted node starts from its snapshot: committed and applied at the snapshot index', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot(snap(7, 3));
    storage.setHardState({ term: 3, vote: 0, commit: 7 });
    const n = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
    const s = n.status();
    assert.deepEqual([s.term, s.commit, s.applied], [3, 7, 7]);
    assert.deepEqual(s.config.voters, [1, 2, 3]);
    assert.equal(n.hasReady(), false);
  });
});
