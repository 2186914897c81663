import { type ConfState, decodeConfChange, type Entry, RaftError } from '@flotilla/raft';
import { decodeConfChangeContext } from './codec.js';
import { commandOf, decodeEnvelope } from './envelope.js';
import { ReplicaError } from './errors.js';
import { HostFailure } from './failure.js';
import type { ReplicaHost } from './host.js';
import { isJoint, membersOf } from './membership.js';

/**
 * Applies a Ready's committed entries in order, exactly once: an index is applied once per
 * incarnation because Raft hands each committed entry out once and `advance()` records it
 * applied, and once across restarts because a restart restores the newest snapshot and Raft
 * re-emits only the entries after it (`RaftConfig.applied` = the snapshot's index).
 *
 * Per entry: a command goes to the state machine (unless the session table says it is a
 * duplicate) and resolves this replica's proposal if the envelope is ours; a conf change goes to
 * {@link applyConfChange}; an empty entry (a new leader's) only moves the applied index. Then
 * the tracker learns the index was applied (an own proposal last seen there and still pending
 * was overwritten). `'applied'` is emitted once for the batch, and waiting reads are served.
 *
 * Throws a {@link HostFailure}: `APPLY_FAILED` when the state machine throws or an entry does
 * not decode (the state machine no longer matches the log), `RAFT_FAILED` for the core.
 */
export async function applyEntries<R>(host: ReplicaHost<R>, entries: readonly Entry[]): Promise<void> {
  const h = host.header;
  const sm = host.sm;
  const proposals = host.proposals;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    if (e.type === 'confChange') {
      applyConfChange(host, e);
    } else if (e.data.byteLength > 0) {
      if (!decodeEnvelope(e.data, h)) {
        throw new HostFailure(
          'APPLY_FAILED',
          new Error(`entry ${e.index} does not carry a replica envelope`),
        );
      }
      // Read the header before any await: `h` is shared scratch.
      const ours = h.session === host.session && h.proposer === host.id;
      const seq = h.seq;
      if (host.sessions.seen(h.session, seq, e.index)) {
        // A duplicate of a proposal already applied (see SessionTable): a no-op everywhere.
        if (ours) proposals.get(seq)?.reject(duplicateDropped(e.index));
      } else {
        let result: R | Promise<R>;
        try {
          result = sm.apply(commandOf(e.data, h), e.index);
          if (isPromiseLike(result)) result = await result;
        } catch (err) {
          throw new HostFailure('APPLY_FAILED', err);
        }
        if (ours) proposals.get(seq)?.resolve({ index: e.index, result: result as R });
      }
    }
    host.applied = e.index;
    host.appliedTerm = e.term;
    proposals.appliedIndex(e.index);
  }
  host.emitSafe('applied', host.applied);
  host.reads.applied(host.applied);
}

/**
 * A committed membership change (etcd applies changes when applied, not when appended): Raft's
 * configuration first, then the address book and the transport, then the proposer's promise.
 *
 * A change that does not apply to the configuration it meets is skipped: every replica applies
 * the same entries to the same configuration and refuses it alike, so they stay identical
 * (etcd does the same with a refused ConfChange); its proposer gets `CONF_CHANGE_REJECTED`.
 */
export function applyConfChange<R>(host: ReplicaHost<R>, e: Entry): void {
  let cc: ReturnType<typeof decodeConfChange>;
  try {
    cc = decodeConfChange(e.data);
  } catch (err) {
    throw new HostFailure('APPLY_FAILED', err);
  }
  const ctx = decodeConfChangeContext(cc.context);
  const req =
    ctx !== undefined && ctx.proposer === host.id && ctx.session === host.session
      ? host.confs.get(ctx.seq)
      : undefined;
  let cs: ConfState;
  try {
    cs = host.node.applyConfChange(cc);
  } catch (err) {
    if (!(err instanceof RaftError && err.code === 'INVALID_CONF_CHANGE'))
      throw new HostFailure('RAFT_FAILED', err);
    host.logger.warn('skipped a committed membership change that does not apply', {
      index: e.index,
      error: err.message,
    });
    req?.reject(
      new ReplicaError('CONF_CHANGE_REJECTED', `membership change not applied: ${err.message}`, {
        cause: err,
      }),
    );
    return;
  }
  const before = membersOf(host.confState);
  const after = membersOf(cs);
  host.confState = cs;
  if (ctx !== undefined) {
    for (const [id, address] of ctx.addresses) {
      if (!after.has(id)) continue;
      host.book.set(id, address);
      if (id !== host.id) host.transport.addPeer(id, address);
    }
  }
  // A member leaves the address book (and the transport) only once it is in neither half of
  // the configuration: during a joint configuration the outgoing voters still count.
  for (const id of before) {
    if (after.has(id)) continue;
    host.book.delete(id);
    if (id !== host.id) host.transport.removePeer(id);
  }
  // A joint change completes when the joint configuration is left (thesis §4.3: C_new in
  // effect), which the leader proposes on its own once C_old,new is applied.
  const joint = isJoint(cs);
  if (req !== undefined) {
    if (joint) host.awaitingLeave.push(req);
    else req.resolve({ index: e.index, confState: cs });
  }
  if (!joint && host.awaitingLeave.length > 0) {
    const done = host.awaitingLeave;
    host.awaitingLeave = [];
    for (const r of done) r.resolve({ index: e.index, confState: cs });
  }
}

function isPromiseLike<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function duplicateDropped(index: number): ReplicaError {
  return new ReplicaError(
    'PROPOSAL_DROPPED',
    `proposal dropped: the entry at index ${index} repeats a proposal already applied, or arrived after its session gave up waiting for it`,
  );
}
