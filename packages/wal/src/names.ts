/**
 * File names in a WAL directory. Numbers are 16 lowercase hex digits, so names sort in numeric
 * order (as etcd names its files):
 *
 * - `<seq>-<firstIndex>.wal`: a segment (its header repeats both numbers);
 * - `<term>-<index>.snap`: a snapshot file;
 * - `*.tmp`: a file being prepared (a segment before its rename, a snapshot before its rename);
 *   recovery deletes them, since nothing refers to them until they are renamed into place.
 *
 * Other names (for example the `LOCK` file of {@link nodeFileSystem}) are left alone.
 */

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

export function snapshotName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

export const TMP_SUFFIX = '.tmp';

/** The name a segment has while it is prepared (preallocated) before its header is written. */
export function segmentTmpName(seq: number): string {
  return `${hex16(seq)}.wal${TMP_SUFFIX}`;
}

export function snapshotTmpName(term: number, index: number): string {
  return `${snapshotName(term, index)}${TMP_SUFFIX}`;
}

const PAIR = /^([0-9a-f]{16})-([0-9a-f]{16})\.(wal|snap)$/;

/** Parses a segment or snapshot name; undefined for any other name. */
export function parseName(
  name: string,
):
  | { kind: 'wal'; seq: number; firstIndex: number }
  | { kind: 'snap'; term: number; index: number }
  | undefined {
  const m = PAIR.exec(name);
  if (m === null) return undefined;
  const a = Number.parseInt(m[1] ?? '', 16);
  const b = Number.parseInt(m[2] ?? '', 16);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) return undefined;
  return m[3] === 'wal' ? { kind: 'wal', seq: a, firstIndex: b } : { kind: 'snap', term: a, index: b };
}
