import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describeConfState,
  describeData,
  describeEntry,
  describeHardState,
  describeMessage,
  describeNode,
  describeReady,
  describeSnapshot,
  describeSoftState,
  encodeConfChange,
  type NetworkMessage,
} from '@flotilla/raft';
import { enc, Network } from './helpers/network.js';

test('describe* give stable one-line forms', () => {
  assert.equal(describeData(enc('abc')), '"abc"');
  assert.equal(describeData(new Uint8Array([0, 255])), '0x00ff');
  assert.match(describeData(new Uint8Array(100).fill(65)), /^"A{64}"…\(100 bytes\)$/);
  assert.equal(describeEntry({ term: 1, index: 2, type: 'normal', data: enc('x') }), '1/2 normal "x"');
  assert.equal(describeEntry({ term: 1, index: 2, type: 'normal', data: new Uint8Array() }), '1/2 normal');
  assert.equal(
    describeEntry({
      term: 1,
      index: 3,
      type: 'confChange',
      data: encodeConfChange({ transition: 'explicit', changes: [{ type: 'addNode', nodeId: 4 }] }),
    }),
    '1/3 confChange addNode(4) (explicit)',
  );
  assert.equal(
    describeEntry({ term: 1, index: 3, type: 'confChange', data: encodeConfChange({ changes: [] }) }),
    '1/3 confChange leaveJoint',
  );
  assert.equal(
    describeEntry({ term: 1, index: 3, type: 'confChange', data: enc('?') }),
    '1/3 confChange <undecodable "?">',
  );
  assert.equal(describeHardState({ term: 2, vote: 1, commit: 5 }), 'term=2 vote=1 commit=5');
  assert.equal(describeSoftState({ lead: 1, raftState: 'leader' }), 'lead=1 state=leader');
  const conf = { voters: [1, 2], learners: [3], votersOutgoing: [1], learnersNext: [2], autoLeave: true };
  assert.equal(describeConfState(conf), 'voters=(1 2)&&(1) learners=(3) learners_next=(2) autoleave');
  assert.equal(
    describeSnapshot({ metadata: { index: 5, term: 2, confState: conf }, data: new Uint8Array() }).startsWith(
      'index=5 term=2',
    ),
    true,
  );
  const msgs: [NetworkMessage, string][] = [
    [
      { type: 'app', from: 1, to: 2, term: 3, index: 4, logTerm: 2, commit: 4, entries: [] },
      '1->2 app term=3 prev=(4,2) commit=4',
    ],
    [
      { type: 'appResp', from: 2, to: 1, term: 3, index: 5, reject: false, rejectHint: 0, logTerm: 0 },
      '2->1 appResp term=3 index=5',
    ],
    [
      { type: 'appResp', from: 2, to: 1, term: 3, index: 5, reject: true, rejectHint: 3, logTerm: 1 },
      '2->1 appResp term=3 rejected index=5 hint=(3,1)',
    ],
    [
      { type: 'vote', from: 1, to: 2, term: 3, index: 4, logTerm: 2, transfer: true },
      '1->2 vote term=3 last=(4,2) transfer',
    ],
    [{ type: 'preVoteResp', from: 2, to: 1, term: 3, reject: true }, '2->1 preVoteResp term=3 rejected'],
    [
      { type: 'heartbeat', from: 1, to: 2, term: 3, commit: 2, readSeq: 4 },
      '1->2 heartbeat term=3 commit=2 readSeq=4',
    ],
    [{ type: 'heartbeatResp', from: 2, to: 1, term: 3, readSeq: 0 }, '2->1 heartbeatResp term=3'],
    [
      {
        type: 'prop',
        from: 2,
        to: 1,
        term: 0,
        entries: [{ term: 0, index: 0, type: 'normal', data: enc('p') }],
      },
      '2->1 prop term=0 entries=[0/0 normal "p"]',
    ],
    [{ type: 'readIndex', from: 2, to: 1, term: 0, context: enc('c') }, '2->1 readIndex term=0 ctx="c"'],
    [
      { type: 'readIndexResp', from: 1, to: 2, term: 3, index: 7, context: enc('c') },
      '1->2 readIndexResp term=3 index=7 ctx="c"',
    ],
    [
      { type: 'transferLeader', from: 2, to: 1, term: 3, transferee: 2 },
      '2->1 transferLeader term=3 transferee=2',
    ],
    [{ type: 'timeoutNow', from: 1, to: 2, term: 3 }, '1->2 timeoutNow term=3'],
  ];
  for (const [m, want] of msgs) assert.equal(describeMessage(m), want);
  assert.equal(
    describeMessage({ type: 'hup', from: 1, to: 1, term: 0, transfer: true }),
    '1->1 hup term=0 transfer',
  );
  assert.equal(
    describeMessage({ type: 'snapStatus', from: 2, to: 1, term: 0, reject: true }),
    '2->1 snapStatus term=0 rejected',
  );
});

test('describeReady and describeNode show a running cluster', () => {
  const net = new Network([1, 2, 3]);
  net.stabilize();
  net.campaign(1);
  net.node(1).readIndex(enc('r'));
  net.node(1).transferLeader(9);
  net.propose(1, 'x');
  const text = net.peer(1).readies.map(describeReady).join('\n');
  assert.match(text, /softState: lead=1 state=leader/);
  assert.match(text, /committedEntries:\n {2}\d+\/\d+ normal "x"/);
  assert.match(text, /readStates:\n {2}index=\d+ ctx="r"/);
  assert.match(text, /mustSync/);
  assert.match(text, /snapshot|messages:/);
  const d = describeNode(net.node(1));
  assert.match(
    d,
    /^1 leader term=2 vote=1 lead=1\nlog: first=1 last=5 committed=5 applying=5 applied=5 unstable=6\+0/,
  );
  assert.match(d, / {2}2: replicate match=5 next=6/);
  assert.throws(() => describeNode({} as never));
});
