import { createHash } from 'node:crypto';
import type { Entry, HeartbeatMessage, NetworkMessage, NodeId, SnapMessage } from '@flotilla/raft';

/** A heartbeat whose `readSeq` numbers it, so order and loss are visible. */
export function heartbeat(from: NodeId, to: NodeId, seq: number): HeartbeatMessage {
  return { type: 'heartbeat', from, to, term: 1, commit: 0, readSeq: seq };
}

/** `n` bytes of a deterministic pattern derived from `seed` (cheap to make, easy to tell apart). */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    // xorshift32: fast, and no two seeds give the same bytes.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A `snap` message to `to` for a snapshot at index 10 whose data is `data`. */
export function snapMessage(from: NodeId, to: NodeId, data: Uint8Array): SnapMessage {
  return {
    type: 'snap',
    from,
    to,
    term: 2,
    snapshot: {
      metadata: {
        index: 10,
        term: 2,
        confState: {
          voters: [1, 2, 3],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data,
    },
  };
}

/** One message of every network type from `from` to `to`, with non-trivial field values. */
export function everyMessageType(from: NodeId, to: NodeId): NetworkMessage[] {
  const entry = (index: number, data: number[]): Entry => ({
    term: 3,
    index,
    type: 'normal',
    data: Uint8Array.from(data),
  });
  const cc: Entry = { term: 3, index: 8, type: 'confChange', data: Uint8Array.from([9, 8, 7]) };
  return [
    {
      type: 'app',
      from,
      to,
      term: 3,
      index: 5,
      logTerm: 2,
      entries: [entry(6, [1, 2]), entry(7, []), cc],
      commit: 4,
    },
    { type: 'appResp', from, to, term: 3, index: 8, reject: true, rejectHint: 4, logTerm: 2 },
    { type: 'vote', from, to, term: 4, index: 8, logTerm: 3, transfer: false },
    { type: 'preVote', from, to, term: 5, index: 8, logTerm: 3, transfer: true },
    { type: 'voteResp', from, to, term: 4, reject: false },
    { type: 'preVoteResp', from, to, term: 5, reject: true },
    { type: 'heartbeat', from, to, term: 4, commit: 8, readSeq: 12 },
    { type: 'heartbeatResp', from, to, term: 4, readSeq: 12 },
    snapMessage(from, to, Uint8Array.from([1, 2, 3, 4])),
    { type: 'prop', from, to, term: 0, entries: [entry(0, [42])] },
    { type: 'readIndex', from, to, term: 0, context: Uint8Array.from([0xde, 0xad]) },
    { type: 'readIndexResp', from, to, term: 4, index: 8, context: Uint8Array.from([0xbe, 0xef]) },
    { type: 'transferLeader', from, to, term: 4, transferee: to },
    { type: 'timeoutNow', from, to, term: 4 },
  ];
}

/**
 * A message as plain JSON-comparable data: byte arrays become `{ bytes: base64 }`, so a
 * `Buffer` decoded by msgpackr compares equal to the `Uint8Array` that was sent.
 */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** SHA-256 of some bytes, hex (compares multi-megabyte payloads without printing them). */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
