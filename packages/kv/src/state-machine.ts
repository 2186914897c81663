/**
 * `KvStateMachine`: the replicated state of a Flotilla KV member. Every member applies the same
 * committed commands in the same order to an `MvccStore` and a `Lessor` and so holds the same
 * keys, revisions, leases and member attributes.
 *
 * Rules:
 * - Deterministic: no clock, no randomness, no I/O. Whatever is time-driven (lease expiry,
 *   checkpoints) arrives as commands proposed by the leader, so every replica decides alike.
 * - A command that fails for a reason the store or lessor defines (`LEASE_NOT_FOUND`,
 *   `DUPLICATE_KEY`, `COMPACTED`, ...) yields a `failed` result and changes nothing; it never
 *   throws, because a throw stops the replica (the replica's `APPLY_FAILED`). Only a command
 *   that does not decode (`CORRUPT_COMMAND`) or a bug throws: continuing would risk divergence.
 * - Every result carries the store revision it produced (the current one when it wrote nothing).
 *
 * Lease epochs: each lease has an epoch, the log index of its grant or of its latest applied
 * renewal. The leader's timer stamps its `leaseExpire` and `leaseCheckpoint` commands with the
 * epoch it saw; a command whose epoch no longer matches is stale and ignored. So a keep-alive
 * that reached the log before the expiry always wins (the lease lives, on every member), and a
 * checkpoint measured before a renewal can never shorten the renewed lease. Indexes are unique,
 * so a lease revoked and granted again under the same id starts a fresh epoch too.
 */
import type { LeaseInfo, LessorListener, LessorView } from '@flotilla/lease';
import { Lessor } from '@flotilla/lease';
import {
  type DeleteRangeResult,
  MvccStore,
  type MvccStoreOptions,
  type PutResult,
  type TxnResult,
} from '@flotilla/mvcc';
import { EventEmitter } from 'eventemitter3';
import { decodeCommand, type KvCommand } from './commands.js';
import { applyFailureCode, invalid, type KvErrorCode } from './errors.js';
import { decodeKvSnapshot, encodeKvSnapshot, type MemberAttributes } from './snapshot.js';

/** What applying one command produced. Every variant carries `revision`. */
export type KvResult =
  | { readonly type: 'put'; readonly revision: number; readonly put: PutResult }
  | { readonly type: 'deleteRange'; readonly revision: number; readonly deleteRange: DeleteRangeResult }
  | { readonly type: 'txn'; readonly revision: number; readonly txn: TxnResult }
  | { readonly type: 'compact'; readonly revision: number }
  | { readonly type: 'leaseGrant'; readonly revision: number; readonly id: number; readonly ttl: number }
  | { readonly type: 'leaseRevoke'; readonly revision: number; readonly deleted: number }
  | { readonly type: 'leaseRenew'; readonly revision: number; readonly id: number; readonly ttl: number }
  /** `revoked` false: the lease was gone or renewed since the leader's timer looked (stale). */
  | { readonly type: 'leaseExpire'; readonly revision: number; readonly revoked: boolean }
  /** `applied`: how many of the checkpoints were current (the others were stale). */
  | { readonly type: 'leaseCheckpoint'; readonly revision: number; readonly applied: number }
  | { readonly type: 'member'; readonly revision: number }
  /** A deterministic failure: nothing changed. */
  | {
      readonly type: 'failed';
      readonly revision: number;
      readonly code: KvErrorCode;
      readonly message: string;
    };

/** Options of {@link KvStateMachine}. Every replica of a cluster must use the same values. */
export interface KvStateMachineOptions {
  /** Lease grants below this TTL (seconds) are raised to it. Default 2 (etcd's, for 1 s elections). */
  readonly minLeaseTtlSeconds?: number;
  /** Passed to the mvcc store: how many events a slow watcher may queue (default 1024). */
  readonly watchBufferEvents?: number;
  /** Passed to the mvcc store: how watch deliveries are scheduled (default `queueMicrotask`). */
  readonly schedule?: (task: () => void) => void;
}

/** Events of a {@link KvStateMachine}, emitted synchronously inside `apply` / `restore`. */
export interface KvStateMachineEvents {
  /** A renewal was applied: the lease restarts its full TTL (the leader's timer follows). */
  renew: (lease: LeaseInfo) => void;
  /** The state was replaced by a snapshot: `store` is the new mvcc store (watches must move). */
  restore: (store: MvccStore) => void;
}

/**
 * The KV state machine: apply, snapshot and restore (the replica's `StateMachine` contract).
 *
 * @example
 * ```ts
 * import { encodeCommand, KvStateMachine } from '@flotilla/kv';
 *
 * const sm = new KvStateMachine();
 * const key = new TextEncoder().encode('a');
 * const put = { type: 'put', key, value: key, lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } as const;
 * sm.apply(encodeCommand(put), 1); // { type: 'put', revision: 2, put: { revision: 2 } }
 * const copy = new KvStateMachine();
 * copy.restore(sm.snapshot());     // copy.store.revision === 2
 * ```
 */
export class KvStateMachine extends EventEmitter<KvStateMachineEvents> {
  readonly #storeOptions: MvccStoreOptions;
  #store: MvccStore;
  readonly #lessor: Lessor;
  #members = new Map<number, MemberAttributes>();
  /** Lease id → epoch (index of its grant or latest renewal); see the module notes. */
  #epochs = new Map<number, number>();
  #appliedIndex = 0;

  constructor(options: KvStateMachineOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
    this.#storeOptions = {
      leaseExists: (id) => this.#lessor.has(id),
      ...(options.watchBufferEvents === undefined ? {} : { watchBufferEvents: options.watchBufferEvents }),
      ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
    };
    this.#store = new MvccStore(this.#storeOptions);
    this.#lessor = new Lessor(this.#store, { minTtlSeconds: options.minLeaseTtlSeconds ?? 2 });
  }

  /** The mvcc store. A new object after each {@link restore} (listen to `restore`). */
  get store(): MvccStore {
    return this.#store;
  }

  /** The replicated lease table. */
  get lessor(): Lessor {
    return this.#lessor;
  }

  /** The index of the last command applied (0 before any; from the snapshot after a restore). */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** The published attributes of every member that published, by id. */
  memberAttributes(): ReadonlyMap<number, MemberAttributes> {
    return this.#members;
  }

  /** Lease `id`'s epoch (see the module notes), or 0 when the lease does not exist. */
  leaseEpoch(id: number): number {
    return this.#epochs.get(id) ?? 0;
  }

  /**
   * The lease table as a `LeaseTimer` should see it: the lessor's own events, plus every applied
   * renewal reported as a `grant` of that lease. A grant is exactly the timer's rule for "this
   * lease starts its full TTL now", which is what an applied renewal means, including for a lease
   * the timer already found expired (its expiry command is then stale: see the module notes).
   */
  lessorView(): LessorView {
    const lessor = this.#lessor;
    return {
      leases: () => lessor.leases(),
      lookup: (id) => lessor.lookup(id),
      subscribe: (listener: LessorListener) => {
        const offLessor = lessor.subscribe(listener);
        const onRenew = (lease: LeaseInfo): void => listener({ type: 'grant', lease });
        this.on('renew', onRenew);
        return () => {
          offLessor();
          this.off('renew', onRenew);
        };
      },
    };
  }

  /**
   * Applies the encoded command of the log entry at `index` (the replica calls this in log
   * order, once per index).
   *
   * @throws KvError `CORRUPT_COMMAND` when `data` does not decode (the replica then stops).
   */
  apply(data: Uint8Array, index: number): KvResult {
    return this.applyCommand(decodeCommand(data), index);
  }

  /** Applies an already decoded command (what {@link apply} does after decoding). */
  applyCommand(cmd: KvCommand, index: number): KvResult {
    if (!Number.isSafeInteger(index) || index <= this.#appliedIndex) {
      throw invalid(`apply index ${index} is not above the applied index ${this.#appliedIndex}`);
    }
    this.#appliedIndex = index;
    try {
      return this.#apply(cmd, index);
    } catch (err) {
      const code = applyFailureCode(err);
      if (code === undefined) throw err;
      return { type: 'failed', revision: this.#store.revision, code, message: (err as Error).message };
    }
  }

  #apply(cmd: KvCommand, index: number): KvResult {
    const store = this.#store;
    switch (cmd.type) {
      case 'put': {
        const put = store.put(cmd.key, cmd.value, {
          lease: cmd.lease,
          prevKv: cmd.prevKv,
          ignoreValue: cmd.ignoreValue,
          ignoreLease: cmd.ignoreLease,
        });
        return { type: 'put', revision: put.revision, put };
      }
      case 'deleteRange': {
        const deleteRange = store.deleteRange(cmd.key, cmd.rangeEnd, { prevKv: cmd.prevKv });
        return { type: 'deleteRange', revision: deleteRange.revision, deleteRange };
      }
      case 'txn': {
        const txn = store.txn(cmd.request);
        return { type: 'txn', revision: txn.revision, txn };
      }
      case 'compact':
        store.compact(cmd.revision);
        return { type: 'compact', revision: store.revision };
      case 'leaseGrant':
        return this.#grant(cmd.id, cmd.ttl, index);
      case 'leaseRevoke': {
        const r = this.#lessor.revoke(cmd.id);
        this.#epochs.delete(cmd.id);
        return { type: 'leaseRevoke', revision: r.revision, deleted: r.keys.length };
      }
      case 'leaseRenew':
        return this.#renew(cmd.id, index);
      case 'leaseExpire': {
        if (!this.#lessor.has(cmd.id) || this.leaseEpoch(cmd.id) !== cmd.epoch) {
          return { type: 'leaseExpire', revision: store.revision, revoked: false };
        }
        const r = this.#lessor.revoke(cmd.id);
        this.#epochs.delete(cmd.id);
        return { type: 'leaseExpire', revision: r.revision, revoked: true };
      }
      case 'leaseCheckpoint': {
        let applied = 0;
        for (const c of cmd.checkpoints) {
          if (!this.#lessor.has(c.id) || this.leaseEpoch(c.id) !== c.epoch) continue;
          this.#lessor.checkpoint(c.id, c.remainingMs);
          applied++;
        }
        return { type: 'leaseCheckpoint', revision: store.revision, applied };
      }
      case 'memberPublish':
        this.#members.set(cmd.id, {
          name: cmd.name,
          peerUrls: [...cmd.peerUrls],
          clientUrls: [...cmd.clientUrls],
        });
        return { type: 'member', revision: store.revision };
      case 'memberForget':
        this.#members.delete(cmd.id);
        return { type: 'member', revision: store.revision };
    }
  }

  /**
   * A grant. Id 0 means "choose": the entry's index, or the next id above it not in use. Every
   * replica sees the same index and the same leases, so all choose the same id; ids chosen this
   * way increase along the log and are never reused by a later automatic grant.
   */
  #grant(requested: number, ttl: number, index: number): KvResult {
    let id = requested;
    if (id === 0) {
      id = index;
      while (this.#lessor.has(id)) id++;
    }
    const info = this.#lessor.grant(id, ttl);
    this.#epochs.set(id, index);
    return { type: 'leaseGrant', revision: this.#store.revision, id, ttl: info.grantedTtl };
  }

  /**
   * A keep-alive: the lease restarts its full TTL. The replicated checkpoint is cleared (so a new
   * leader starts it from the full TTL, not from a remaining time measured before the renewal)
   * and its epoch moves to this index (so expiry and checkpoint commands the leader's timer issued
   * before seeing this renewal are ignored).
   */
  #renew(id: number, index: number): KvResult {
    const lease = this.#lessor.lookup(id);
    if (lease === undefined) {
      return {
        type: 'failed',
        revision: this.#store.revision,
        code: 'LEASE_NOT_FOUND',
        message: `lease ${id} not found`,
      };
    }
    if (lease.remainingMs > 0) this.#lessor.checkpoint(id, 0);
    this.#epochs.set(id, index);
    const renewed = this.#lessor.lookup(id) ?? lease;
    this.emit('renew', renewed);
    return { type: 'leaseRenew', revision: this.#store.revision, id, ttl: lease.grantedTtl };
  }

  /**
   * The whole state as one checksummed, deterministic envelope (see `snapshot.ts`), as of the
   * last applied command. Watches are not part of it.
   */
  snapshot(): Uint8Array {
    return encodeKvSnapshot({
      appliedIndex: this.#appliedIndex,
      mvcc: this.#store.snapshot(),
      lessor: this.#lessor.snapshot(),
      members: this.#members,
      epochs: this.#epochs,
    });
  }

  /**
   * Replaces the whole state with a snapshot from {@link snapshot} (any replica's). Everything
   * is decoded and checked before anything changes. Emits `restore` with the new store.
   *
   * @throws KvError / MvccError / LeaseError `CORRUPT_SNAPSHOT` (nothing changed).
   */
  restore(data: Uint8Array): void {
    const parts = decodeKvSnapshot(data);
    const store = MvccStore.restore(parts.mvcc, this.#storeOptions);
    // Lessor.restore validates everything before it changes anything, so a corrupt lessor part
    // leaves the old state whole (the new store is simply dropped).
    this.#lessor.restore(parts.lessor, store);
    this.#store = store;
    this.#members = new Map(parts.members);
    this.#epochs = new Map(parts.epochs);
    this.#appliedIndex = parts.appliedIndex;
    this.emit('restore', store);
  }
}
