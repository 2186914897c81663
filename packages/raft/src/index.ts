/**
 * `@flotilla/raft`: a pure, deterministic Raft state machine in the shape of etcd-io/raft's
 * `RawNode`. Messages and ticks go in; a `Ready` batch comes out (entries to persist, messages to
 * send, entries to apply, a snapshot to install). No I/O, no timers, no clock, no global
 * randomness: the host drives it, so a whole cluster runs deterministically from a seed.
 *
 * Most hosts need only {@link RawNode}, {@link RaftConfig}, {@link MemoryStorage} (or another
 * {@link Storage}) and the data types. The building blocks below them (quorum math, progress
 * tracking, the conf-change Changer, the log) are exported for tests and tools; see the README.
 *
 * @example
 * ```ts
 * import { MemoryStorage, RawNode } from '@flotilla/raft';
 *
 * const storage = new MemoryStorage();
 * const node = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
 * node.bootstrap([1]);
 * node.campaign();
 * while (node.hasReady()) {
 *   const rd = node.ready();
 *   storage.append(rd.entries);
 *   if (rd.hardState) storage.setHardState(rd.hardState);
 *   // send rd.messages, apply rd.committedEntries ...
 *   node.advance();
 * }
 * ```
 *
 * @packageDocumentation
 */

export { Changer, type ChangerInput, type ConfigAndProgress, describeChanges } from './confchange/changer.js';
export { decodeConfChange, encodeConfChange } from './confchange/codec.js';
export { confStatesEquivalent, restoreConfState } from './confchange/restore.js';
export {
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_SIZE_PER_MSG,
  type RaftConfig,
  type ReadOnlyOption,
} from './config.js';
export {
  describeConfState,
  describeData,
  describeEntry,
  describeHardState,
  describeMessage,
  describeNode,
  describeReady,
  describeSnapshot,
  describeSoftState,
} from './describe.js';
export { RaftError, type RaftErrorCode } from './errors.js';
export { limitCount, payloadBytes } from './log/limit.js';
export { type IndexTerm, RaftLog } from './log/raft-log.js';
export { Unstable } from './log/unstable.js';
export { type Logger, silentLogger } from './logger.js';
export { JointConfig } from './quorum/joint.js';
export { MajorityConfig } from './quorum/majority.js';
export type { AckedIndexer, VoteLookup, VoteResult } from './quorum/quorum.js';
export { type Random, seededRandom } from './random.js';
export { RawNode } from './rawnode.js';
export { MemoryStorage, type Storage } from './storage.js';
export { Inflights } from './tracker/inflights.js';
export { Progress, type ProgressInit, type ProgressStateType } from './tracker/progress.js';
export {
  confStateOf,
  describeTrackerConfig,
  EMPTY_TRACKER_CONFIG,
  ProgressTracker,
  type TrackerConfig,
} from './tracker/tracker.js';
export * from './types.js';
