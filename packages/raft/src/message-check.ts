import { RaftError } from './errors.js';
import type { Raft } from './raft.js';
import {
  type Entry,
  isLocalMessageType,
  isResponseMessageType,
  type Message,
  type NetworkMessage,
  type NodeId,
} from './types.js';

/**
 * Checks of what a host hands to `RawNode`, so malformed input is refused with a typed error
 * before it changes anything. All checks are O(1) per message: they sit on the hot path.
 */

const NETWORK_TYPES: ReadonlySet<string> = new Set([
  'app',
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
  'heartbeat',
  'heartbeatResp',
  'snap',
  'prop',
  'readIndex',
  'readIndexResp',
  'transferLeader',
  'timeoutNow',
]);
/** Network messages that legitimately carry no term (forwarded requests). */
const TERMLESS: ReadonlySet<string> = new Set(['prop', 'readIndex', 'transferLeader']);
/** Throws `INVALID_ARGUMENT`. */
export function badArg(message: string): never {
  throw new RaftError('INVALID_ARGUMENT', message);
}

/** Checks that `id` is a positive safe integer (a node id); `INVALID_ARGUMENT` otherwise. */
export function checkId(name: string, id: unknown): asserts id is NodeId {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    badArg(`${name} must be a positive safe integer, got ${String(id)}`);
  }
}

/**
 * Refuses a message a peer may not send us: a local-only type (`STEP_LOCAL_MSG`), a response
 * from a member we do not track (`STEP_PEER_NOT_FOUND`, etcd's ErrStepPeerNotFound), or a
 * malformed message (`INVALID_ARGUMENT`: unknown type, addressed to another node, bad ids or
 * term, inconsistent fields).
 */
export function checkIncoming(r: Raft, m: Message): void {
  if (typeof m !== 'object' || m === null) badArg('message must be an object');
  if (isLocalMessageType(m.type)) {
    throw new RaftError('STEP_LOCAL_MSG', `cannot step local message type ${m.type}`);
  }
  if (!NETWORK_TYPES.has(m.type)) badArg(`unknown message type ${String(m.type)}`);
  checkId('message.from', m.from);
  if (m.to !== r.id) badArg(`message to ${String(m.to)} stepped on node ${r.id}`);
  if (!Number.isSafeInteger(m.term) || m.term < 0) badArg(`message term ${String(m.term)} is invalid`);
  if (m.term === 0 && !TERMLESS.has(m.type)) badArg(`message ${m.type} must carry a term`);
  if (isResponseMessageType(m.type) && !r.trk.progress.has(m.from)) {
    throw new RaftError('STEP_PEER_NOT_FOUND', `${m.type} from ${m.from}, which is not a member`);
  }
  checkShape(m as NetworkMessage);
}

/** O(1) structural checks of a network message, so a corrupt one is refused before it acts. */
function checkShape(m: NetworkMessage): void {
  switch (m.type) {
    case 'app': {
      if (!Array.isArray(m.entries)) badArg('app message without entries array');
      const n = m.entries.length;
      if (n > 0) {
        const first = m.entries[0] as Entry;
        const last = m.entries[n - 1] as Entry;
        if (first.index !== m.index + 1 || last.index !== m.index + n) {
          badArg(`app message entries [${first.index}..${last.index}] do not follow index ${m.index}`);
        }
        if (last.term > m.term) badArg(`app message entry term ${last.term} above message term ${m.term}`);
      }
      return;
    }
    case 'prop':
      if (!Array.isArray(m.entries) || m.entries.length === 0) badArg('prop message without entries');
      for (const e of m.entries)
        if (!(e.data instanceof Uint8Array)) badArg('prop entry data must be a Uint8Array');
      return;
    case 'snap':
      if (typeof m.snapshot !== 'object' || m.snapshot === null || typeof m.snapshot.metadata !== 'object') {
        badArg('snap message without snapshot');
      }
      return;
    case 'readIndex':
    case 'readIndexResp':
      if (!(m.context instanceof Uint8Array)) badArg(`${m.type} context must be a Uint8Array`);
      return;
    case 'transferLeader':
      checkId('transferee', m.transferee);
      return;
    default:
      return;
  }
}
