/**
 * `@flotilla/mvcc`: the revisioned key-value store Flotilla replicates, with etcd 3.4's v3
 * semantics. Every write creates a revision; each key keeps its create revision, mod revision,
 * version and lease; reads can look at any retained revision; transactions compare and then
 * write atomically at one revision; compaction drops old history; watches stream changes from
 * any retained revision, replaying history then continuing live with no gap; snapshots
 * round-trip the whole state with a checksum. Deterministic (no clock, no randomness, no I/O),
 * so replicas applying the same operations hold byte-identical state. It knows nothing of Raft.
 *
 * @example
 * ```ts
 * import { MvccStore, prefixEnd } from '@flotilla/mvcc';
 *
 * const store = new MvccStore();
 * store.put('/jobs/1', 'queued');                        // revision 2
 * store.put('/jobs/2', 'queued');                        // revision 3
 * const { count } = store.range('/jobs/', prefixEnd('/jobs/'), { countOnly: true }); // 2
 * store.watch({ key: '/jobs/', rangeEnd: prefixEnd('/jobs/'), startRevision: 2 }, (resp) => {
 *   for (const ev of resp.events) console.log(ev.type, new TextDecoder().decode(ev.kv.key));
 * });
 * ```
 *
 * @packageDocumentation
 */
export { prefixEnd } from './bytes.js';
export { MvccError, type MvccErrorCode } from './errors.js';
export { MvccStore } from './store.js';
// A value re-export (not `export type`) so the module is loaded at runtime, where it is empty.
export * from './types.js';
