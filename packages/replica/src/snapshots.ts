import type { NodeId, SnapMessage, Snapshot } from '@flotilla/raft';
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope, type SnapshotEnvelope } from './codec.js';
import { HostFailure } from './failure.js';
import type { ReplicaHost } from './host.js';
import { membersOf } from './membership.js';
import type { Transport } from './transport.js';

/**
 * A replica's snapshots: taking them every `snapshotEvery` applied entries, restoring them (at
 * start, or when the leader sends one), and sending them to followers that fell behind.
 *
 * A snapshot's data is the replica's envelope (`codec.ts`): the state machine's bytes plus the
 * address book and the session table as of the snapshot's index, so that what the replica
 * itself derives from the log is restored together with the state machine.
 */
export class Snapshots<R> {
  readonly #host: ReplicaHost<R>;
  /** A snapshot is being saved and compacted (one at a time). */
  #saving = false;
  /** A snapshot is needed now, whatever `snapshotEvery` says (see {@link route}). */
  #wanted = false;
  /** The background save (and compaction) of the newest snapshot taken; settles, never rejects. */
  #inFlight: Promise<void> = Promise.resolve();

  constructor(host: ReplicaHost<R>) {
    this.#host = host;
  }

  /** Restores the state machine and the replica's own state from `snap` (start or install). */
  async restore(snap: Snapshot, kind: 'start' | 'installed'): Promise<void> {
    const host = this.#host;
    let env: SnapshotEnvelope | undefined;
    try {
      env = decodeSnapshotEnvelope(snap.data);
      if (env !== undefined) await host.sm.restore(env.stateMachine);
    } catch (err) {
      throw new HostFailure('APPLY_FAILED', err);
    }
    const { index, term, confState } = snap.metadata;
    const before = kind === 'installed' ? membersOf(host.confState) : new Set<NodeId>();
    host.book.clear();
    for (const [id, address] of env?.addresses ?? []) host.book.set(id, address);
    host.sessions.load(env?.sessions ?? []);
    host.confState = confState;
    host.applied = index;
    host.appliedTerm = term;
    host.snapshotIndex = index;
    if (kind === 'start') return; // the transport is not started yet; start.ts adds the book
    host.logger.info('installed a snapshot from the leader', { index });
    const after = membersOf(confState);
    for (const [id, address] of host.book) if (id !== host.id) host.transport.addPeer(id, address);
    for (const id of before) if (!after.has(id) && id !== host.id) host.transport.removePeer(id);
    host.proposals.skippedTo(index);
    host.emitSafe('snapshot', index, 'installed');
    host.emitSafe('applied', index);
    host.reads.applied(index);
  }

  /** True when a snapshot should be taken now (called after each Ready). */
  due(): boolean {
    const host = this.#host;
    if (this.#saving || host.state !== 'running') return false;
    if (host.applied <= host.snapshotIndex) {
      // The newest snapshot covers everything applied, so it includes any recipient too.
      this.#wanted = false;
      return false;
    }
    if (this.#wanted) return true;
    const every = host.opts.snapshotEvery;
    return every > 0 && host.applied - host.snapshotIndex >= every;
  }

  /**
   * Takes a snapshot at the applied index. The state machine is asked inside the loop, so no
   * entry is applied while it serializes; the durable part (the snapshot file, then compaction
   * keeping `snapshotCatchUpEntries` entries for followers slightly behind) runs in the
   * background, one at a time, ordered with the Ready saves by the WAL's queue.
   */
  async take(): Promise<void> {
    const host = this.#host;
    const index = host.applied;
    const metadata = { index, term: host.appliedTerm, confState: host.confState };
    let data: Uint8Array;
    try {
      const state = await host.sm.snapshot();
      data = encodeSnapshotEnvelope({
        stateMachine: state,
        addresses: [...host.book].sort((a, b) => a[0] - b[0]),
        sessions: host.sessions.toData(),
      });
    } catch (err) {
      throw new HostFailure('APPLY_FAILED', err);
    }
    this.#saving = true;
    this.#wanted = false;
    const rs = host.storage;
    // Recovery needs the stored commit index at or above the snapshot's: write the commit
    // index not saved yet (if any) first; the WAL keeps the order, and the snapshot's fsync
    // makes both durable.
    host.saveHardState(false)?.catch((err: unknown) => host.fail('STORAGE_FAILED', err));
    this.#inFlight = rs
      .saveSnapshot({ metadata, data })
      .then(async () => {
        host.snapshotIndex = index;
        host.emitSafe('snapshot', index, 'taken');
        const compactTo = index - host.opts.snapshotCatchUpEntries;
        if (compactTo >= rs.storage.firstIndex()) await rs.compact(compactTo);
      })
      .then(
        () => {
          this.#saving = false;
        },
        (err: unknown) => host.fail('STORAGE_FAILED', err),
      );
  }

  /**
   * Resolves once the snapshot being saved in the background, if any, is durable and the log
   * compacted (or its failure reported): a graceful stop waits for it before closing the
   * storage, which would otherwise refuse the compaction.
   */
  settled(): Promise<void> {
    return this.#inFlight;
  }

  /**
   * A `snap` message of a Ready: stream it (etcd's ReportSnapshot tells Raft the outcome) or,
   * when the transport has no `sendSnapshot`, return it to be sent inline. Returns undefined
   * when it was handled here.
   *
   * If the snapshot's configuration does not list its recipient (the newest snapshot predates
   * the recipient's addition), the recipient would refuse it: a snapshot must list its
   * recipient, or the recipient could not tell it is a member. etcd's server sends a "merged"
   * snapshot of the current state instead; here the replica takes a snapshot now (whose
   * configuration includes the recipient, since its addition is applied) and reports this one
   * failed, so the leader sends the new one on its next attempt.
   */
  route(m: SnapMessage): SnapMessage | undefined {
    const host = this.#host;
    if (!membersOf(m.snapshot.metadata.confState).has(m.to)) {
      host.logger.info('the newest snapshot does not include its recipient; taking a new one', {
        to: m.to,
        index: m.snapshot.metadata.index,
      });
      this.#wanted = true;
      queueMicrotask(() => this.#report(m.to, 'failure'));
      return undefined;
    }
    const send = host.transport.sendSnapshot as Transport['sendSnapshot'];
    if (send === undefined) return m;
    host.logger.info('sending a snapshot', { to: m.to, index: m.snapshot.metadata.index });
    send.call(host.transport, m.to, m).then(
      () => this.#report(m.to, 'finish'),
      (err: unknown) => {
        host.logger.info('snapshot not delivered', { to: m.to, error: String(err) });
        this.#report(m.to, 'failure');
      },
    );
    return undefined;
  }

  #report(to: NodeId, status: 'finish' | 'failure'): void {
    const host = this.#host;
    if (host.state !== 'running') return;
    try {
      host.node.reportSnapshot(to, status);
    } catch (err) {
      host.logger.debug('ignored a snapshot report', { to, error: String(err) });
    }
    host.kick();
  }
}
