/**
 * `@flotilla/wal/testing`: test-only fault switches for the WAL (see `faults.ts`), used by the
 * verification suite to prove its checkers catch a storage that acknowledges before its fsync.
 * Never import this from production code.
 *
 * @packageDocumentation
 */
export { armWalFaults, type WalFaults } from './faults.js';
