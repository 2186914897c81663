/**
 * TEST-ONLY FAULT SWITCHES. Each one breaks a lock rule on purpose so the verification suite
 * (`test/` at the repository root) can prove that its checkers catch the bug. They are not part
 * of `LockOptions` and no option can turn them on: a switch is armed by {@link armLockFaults},
 * exported only from `@flotilla/lease/testing`, for the locks taken through one `KvLike` object.
 * Production code never imports that entry point.
 */
import type { KvLike } from './kv-like.js';
import type { Queue, QueueEntry } from './queue.js';

/** The lock recipe's fault switches (all off unless armed). */
export interface LockFaults {
  /**
   * `lock()` waits the way etcd 3.4.3 did (`waitDeletes`): until no key older than its own is
   * left, then reports the lock held, without checking that its own key (its session) still
   * exists. A waiter whose lease expired while it waited is told it holds the lock: the bug
   * Jepsen found in etcd 3.4.3's lock service.
   */
  readonly skipSessionRecheck?: boolean;
}

const NONE: LockFaults = Object.freeze({});
const armed = new WeakMap<object, LockFaults>();

/** Arms `faults` for every lock taken through `kv`. Test-only: see the module comment. */
export function armLockFaults(kv: KvLike, faults: LockFaults): void {
  armed.set(kv, Object.freeze({ ...faults }));
}

/** The switches armed for `kv` (none by default). @internal */
export function lockFaultsOf(kv: KvLike): LockFaults {
  return armed.get(kv) ?? NONE;
}

/**
 * The broken wait of {@link LockFaults.skipSessionRecheck}: read the youngest key older than
 * ours, wait for its delete, repeat until none is left. Nothing ever looks at our own key, and
 * the session's end is ignored. @internal
 */
export async function waitDeletesWithoutRecheck(queue: Queue, entry: QueueEntry): Promise<void> {
  for (;;) {
    const older = await queue.kv.get(queue.prefix, {
      rangeEnd: queue.end,
      maxCreateRevision: entry.createRevision - 1,
      sortTarget: 'createRevision',
      sortOrder: 'descend',
      limit: 1,
    });
    const ahead = older.kvs[0];
    if (ahead === undefined) return;
    const from = (older.header?.revision ?? ahead.modRevision) + 1;
    const watch = queue.kv.watch({ key: ahead.key, startRevision: from, filters: ['noPut'] });
    try {
      for await (const resp of watch) {
        if (resp.canceled === true || resp.events.some((e) => e.type === 'delete')) break;
      }
    } finally {
      watch.cancel();
    }
  }
}
