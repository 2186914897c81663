import { encodeConfChange } from './confchange/codec.js';
import { RaftError } from './errors.js';
import { applyConfChange } from './membership.js';
import type { Raft } from './raft.js';
import { type Entry, isEmptyHardState, NONE, type NodeId } from './types.js';

function refuse(message: string): never {
  throw new RaftError('INVALID_BOOTSTRAP', message);
}

/**
 * Starts a brand-new cluster member on empty storage, as etcd's `Bootstrap`: the log gets one
 * committed `'confChange'` entry per peer (term 1) adding it as a voter, and the configuration is
 * applied right away so the member can campaign once the host has applied those entries. The
 * host persists and applies them like any other entries (its `applyConfChange` calls are then
 * no-ops). Every member of a new cluster bootstraps with the same peer list.
 *
 * Refused with `INVALID_BOOTSTRAP` (nothing changed) when `peers` is empty, holds an invalid or
 * duplicate id, or the storage or the node already has state.
 */
export function bootstrap(r: Raft, peers: readonly NodeId[]): void {
  if (!Array.isArray(peers) || peers.length === 0) refuse('must provide at least one peer to bootstrap');
  const seen = new Set<NodeId>();
  for (const id of peers) {
    if (!Number.isSafeInteger(id) || id <= 0) refuse(`peer id ${String(id)} is not a positive safe integer`);
    if (seen.has(id)) refuse(`peer ${id} is listed twice`);
    seen.add(id);
  }
  const { hardState, confState } = r.raftLog.storage.initialState();
  if (
    r.raftLog.storage.lastIndex() !== 0 ||
    r.raftLog.lastIndex() !== 0 ||
    !isEmptyHardState(hardState) ||
    r.term !== 0 ||
    confState.voters.length > 0 ||
    confState.learners.length > 0
  ) {
    refuse("can't bootstrap a nonempty storage");
  }
  r.becomeFollower(1, NONE);
  const ents: Entry[] = peers.map((nodeId, i) => ({
    term: 1,
    index: i + 1,
    type: 'confChange',
    data: encodeConfChange({ changes: [{ type: 'addNode', nodeId }] }),
  }));
  r.raftLog.append(ents);
  // The entries are committed by construction: every member starts with the same ones.
  r.raftLog.commitTo(ents.length);
  for (const nodeId of peers) applyConfChange(r, { changes: [{ type: 'addNode', nodeId }] });
}
