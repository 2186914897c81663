/**
 * TEST-ONLY FAULT SWITCHES. Each one breaks the WAL's durability rule on purpose so the
 * verification suite (`test/` at the repository root) can prove that its checkers catch the bug.
 * They are not part of `OpenReplicaStorageOptions` and no option can turn them on: a switch is
 * armed by {@link armWalFaults}, exported only from `@flotilla/wal/testing`, for one open
 * storage. Production code never imports that entry point.
 */
import type { ReplicaStorage } from './types.js';

/** The WAL's fault switches (all off unless armed). */
export interface WalFaults {
  /**
   * A `save` that must be durable resolves once written, without its fsync (etcd's
   * `--unsafe-no-fsync`): Raft then acknowledges entries and votes that a power loss can take
   * back. The data reaches the disk only when something else syncs (a segment cut, a snapshot).
   */
  readonly ackBeforeFsync?: boolean;
}

const NONE: WalFaults = Object.freeze({});
const armed = new WeakMap<object, WalFaults>();

/** Arms `faults` on an open storage (from `openReplicaStorage`). Test-only: see the module comment. */
export function armWalFaults(storage: ReplicaStorage, faults: WalFaults): void {
  armed.set(storage, Object.freeze({ ...faults }));
}

/** The switches armed on `storage` (none by default). @internal */
export function walFaultsOf(storage: object): WalFaults {
  return armed.get(storage) ?? NONE;
}
