import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  Changer,
  type ConfChangeSingle,
  type ConfigAndProgress,
  type ConfState,
  confStateOf,
  confStatesEquivalent,
  describeChanges,
  describeTrackerConfig,
  EMPTY_TRACKER_CONFIG,
  type NodeId,
  restoreConfState,
} from '@flotilla/raft';
import fc from 'fast-check';

const base = { lastIndex: 10, maxInflight: 4, maxInflightBytes: Number.POSITIVE_INFINITY };
const empty: ConfigAndProgress = { config: EMPTY_TRACKER_CONFIG, progress: new Map() };
const changer = (c: ConfigAndProgress) => new Changer({ ...base, config: c.config, progress: c.progress });
const v = (nodeId: NodeId): ConfChangeSingle => ({ type: 'addNode', nodeId });
const l = (nodeId: NodeId): ConfChangeSingle => ({ type: 'addLearner', nodeId });
const r = (nodeId: NodeId): ConfChangeSingle => ({ type: 'removeNode', nodeId });
const refused = (e: unknown) => isFlotillaError(e, 'INVALID_CONF_CHANGE');

function simpleChain(...steps: ConfChangeSingle[][]): ConfigAndProgress {
  let c = empty;
  for (const s of steps) c = changer(c).simple(s);
  return c;
}

describe('Changer', () => {
  test('simple changes add voters and learners one at a time', () => {
    const c = simpleChain([v(1)], [v(2)], [v(3)], [l(4)]);
    assert.deepEqual(confStateOf(c.config), {
      voters: [1, 2, 3],
      learners: [4],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    });
    assert.equal(describeTrackerConfig(c.config), 'voters=(1 2 3) learners=(4)');
    const pr = c.progress.get(4);
    assert.ok(pr?.isLearner && pr.recentActive);
    assert.equal(pr?.next, 10, 'a new member probes from the last index');
    // Promote the learner, demote a voter: each one voter change.
    const d = changer(changer(c).simple([v(4)])).simple([l(1)]);
    assert.deepEqual(confStateOf(d.config).voters, [2, 3, 4]);
    assert.deepEqual(confStateOf(d.config).learners, [1]);
    assert.equal(d.progress.get(1)?.isLearner, true);
  });

  test('simple refuses more than one voter change, removing all voters, and joint configs', () => {
    const c = simpleChain([v(1)], [v(2)]);
    assert.throws(() => changer(c).simple([v(3), v(4)]), refused);
    assert.throws(() => changer(c).simple([r(1), v(3)]), refused);
    assert.throws(() => changer(simpleChain([v(1)])).simple([r(1)]), refused);
    // Adding and immediately removing counts as no change; learners do not count.
    assert.deepEqual(confStateOf(changer(c).simple([v(3), r(3), l(5), l(6)]).config).learners, [5, 6]);
    const j = changer(c).enterJoint(false, [v(3)]);
    assert.throws(() => changer(j).simple([v(4)]), refused);
  });

  test('enterJoint keeps the old voters as the outgoing half; leaveJoint drops it', () => {
    const c = simpleChain([v(1)], [v(2)], [v(3)]);
    const j = changer(c).enterJoint(true, [r(3), v(4), v(5)]);
    assert.deepEqual(confStateOf(j.config), {
      voters: [1, 2, 4, 5],
      learners: [],
      votersOutgoing: [1, 2, 3],
      learnersNext: [],
      autoLeave: true,
    });
    assert.ok(j.progress.has(3), 'an outgoing voter keeps its progress while joint');
    assert.throws(() => changer(j).enterJoint(false, [v(6)]), refused);
    const out = changer(j).leaveJoint();
    assert.deepEqual(confStateOf(out.config).voters, [1, 2, 4, 5]);
    assert.deepEqual(confStateOf(out.config).votersOutgoing, []);
    assert.equal(out.config.autoLeave, false);
    assert.ok(!out.progress.has(3));
    assert.throws(() => changer(out).leaveJoint(), refused);
  });

  test('demoting an outgoing voter goes through learnersNext', () => {
    const c = simpleChain([v(1)], [v(2)], [v(3)]);
    const j = changer(c).enterJoint(false, [l(3)]);
    const cs = confStateOf(j.config);
    assert.deepEqual(cs.voters, [1, 2]);
    assert.deepEqual(cs.learnersNext, [3]);
    assert.deepEqual(cs.learners, []);
    assert.equal(j.progress.get(3)?.isLearner, false, 'it still votes in the outgoing half');
    assert.match(describeTrackerConfig(j.config), /learners_next=\(3\)/);
    const out = changer(j).leaveJoint();
    assert.deepEqual(confStateOf(out.config).learners, [3]);
    assert.equal(out.progress.get(3)?.isLearner, true);
  });

  test('refuses to make a zero-voter config joint and to remove every incoming voter', () => {
    assert.throws(() => changer(empty).enterJoint(false, [v(1)]), refused);
    const c = simpleChain([v(1)]);
    assert.throws(() => changer(c).enterJoint(false, [r(1)]), refused);
  });

  test('node id 0 is a no-op (a cancelled change)', () => {
    const c = simpleChain([v(1)]);
    assert.deepEqual(confStateOf(changer(c).simple([v(0)]).config).voters, [1]);
  });

  test('a refused change leaves the input untouched', () => {
    const c = simpleChain([v(1)], [v(2)]);
    const before = JSON.stringify(confStateOf(c.config));
    const prBefore = c.progress.get(1)?.isLearner;
    assert.throws(() => changer(c).simple([l(1), l(2)]), refused);
    assert.equal(JSON.stringify(confStateOf(c.config)), before);
    assert.equal(c.progress.get(1)?.isLearner, prBefore);
  });

  test('describeChanges', () => {
    assert.equal(describeChanges([v(1), r(2), l(3)]), 'addNode(1) removeNode(2) addLearner(3)');
  });
});

describe('restoreConfState', () => {
  test('rebuilds simple and joint configurations', () => {
    const cases: ConfState[] = [
      { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      { voters: [1, 2, 3], learners: [4, 5], votersOutgoing: [], learnersNext: [], autoLeave: false },
      { voters: [1, 2, 3], learners: [5], votersOutgoing: [1, 2, 4, 6], learnersNext: [4], autoLeave: true },
    ];
    for (const cs of cases) {
      const got = restoreConfState({ ...base, ...empty }, cs);
      assert.ok(confStatesEquivalent(confStateOf(got.config), cs), JSON.stringify(cs));
    }
  });

  test('refuses inconsistent ConfStates', () => {
    const bad: ConfState[] = [
      { voters: [1, 2], learners: [2], votersOutgoing: [], learnersNext: [], autoLeave: false },
      { voters: [1], learners: [], votersOutgoing: [], learnersNext: [1], autoLeave: false },
      { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: true },
      { voters: [1, 1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      { voters: [0], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      { voters: [1], learners: [], votersOutgoing: [2], learnersNext: [3], autoLeave: false },
    ];
    for (const cs of bad)
      assert.throws(() => restoreConfState({ ...base, ...empty }, cs), refused, JSON.stringify(cs));
  });
});

// ---------------------------------------------------------------------------------------------
// Differential test: the Changer against a naive set-based model of etcd's rules.
// ---------------------------------------------------------------------------------------------

interface Model {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}
type Op =
  | { kind: 'simple'; changes: ConfChangeSingle[] }
  | { kind: 'enter'; auto: boolean; changes: ConfChangeSingle[] }
  | { kind: 'leave' };

function naiveApply(m: Model, changes: ConfChangeSingle[]): void {
  for (const c of changes) {
    const id = c.nodeId;
    if (id === 0) continue;
    if (c.type === 'addNode') {
      m.learners.delete(id);
      m.learnersNext.delete(id);
      m.incoming.add(id);
    } else if (c.type === 'addLearner') {
      if (m.learners.has(id)) continue;
      m.incoming.delete(id);
      m.learnersNext.delete(id);
      if (m.outgoing.has(id)) m.learnersNext.add(id);
      else m.learners.add(id);
    } else {
      m.incoming.delete(id);
      m.learners.delete(id);
      m.learnersNext.delete(id);
    }
  }
  if (m.incoming.size === 0) throw new Error('removed all voters');
}

function naive(m: Model, op: Op): Model {
  const n: Model = {
    incoming: new Set(m.incoming),
    outgoing: new Set(m.outgoing),
    learners: new Set(m.learners),
    learnersNext: new Set(m.learnersNext),
    autoLeave: m.autoLeave,
  };
  const joint = m.outgoing.size > 0;
  if (op.kind === 'leave') {
    if (!joint) throw new Error('not joint');
    for (const id of n.learnersNext) n.learners.add(id);
    n.learnersNext.clear();
    n.outgoing.clear();
    n.autoLeave = false;
    return n;
  }
  if (joint) throw new Error('joint');
  if (op.kind === 'enter') {
    if (n.incoming.size === 0) throw new Error('zero voters');
    n.outgoing = new Set(n.incoming);
    naiveApply(n, op.changes);
    n.autoLeave = op.auto;
    return n;
  }
  naiveApply(n, op.changes);
  let diff = 0;
  for (const id of m.incoming) if (!n.incoming.has(id)) diff++;
  for (const id of n.incoming) if (!m.incoming.has(id)) diff++;
  if (diff > 1) throw new Error('more than one voter');
  return n;
}

const sortedArr = (s: Set<NodeId>) => [...s].sort((a, b) => a - b);
const modelCs = (m: Model): ConfState => ({
  voters: sortedArr(m.incoming),
  learners: sortedArr(m.learners),
  votersOutgoing: sortedArr(m.outgoing),
  learnersNext: sortedArr(m.learnersNext),
  autoLeave: m.autoLeave,
});

const changeArb = fc.record({
  type: fc.constantFrom('addNode' as const, 'removeNode' as const, 'addLearner' as const),
  nodeId: fc.integer({ min: 0, max: 6 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('simple' as const), changes: fc.array(changeArb, { maxLength: 2 }) }),
  fc.record({
    kind: fc.constant('enter' as const),
    auto: fc.boolean(),
    changes: fc.array(changeArb, { maxLength: 4 }),
  }),
  fc.constant<Op>({ kind: 'leave' }),
);

test('Changer agrees with a naive model on random change sequences, and every reached ConfState restores (differential)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => {
      let real = simpleChain([v(1)]);
      let model: Model = {
        incoming: new Set([1]),
        outgoing: new Set(),
        learners: new Set(),
        learnersNext: new Set(),
        autoLeave: false,
      };
      for (const op of ops) {
        let expected: Model | undefined;
        try {
          expected = naive(model, op);
        } catch {
          expected = undefined;
        }
        let got: ConfigAndProgress | undefined;
        try {
          const c = changer(real);
          got =
            op.kind === 'leave'
              ? c.leaveJoint()
              : op.kind === 'enter'
                ? c.enterJoint(op.auto, op.changes)
                : c.simple(op.changes);
        } catch (e) {
          assert.ok(refused(e), String(e));
          got = undefined;
        }
        assert.equal(
          got === undefined,
          expected === undefined,
          `${JSON.stringify(op)} on ${JSON.stringify(modelCs(model))}`,
        );
        if (got === undefined || expected === undefined) continue;
        const cs = confStateOf(got.config);
        assert.deepEqual(cs, modelCs(expected));
        // Progress: exactly the members, learner flags as the configuration says.
        const members = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
        assert.deepEqual(sortedArr(new Set(got.progress.keys())), sortedArr(members));
        for (const [id, pr] of got.progress) assert.equal(pr.isLearner, cs.learners.includes(id));
        // Restore from the ConfState alone gives the same configuration.
        const restored = restoreConfState({ ...base, ...empty }, cs);
        assert.deepEqual(confStateOf(restored.config), cs);
        real = got;
        model = expected;
      }
    }),
    { numRuns: 1000 },
  );
});
