import type { Entry, HardState, Snapshot } from '@flotilla/raft';
import { invalid } from './errors.js';

/**
 * Shape checks at the API boundary. They reject what would break the storage itself (a value
 * the format cannot hold, entries that are not contiguous or whose terms go down); Raft's own
 * rules about hard states are the Raft core's to keep, and are not second-guessed here.
 */

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function checkHardState(hs: unknown): asserts hs is HardState {
  const h = hs as Partial<HardState> | null;
  if (typeof h !== 'object' || h === null || !isCount(h.term) || !isCount(h.vote) || !isCount(h.commit)) {
    throw invalid('hardState must be { term, vote, commit } with non-negative safe integers');
  }
}

export function checkSnapshot(snap: unknown): asserts snap is Snapshot {
  const s = snap as Partial<Snapshot> | null;
  const m = s?.metadata;
  if (typeof s !== 'object' || s === null || typeof m !== 'object' || m === null) {
    throw invalid('snapshot must be { metadata, data }');
  }
  if (!isCount(m.index) || !isCount(m.term))
    throw invalid('snapshot index and term must be non-negative safe integers');
  if (!(s.data instanceof Uint8Array)) throw invalid('snapshot data must be a Uint8Array');
  const c = m.confState;
  const ids = (v: unknown): boolean => Array.isArray(v) && v.every((x) => isCount(x) && x > 0);
  if (
    typeof c !== 'object' ||
    c === null ||
    !ids(c.voters) ||
    !ids(c.learners) ||
    !ids(c.votersOutgoing) ||
    !ids(c.learnersNext) ||
    typeof c.autoLeave !== 'boolean'
  ) {
    throw invalid('snapshot confState must hold arrays of node ids and autoLeave');
  }
}

/** Checks each entry and that they are contiguous with non-decreasing terms. */
export function checkEntries(entries: unknown): asserts entries is readonly Entry[] {
  if (!Array.isArray(entries)) throw invalid('entries must be an array');
  let prev: Entry | undefined;
  for (const e of entries as unknown[]) {
    const x = e as Partial<Entry> | null;
    if (
      typeof x !== 'object' ||
      x === null ||
      !isCount(x.index) ||
      x.index < 1 ||
      !isCount(x.term) ||
      x.term < 1 ||
      (x.type !== 'normal' && x.type !== 'confChange') ||
      !(x.data instanceof Uint8Array)
    ) {
      throw invalid('each entry must be { term ≥ 1, index ≥ 1, type: normal|confChange, data: Uint8Array }');
    }
    const entry = x as Entry;
    if (prev !== undefined && entry.index !== prev.index + 1) {
      throw invalid(`entries are not contiguous: ${entry.index} follows ${prev.index}`);
    }
    if (prev !== undefined && entry.term < prev.term) {
      throw invalid(`entry ${entry.index} has term ${entry.term} after term ${prev.term}`);
    }
    prev = entry;
  }
}
