import type { ConfState, Entry, NetworkMessage, NodeId, Snapshot } from '@flotilla/raft';

/**
 * Shape checks for what a peer sends. The Raft core trusts its inputs (a message with a
 * string where a term belongs would corrupt its state), so everything decoded from the wire is
 * checked here first, field by field, against `@flotilla/raft`'s types. A frame that fails is
 * a protocol error: the connection closes and nothing of the frame reaches Raft.
 */

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
/** A non-negative safe integer (terms, indexes, commit, readSeq). */
const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isId = (x: unknown): x is NodeId => isNat(x) && x > 0;
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';
const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array;
const isIds = (x: unknown): x is NodeId[] => Array.isArray(x) && x.every(isId);

function isEntry(x: unknown): x is Entry {
  return (
    isObj(x) &&
    isNat(x.term) &&
    isNat(x.index) &&
    (x.type === 'normal' || x.type === 'confChange') &&
    isBytes(x.data)
  );
}

const isEntries = (x: unknown): x is Entry[] => Array.isArray(x) && x.every(isEntry);

function isConfState(x: unknown): x is ConfState {
  return (
    isObj(x) &&
    isIds(x.voters) &&
    isIds(x.learners) &&
    isIds(x.votersOutgoing) &&
    isIds(x.learnersNext) &&
    isBool(x.autoLeave)
  );
}

function isSnapshot(x: unknown): x is Snapshot {
  if (!isObj(x) || !isBytes(x.data) || !isObj(x.metadata)) return false;
  const md = x.metadata;
  return isNat(md.index) && isNat(md.term) && isConfState(md.confState);
}

/** Per type: the checks beyond the common `type`/`from`/`to`/`term`. */
const BODY: Readonly<Record<NetworkMessage['type'], (m: Obj) => boolean>> = {
  app: (m) => isNat(m.index) && isNat(m.logTerm) && isEntries(m.entries) && isNat(m.commit),
  appResp: (m) => isNat(m.index) && isBool(m.reject) && isNat(m.rejectHint) && isNat(m.logTerm),
  vote: (m) => isNat(m.index) && isNat(m.logTerm) && isBool(m.transfer),
  preVote: (m) => isNat(m.index) && isNat(m.logTerm) && isBool(m.transfer),
  voteResp: (m) => isBool(m.reject),
  preVoteResp: (m) => isBool(m.reject),
  heartbeat: (m) => isNat(m.commit) && isNat(m.readSeq),
  heartbeatResp: (m) => isNat(m.readSeq),
  snap: (m) => isSnapshot(m.snapshot),
  prop: (m) => isEntries(m.entries),
  readIndex: (m) => isBytes(m.context),
  readIndexResp: (m) => isNat(m.index) && isBytes(m.context),
  transferLeader: (m) => isId(m.transferee),
  timeoutNow: () => true,
};

/** True when `x` is a well-formed network message. */
export function isNetworkMessage(x: unknown): x is NetworkMessage {
  if (!isObj(x) || typeof x.type !== 'string' || !Object.hasOwn(BODY, x.type)) return false;
  if (!isId(x.from) || !isId(x.to) || !isNat(x.term)) return false;
  const body = BODY[x.type as NetworkMessage['type']];
  return body(x);
}

/**
 * Checks a decoded frame as a batch from `from` to `to`. Returns the batch, or a reason it is
 * not one (for the log line that closes the connection).
 */
export function checkBatch(x: unknown, from: NodeId, to: NodeId): NetworkMessage[] | string {
  if (!Array.isArray(x)) return 'frame is not a message batch';
  for (let i = 0; i < x.length; i++) {
    const m: unknown = x[i];
    if (!isNetworkMessage(m)) return `message ${i} of the batch is malformed`;
    if (m.from !== from) return `message ${i} claims sender ${m.from} on a connection from ${from}`;
    if (m.to !== to) return `message ${i} is addressed to ${m.to}, not to this node (${to})`;
  }
  return x as NetworkMessage[];
}
