/**
 * `@flotilla/lease/testing`: an in-process {@link KvLike} (MvccStore + Lessor + LeaseTimer, no
 * Raft) with fault switches, a manual clock, and a fencing-token-checking resource, for tests,
 * simulations and teaching; and the lock recipe's test-only fault switch ({@link armLockFaults}),
 * which the verification suite uses to prove its lock checker catches etcd 3.4.3's lock bug.
 * Kept apart from the main entry point because it loads the store.
 *
 * @packageDocumentation
 */
export { armLockFaults, type LockFaults } from './faults.js';
export { FencedResource, type FencedWrite } from './testing/fenced-resource.js';
export { createLocalKv, LocalKv, LocalKvClient, type LocalKvOptions } from './testing/local-kv.js';
export { ManualClock } from './testing/manual-clock.js';
