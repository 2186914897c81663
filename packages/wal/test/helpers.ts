import assert from 'node:assert/strict';
import { isFlotillaError } from '@flotilla/errors';
import type { ConfState, Entry, HardState, Snapshot } from '@flotilla/raft';
import type { ReplicaStorage } from '@flotilla/wal';

export const enc = new TextEncoder();

export const cs = (voters: number[] = [1, 2, 3]): ConfState => ({
  voters,
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

export const ent = (index: number, term: number, data: string | Uint8Array = `e${index}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: typeof data === 'string' ? enc.encode(data) : data,
});

/** Entries `from..to` (inclusive) with one term. */
export const ents = (from: number, to: number, term: number): Entry[] => {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
};

export const hs = (term: number, vote: number, commit: number): HardState => ({ term, vote, commit });

export const snap = (index: number, term: number, data = `snap@${index}`, conf = cs()): Snapshot => ({
  metadata: { index, term, confState: conf },
  data: enc.encode(data),
});

export const code = (c: string) => (err: unknown) => isFlotillaError(err, c);

export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** What recovery must reproduce, in a form that compares with `deepEqual`. */
export interface View {
  hardState: HardState;
  snapshot: { index: number; term: number; data: string; voters: number[] } | null;
  /** Entries above the snapshot: [index, term, type, data hex]. */
  entries: Array<[number, number, string, string]>;
}

/** The durable state a ReplicaStorage exposes, checked for internal consistency on the way. */
export function viewOf(rs: ReplicaStorage): View {
  const st = rs.storage;
  const snapshot = rs.snapshot;
  const first = st.firstIndex();
  const last = st.lastIndex();
  assert.deepEqual(st.initialState().hardState, rs.hardState, 'storage hard state = rs.hardState');
  if (snapshot !== undefined) {
    assert.equal(st.snapshot().metadata.index, snapshot.metadata.index, 'storage snapshot = rs.snapshot');
  }
  const snapIndex = snapshot?.metadata.index ?? 0;
  const all = st.entries(first, last + 1);
  return {
    hardState: { ...rs.hardState },
    snapshot:
      snapshot === undefined
        ? null
        : {
            index: snapshot.metadata.index,
            term: snapshot.metadata.term,
            data: hex(snapshot.data),
            voters: [...snapshot.metadata.confState.voters],
          },
    entries: all.filter((e) => e.index > snapIndex).map((e) => [e.index, e.term, e.type, hex(e.data)]),
  };
}

/**
 * The rules a restarted Raft node needs from its storage: contiguous entries above the
 * snapshot with non-decreasing terms, commit within [snapshot index, last index], and a hard
 * state term at least the last entry's.
 */
export function assertRaftAcceptable(rs: ReplicaStorage, context: string): void {
  const st = rs.storage;
  const snapIndex = rs.snapshot?.metadata.index ?? 0;
  const snapTerm = rs.snapshot?.metadata.term ?? 0;
  assert.equal(st.firstIndex(), snapIndex + 1, `${context}: first index follows the snapshot`);
  const entries = st.entries(st.firstIndex(), st.lastIndex() + 1);
  let prev = { index: snapIndex, term: snapTerm };
  for (const e of entries) {
    assert.equal(e.index, prev.index + 1, `${context}: contiguous indexes`);
    assert.ok(e.term >= prev.term, `${context}: terms never decrease (${e.index})`);
    prev = e;
  }
  const hs = rs.hardState;
  assert.ok(hs.commit <= st.lastIndex(), `${context}: commit ${hs.commit} ≤ last index ${st.lastIndex()}`);
  assert.ok(hs.commit >= snapIndex || hs.term === 0, `${context}: commit ≥ snapshot index`);
  assert.ok(hs.term >= prev.term, `${context}: hard state term ${hs.term} ≥ last entry term ${prev.term}`);
}

/** A logger that keeps what it is told. */
export function memoryLogger(): { warn(message: string): void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (m: string) => void messages.push(m), messages };
}
