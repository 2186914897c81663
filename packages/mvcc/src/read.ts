/**
 * Reads: collecting the versions a range selects at a revision, shaping them into an etcd
 * `RangeResponse`, and evaluating transaction compares.
 *
 * The response rules are etcd 3.4's `applierV3backend.Range`, which surprise people:
 * - `count` is the number of keys in the range at the revision, before `limit` and before the
 *   min/max revision filters (etcd counts in the index, then prunes the fetched kvs);
 * - `countOnly` returns no kvs, so `more` is false even when the range is large;
 * - a `sortTarget` other than `key` with `sortOrder: 'none'` sorts ascending, but with a
 *   `limit` (and no min/max filter) only the first `limit + 1` keys in key order are sorted;
 * - sorting is stable from key order, so ties keep key order in both directions (etcd uses
 *   Go's unstable `sort.Sort`, which behaves this way for the small results observed; here it is
 *   guaranteed);
 * - `more` is true when `limit` cut the filtered, sorted kvs.
 */
import { toBytes } from './bytes.js';
import { MvccError } from './errors.js';
import type { KeyIndex } from './key-index.js';
import { type KeyRev, versionAt } from './key-rev.js';
import { type NCompare, type NRange, type RangeEnd, scanEnd } from './requests.js';
import type { KeyValue, RangeResult, SortTarget } from './types.js';

/** Shared empty value for `keysOnly` results and tombstones (zero-length arrays are immutable). */
const EMPTY = new Uint8Array(0);

/** Materializes one version as the public {@link KeyValue} (fresh byte arrays). */
export function toKv(r: KeyRev, keysOnly = false): KeyValue {
  return {
    key: toBytes(r.key),
    value: keysOnly || r.value.length === 0 ? EMPTY : toBytes(r.value),
    createRevision: r.create,
    modRevision: r.main,
    version: r.version,
    lease: r.lease,
  };
}

/**
 * The live versions in `[key, end)` (or the single `key`) as of `rev`, in key order.
 *
 * @param staged - a transaction's not yet committed changes (newest per key); they are visible
 *   only when reading at the transaction's own revision (`atHead`).
 * @param atHead - read the newest records (the current revision, plus `staged`) instead of
 *   walking chains back to `rev`.
 */
export function collect(
  index: KeyIndex,
  staged: ReadonlyMap<string, KeyRev> | undefined,
  key: string,
  end: RangeEnd,
  rev: number,
  atHead: boolean,
): KeyRev[] {
  if (end === undefined) {
    const r = atHead ? (staged?.get(key) ?? index.head(key)) : versionAt(index.head(key), rev);
    return r === undefined || r.version === 0 ? [] : [r];
  }
  const bound = scanEnd(end);
  const out: KeyRev[] = [];
  index.scan(key, bound, (head) => {
    const r = atHead ? head : versionAt(head, rev);
    if (r !== undefined && r.version !== 0) out.push(r);
    return true;
  });
  if (!atHead || staged === undefined || staged.size === 0) return out;
  // Overlay the transaction's own writes: they replace, add or (tombstones) remove keys. The
  // index still holds the state before the transaction, so this is the only place a read sees
  // uncommitted writes, and only reads at the transaction's own revision get here.
  let touched = false;
  const merged = new Map<string, KeyRev>();
  for (const r of out) merged.set(r.key, r);
  for (const [k, r] of staged) {
    if (k < key || (bound !== null && k >= bound)) continue;
    touched = true;
    if (r.version === 0) merged.delete(k);
    else merged.set(k, r);
  }
  if (!touched) return out;
  return [...merged.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** Sort key extractors per target; `key` never needs one (results arrive in key order). */
function sortField(target: SortTarget): (r: KeyRev) => number | string {
  switch (target) {
    case 'version':
      return (r) => r.version;
    case 'createRevision':
      return (r) => r.create;
    case 'modRevision':
      return (r) => r.main;
    case 'value':
      return (r) => r.value;
    default:
      return (r) => r.key;
  }
}

/**
 * Shapes the collected versions into etcd's range response.
 *
 * @param headerRev - the revision reported in `revision` (the current one, even for an old read).
 */
export function rangeResult(recs: KeyRev[], req: NRange, headerRev: number): RangeResult {
  // etcd counts the index entries in range before fetching, pruning or limiting anything.
  const count = recs.length;
  if (req.countOnly) return { kvs: [], count, more: false, revision: headerRev };
  let kvs = recs;
  const { maxModRevision, minModRevision, maxCreateRevision, minCreateRevision } = req;
  const filtered =
    maxModRevision !== 0 || minModRevision !== 0 || maxCreateRevision !== 0 || minCreateRevision !== 0;
  // etcd fetches everything only when it must sort (by the requested order) or filter;
  // otherwise it fetches `limit + 1` kvs in key order, and a sort implied by a non-key
  // `sortTarget` then orders only those (observed on 3.4.23: not the smallest of the range).
  if (req.sortOrder === 'none' && !filtered && req.limit > 0 && kvs.length > req.limit + 1) {
    kvs = kvs.slice(0, req.limit + 1);
  }
  // etcd prunes with "!= 0" tests, so a negative bound filters too (and can empty the result).
  if (filtered) {
    kvs = kvs.filter(
      (r) =>
        (maxModRevision === 0 || r.main <= maxModRevision) &&
        (minModRevision === 0 || r.main >= minModRevision) &&
        (maxCreateRevision === 0 || r.create <= maxCreateRevision) &&
        (minCreateRevision === 0 || r.create >= minCreateRevision),
    );
  }
  const order = req.sortOrder === 'none' && req.sortTarget !== 'key' ? 'ascend' : req.sortOrder;
  if (order !== 'none') {
    const field = sortField(req.sortTarget);
    const sign = order === 'ascend' ? 1 : -1;
    // Array.prototype.sort is stable (ES2019), so equal fields keep key order either way.
    kvs = (kvs === recs ? kvs.slice() : kvs).sort((a, b) => {
      const x = field(a);
      const y = field(b);
      return x < y ? -sign : x > y ? sign : 0;
    });
  }
  let more = false;
  if (req.limit > 0 && kvs.length > req.limit) {
    kvs = kvs.slice(0, req.limit);
    more = true;
  }
  const out = new Array<KeyValue>(kvs.length);
  for (let i = 0; i < kvs.length; i++) out[i] = toKv(kvs[i] as KeyRev, req.keysOnly);
  return { kvs: out, count, more, revision: headerRev };
}

/**
 * A range read at the revision `req` asks for, etcd's `rangeKeys` rules: above `current` →
 * `FUTURE_REVISION`; 0 or negative → `current`; below the compacted revision → `COMPACTED`.
 * The result reports `current` as its revision.
 *
 * @param staged - a transaction's staged writes, visible when reading at `current`.
 */
export function readRange(
  index: KeyIndex,
  staged: ReadonlyMap<string, KeyRev> | undefined,
  req: NRange,
  current: number,
  compactMain: number,
): RangeResult {
  if (req.revision > current) {
    throw new MvccError(
      'FUTURE_REVISION',
      `revision ${req.revision} is above the current revision ${current}`,
    );
  }
  const rev = req.revision <= 0 ? current : req.revision;
  if (rev < compactMain) {
    throw new MvccError('COMPACTED', `revision ${rev} has been compacted (compacted at ${compactMain})`);
  }
  return rangeResult(collect(index, staged, req.key, req.end, rev, rev === current), req, current);
}

/** Compares one stored version against a compare's operand (etcd's `compareKV`). */
function holdsFor(c: NCompare, value: string, num: number): boolean {
  let cmp: number;
  if (c.target === 'value') cmp = value < c.bytes ? -1 : value > c.bytes ? 1 : 0;
  else cmp = num < c.num ? -1 : num > c.num ? 1 : 0;
  switch (c.result) {
    case 'equal':
      return cmp === 0;
    case 'notEqual':
      return cmp !== 0;
    case 'greater':
      return cmp > 0;
    default:
      return cmp < 0;
  }
}

function numericField(c: NCompare, r: KeyRev): number {
  switch (c.target) {
    case 'version':
      return r.version;
    case 'createRevision':
      return r.create;
    case 'modRevision':
      return r.main;
    default:
      return r.lease;
  }
}

/**
 * Whether a compare holds at the current revision (etcd's `applyCompare`): for every key in
 * its range. An empty range compares the numeric targets as 0 (so `version == 0` means "absent")
 * but makes a `value` compare false whatever its result, even `notEqual`: etcd cannot tell a
 * missing value from an empty one, so it refuses to say.
 */
export function compareHolds(index: KeyIndex, c: NCompare, current: number): boolean {
  const recs = collect(index, undefined, c.key, c.end, current, true);
  if (recs.length === 0) return c.target !== 'value' && holdsFor(c, '', 0);
  for (const r of recs) {
    if (!holdsFor(c, r.value, c.target === 'value' ? 0 : numericField(c, r))) return false;
  }
  return true;
}
