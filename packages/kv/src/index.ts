/**
 * `@flotilla/kv`: a replicated etcd-like key-value store composed from `@flotilla/replica`,
 * `@flotilla/mvcc` and `@flotilla/lease`, usable in-process (`createKvNode`), over the network
 * (`KvServer` / `KvClient`) and from the `flotilla` CLI.
 *
 * Guarantees (Jepsen's terms): KV operations and transactions are strictly serializable by
 * default (writes through Raft, reads by ReadIndex on any member); `serializable: true` reads
 * the contacted member's store and may be stale; a write whose outcome cannot be known rejects
 * `OUTCOME_UNKNOWN`, never a plain failure. See the README for watches, leases and locks.
 *
 * @example
 * ```ts
 * import { createKvNode } from '@flotilla/kv';
 * import { MemoryNetwork, SimClock } from '@flotilla/replica/testing';
 * import { SimFileSystem } from '@flotilla/wal';
 *
 * const clock = new SimClock();
 * const net = new MemoryNetwork({ seed: 1, clock });
 * const node = await createKvNode({
 *   id: 1, peers: [1], dataDir: '/n1', fs: new SimFileSystem(), transport: net.transport(1), clock,
 * });
 * const put = node.put('greeting', 'hello');   // resolves once committed and applied
 * await clock.advanceAsync(1000);              // simulated time: let the member elect itself
 * console.log((await put).header.revision);    // 2
 * await node.stop();
 * ```
 *
 * @packageDocumentation
 */
export type * from './api.js';
export { KV_VERSION, type KvHealth, MAX_APPLY_LAG } from './cluster.js';
export {
  type CheckpointEntry,
  COMMAND_FORMAT,
  decodeCommand,
  encodeCommand,
  type KvCommand,
  type KvCommandType,
  peekCommandType,
} from './commands.js';
export { createKvNode } from './create.js';
export { KvError, type KvErrorCode } from './errors.js';
export { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, type KvLimits, resolveLimits } from './limits.js';
// The network server and client (also available as `@flotilla/kv/client`).
export * from './net/index.js';
export { KvNode, type KvNodeEvents } from './node.js';
export type { KvNodeOptions } from './options.js';
export type { MemberAttributes } from './snapshot.js';
export {
  type KvResult,
  KvStateMachine,
  type KvStateMachineEvents,
  type KvStateMachineOptions,
} from './state-machine.js';
