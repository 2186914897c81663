/**
 * Elections beyond §5: PreVote (thesis §9.6), CheckQuorum and vote stickiness (thesis §4.2.3,
 * §6.2), the candidate's vote for itself held back until persisted, and when campaigning is a
 * no-op.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeConfChange, MemoryStorage, RawNode } from '@flotilla/raft';
import { Network } from './helpers/network.js';
import { app, heartbeat, only, preVote, TestNode, terms, vote } from './helpers/raft.js';

describe('PreVote (thesis §9.6)', () => {
  test('a pre-candidate asks for term+1 without adopting it, then campaigns for real', () => {
    const n = new TestNode(1, [1, 2, 3], { preVote: true });
    n.node.campaign();
    const pre = only(n.read(), 'preVote');
    assert.equal(n.status().raftState, 'preCandidate');
    assert.equal(n.status().term, 0, 'the term is untouched');
    assert.equal(n.status().vote, 0);
    assert.deepEqual(
      pre.map((m) => [m.to, m.term]),
      [
        [2, 1],
        [3, 1],
      ],
    );
    n.step({ type: 'preVoteResp', from: 2, to: 1, term: 1, reject: false });
    const votes = only(n.read(), 'vote');
    assert.equal(n.status().raftState, 'candidate');
    assert.equal(n.status().term, 1);
    assert.equal(votes.length, 2);
  });

  test('a voter grants a pre-vote for a later term without changing its own term or vote', () => {
    const n = new TestNode(1, [1, 2, 3], { hs: { term: 2, vote: 3, commit: 0 } });
    n.step(preVote(2, 1, 3, 0, 0));
    const [resp] = only(n.read(), 'preVoteResp');
    assert.deepEqual([resp?.reject, resp?.term], [false, 3]);
    assert.equal(n.status().term, 2);
    assert.equal(n.status().vote, 3);
    // A pre-vote for a stale term is rejected with our term, so the sender learns it.
    n.step(preVote(2, 1, 1, 0, 0));
    const [stale] = only(n.read(), 'preVoteResp');
    assert.deepEqual([stale?.reject, stale?.term], [true, 2]);
  });

  test('a pre-candidate whose log is behind loses and never bumps the term', () => {
    const net = new Network([1, 2, 3], { config: { preVote: true } });
    net.stabilize();
    net.campaign(1);
    net.propose(1, 'a');
    net.isolate(3);
    net.propose(1, 'b');
    net.recover();
    // 3 missed 'b'; its pre-vote is rejected by 1 and 2.
    const term = net.node(1).status().term;
    net.ignore('app');
    net.ignore('heartbeat');
    net.campaign(3);
    assert.equal(net.node(3).status().term, term);
    assert.equal(net.node(3).status().raftState, 'follower');
    assert.equal(net.node(1).status().raftState, 'leader');
  });

  test('a partitioned node with PreVote does not disrupt the cluster when it returns', () => {
    const net = new Network([1, 2, 3], { config: { preVote: true } });
    net.stabilize();
    net.campaign(1);
    const term = net.node(1).status().term;
    net.isolate(3);
    for (let i = 0; i < 100; i++) {
      net.node(3).tick();
      net.stabilize();
    }
    assert.equal(net.node(3).status().term, term, 'pre-votes never raise the term');
    assert.equal(net.node(3).status().raftState, 'preCandidate');
    net.recover();
    net.tickAll(2);
    assert.equal(net.leader(), 1);
    assert.equal(net.node(1).status().term, term);
    assert.equal(net.node(3).status().lead, 1);
  });

  test('without PreVote the same partition forces a new term on return', () => {
    const net = new Network([1, 2, 3]);
    net.stabilize();
    net.campaign(1);
    const term = net.node(1).status().term;
    net.isolate(3);
    for (let i = 0; i < 100; i++) net.node(3).tick();
    net.stabilize();
    assert.ok(net.node(3).status().term > term);
    net.recover();
    // 3's next vote request carries its higher term: whoever gets it moves to that term.
    net.tickAll(20);
    assert.ok(net.node(1).status().term > term, 'the old leader was deposed by the higher term');
  });
});

describe('CheckQuorum and vote stickiness', () => {
  test('a leader that cannot reach a quorum for an election timeout steps down', () => {
    const net = new Network([1, 2, 3], { config: { checkQuorum: true } });
    net.stabilize();
    net.campaign(1);
    net.isolate(1);
    for (let i = 0; i < 10; i++) {
      net.node(1).tick();
      net.stabilize();
    }
    assert.equal(net.node(1).status().raftState, 'leader', 'one timeout: nobody was marked inactive yet');
    for (let i = 0; i < 10; i++) {
      net.node(1).tick();
      net.stabilize();
    }
    assert.equal(net.node(1).status().raftState, 'follower');
    assert.equal(net.node(1).status().lead, 0);
  });

  test('a leader hearing from a quorum stays leader', () => {
    const net = new Network([1, 2, 3], { config: { checkQuorum: true } });
    net.stabilize();
    net.campaign(1);
    net.isolate(3);
    net.tickAll(50);
    // 3 campaigns on and on but 1 and 2 ignore it (stickiness); 1 keeps leading.
    assert.equal(net.node(1).status().raftState, 'leader');
  });

  test('with CheckQuorum, a member that hears from a leader ignores vote requests (stickiness)', () => {
    const n = new TestNode(1, [1, 2, 3], { checkQuorum: true });
    n.step(heartbeat(2, 1, 1));
    n.read();
    n.step(vote(3, 1, 2, 0, 0));
    assert.deepEqual(n.read(), [], 'ignored, not even rejected');
    assert.equal(n.status().term, 1);
    assert.equal(n.status().lead, 2);
    // A transfer's election bypasses the lease: the leader asked for it.
    n.step(vote(3, 1, 2, 0, 0, true));
    const [resp] = only(n.read(), 'voteResp');
    assert.equal(resp?.reject, false);
    assert.equal(n.status().term, 2);
  });

  test('the lease expires after an election timeout without the leader', () => {
    const n = new TestNode(1, [1, 2, 3], { checkQuorum: true, seed: 3 });
    n.step(heartbeat(2, 1, 1));
    n.read();
    n.tick(9);
    n.step(vote(3, 1, 2, 0, 0));
    assert.deepEqual(n.read(), []);
    n.tick(1);
    n.step(vote(3, 1, 2, 0, 0));
    assert.equal(only(n.read(), 'voteResp')[0]?.reject, false);
  });

  test('a stale leader learns the newer term from the answer to its heartbeat', () => {
    const n = new TestNode(1, [1, 2, 3], { checkQuorum: true, hs: { term: 5, vote: 0, commit: 0 } });
    n.step(heartbeat(2, 1, 3));
    const [resp] = only(n.read(), 'appResp');
    assert.deepEqual([resp?.to, resp?.term], [2, 5]);
    // Without CheckQuorum or PreVote, stale messages are just dropped.
    const plain = new TestNode(1, [1, 2, 3], { hs: { term: 5, vote: 0, commit: 0 } });
    plain.step(app(2, 1, 3, 0, 0));
    assert.deepEqual(plain.read(), []);
  });

  test('a leader deposed by a higher-term answer steps down', () => {
    const net = new Network([1, 2, 3], { config: { checkQuorum: true, preVote: true } });
    net.stabilize();
    net.campaign(1);
    // 3 moves to a higher term on its own (for example after a restart with a newer term).
    const s3 = net.peer(3);
    s3.storage.setHardState({ term: 9, vote: 0, commit: s3.storage.initialState().hardState.commit });
    net.restart(3);
    net.node(1).tick();
    net.stabilize();
    assert.equal(net.node(1).status().raftState, 'follower');
    assert.equal(net.node(1).status().term, 9);
  });
});

describe('campaigning', () => {
  test("a candidate's vote for itself counts only after the Ready is persisted", () => {
    const storage = new MemoryStorage();
    const n = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
    n.bootstrap([1]);
    let rd = n.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) n.applyConfChange(decodeConfChange(e.data));
    n.advance();
    n.campaign();
    assert.equal(n.status().raftState, 'candidate');
    rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 2, vote: 1, commit: 1 });
    assert.equal(rd.mustSync, true);
    assert.deepEqual(rd.messages, [], 'the self-vote is not a network message');
    assert.equal(n.status().raftState, 'candidate', 'not yet: the vote is not durable');
    if (rd.hardState) storage.setHardState(rd.hardState);
    n.advance();
    assert.equal(n.status().raftState, 'leader');
  });

  test('learners and non-members never campaign; campaign() is a no-op for them', () => {
    const learner = new TestNode(3, [1, 2], { learners: [3] });
    learner.tick(100);
    learner.node.campaign();
    assert.equal(learner.status().raftState, 'follower');
    assert.deepEqual(learner.read(), []);
    const outsider = new TestNode(9, [1, 2]);
    outsider.tick(100);
    outsider.node.campaign();
    assert.equal(outsider.status().raftState, 'follower');
  });

  test('campaign() on the leader is a no-op', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.elect([2]);
    n.node.campaign();
    assert.equal(n.status().raftState, 'leader');
    assert.equal(n.status().term, 1);
  });

  test('no campaign while committed conf changes are not applied', () => {
    const storage = new MemoryStorage();
    const n = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
    n.bootstrap([1, 2]);
    n.campaign();
    assert.equal(n.status().raftState, 'follower', 'the bootstrap entries are committed but not applied');
    for (let i = 0; i < 30; i++) n.tick();
    assert.equal(n.status().raftState, 'follower');
    const rd = n.ready();
    storage.append(rd.entries);
    for (const e of rd.committedEntries) n.applyConfChange(decodeConfChange(e.data));
    n.advance();
    n.campaign();
    assert.equal(n.status().raftState, 'candidate');
  });

  test('a node that lost the election returns to follower at the same term', () => {
    const n = new TestNode(1, [1, 2, 3], { ents: terms(1) });
    n.node.campaign();
    n.read();
    n.step(
      { type: 'voteResp', from: 2, to: 1, term: 1, reject: true },
      { type: 'voteResp', from: 3, to: 1, term: 1, reject: true },
    );
    assert.deepEqual([n.status().raftState, n.status().term], ['follower', 1]);
  });

  test('forgetLeader clears the leader on a follower; ignored on leaders and with lease reads', () => {
    const f = new TestNode(1, [1, 2, 3]);
    f.step(heartbeat(2, 1, 1));
    assert.equal(f.status().lead, 2);
    f.node.forgetLeader();
    assert.equal(f.status().lead, 0);
    f.node.forgetLeader();
    assert.equal(f.status().lead, 0);

    const lease = new TestNode(1, [1, 2, 3], { checkQuorum: true, readOnlyOption: 'leaseBased' });
    lease.step(heartbeat(2, 1, 1));
    lease.node.forgetLeader();
    assert.equal(lease.status().lead, 2);

    const l = new TestNode(1, [1, 2, 3]);
    l.elect([2]);
    l.node.forgetLeader();
    assert.equal(l.status().lead, 1);
  });

  test('after forgetLeader a PreVote campaign succeeds at once (no lease to wait out)', () => {
    const net = new Network([1, 2, 3], { config: { preVote: true, checkQuorum: true } });
    net.stabilize();
    net.campaign(1);
    net.isolate(1);
    net.node(2).forgetLeader();
    net.node(3).forgetLeader();
    net.campaign(2);
    assert.equal(net.node(2).status().raftState, 'leader');
  });
});
