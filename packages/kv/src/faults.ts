/**
 * TEST-ONLY FAULT SWITCHES. Each one breaks a guarantee of the KV node on purpose so the
 * verification suite (`test/` at the repository root) can prove that its checkers catch the bug.
 * They are not part of `KvNodeOptions` and no option can turn them on: a switch is armed by
 * {@link armKvFaults} (or `createKvNodeForTesting`), exported only from `@flotilla/kv/testing`,
 * on one node. Production code never imports that entry point.
 */
import type { WatchRequest } from '@flotilla/mvcc';

/** The KV node's fault switches (all off unless armed). */
export interface KvFaults {
  /**
   * Linearizable reads (`get`, read-only `txn`, lease reads) skip ReadIndex and read the local
   * store at once, as `serializable: true` does: a member cut off from the leader, or a deposed
   * leader, answers with stale data.
   */
  readonly readsSkipReadIndex?: boolean;
  /**
   * A watch resumed from a past revision (what a client does after a reconnect: last delivered
   * revision + 1) starts one revision too late, so the event at its start revision is lost.
   */
  readonly watchResumeOffByOne?: boolean;
}

const NONE: KvFaults = Object.freeze({});
const armed = new WeakMap<object, KvFaults>();

/** Arms `faults` on `node` (a `KvNode`). Test-only: see the module comment. */
export function armKvFaults(node: object, faults: KvFaults): void {
  armed.set(node, Object.freeze({ ...faults }));
}

/** The switches armed on `node` (none by default). @internal */
export function kvFaultsOf(node: object): KvFaults {
  return armed.get(node) ?? NONE;
}

/**
 * {@link KvFaults.watchResumeOffByOne}: a request resuming at or below the store's `current`
 * revision starts one revision later. @internal
 */
export function resumeOffByOne(request: WatchRequest, current: number): WatchRequest {
  const start = request.startRevision;
  if (typeof start !== 'number' || start <= 0 || start > current) return request;
  return { ...request, startRevision: start + 1 };
}
