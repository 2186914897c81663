/**
 * The RawNode contract: what a Ready carries and when, held-back messages released on advance(),
 * mustSync, soft/hard state only when changed, ready/advance alternation, restart with `applied`,
 * bootstrap, proposal forwarding, status(), and every refused input with its error code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  decodeConfChange,
  encodeConfChange,
  MemoryStorage,
  type Message,
  type NetworkMessage,
  RawNode,
  type Ready,
} from '@flotilla/raft';
import { enc, Network, persist } from './helpers/network.js';
import { app, appResp, cs, heartbeat, newStorage, only, TestNode, terms } from './helpers/raft.js';

const code = (c: string) => (e: unknown) => isFlotillaError(e, c);

function fresh(id = 1): { node: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  return { node: new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage }), storage };
}

describe('Ready', () => {
  test('a fresh node has nothing to do', () => {
    const { node } = fresh();
    assert.equal(node.hasReady(), false);
    const rd = node.ready();
    assert.deepEqual(rd, {
      entries: [],
      committedEntries: [],
      messages: [],
      readStates: [],
      mustSync: false,
    });
    node.advance();
  });

  test('bootstrap yields one committed conf change entry per peer, and the hard state', () => {
    const { node, storage } = fresh();
    node.bootstrap([1, 2, 3]);
    assert.equal(node.hasReady(), true);
    const rd = node.ready();
    assert.equal(rd.softState, undefined, 'still a follower without leader');
    assert.deepEqual(rd.hardState, { term: 1, vote: 0, commit: 3 });
    assert.equal(rd.mustSync, true);
    assert.deepEqual(
      rd.entries.map((e) => [e.index, e.term, e.type, decodeConfChange(e.data)]),
      [1, 2, 3].map((id) => [id, 1, 'confChange', { changes: [{ type: 'addNode', nodeId: id }] }]),
    );
    assert.deepEqual(rd.committedEntries, rd.entries, 'committed and applied in the same Ready (sync mode)');
    persist(storage, rd);
    for (const e of rd.committedEntries)
      assert.deepEqual(node.applyConfChange(decodeConfChange(e.data)), cs([1, 2, 3]));
    node.advance();
    assert.equal(node.hasReady(), false);
    assert.deepEqual(node.status().config, cs([1, 2, 3]));
    assert.equal(node.status().applied, 3);
  });

  test('softState and hardState only when changed; mustSync only for entries, term or vote', () => {
    const n = new TestNode(1, [1, 2]);
    n.step(app(2, 1, 1, 0, 0, [{ index: 1, term: 1, type: 'normal', data: enc('a') }], 0));
    let rd = n.node.ready();
    assert.deepEqual(rd.softState, { lead: 2, raftState: 'follower' });
    assert.deepEqual(rd.hardState, { term: 1, vote: 0, commit: 0 });
    assert.equal(rd.mustSync, true);
    persist(n.storage, rd);
    n.node.advance();
    // The leader tells us index 1 is committed: only the commit changes.
    n.step(heartbeat(2, 1, 1, 1));
    rd = n.node.ready();
    assert.equal(rd.softState, undefined);
    assert.deepEqual(rd.hardState, { term: 1, vote: 0, commit: 1 });
    assert.equal(rd.mustSync, false, 'a commit-only change need not be synced');
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [1],
    );
    n.node.advance();
    n.step(heartbeat(2, 1, 1, 1));
    rd = n.node.ready();
    assert.equal(rd.hardState, undefined);
    n.node.advance();
  });

  test('durability-promising answers are released by advance(), in the next Ready', () => {
    const n = new TestNode(1, [1, 2]);
    n.step(app(2, 1, 1, 0, 0, [{ index: 1, term: 1, type: 'normal', data: enc('a') }], 0));
    const first = n.node.ready();
    assert.deepEqual(only(first.messages, 'appResp'), [], 'not before the entry is durable');
    persist(n.storage, first);
    n.node.advance();
    assert.equal(n.node.hasReady(), true);
    const second = n.node.ready();
    assert.deepEqual(
      only(second.messages, 'appResp').map((m) => [m.to, m.index]),
      [[2, 1]],
    );
    n.node.advance();
    // Heartbeat answers promise nothing durable: they go out at once.
    n.step(heartbeat(2, 1, 1, 0));
    assert.equal(only(n.node.ready().messages, 'heartbeatResp').length, 1);
    n.node.advance();
  });

  test('ready() again before advance() is refused; advance() without a Ready is a no-op', () => {
    const { node } = fresh();
    node.advance();
    node.bootstrap([1]);
    node.ready();
    assert.throws(() => node.ready(), code('INVARIANT_VIOLATED'));
    node.advance();
    node.advance();
  });

  test('a restarted node does not re-emit its hard state or applied entries', () => {
    const storage = newStorage(cs([1, 2]), terms(1, 1, 1, 1), { term: 1, vote: 2, commit: 3 });
    const n = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, applied: 2 });
    const rd = n.ready();
    assert.equal(rd.hardState, undefined);
    assert.deepEqual(rd.entries, []);
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [3],
    );
    n.advance();
    assert.deepEqual(n.status().applied, 3);
    assert.throws(
      () => new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, applied: 4 }),
      code('INVALID_CONFIG'),
      'applied beyond the stored commit',
    );
  });

  test('a stored commit index outside the log is an invariant violation', () => {
    const storage = newStorage(cs([1]), terms(1), { term: 1, vote: 0, commit: 5 });
    assert.throws(
      () => new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage }),
      code('INVARIANT_VIOLATED'),
    );
  });

  test('if the term changed between ready() and advance(), the entries stay unstable (etcd ABA guard)', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.step(app(2, 1, 1, 0, 0, [{ index: 1, term: 1, type: 'normal', data: enc('a') }]));
    const rd = n.node.ready();
    persist(n.storage, rd);
    // A new leader overwrites entry 1 before the host reports the write.
    n.step(app(3, 1, 2, 0, 0, [{ index: 1, term: 2, type: 'normal', data: enc('b') }]));
    n.node.advance();
    const next = n.node.ready();
    assert.deepEqual(
      next.entries.map((e) => [e.index, e.term]),
      [[1, 2]],
    );
    n.node.advance();
  });
});

describe('status()', () => {
  test('reports the state, and progress only on the leader', () => {
    const n = new TestNode(1, [1, 2, 3]);
    let s = n.status();
    assert.deepEqual(s, {
      id: 1,
      term: 0,
      vote: 0,
      commit: 0,
      applied: 0,
      lead: 0,
      raftState: 'follower',
      leadTransferee: 0,
      config: cs([1, 2, 3]),
    });
    assert.equal('progress' in s, false);
    n.elect([2]);
    n.step(appResp(2, 1, 1, 1));
    n.read();
    s = n.status();
    assert.deepEqual(s.progress?.get(1), {
      match: 1,
      next: 2,
      state: 'replicate',
      recentActive: true,
      isLearner: false,
    });
    assert.deepEqual(s.progress?.get(2), {
      match: 1,
      next: 2,
      state: 'replicate',
      recentActive: true,
      isLearner: false,
    });
    assert.deepEqual(s.progress?.get(3), {
      match: 0,
      next: 1,
      state: 'probe',
      recentActive: false,
      isLearner: false,
    });
  });
});

describe('bootstrap', () => {
  test('refuses non-empty storage, a used node, empty, duplicate or invalid peer lists', () => {
    const bad = code('INVALID_BOOTSTRAP');
    assert.throws(() => fresh().node.bootstrap([]), bad);
    assert.throws(() => fresh().node.bootstrap([1, 1]), bad);
    assert.throws(() => fresh().node.bootstrap([1, 0]), bad);
    assert.throws(() => fresh().node.bootstrap([1.5]), bad);
    assert.throws(() => fresh().node.bootstrap('1' as unknown as number[]), bad);
    const { node } = fresh();
    node.bootstrap([1]);
    assert.throws(() => node.bootstrap([1]), bad, 'twice');
    const withLog = newStorage(cs([1]), terms(1));
    assert.throws(
      () => new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: withLog }).bootstrap([1]),
      bad,
    );
    const withState = new MemoryStorage();
    withState.setHardState({ term: 3, vote: 0, commit: 0 });
    assert.throws(
      () => new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: withState }).bootstrap([1]),
      bad,
    );
    const withConf = newStorage(cs([1]));
    assert.throws(
      () => new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: withConf }).bootstrap([1]),
      bad,
    );
  });

  test('a bootstrapped single node elects itself and commits', () => {
    const net = new Network([1]);
    net.stabilize();
    net.campaign(1);
    net.propose(1, 'solo');
    assert.deepEqual(net.appliedData(1), ['solo']);
  });
});

describe('proposals', () => {
  test('a follower forwards proposals to the leader', () => {
    const net = new Network([1, 2, 3]);
    net.stabilize();
    net.campaign(1);
    net.node(3).propose(enc('via 3'));
    const sent = net.node(3).ready().messages;
    assert.deepEqual(
      only(sent, 'prop').map((m) => [m.to, m.term, dec(m.entries[0]?.data)]),
      [[1, 0, 'via 3']],
    );
    net.queue.push(...sent);
    net.node(3).advance();
    net.stabilize();
    assert.deepEqual(net.appliedData(1), ['via 3']);
  });

  test('a proposal a peer forwarded to a former leader goes on to the new leader as its own', () => {
    // Transports carry only their member's own messages, so the second hop names the forwarder.
    const f = new TestNode(1, [1, 2, 3]);
    f.step(heartbeat(2, 1, 1));
    f.read();
    f.step({
      type: 'prop',
      from: 3,
      to: 1,
      term: 0,
      entries: [{ term: 0, index: 0, type: 'normal', data: enc('via 3 and 1') }],
    });
    assert.deepEqual(
      only(f.read(), 'prop').map((m) => [m.from, m.to, dec(m.entries[0]?.data)]),
      [[1, 2, 'via 3 and 1']],
    );
  });

  test('PROPOSAL_DROPPED without a leader, with forwarding disabled, and on a candidate; nothing changes', () => {
    const dropped = code('PROPOSAL_DROPPED');
    const f = new TestNode(1, [1, 2, 3]);
    assert.throws(() => f.node.propose(enc('x')), dropped);
    assert.throws(() => f.node.proposeConfChange({ changes: [{ type: 'addNode', nodeId: 4 }] }), dropped);
    assert.equal(f.node.hasReady(), false);

    const noFwd = new TestNode(1, [1, 2, 3], { disableProposalForwarding: true });
    noFwd.step(heartbeat(2, 1, 1));
    noFwd.read();
    assert.throws(() => noFwd.node.propose(enc('x')), dropped);
    assert.deepEqual(noFwd.read(), []);

    const c = new TestNode(1, [1, 2, 3]);
    c.node.campaign();
    c.read();
    assert.throws(() => c.node.propose(enc('x')), dropped);
    // A forwarded proposal from a peer reaching a candidate is dropped silently.
    c.step({
      type: 'prop',
      from: 2,
      to: 1,
      term: 0,
      entries: [{ term: 0, index: 0, type: 'normal', data: enc('y') }],
    });
    assert.deepEqual(only(c.read(), 'app'), []);
  });

  test('a forwarded proposal that finds no leader is dropped silently; propose() gets the error', () => {
    const f = new TestNode(1, [1, 2, 3]);
    f.step({
      type: 'prop',
      from: 3,
      to: 1,
      term: 0,
      entries: [{ term: 0, index: 0, type: 'normal', data: enc('y') }],
    });
    assert.deepEqual(f.read(), []);
    // A `prop` from this node itself arriving through step() is also dropped silently: a proposal
    // can be forwarded back to its proposer, so `from` cannot tell the host's own proposal apart.
    f.step({
      type: 'prop',
      from: 1,
      to: 1,
      term: 0,
      entries: [{ term: 0, index: 0, type: 'normal', data: enc('y') }],
    });
    assert.deepEqual(f.read(), []);
    assert.throws(() => f.node.propose(enc('y')), code('PROPOSAL_DROPPED'));
  });

  test('the leader appends proposals stepped as prop messages', () => {
    const n = new TestNode(1, [1]);
    n.node.campaign();
    n.read();
    n.step({
      type: 'prop',
      from: 1,
      to: 1,
      term: 0,
      entries: [{ term: 0, index: 0, type: 'normal', data: enc('m') }],
    });
    n.read();
    assert.deepEqual(n.appliedData(), ['m']);
  });
});

describe('refused inputs', () => {
  test('step refuses local messages (STEP_LOCAL_MSG) and responses from unknown peers (STEP_PEER_NOT_FOUND)', () => {
    const n = new TestNode(1, [1, 2, 3]);
    const before = n.status();
    for (const type of ['hup', 'beat', 'checkQuorum', 'unreachable', 'snapStatus'] as const) {
      assert.throws(
        () => n.node.step({ type, from: 2, to: 1, term: 0 } as Message),
        code('STEP_LOCAL_MSG'),
        type,
      );
    }
    const responses: NetworkMessage[] = [
      appResp(9, 1, 1, 1),
      { type: 'voteResp', from: 9, to: 1, term: 1, reject: false },
      { type: 'preVoteResp', from: 9, to: 1, term: 1, reject: false },
      { type: 'heartbeatResp', from: 9, to: 1, term: 1, readSeq: 0 },
      { type: 'readIndexResp', from: 9, to: 1, term: 1, index: 1, context: enc('') },
    ];
    for (const m of responses) assert.throws(() => n.node.step(m), code('STEP_PEER_NOT_FOUND'), m.type);
    assert.deepEqual(n.status(), before);
    assert.equal(n.node.hasReady(), false);
  });

  test('step refuses malformed messages with INVALID_ARGUMENT, changing nothing', () => {
    const n = new TestNode(1, [1, 2, 3]);
    const before = n.status();
    const bad: unknown[] = [
      null,
      { type: 'nope', from: 2, to: 1, term: 1 },
      { ...heartbeat(2, 1, 1), to: 3 },
      { ...heartbeat(2, 1, 1), from: 0 },
      { ...heartbeat(2, 1, 1), term: -1 },
      { ...heartbeat(2, 1, 1), term: 0 },
      app(2, 1, 1, 0, 0, [{ index: 2, term: 1, type: 'normal', data: enc('') }]),
      app(2, 1, 1, 0, 0, [{ index: 1, term: 2, type: 'normal', data: enc('') }]),
      { type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, commit: 0 },
      { type: 'prop', from: 2, to: 1, term: 0, entries: [] },
      { type: 'prop', from: 2, to: 1, term: 0, entries: [{ term: 0, index: 0, type: 'normal', data: 'x' }] },
      { type: 'snap', from: 2, to: 1, term: 1 },
      { type: 'readIndex', from: 2, to: 1, term: 0, context: 'x' },
      { type: 'transferLeader', from: 2, to: 1, term: 0, transferee: -4 },
    ];
    for (const m of bad)
      assert.throws(() => n.node.step(m as Message), code('INVALID_ARGUMENT'), JSON.stringify(m));
    assert.deepEqual(n.status(), before);
    assert.equal(n.node.hasReady(), false);
  });

  test('other API arguments are checked too', () => {
    const n = new TestNode(1, [1, 2, 3]);
    const arg = code('INVALID_ARGUMENT');
    assert.throws(() => n.node.propose('x' as unknown as Uint8Array), arg);
    assert.throws(() => n.node.readIndex([1] as unknown as Uint8Array), arg);
    assert.throws(() => n.node.transferLeader(0), arg);
    assert.throws(() => n.node.reportUnreachable(-1), arg);
    assert.throws(() => n.node.reportSnapshot(2, 'maybe' as 'finish'), arg);
    assert.throws(() => n.node.reportSnapshot(1.5, 'finish'), arg);
    assert.throws(
      () => n.node.applyConfChange({ changes: 'x' } as unknown as { changes: [] }),
      code('INVALID_CONF_CHANGE'),
    );
    assert.equal(n.node.hasReady(), false);
  });

  test('a heartbeat claiming a commit beyond our log is an invariant violation (lost data)', () => {
    const n = new TestNode(1, [1, 2]);
    assert.throws(() => n.step(heartbeat(2, 1, 1, 5)), code('INVARIANT_VIOLATED'));
  });

  test('reportUnreachable and reportSnapshot on a follower are no-ops', () => {
    const n = new TestNode(1, [1, 2]);
    n.node.reportUnreachable(2);
    n.node.reportSnapshot(2, 'finish');
    n.node.reportSnapshot(9, 'failure');
    assert.equal(n.node.hasReady(), false);
  });
});

test('every Ready carries shared empty arrays when there is nothing (no per-Ready garbage)', () => {
  const n = new TestNode(1, [1, 2]);
  n.step(heartbeat(2, 1, 1));
  const a: Ready = n.node.ready();
  n.node.advance();
  n.step(heartbeat(2, 1, 1));
  const b: Ready = n.node.ready();
  n.node.advance();
  assert.equal(a.entries, b.entries);
  assert.equal(a.committedEntries, b.committedEntries);
  assert.deepEqual(encodeConfChange({ changes: [] }).length, 4);
});

function dec(b: Uint8Array | undefined): string {
  return new TextDecoder().decode(b);
}
