/**
 * `@flotilla/raft/testing`: test-only fault switches for the Raft core (see `faults.ts`), used by
 * the verification suite to prove its checkers catch broken Raft rules. Never import this from
 * production code: nothing here is reachable through `RaftConfig`.
 *
 * @packageDocumentation
 */
export { armRaftFaults, type RaftFaults } from './faults.js';
