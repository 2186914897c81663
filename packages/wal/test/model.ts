/**
 * A model of what a Raft node asks of its storage, for the property tests: it generates valid
 * `save` / `saveSnapshot` / `compact` calls from a seeded RNG and computes, for every prefix of
 * the calls, the durable view recovery must produce if exactly that prefix survived.
 */
import type { Entry, HardState, Random, Snapshot } from '@flotilla/raft';
import type { ReplicaStorage, SaveRequest } from '@flotilla/wal';
import { cs, type View } from './helpers.js';

export type Op =
  | { readonly kind: 'save'; readonly rd: SaveRequest }
  | { readonly kind: 'snapshot'; readonly snap: Snapshot }
  | { readonly kind: 'compact'; readonly index: number };

/** True when the op's success promises durability (a save with mustSync, a snapshot). */
export const isDurable = (op: Op): boolean => (op.kind === 'save' ? op.rd.mustSync : op.kind === 'snapshot');

export function runOp(rs: ReplicaStorage, op: Op): Promise<void> {
  if (op.kind === 'save') return rs.save(op.rd);
  if (op.kind === 'snapshot') return rs.saveSnapshot(op.snap);
  return rs.compact(op.index);
}

const randomBytes = (rng: Random, max: number): Uint8Array => {
  const b = new Uint8Array(rng.int(0, max + 1));
  for (let i = 0; i < b.length; i++) b[i] = rng.int(0, 256);
  return b;
};

/** Applies an op to a view (views are immutable: returns a new one). */
export function applyOp(v: View, op: Op): View {
  if (op.kind === 'compact') return v;
  if (op.kind === 'snapshot') {
    const { index, term, confState } = op.snap.metadata;
    return {
      hardState: v.hardState,
      snapshot: {
        index,
        term,
        data: Buffer.from(op.snap.data).toString('hex'),
        voters: [...confState.voters],
      },
      entries: v.entries.filter((e) => e[0] > index),
    };
  }
  const rd = op.rd;
  let { snapshot, entries } = v;
  if (rd.snapshot !== undefined) {
    const { index, term, confState } = rd.snapshot.metadata;
    snapshot = {
      index,
      term,
      data: Buffer.from(rd.snapshot.data).toString('hex'),
      voters: [...confState.voters],
    };
    entries = [];
  }
  const first = rd.entries[0];
  if (first !== undefined) {
    entries = [
      ...entries.filter((e) => e[0] < first.index),
      ...rd.entries.map((e): View['entries'][number] => [
        e.index,
        e.term,
        e.type,
        Buffer.from(e.data).toString('hex'),
      ]),
    ];
  }
  return { hardState: rd.hardState ?? v.hardState, snapshot, entries };
}

export const EMPTY_VIEW: View = { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: null, entries: [] };

/** Generates the next valid op for a node whose accepted state is `v`. */
export function nextOp(v: View, rng: Random): Op {
  const snapIndex = v.snapshot?.index ?? 0;
  const lastEntry = v.entries[v.entries.length - 1];
  const last = lastEntry?.[0] ?? snapIndex;
  const lastTerm = lastEntry?.[1] ?? v.snapshot?.term ?? 0;
  const h = v.hardState;
  const term = Math.max(h.term, 1);
  const mk = (from: number, n: number, t: number): Entry[] => {
    const out: Entry[] = [];
    for (let i = 0; i < n; i++) {
      out.push({
        index: from + i,
        term: t,
        type: rng.chance(0.1) ? 'confChange' : 'normal',
        data: randomBytes(rng, 40),
      });
    }
    return out;
  };
  const roll = rng.next();
  if (roll < 0.45 || h.term === 0) {
    // A leader or follower appending (and perhaps learning a higher commit).
    const entries = mk(last + 1, rng.int(1, 5), Math.max(term, lastTerm));
    const newLast = last + entries.length;
    const hardState: HardState | undefined = rng.chance(0.6)
      ? { term: Math.max(term, lastTerm), vote: h.vote || 1, commit: rng.int(h.commit, newLast + 1) }
      : h.term === 0
        ? { term: 1, vote: 1, commit: 0 }
        : undefined;
    return { kind: 'save', rd: { entries, hardState, mustSync: true } };
  }
  if (roll < 0.55 && last > Math.max(h.commit, snapIndex)) {
    // A new leader overwrote our uncommitted suffix (§5.3).
    const from = rng.int(Math.max(h.commit, snapIndex) + 1, last + 1);
    const t = term + 1;
    const entries = mk(from, rng.int(1, 4), t);
    return {
      kind: 'save',
      rd: { entries, hardState: { term: t, vote: rng.int(1, 4), commit: h.commit }, mustSync: true },
    };
  }
  if (roll < 0.63) {
    // Only the commit index moved: Raft does not require an fsync for that.
    return {
      kind: 'save',
      rd: { entries: [], hardState: { ...h, commit: rng.int(h.commit, last + 1) }, mustSync: false },
    };
  }
  if (roll < 0.68) {
    // A new term (a vote), which must be synced.
    return {
      kind: 'save',
      rd: {
        entries: [],
        hardState: { term: term + 1, vote: rng.int(0, 4), commit: h.commit },
        mustSync: true,
      },
    };
  }
  if (roll < 0.78 && h.commit > snapIndex) {
    const index = rng.int(snapIndex + 1, h.commit + 1);
    const e = v.entries.find((x) => x[0] === index);
    const t = e?.[1] ?? 0;
    return {
      kind: 'snapshot',
      snap: {
        metadata: { index, term: t, confState: cs([1, 2, rng.int(3, 6)]) },
        data: randomBytes(rng, 60),
      },
    };
  }
  if (roll < 0.84) {
    // A leader's snapshot beyond our log: it replaces the log (§7).
    const index = last + rng.int(1, 6);
    const t = Math.max(term, lastTerm);
    const snapshot: Snapshot = {
      metadata: { index, term: t, confState: cs([1, 2, 3]) },
      data: randomBytes(rng, 60),
    };
    const entries = rng.chance(0.5) ? mk(index + 1, rng.int(1, 3), t) : [];
    return {
      kind: 'save',
      rd: { snapshot, entries, hardState: { term: t, vote: h.vote, commit: index }, mustSync: true },
    };
  }
  if (roll < 0.92) return { kind: 'compact', index: rng.int(0, snapIndex + 1) };
  return { kind: 'save', rd: { entries: [], mustSync: rng.chance(0.5) } };
}
