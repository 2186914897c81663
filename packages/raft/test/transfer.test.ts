/**
 * Leadership transfer (thesis §3.10): the leader catches the transferee up, sends timeoutNow, and
 * the transferee campaigns at once (bypassing PreVote and vote stickiness). Proposals are refused
 * meanwhile; the transfer is aborted after an election timeout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { enc, Network, type NetworkOptions } from './helpers/network.js';

function cluster(opts: NetworkOptions = {}): Network {
  const net = new Network([1, 2, 3], opts);
  net.stabilize();
  net.campaign(1);
  net.propose(1, 'x');
  return net;
}

describe('leadership transfer', () => {
  for (const config of [{}, { preVote: true, checkQuorum: true }]) {
    test(`an up-to-date transferee gets timeoutNow at once and wins ${JSON.stringify(config)}`, () => {
      const net = cluster({ config });
      const term = net.node(1).status().term;
      const before = net.delivered.length;
      net.node(1).transferLeader(2);
      net.stabilize();
      assert.equal(net.leader(), 2);
      assert.equal(net.node(2).status().term, term + 1);
      assert.equal(net.node(1).status().lead, 2);
      const tn = net.delivered.filter((m) => m.type === 'timeoutNow');
      assert.deepEqual(
        tn.map((m) => [m.from, m.to]),
        [[1, 2]],
      );
      const votes = net.delivered.slice(before).filter((m) => m.type === 'vote');
      assert.equal(votes.length, 2, 'no PreVote round');
      assert.ok(votes.every((m) => m.type === 'vote' && m.transfer));
      net.propose(2, 'y');
      assert.deepEqual(net.appliedData(3), ['x', 'y']);
    });
  }

  test('a lagging transferee is caught up first, then told to campaign', () => {
    const net = cluster();
    net.isolate(3);
    net.propose(1, 'missed');
    net.recover();
    net.ignore('app');
    net.node(1).transferLeader(3);
    net.stabilize();
    assert.equal(net.delivered.filter((m) => m.type === 'timeoutNow').length, 0, 'not before it caught up');
    assert.equal(net.node(1).status().leadTransferee, 3);
    net.recover();
    net.tickAll(1);
    assert.equal(net.leader(), 3);
    assert.deepEqual(net.appliedData(3), ['x', 'missed']);
  });

  test('proposals are refused during a transfer, and accepted again after it is aborted', () => {
    const net = cluster();
    net.isolate(3);
    net.node(1).transferLeader(3);
    net.stabilize();
    const last = net.peer(1).storage.lastIndex();
    assert.throws(
      () => net.node(1).propose(enc('no')),
      (e) => isFlotillaError(e, 'PROPOSAL_DROPPED'),
    );
    assert.throws(
      () => net.node(1).proposeConfChange({ changes: [{ type: 'addNode', nodeId: 4 }] }),
      (e) => isFlotillaError(e, 'PROPOSAL_DROPPED'),
    );
    net.stabilize();
    assert.equal(net.peer(1).storage.lastIndex(), last);
    for (let i = 0; i < 10; i++) {
      net.node(1).tick();
      net.stabilize();
    }
    assert.equal(net.node(1).status().leadTransferee, 0, 'aborted after an election timeout');
    net.propose(1, 'yes');
    assert.deepEqual(net.appliedData(2), ['x', 'yes']);
  });

  test('transfers to self, a learner, or a non-member are ignored; a repeated request is ignored', () => {
    const net = new Network([1, 2, 3, 4], { peers: [1, 2, 3] });
    net.stabilize();
    net.campaign(1);
    net.node(1).proposeConfChange({ changes: [{ type: 'addLearner', nodeId: 4 }] });
    net.stabilize();
    for (const to of [1, 4, 9]) {
      net.node(1).transferLeader(to);
      net.stabilize();
      assert.equal(net.node(1).status().leadTransferee, 0, `to ${to}`);
      assert.equal(net.leader(), 1);
    }
    net.isolate(3);
    net.node(1).transferLeader(3);
    net.node(1).transferLeader(3);
    assert.equal(net.node(1).status().leadTransferee, 3);
    // A new transferee replaces the previous one.
    net.recover();
    net.node(1).transferLeader(2);
    net.stabilize();
    assert.equal(net.leader(), 2);
  });

  test('a follower forwards the transfer request to the leader; without a leader it is dropped', () => {
    const net = cluster();
    net.node(3).transferLeader(3);
    net.stabilize();
    assert.equal(net.leader(), 3);
    const lone = new Network([1, 2, 3]);
    lone.node(2).transferLeader(2);
    lone.stabilize();
    assert.deepEqual(lone.delivered, []);
  });

  test('the transfer is aborted when the transferee leaves the configuration', () => {
    const net = cluster();
    net.isolate(3);
    net.node(1).transferLeader(3);
    net.recover();
    net.cut(1, 3);
    // The leader cannot propose during the transfer, so simulate the removal being applied by
    // applying it directly (as a committed entry would be).
    net.node(1).applyConfChange({ changes: [{ type: 'removeNode', nodeId: 3 }] });
    assert.equal(net.node(1).status().leadTransferee, 0);
  });

  test('a candidate ignores timeoutNow', () => {
    const net = new Network([1, 2, 3]);
    net.stabilize();
    net.node(2).campaign();
    net.queue = [];
    net.node(2).step({ type: 'timeoutNow', from: 1, to: 2, term: net.node(2).status().term });
    assert.equal(net.node(2).status().raftState, 'candidate');
  });
});
