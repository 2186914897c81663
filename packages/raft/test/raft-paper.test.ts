/**
 * The rules of the Raft paper's §5 as executable cases, one test per rule, each with the section
 * it comes from (after etcd's raft_paper_test.go, rewritten for the RawNode API).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeId } from '@flotilla/raft';
import { enc, Network } from './helpers/network.js';
import { app, appResp, heartbeat, only, TestNode, terms, vote, voteResp } from './helpers/raft.js';

describe('§5.1 terms', () => {
  // Reference: §5.1 "If one server's current term is smaller than the other's, then it updates
  // its current term to the larger value. If a candidate or leader discovers that its term is
  // out of date, it immediately reverts to follower state."
  test('a follower, candidate or leader seeing a higher term adopts it and becomes follower', () => {
    const f = new TestNode(1, [1, 2, 3]);
    f.step(app(2, 1, 2, 0, 0));
    assert.deepEqual([f.status().term, f.status().raftState, f.status().lead], [2, 'follower', 2]);

    const c = new TestNode(1, [1, 2, 3]);
    c.node.campaign();
    c.read();
    assert.equal(c.status().raftState, 'candidate');
    c.step(vote(3, 1, 5, 0, 0));
    assert.deepEqual([c.status().term, c.status().raftState, c.status().lead], [5, 'follower', 0]);

    const l = new TestNode(1, [1, 2, 3]);
    l.elect([2]);
    assert.equal(l.status().raftState, 'leader');
    l.step(heartbeat(2, 1, 7));
    assert.deepEqual([l.status().term, l.status().raftState, l.status().lead], [7, 'follower', 2]);
  });

  // Reference: §5.1 "If a server receives a request with a stale term number, it rejects the
  // request." (Without CheckQuorum/PreVote the stale message is simply ignored.)
  test('a message with a stale term is ignored', () => {
    const n = new TestNode(1, [1, 2, 3], { hs: { term: 2, vote: 0, commit: 0 } });
    n.step(app(2, 1, 1, 0, 0, [{ index: 1, term: 1, type: 'normal', data: enc('x') }]));
    assert.deepEqual(n.read(), []);
    assert.equal(n.status().term, 2);
    assert.equal(n.status().lead, 0);
  });

  // Reference: §5.2 "When servers start up, they begin as followers."
  test('a node starts as a follower', () => {
    assert.equal(new TestNode(1, [1, 2, 3]).status().raftState, 'follower');
  });
});

describe('§5.2 leader election', () => {
  // Reference: §5.2 "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log
  // entries) to all followers in order to maintain their authority."
  test('the leader broadcasts a heartbeat every heartbeatTick', () => {
    const n = new TestNode(1, [1, 2, 3], { heartbeatTick: 2 });
    n.elect([2]);
    n.tick();
    assert.deepEqual(n.read(), []);
    n.tick();
    const hb = only(n.read(), 'heartbeat');
    assert.deepEqual(
      hb.map((m) => [m.to, m.term, m.commit]),
      [
        [2, 1, 0],
        [3, 1, 0],
      ],
    );
  });

  // Reference: §5.2 "If a follower receives no communication over a period of time called the
  // election timeout, then it ... begins an election": it increments its term, votes for itself
  // and issues RequestVote RPCs in parallel to each of the other servers.
  test('a follower starts an election after the election timeout', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.tickUntilCampaign();
    const s = n.status();
    assert.deepEqual([s.raftState, s.term, s.vote], ['candidate', 1, 1]);
    const votes = only(n.read(), 'vote');
    assert.deepEqual(
      votes.map((m) => [m.to, m.term, m.index, m.logTerm]),
      [
        [2, 1, 0, 0],
        [3, 1, 0, 0],
      ],
    );
  });

  // Reference: §5.2 "...each candidate will time out and start a new election by incrementing
  // its term and initiating another round of RequestVote RPCs."
  test('a candidate that neither wins nor loses starts a new election', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.node.campaign();
    n.read();
    assert.equal(n.status().term, 1);
    n.tick(20);
    assert.equal(n.status().raftState, 'candidate');
    assert.ok(n.status().term >= 2);
  });

  // Reference: §5.2 "A candidate wins an election if it receives votes from a majority of the
  // servers in the full cluster for the same term."
  test('an election is won with a majority in one round, lost with a majority of rejections', () => {
    const cases: [number, Record<number, boolean>, string][] = [
      [1, {}, 'leader'],
      [3, { 2: true, 3: true }, 'leader'],
      [3, { 2: true }, 'leader'],
      [5, { 2: true, 3: true, 4: true, 5: true }, 'leader'],
      [5, { 2: true, 3: true, 4: true }, 'leader'],
      [5, { 2: true, 3: true }, 'leader'],
      [3, { 2: false, 3: false }, 'follower'],
      [5, { 2: false, 3: false, 4: false, 5: false }, 'follower'],
      [5, { 2: true, 3: false, 4: false, 5: false }, 'follower'],
      [3, {}, 'candidate'],
      [5, { 2: true }, 'candidate'],
      [5, { 2: false, 3: false }, 'candidate'],
      [5, {}, 'candidate'],
    ];
    for (const [size, votes, want] of cases) {
      const ids = Array.from({ length: size }, (_, i) => i + 1);
      const n = new TestNode(1, ids);
      n.node.campaign();
      n.read(); // persist: the vote for itself counts from now on
      for (const [id, granted] of Object.entries(votes)) n.step(voteResp(Number(id), 1, 1, !granted));
      n.read();
      assert.equal(n.status().raftState, want, `${size} nodes, votes ${JSON.stringify(votes)}`);
      assert.equal(n.status().term, 1);
    }
  });

  // Reference: §5.2 "Each server will vote for at most one candidate in a given term, on a
  // first-come-first-served basis."
  test('a follower votes for at most one candidate per term', () => {
    const cases: [NodeId, NodeId, boolean][] = [
      // [vote already cast, candidate, rejected?]
      [0, 2, false],
      [2, 2, false],
      [3, 2, true],
    ];
    for (const [voted, cand, reject] of cases) {
      const n = new TestNode(1, [1, 2, 3], { hs: { term: 1, vote: voted, commit: 0 } });
      n.step(vote(cand, 1, 1, 0, 0));
      const resp = only(n.read(), 'voteResp');
      assert.deepEqual(
        resp.map((m) => [m.to, m.term, m.reject]),
        [[cand, 1, reject]],
      );
    }
  });

  // Reference: §5.2 "While waiting for votes, a candidate may receive an AppendEntries RPC from
  // another server claiming to be leader. If the leader's term is at least as large as the
  // candidate's current term, then the candidate ... returns to follower state."
  test('a candidate falls back to follower on an append from a leader of its term or later', () => {
    for (const term of [1, 2]) {
      const n = new TestNode(1, [1, 2, 3]);
      n.node.campaign();
      n.read();
      n.step(app(2, 1, term, 0, 0));
      assert.deepEqual([n.status().raftState, n.status().term, n.status().lead], ['follower', term, 2]);
    }
  });

  // Reference: §5.2 "Raft uses randomized election timeouts ... chosen randomly from a fixed
  // interval". Here: [electionTick, 2·electionTick).
  test('election timeouts are randomized within [electionTick, 2·electionTick)', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const n = new TestNode(1, [1, 2, 3], { seed });
      let ticks = 0;
      while (n.status().raftState === 'follower') {
        n.tick();
        ticks++;
      }
      assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks}`);
      seen.add(ticks);
    }
    assert.equal(seen.size, 10, 'every value of the interval occurs');
  });

  // Reference: §5.2 "...in most cases only a single server will time out".
  test('in most cases only one of several followers times out first', () => {
    let conflicts = 0;
    const rounds = 300;
    for (let round = 0; round < rounds; round++) {
      const nodes = [1, 2, 3, 4, 5].map((id) => new TestNode(id, [1, 2, 3, 4, 5], { seed: round * 7 + id }));
      let first: number[] = [];
      for (let t = 0; t < 20 && first.length === 0; t++) {
        for (const n of nodes) n.tick();
        first = nodes.filter((n) => n.status().raftState !== 'follower').map((n) => n.id);
      }
      if (first.length > 1) conflicts++;
    }
    assert.ok(conflicts / rounds <= 0.5, `conflict rate ${conflicts / rounds}`);
  });
});

describe('§5.3 log replication', () => {
  /** A leader of [1..size] at term 1 whose empty entry is committed (followers replicating). */
  function committedLeader(size = 3): TestNode {
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const n = new TestNode(1, ids);
    n.elect(ids);
    for (const id of ids) if (id !== 1) n.step(appResp(id, 1, 1, 1));
    n.read();
    assert.equal(n.status().commit, 1);
    return n;
  }

  // Reference: §5.3 "The leader appends the command to its log as a new entry, then issues
  // AppendEntries RPCs in parallel to each of the other servers to replicate the entry."
  test('the leader appends a proposal and replicates it', () => {
    const n = committedLeader();
    n.node.propose(enc('some data'));
    const apps = only(n.read(), 'app');
    assert.deepEqual(
      apps.map((m) => [m.to, m.index, m.logTerm, m.commit, m.entries.map((e) => [e.index, e.term])]),
      [
        [2, 1, 1, 1, [[2, 1]]],
        [3, 1, 1, 1, [[2, 1]]],
      ],
    );
    assert.equal(n.storage.lastIndex(), 2, 'persisted through the Ready');
  });

  // Reference: §5.3 "When the entry has been safely replicated, the leader applies the entry to
  // its state machine ... The leader keeps track of the highest index it knows to be committed,
  // and it includes that index in future AppendEntries RPCs."
  test('the leader commits an entry replicated on a majority and announces the commit index', () => {
    const n = committedLeader();
    n.node.propose(enc('x'));
    n.read();
    n.step(appResp(2, 1, 1, 2));
    const msgs = n.read();
    assert.equal(n.status().commit, 2);
    assert.deepEqual(n.appliedData(), ['x']);
    assert.deepEqual(
      only(msgs, 'app').map((m) => [m.to, m.commit, m.entries.length]),
      [
        [2, 2, 0],
        [3, 2, 0],
      ],
    );
  });

  // Reference: §5.3 "A log entry is committed once the leader that created the entry has
  // replicated it on a majority of the servers."
  test('the commit needs acknowledgements from a majority', () => {
    const cases: [number, NodeId[], boolean][] = [
      [1, [], true],
      [3, [], false],
      [3, [2], true],
      [3, [2, 3], true],
      [5, [], false],
      [5, [2], false],
      [5, [2, 3], true],
      [5, [2, 3, 4], true],
    ];
    for (const [size, acks, committed] of cases) {
      const n = committedLeader(size);
      n.node.propose(enc('x'));
      n.read();
      for (const id of acks) n.step(appResp(id, 1, 1, 2));
      n.read();
      assert.equal(n.status().commit === 2, committed, `${size} nodes, acks ${acks}`);
    }
  });

  // Reference: §5.3 "This also commits all preceding entries in the leader's log, including
  // entries created by previous leaders."
  test('committing an entry commits every entry before it, including older terms', () => {
    const n = new TestNode(1, [1, 2, 3], { ents: terms(1, 2), hs: { term: 2, vote: 0, commit: 0 } });
    n.elect([2]);
    assert.equal(n.status().term, 3);
    n.step(appResp(2, 1, 3, 3));
    n.read();
    assert.equal(n.status().commit, 3);
    assert.deepEqual(
      n.applied.map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    );
  });

  // Reference: §5.3 "Once a follower learns that a log entry is committed, it applies the entry
  // to its local state machine (in log order)."
  test('a follower applies what the leader says is committed', () => {
    const n = new TestNode(1, [1, 2, 3]);
    const ents = [
      { index: 1, term: 1, type: 'normal' as const, data: enc('a') },
      { index: 2, term: 1, type: 'normal' as const, data: enc('b') },
    ];
    n.step(app(2, 1, 1, 0, 0, ents, 1));
    n.read();
    assert.deepEqual(n.appliedData(), ['a']);
    n.step(heartbeat(2, 1, 1, 2));
    n.read();
    assert.deepEqual(n.appliedData(), ['a', 'b']);
  });

  // Reference: §5.3 "When sending an AppendEntries RPC, the leader includes the index and term
  // of the entry in its log that immediately precedes the new entries. If the follower does not
  // find an entry in its log with the same index and term, then it refuses the new entries."
  test('a follower accepts an append only after a matching entry', () => {
    const cases: [number, number, boolean, number, number][] = [
      // [prev index, prev term, rejected, answer index, hint index]
      [0, 0, false, 1, 0], // matches the (empty) start of the log; commit 1 ≥ index 0
      [1, 1, false, 1, 0],
      [2, 2, false, 2, 0],
      [2, 1, true, 2, 1], // term mismatch at 2: hint back to 1 (term 1 ≤ 1)
      [3, 3, true, 3, 2], // beyond the log: hint our last index
    ];
    for (const [index, logTerm, reject, wIndex, wHint] of cases) {
      const n = new TestNode(1, [1, 2, 3], { ents: terms(1, 2), hs: { term: 1, vote: 0, commit: 1 } });
      n.step(app(2, 1, 2, index, logTerm, [], 1));
      const [resp] = only(n.read(), 'appResp');
      assert.ok(resp);
      assert.deepEqual(
        [resp.reject, resp.index, resp.reject ? resp.rejectHint : 0],
        [reject, wIndex, wHint],
        `${index}/${logTerm}`,
      );
    }
  });

  // Reference: §5.3 "If an existing entry conflicts with a new one (same index but different
  // terms), delete the existing entry and all that follow it; append any new entries not
  // already in the log."
  test('a follower deletes conflicting entries and appends the new ones', () => {
    const cases: [number, number, [number, number][], number[]][] = [
      // [prev index, prev term, new entries [index, term], resulting log terms]
      [2, 2, [[3, 3]], [1, 2, 3]],
      [
        1,
        1,
        [
          [2, 3],
          [3, 4],
        ],
        [1, 3, 4],
      ],
      [0, 0, [[1, 1]], [1, 2]],
      [0, 0, [[1, 3]], [3]],
    ];
    for (const [index, logTerm, ents, want] of cases) {
      const n = new TestNode(1, [1, 2, 3], { ents: terms(1, 2), hs: { term: 1, vote: 0, commit: 0 } });
      n.step(
        app(
          2,
          1,
          4,
          index,
          logTerm,
          ents.map(([i, t]) => ({ index: i, term: t, type: 'normal', data: new Uint8Array() })),
        ),
      );
      n.read();
      const log = n.storage.entries(1, n.storage.lastIndex() + 1).map((e) => e.term);
      assert.deepEqual(log, want, JSON.stringify(ents));
    }
  });

  // Reference: §5.3 "The leader handles inconsistencies by forcing the followers' logs to
  // duplicate its own" (Figure 7).
  test('the leader brings every follower of Figure 7 in line with its log', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers = [
      [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a)
      [1, 1, 1, 4], // (b)
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c)
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d)
      [1, 1, 1, 4, 4, 4, 4], // (e)
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f)
    ];
    for (const f of followers) {
      const net = new Network([1, 2], {
        bootstrap: false,
        storageFor: (id) =>
          id === 1
            ? {
                ents: terms(...leaderLog),
                hs: { term: 8, vote: 0, commit: leaderLog.length },
                voters: [1, 2, 3],
              }
            : { ents: terms(...f), hs: { term: 7, vote: 0, commit: 0 }, voters: [1, 2, 3] },
      });
      net.node(1).campaign();
      net.stabilize();
      // Node 3 is a black hole; fake its vote so that 1 wins whatever 2 answered.
      net.send(voteResp(3, 1, 9));
      assert.equal(net.node(1).status().raftState, 'leader', `follower ${f}`);
      net.propose(1, 'x');
      const logOf = (id: NodeId) =>
        net
          .peer(id)
          .storage.entries(1, net.peer(id).storage.lastIndex() + 1)
          .map((e) => e.term);
      assert.deepEqual(logOf(2), logOf(1), `follower ${f}`);
    }
  });
});

describe('§5.4 safety', () => {
  // Reference: §5.4.1 "The RequestVote RPC ... includes information about the candidate's log".
  test('vote requests carry the last log index and term', () => {
    for (const ents of [terms(1), terms(1, 2)]) {
      const n = new TestNode(1, [1, 2, 3], { ents, hs: { term: ents.length, vote: 0, commit: 0 } });
      n.node.campaign();
      const votes = only(n.read(), 'vote');
      const last = ents[ents.length - 1];
      assert.deepEqual(
        votes.map((m) => [m.to, m.index, m.logTerm, m.term]),
        [
          [2, last?.index, last?.term, ents.length + 1],
          [3, last?.index, last?.term, ents.length + 1],
        ],
      );
    }
  });

  // Reference: §5.4.1 "the voter denies its vote if its own log is more up-to-date than that of
  // the candidate ... If the logs have last entries with different terms, then the log with the
  // later term is more up-to-date. If the logs end with the same term, then whichever log is
  // longer is more up-to-date."
  test('a voter grants only candidates at least as up-to-date', () => {
    const cases: [number[], number, number, boolean][] = [
      // [voter log terms, candidate last index, last term, rejected]
      [[1], 1, 1, false],
      [[1], 2, 1, false],
      [[1, 1], 1, 1, true],
      [[1], 1, 2, false],
      [[1], 3, 2, false],
      [[1, 1], 1, 2, false],
      [[2], 1, 1, true],
      [[2], 2, 1, true],
      [[1, 2], 1, 1, true],
    ];
    for (const [log, index, logTerm, reject] of cases) {
      const n = new TestNode(1, [1, 2], { ents: terms(...log) });
      n.step(vote(2, 1, 3, index, logTerm));
      const [resp] = only(n.read(), 'voteResp');
      assert.equal(resp?.reject, reject, `${log} vs (${index}, ${logTerm})`);
    }
  });

  // Reference: §5.4.2 "Raft never commits log entries from previous terms by counting replicas.
  // Only log entries from the leader's current term are committed by counting replicas."
  test('the leader commits by counting only entries of its current term', () => {
    const cases: [number, number][] = [
      // [acknowledged index, resulting commit]
      [1, 0],
      [2, 0],
      [3, 3],
    ];
    for (const [index, want] of cases) {
      const n = new TestNode(1, [1, 2], { ents: terms(1, 2), hs: { term: 2, vote: 0, commit: 0 } });
      n.elect([2]);
      assert.equal(n.status().term, 3);
      n.step(appResp(2, 1, 3, index));
      n.read();
      assert.equal(n.status().commit, want, `ack ${index}`);
    }
  });
});
