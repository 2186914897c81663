import {
  describeConfState,
  describeEntry,
  describeSnapshot,
  type MemoryStorage,
  type Status,
} from '@flotilla/raft';

/**
 * Describers the harness adds to `src/describe.ts`, built only from the public API (`status()`
 * and `Storage`), so their format depends on nothing internal. Maps are printed sorted by id.
 */

/** A node's Status over a few lines: role and terms, then the configuration, then progress. */
export function describeStatus(s: Status): string {
  const lines = [
    `${s.id} ${s.raftState} term=${s.term} vote=${s.vote} lead=${s.lead} commit=${s.commit} applied=${s.applied}${s.leadTransferee !== 0 ? ` transferee=${s.leadTransferee}` : ''}`,
    `config: ${describeConfState(s.config)}`,
  ];
  if (s.progress !== undefined) {
    const ids = [...s.progress.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const p = s.progress.get(id);
      if (p === undefined) continue;
      lines.push(
        `  ${id}: ${p.state} match=${p.match} next=${p.next}${p.isLearner ? ' learner' : ''}${p.recentActive ? '' : ' inactive'}`,
      );
    }
  }
  return lines.join('\n');
}

/** The persisted log: the snapshot it starts from (if any), then one line per entry. */
export function describeStorage(storage: MemoryStorage): string {
  const lines: string[] = [];
  const snap = storage.snapshot().metadata;
  if (snap.index > 0) lines.push(`snapshot: ${describeSnapshot(storage.snapshot())}`);
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  if (last < first) lines.push('log is empty');
  else for (const e of storage.entries(first, last + 1)) lines.push(describeEntry(e));
  const hs = storage.initialState().hardState;
  lines.push(`hardState: term=${hs.term} vote=${hs.vote} commit=${hs.commit}`);
  return lines.join('\n');
}
