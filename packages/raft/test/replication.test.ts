/**
 * Log replication details beyond §5.3: fast conflict back-off, flow control (probe / replicate,
 * the inflight window by count and bytes, message size), batching, the uncommitted-size cap,
 * commit pagination, and the leader's own acknowledgement after persistence (thesis §10.2.1).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { MemoryStorage, type NodeId, RawNode } from '@flotilla/raft';
import { enc, Network } from './helpers/network.js';
import { appReject, appResp, heartbeatResp, only, TestNode, terms } from './helpers/raft.js';

const dropped = (e: unknown) => isFlotillaError(e, 'PROPOSAL_DROPPED');
const bytes = (n: number) => new Uint8Array(n);

/** Leader 1 of `ids` at term 1 with its empty entry acknowledged by everyone (followers replicating). */
function replicatingLeader(ids: NodeId[], opts: ConstructorParameters<typeof TestNode>[2] = {}): TestNode {
  const n = new TestNode(1, ids, opts);
  n.elect(ids);
  for (const id of ids) if (id !== 1) n.step(appResp(id, 1, 1, 1));
  n.read();
  return n;
}

describe('fast back-off', () => {
  test('the leader skips a whole term using the follower hint', () => {
    // Leader log terms: 1 1 2 2 3 3 3, then its own empty entry (8, term 4).
    const n = new TestNode(1, [1, 2, 3], {
      ents: terms(1, 1, 2, 2, 3, 3, 3),
      hs: { term: 3, vote: 0, commit: 0 },
    });
    const first = only(n.elect([2]), 'app').filter((m) => m.to === 2);
    assert.deepEqual(
      first.map((m) => [m.index, m.logTerm]),
      [[7, 3]],
    );
    // The follower has terms 1 1 2 2 2 2: its entry 6 has term 2 ≤ 3, so it hints (6, 2).
    n.step(appReject(2, 1, 4, 7, 6, 2));
    const next = only(n.read(), 'app').filter((m) => m.to === 2);
    // Our last entry with term ≤ 2 is index 4: probe there.
    assert.deepEqual(
      next.map((m) => [m.index, m.logTerm]),
      [[4, 2]],
    );
    // A stale rejection (for an index we no longer probe) is ignored.
    n.step(appReject(2, 1, 4, 7, 6, 2));
    assert.deepEqual(only(n.read(), 'app'), []);
  });

  test('the follower hint lets the leader find the match point in few round trips', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followerLog = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3];
    const net = new Network([1, 2], {
      storageFor: (id) =>
        id === 1
          ? { voters: [1, 2, 3], ents: terms(...leaderLog), hs: { term: 8, vote: 0, commit: 3 } }
          : { voters: [1, 2, 3], ents: terms(...followerLog), hs: { term: 7, vote: 0, commit: 3 } },
    });
    net.node(1).campaign();
    net.stabilize();
    net.send({ type: 'voteResp', from: 3, to: 1, term: 9, reject: false });
    const rejections = net.delivered.filter((m) => m.type === 'appResp' && m.reject).length;
    // One-entry back-off would take 8 rejections (index 11 down to 3); the hints take 2.
    assert.ok(rejections <= 2, `${rejections} rejections`);
    const log = (id: NodeId) =>
      net
        .peer(id)
        .storage.entries(1, net.peer(id).storage.lastIndex() + 1)
        .map((e) => e.term);
    assert.deepEqual(log(2), log(1));
  });
});

describe('flow control', () => {
  test('a probing follower gets one message until it answers; a heartbeat response resumes it', () => {
    const n = new TestNode(1, [1, 2]);
    n.elect([2]);
    n.node.propose(enc('a'));
    n.node.propose(enc('b'));
    assert.deepEqual(only(n.read(), 'app'), [], 'paused after the first probe');
    n.step(heartbeatResp(2, 1, 1));
    const apps = only(n.read(), 'app');
    assert.equal(apps.length, 1);
    assert.equal(apps[0]?.entries.length, 3, 'the probe resends everything from next');
    const pr = n.status().progress?.get(2);
    assert.equal(pr?.state, 'probe');
  });

  test('a replicating follower is limited by the inflight window (count)', () => {
    const n = replicatingLeader([1, 2], { maxInflightMsgs: 3, maxSizePerMsg: 0 });
    assert.equal(n.status().progress?.get(2)?.state, 'replicate');
    for (const d of ['a', 'b', 'c', 'd', 'e']) n.node.propose(enc(d));
    const apps = only(n.read(), 'app');
    assert.deepEqual(
      apps.map((m) => m.entries.map((e) => e.index)),
      [[2], [3], [4]],
      'one entry per message (maxSizePerMsg 0), three messages in flight',
    );
    n.step(appResp(2, 1, 1, 2));
    const more = only(n.read(), 'app');
    assert.deepEqual(
      more.map((m) => m.entries.map((e) => e.index)),
      [[5]],
      'the acknowledgement frees one slot',
    );
    n.step(appResp(2, 1, 1, 5));
    assert.deepEqual(
      only(n.read(), 'app').map((m) => m.entries.map((e) => e.index)),
      [[6]],
    );
  });

  test('the inflight window also closes on bytes (maxInflightBytes)', () => {
    const n = replicatingLeader([1, 2], { maxSizePerMsg: 0, maxInflightBytes: 25 });
    for (let i = 0; i < 6; i++) n.node.propose(bytes(10));
    assert.equal(only(n.read(), 'app').length, 3, '10 + 10 + 10 ≥ 25 closes the window');
  });

  test('messages carry at most maxSizePerMsg payload bytes (but at least one entry)', () => {
    const n = replicatingLeader([1, 2], { maxSizePerMsg: 25 });
    for (let i = 0; i < 5; i++) n.node.propose(bytes(10));
    n.node.propose(bytes(100));
    const apps = only(n.read(), 'app');
    assert.deepEqual(
      apps.map((m) => m.entries.length),
      [2, 2, 1, 1],
    );
  });

  test('a batch of proposals goes out as one message per follower', () => {
    const n = replicatingLeader([1, 2, 3]);
    for (let i = 0; i < 100; i++) n.node.propose(enc(`p${i}`));
    const apps = only(n.read(), 'app');
    assert.deepEqual(
      apps.map((m) => [m.to, m.entries.length]),
      [
        [2, 100],
        [3, 100],
      ],
    );
  });

  test('an unreachable follower goes back to probing', () => {
    const n = replicatingLeader([1, 2]);
    n.node.reportUnreachable(2);
    assert.equal(n.status().progress?.get(2)?.state, 'probe');
  });

  test('a follower that has every entry gets an empty append to learn the new commit index', () => {
    const n = replicatingLeader([1, 2, 3]);
    n.node.propose(enc('x'));
    n.read();
    n.step(appResp(2, 1, 1, 2));
    const apps = only(n.read(), 'app');
    assert.deepEqual(
      apps.map((m) => [m.to, m.commit, m.entries.length]),
      [
        [2, 2, 0],
        [3, 2, 0],
      ],
    );
    // 3 acknowledges late: it was already told commit 2, nothing more to send.
    n.step(appResp(3, 1, 1, 2));
    assert.deepEqual(only(n.read(), 'app'), []);
  });
});

describe('the leader acknowledges its own entries after persisting them (thesis §10.2.1)', () => {
  test('a single-node leader commits a proposal only after advance()', () => {
    const storage = new MemoryStorage();
    const n = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
    n.bootstrap([1]);
    const handle = () => {
      const rd = n.ready();
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries)
        if (e.type === 'confChange') n.applyConfChange({ changes: [{ type: 'addNode', nodeId: 1 }] });
      n.advance();
      return rd;
    };
    handle();
    n.campaign();
    handle();
    handle();
    assert.equal(n.status().raftState, 'leader');
    while (n.hasReady()) handle();
    n.propose(enc('x'));
    const rd = n.ready();
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [3],
    );
    assert.deepEqual(rd.committedEntries, [], 'not committed before it is durable');
    assert.equal(n.status().commit, 2);
    storage.append(rd.entries);
    n.advance();
    assert.equal(n.status().commit, 3);
    assert.deepEqual(
      n.ready().committedEntries.map((e) => e.index),
      [3],
    );
  });

  test('followers can acknowledge before the leader persisted: the quorum is the followers', () => {
    const n = replicatingLeader([1, 2, 3]);
    n.node.propose(enc('x'));
    const rd = n.node.ready(); // the leader has not persisted entry 2 yet
    assert.equal(only([...rd.messages], 'app').length, 2, 'appends go out in parallel with the local write');
    n.storage.append(rd.entries);
    n.step(appResp(2, 1, 1, 2), appResp(3, 1, 1, 2));
    assert.equal(n.status().commit, 2, 'committed by the two followers');
    n.node.advance();
    n.read();
    assert.deepEqual(n.appliedData(), ['x']);
  });
});

describe('maxUncommittedEntriesSize', () => {
  test('the leader refuses proposals beyond the cap until entries are applied', () => {
    const n = replicatingLeader([1, 2, 3], { maxUncommittedEntriesSize: 30 });
    for (let i = 0; i < 3; i++) n.node.propose(bytes(10));
    const last = n.status();
    assert.throws(() => n.node.propose(bytes(10)), dropped);
    assert.deepEqual(n.status(), last, 'nothing changed');
    n.node.propose(new Uint8Array(0)); // empty entries always pass
    const apps = only(n.read(), 'app');
    // Acknowledge everything: committed and applied, so the budget is free again.
    const lastIndex = apps[apps.length - 1]?.entries.at(-1)?.index ?? 0;
    n.step(appResp(2, 1, 1, lastIndex), appResp(3, 1, 1, lastIndex));
    n.read();
    for (let i = 0; i < 3; i++) n.node.propose(bytes(10));
    assert.throws(() => n.node.propose(bytes(10)), dropped);
  });

  test('a single proposal larger than the cap is admitted when nothing is uncommitted', () => {
    const n = replicatingLeader([1, 2, 3], { maxUncommittedEntriesSize: 30 });
    n.node.propose(bytes(100));
    assert.throws(() => n.node.propose(bytes(1)), dropped);
  });

  test('forwarded proposals beyond the cap are dropped silently at the leader', () => {
    const net = new Network([1, 2], { config: { maxUncommittedEntriesSize: 10 } });
    net.stabilize();
    net.campaign(1);
    net.ignore('appResp'); // nothing commits
    net.node(1).propose(bytes(10));
    net.node(2).propose(bytes(10)); // forwarded, dropped by the leader
    net.stabilize();
    const last = net.peer(1).storage.lastIndex();
    const data = net.peer(1).storage.entries(last, last + 1)[0]?.data.length;
    assert.equal(data, 10);
    assert.equal(net.node(1).status().raftState, 'leader');
  });
});

describe('commit pagination (maxCommittedSizePerReady)', () => {
  test('committed entries are handed out in pages, in order, each exactly once', () => {
    const net = new Network([1, 2, 3], { config: { maxCommittedSizePerReady: 25 } });
    net.stabilize();
    net.campaign(1);
    net.ignore('appResp');
    for (let i = 0; i < 10; i++) net.node(1).propose(enc(`entry-${i}`.padEnd(10, '.')));
    net.stabilize();
    net.recover();
    net.tickAll(1);
    const p = net.peer(2);
    const pages = p.readies
      .map((rd) => rd.committedEntries.filter((e) => e.data.length === 10).length)
      .filter((n) => n > 0);
    assert.ok(
      pages.every((n) => n <= 2),
      `pages ${pages}`,
    );
    assert.deepEqual(
      net.appliedData(2),
      Array.from({ length: 10 }, (_, i) => `entry-${i}`.padEnd(10, '.')),
    );
    const indexes = p.applied.map((e) => e.index);
    assert.deepEqual(
      indexes,
      indexes.map((_, i) => i + 1),
      'applied once, in order, no gaps',
    );
  });
});
