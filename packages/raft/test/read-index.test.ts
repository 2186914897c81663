/**
 * Linearizable reads (thesis §6.4): ReadIndex confirmed by a heartbeat round carrying a
 * leader-generated sequence (etcd-io/raft#397), parked until the leader committed an entry of
 * its term (etcd #7331), forwarded from followers. Lease-based reads (thesis §6.4.1) are in
 * lease-read.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dec, enc, Network } from './helpers/network.js';
import { appResp, heartbeatResp, only, TestNode, terms } from './helpers/raft.js';

const ctxs = (states: { requestCtx: Uint8Array }[]) => states.map((s) => dec(s.requestCtx));

/** Leader 1 of 1..3 at term 1 with its empty entry committed. */
function leader(opts: ConstructorParameters<typeof TestNode>[2] = {}): TestNode {
  const n = new TestNode(1, [1, 2, 3], opts);
  n.elect([2, 3]);
  n.step(appResp(2, 1, 1, 1), appResp(3, 1, 1, 1));
  n.read();
  assert.equal(n.status().commit, 1);
  return n;
}

describe('ReadIndex, safe mode (thesis §6.4)', () => {
  test('the leader confirms leadership with a heartbeat round before answering', () => {
    const n = leader();
    n.node.readIndex(enc('r1'));
    const hbs = only(n.read(), 'heartbeat');
    assert.deepEqual(
      hbs.map((m) => [m.to, m.readSeq]),
      [
        [2, 1],
        [3, 1],
      ],
    );
    assert.equal(n.readStates.length, 0, 'not before a quorum answered');
    n.step(heartbeatResp(2, 1, 1, 1));
    n.read();
    assert.deepEqual(
      n.readStates.map((s) => [s.index, dec(s.requestCtx)]),
      [[1, 'r1']],
    );
    // A late answer from 3 confirms nothing new.
    n.step(heartbeatResp(3, 1, 1, 1));
    n.read();
    assert.equal(n.readStates.length, 1);
  });

  test('requests are confirmed in order; one answer confirms every request up to its sequence', () => {
    const n = leader();
    n.node.readIndex(enc('a'));
    n.node.readIndex(enc('b'));
    const hbs = only(n.read(), 'heartbeat');
    assert.deepEqual([...new Set(hbs.map((m) => m.readSeq))], [1, 2]);
    n.step(heartbeatResp(2, 1, 1, 2));
    n.read();
    assert.deepEqual(ctxs(n.readStates), ['a', 'b']);
  });

  test('equal contexts are never confused: each request has its own sequence and index (etcd-io/raft#397)', () => {
    const n = leader();
    n.node.readIndex(enc('same'));
    n.read();
    n.node.propose(enc('w'));
    n.read();
    n.step(appResp(2, 1, 1, 2));
    n.read();
    assert.equal(n.status().commit, 2);
    n.node.readIndex(enc('same'));
    n.read();
    // The old round's answer confirms only the first request, at the old index.
    n.step(heartbeatResp(2, 1, 1, 1));
    n.read();
    assert.deepEqual(
      n.readStates.map((s) => s.index),
      [1],
    );
    n.step(heartbeatResp(2, 1, 1, 2));
    n.read();
    assert.deepEqual(
      n.readStates.map((s) => s.index),
      [1, 2],
    );
  });

  test('a new leader parks reads until it committed an entry of its term (etcd #7331)', () => {
    const n = new TestNode(1, [1, 2, 3], { ents: terms(1, 1), hs: { term: 1, vote: 0, commit: 1 } });
    n.elect([2]);
    n.node.readIndex(enc('early'));
    assert.deepEqual(only(n.read(), 'heartbeat'), [], 'no round yet: the commit index may be stale');
    n.step(appResp(2, 1, 2, 3));
    const hbs = only(n.read(), 'heartbeat');
    assert.equal(hbs.length, 2, 'released once the empty entry of term 2 committed');
    n.step(heartbeatResp(2, 1, 2, hbs[0]?.readSeq ?? 0));
    n.read();
    assert.deepEqual(
      n.readStates.map((s) => [s.index, dec(s.requestCtx)]),
      [[3, 'early']],
    );
  });

  test('a follower forwards the request and gets the leader-confirmed index', () => {
    const net = new Network([1, 2, 3]);
    net.stabilize();
    net.campaign(1);
    net.propose(1, 'x');
    net.node(2).readIndex(enc('f'));
    net.stabilize();
    const rs = net.peer(2).readStates;
    assert.deepEqual(
      rs.map((s) => [s.index, dec(s.requestCtx)]),
      [[net.node(1).status().commit, 'f']],
    );
    assert.deepEqual(net.peer(1).readStates, []);
  });

  test('a read a peer forwarded to a former leader is dropped, not passed on', () => {
    // The leader answers the message's sender; a second hop could never reach the reader.
    const net = new Network([1, 2, 3]);
    net.stabilize();
    net.campaign(1);
    net.node(2).step({ type: 'readIndex', from: 3, to: 2, term: 0, context: enc('stray') });
    assert.deepEqual(
      net
        .node(2)
        .ready()
        .messages.filter((m) => m.type === 'readIndex'),
      [],
    );
  });

  test('a learner can read through the leader too', () => {
    const net = new Network([1, 2, 3], { peers: [1, 2] });
    net.stabilize();
    net.campaign(1);
    net.node(1).proposeConfChange({ changes: [{ type: 'addLearner', nodeId: 3 }] });
    net.stabilize();
    net.tickAll(2);
    net.node(3).readIndex(enc('l'));
    net.stabilize();
    assert.deepEqual(ctxs(net.peer(3).readStates), ['l']);
  });

  test('without a known leader readIndex is a no-op', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.node.readIndex(enc('x'));
    assert.deepEqual(n.read(), []);
    assert.deepEqual(n.readStates, []);
  });

  test('a single-member leader answers at once', () => {
    const n = new TestNode(1, [1]);
    n.node.campaign();
    n.read();
    n.node.readIndex(enc('solo'));
    n.read();
    assert.deepEqual(ctxs(n.readStates), ['solo']);
  });

  test('pending reads are dropped when the leader steps down', () => {
    const n = leader();
    n.node.readIndex(enc('lost'));
    n.read();
    n.step({ type: 'heartbeat', from: 2, to: 1, term: 5, commit: 1, readSeq: 0 });
    n.step(heartbeatResp(3, 1, 5, 1));
    n.read();
    assert.deepEqual(n.readStates, []);
  });
});
