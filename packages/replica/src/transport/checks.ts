import { isLocalMessageType, type Message, type NetworkMessage, type NodeId } from '@flotilla/raft';
import { ReplicaError } from '../errors.js';

/** True when `id` can name a member: a positive safe integer (0 means "none" in Raft). */
export function isNodeId(id: unknown): id is NodeId {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

/** Throws `INVALID_ARGUMENT` unless `id` is a valid member id. */
export function checkNodeId(id: unknown, what = 'node id'): asserts id is NodeId {
  if (!isNodeId(id)) {
    throw new ReplicaError('INVALID_ARGUMENT', `${what} must be a positive safe integer, got ${String(id)}`);
  }
}

/** Throws `INVALID_ARGUMENT` unless `p` is a probability in [0, 1]. */
export function checkProbability(p: unknown, what: string): asserts p is number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new ReplicaError('INVALID_ARGUMENT', `${what} must be a number in [0, 1], got ${String(p)}`);
  }
}

/**
 * Checks a batch handed to `Transport.send` before anything of it is sent (bad input changes
 * nothing): only network messages, all from `self`. Returns the batch typed as network messages.
 */
export function checkOutgoing(self: NodeId, messages: readonly Message[]): readonly NetworkMessage[] {
  if (!Array.isArray(messages)) {
    throw new ReplicaError('INVALID_MESSAGE', 'send takes an array of messages');
  }
  for (const m of messages) {
    if (typeof m !== 'object' || m === null || typeof m.type !== 'string') {
      throw new ReplicaError('INVALID_MESSAGE', 'send was given something that is not a message');
    }
    if (isLocalMessageType(m.type)) {
      throw new ReplicaError(
        'INVALID_MESSAGE',
        `'${m.type}' is a local message; it never crosses the network`,
        {
          details: { type: m.type },
        },
      );
    }
    if (m.from !== self) {
      throw new ReplicaError(
        'INVALID_MESSAGE',
        `message from ${m.from} sent through the transport of ${self}`,
        {
          details: { type: m.type, from: m.from, self },
        },
      );
    }
  }
  return messages as readonly NetworkMessage[];
}
