import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { type Logger, MemoryStorage, type RaftConfig, RawNode } from '@flotilla/raft';

const base = (): RaftConfig => ({ id: 1, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage() });
const invalid = (e: unknown) => isFlotillaError(e, 'INVALID_CONFIG');

describe('RaftConfig validation (INVALID_CONFIG, as etcd)', () => {
  test('a minimal config is valid; defaults fill the rest', () => {
    const n = new RawNode(base());
    assert.equal(n.status().id, 1);
    new RawNode({
      ...base(),
      applied: 0,
      maxSizePerMsg: 0,
      maxCommittedSizePerReady: 0,
      maxUncommittedEntriesSize: 0,
      maxInflightMsgs: 1,
      maxInflightBytes: 0,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: 'leaseBased',
      disableProposalForwarding: true,
      stepDownOnRemoval: false,
      seed: -7,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    new RawNode({
      ...base(),
      maxSizePerMsg: Number.POSITIVE_INFINITY,
      maxInflightBytes: Number.POSITIVE_INFINITY,
    });
  });

  const cases: [string, Partial<Record<keyof RaftConfig, unknown>>][] = [
    ['id 0 (none)', { id: 0 }],
    ['negative id', { id: -1 }],
    ['fractional id', { id: 1.5 }],
    ['heartbeatTick 0', { heartbeatTick: 0 }],
    ['electionTick = heartbeatTick', { electionTick: 1, heartbeatTick: 1 }],
    ['electionTick < heartbeatTick', { electionTick: 2, heartbeatTick: 5 }],
    ['fractional electionTick', { electionTick: 10.5 }],
    ['no storage', { storage: undefined }],
    ['not a storage', { storage: {} }],
    ['maxInflightMsgs 0', { maxInflightMsgs: 0 }],
    ['maxInflightMsgs negative', { maxInflightMsgs: -2 }],
    ['maxInflightBytes below maxSizePerMsg', { maxSizePerMsg: 100, maxInflightBytes: 50 }],
    ['negative maxSizePerMsg', { maxSizePerMsg: -1 }],
    ['NaN maxUncommittedEntriesSize', { maxUncommittedEntriesSize: Number.NaN }],
    ['string maxCommittedSizePerReady', { maxCommittedSizePerReady: '5' }],
    ['negative applied', { applied: -1 }],
    ['infinite applied', { applied: Number.POSITIVE_INFINITY }],
    ['leaseBased without checkQuorum', { readOnlyOption: 'leaseBased' }],
    ['unknown readOnlyOption', { readOnlyOption: 'fast' }],
    ['non-boolean checkQuorum', { checkQuorum: 1 }],
    ['non-boolean preVote', { preVote: 'yes' }],
    ['fractional seed', { seed: 0.5 }],
    ['incomplete logger', { logger: { info() {} } }],
  ];
  for (const [name, patch] of cases) {
    test(`refuses ${name}`, () => {
      assert.throws(() => new RawNode({ ...base(), ...patch } as RaftConfig), invalid);
    });
  }

  test('refuses a non-object config', () => {
    assert.throws(() => new RawNode(null as unknown as RaftConfig), invalid);
  });

  test('the logger hears about elections', () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: (m) => lines.push(`D ${m}`),
      info: (m) => lines.push(`I ${m}`),
      warn: (m) => lines.push(`W ${m}`),
      error: (m) => lines.push(`E ${m}`),
    };
    const storage = new MemoryStorage();
    const n = new RawNode({ ...base(), storage, logger });
    n.bootstrap([1]);
    assert.ok(lines.some((l) => l.startsWith('I newRaft 1')));
    n.campaign();
    assert.ok(lines.some((l) => l.startsWith('W') && l.includes('pending configuration changes')));
  });
});
