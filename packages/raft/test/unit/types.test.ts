import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EMPTY_HARD_STATE,
  type Entry,
  emptyConfState,
  hardStateEqual,
  isEmptyHardState,
  isLocalMessageType,
  isResponseMessageType,
  limitCount,
  limitSize,
  payloadBytes,
  payloadSize,
} from '@flotilla/raft';

const e = (index: number, size: number): Entry => ({
  index,
  term: 1,
  type: 'normal',
  data: new Uint8Array(size),
});

test('hard state and conf state helpers', () => {
  assert.ok(isEmptyHardState(EMPTY_HARD_STATE));
  assert.ok(!isEmptyHardState({ term: 1, vote: 0, commit: 0 }));
  assert.ok(hardStateEqual({ term: 1, vote: 2, commit: 3 }, { term: 1, vote: 2, commit: 3 }));
  assert.ok(!hardStateEqual({ term: 1, vote: 2, commit: 3 }, { term: 1, vote: 2, commit: 4 }));
  assert.deepEqual(emptyConfState(), {
    voters: [],
    learners: [],
    votersOutgoing: [],
    learnersNext: [],
    autoLeave: false,
  });
});

test('message type predicates', () => {
  assert.ok(isLocalMessageType('hup') && isLocalMessageType('snapStatus'));
  assert.ok(!isLocalMessageType('app'));
  assert.ok(isResponseMessageType('appResp') && isResponseMessageType('readIndexResp'));
  assert.ok(!isResponseMessageType('vote'));
});

test('size helpers: at least one entry, then as many as fit', () => {
  const ents = [e(1, 10), e(2, 10), e(3, 10)];
  assert.equal(payloadSize(ents), 30);
  assert.equal(payloadBytes(ents), 30);
  assert.deepEqual(
    limitSize(ents, 25).map((x) => x.index),
    [1, 2],
  );
  assert.deepEqual(
    limitSize(ents, 1).map((x) => x.index),
    [1],
  );
  assert.deepEqual(
    limitSize(ents, undefined).map((x) => x.index),
    [1, 2, 3],
  );
  assert.deepEqual(limitSize([], 5), []);
  assert.equal(limitCount(ents, 0, 3, 25), 2);
  assert.equal(limitCount(ents, 0, 3, 0), 1);
  assert.equal(limitCount(ents, 0, 3, Number.POSITIVE_INFINITY), 3);
  assert.equal(limitCount(ents, 2, 2, 5), 0);
});
