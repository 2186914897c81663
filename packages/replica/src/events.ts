import type { NodeId, StateType } from '@flotilla/raft';
import type { ReplicaError } from './errors.js';

/**
 * The events a {@link Replica} emits. Listeners run synchronously inside the replica's loop:
 * keep them short (a listener that throws is logged and otherwise ignored).
 */
export interface ReplicaEvents {
  /** A leader became known: its id and term. (Not emitted when the leader is lost; see `'role'`
   * and {@link Replica.leaderId}.) */
  leader: (id: NodeId, term: number) => void;
  /** This replica's role changed (`'follower'`, `'preCandidate'`, `'candidate'`, `'leader'`). */
  role: (role: StateType, term: number) => void;
  /** Entries up to `index` were applied (once per batch, not per entry). */
  applied: (index: number) => void;
  /** A snapshot at `index` was saved (taken here, `'taken'`) or installed from the leader
   * (`'installed'`). */
  snapshot: (index: number, kind: 'taken' | 'installed') => void;
  /** The replica failed and stopped (`STORAGE_FAILED`, `APPLY_FAILED`, `RAFT_FAILED`). */
  error: (err: ReplicaError) => void;
}

/** Emits an event (the replica's own `emit`, typed). */
export type Emit = <K extends keyof ReplicaEvents>(event: K, ...args: Parameters<ReplicaEvents[K]>) => void;
