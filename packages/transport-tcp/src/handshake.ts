import type { NodeId } from '@flotilla/raft';
import { isNodeId } from './options.js';

/**
 * The handshake: the first frame each way on every connection, before any Raft message.
 *
 * ```text
 * dialer   → acceptor   { t: 'hello', v: 2, cluster, from, to, kind: 'raft' | 'snap' }
 * acceptor → dialer     { t: 'welcome', v: 2, cluster, id }            (then traffic flows)
 *                    or { t: 'reject', code, reason }                  (then the acceptor closes)
 * ```
 *
 * The acceptor refuses a dialer from another cluster (two clusters wired to each other by a
 * configuration mistake must never mix logs), a dialer that is not one of its members (a
 * removed member must not disturb the cluster: etcd's rafthttp answers 410 Gone), a `to` that is
 * not itself (a stale address pointing at another member), and an unknown protocol version.
 * The dialer checks the welcome the same way (cluster and id). Every refusal is logged on both
 * sides with its reason. A connection is one-way: the dialer sends, the acceptor delivers.
 */

/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 2;

/** Largest frame accepted before the handshake completes: a stranger cannot make us allocate. */
export const HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;

/** `raft`: a stream of message batches. `snap`: one snapshot, streamed in chunks, then an ack. */
export type ConnectionKind = 'raft' | 'snap';

export interface Hello {
  readonly t: 'hello';
  readonly v: number;
  readonly cluster: string;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly kind: ConnectionKind;
}

export interface Welcome {
  readonly t: 'welcome';
  readonly v: number;
  readonly cluster: string;
  readonly id: NodeId;
}

/** Why a handshake was refused; `code` is stable, `reason` for humans. */
export type RejectCode = 'CLUSTER_MISMATCH' | 'UNKNOWN_MEMBER' | 'WRONG_MEMBER' | 'VERSION_MISMATCH';

export interface Reject {
  readonly t: 'reject';
  readonly code: RejectCode | string;
  readonly reason: string;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** The decoded value as a hello, or `undefined` when it is not one. */
export function parseHello(x: unknown): Hello | undefined {
  if (!isObj(x) || x.t !== 'hello' || typeof x.v !== 'number' || typeof x.cluster !== 'string')
    return undefined;
  if (!isNodeId(x.from) || !isNodeId(x.to) || (x.kind !== 'raft' && x.kind !== 'snap')) return undefined;
  return { t: 'hello', v: x.v, cluster: x.cluster, from: x.from, to: x.to, kind: x.kind };
}

/** The decoded value as a welcome or a reject, or `undefined` when it is neither. */
export function parseReply(x: unknown): Welcome | Reject | undefined {
  if (!isObj(x)) return undefined;
  if (x.t === 'welcome' && typeof x.v === 'number' && typeof x.cluster === 'string' && isNodeId(x.id)) {
    return { t: 'welcome', v: x.v, cluster: x.cluster, id: x.id };
  }
  if (x.t === 'reject' && typeof x.code === 'string' && typeof x.reason === 'string') {
    return { t: 'reject', code: x.code, reason: x.reason };
  }
  return undefined;
}

/** What the acceptor knows about itself when it judges a hello. */
export interface AcceptorView {
  readonly id: NodeId;
  readonly clusterId: string;
  knows(peer: NodeId): boolean;
}

/** The acceptor's answer to a hello: a welcome, or a reject saying why. */
export function answerHello(hello: Hello, self: AcceptorView): Welcome | Reject {
  if (hello.v !== PROTOCOL_VERSION) {
    return reject(
      'VERSION_MISMATCH',
      `protocol version ${hello.v} is not supported (this node speaks ${PROTOCOL_VERSION})`,
    );
  }
  if (hello.cluster !== self.clusterId) {
    return reject(
      'CLUSTER_MISMATCH',
      `cluster id ${JSON.stringify(hello.cluster)} does not match this node's ${JSON.stringify(self.clusterId)}`,
    );
  }
  if (hello.to !== self.id) {
    return reject('WRONG_MEMBER', `this is member ${self.id}, not ${hello.to}`);
  }
  if (!self.knows(hello.from)) {
    return reject('UNKNOWN_MEMBER', `member ${hello.from} is not a known peer of member ${self.id}`);
  }
  return { t: 'welcome', v: PROTOCOL_VERSION, cluster: self.clusterId, id: self.id };
}

/** The dialer's check of a welcome: `undefined` when fine, else why not. */
export function checkWelcome(w: Welcome, clusterId: string, expected: NodeId): string | undefined {
  if (w.v !== PROTOCOL_VERSION) return `peer speaks protocol version ${w.v}, not ${PROTOCOL_VERSION}`;
  if (w.cluster !== clusterId) {
    return `peer belongs to cluster ${JSON.stringify(w.cluster)}, not ${JSON.stringify(clusterId)}`;
  }
  if (w.id !== expected) return `the address of member ${expected} answered as member ${w.id}`;
  return undefined;
}

function reject(code: RejectCode, reason: string): Reject {
  return { t: 'reject', code, reason };
}
