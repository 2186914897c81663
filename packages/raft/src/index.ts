/**
 * `@flotilla/raft`: a pure, deterministic Raft state machine in the shape of etcd-io/raft's
 * `RawNode`. Messages and ticks go in; a `Ready` batch comes out (entries to persist, messages to
 * send, entries to apply, a snapshot to install). No I/O, no timers, no clock, no global
 * randomness: the host drives it, so a whole cluster runs deterministically from a seed.
 *
 * @packageDocumentation
 */
export { RaftError, type RaftErrorCode } from './errors.js';
export { type Random, seededRandom } from './random.js';
export { MemoryStorage, type Storage } from './storage.js';
export * from './types.js';
