/**
 * Snapshot encoding: the whole store (every retained version, the revision, the compaction
 * point) as bytes, and back.
 *
 * Layout (all integers little-endian except the framing, which is big-endian):
 *
 * ```
 * u32 headerLength
 * header        msgpack (msgpackr) array: ["flotilla-mvcc", 1, revision, compactMain,
 *               baseCount, keyCount, recordCount, keyBytes, valueBytes]
 * keyBlob       every indexed key, in byte order, concatenated       (keyBytes)
 * keyLengths    u32 per key                                           (4 * keyCount)
 * recordKeys    u32 per record: index of its key in the key list      (4 * recordCount)
 * valueBlob     every record's value, concatenated                    (valueBytes)
 * valueLengths  u32 per record                                        (4 * recordCount)
 * numbers       f64 per record: main, create, version, lease          (32 * recordCount)
 * u32 crc32     CRC-32 of everything before it
 * ```
 *
 * The columns are written straight into one preallocated buffer: measured on a million keys,
 * letting msgpack carry them (it grows its buffer by copying) or building them as plain arrays
 * (`new Array(n)` is a sparse dictionary array in V8 at that size) dominated the time.
 *
 * Records come in two parts: first the "base", the oldest retained record of each key when it
 * is older than the compacted revision (compaction keeps exactly one such version per key), in
 * key order; then the revision log in commit order. Together they are every retained record,
 * and replaying them in this order rebuilds every key's chain and the log exactly. The encoding
 * is a pure function of the store's history, so replicas that applied the same operations
 * produce byte-identical snapshots (`compactMain` is -1 for a store never compacted).
 */
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { MvccError } from './errors.js';
import type { History } from './history.js';
import { type KeyIndex, KeyRev } from './key-index.js';

const MAGIC = 'flotilla-mvcc';
const FORMAT = 1;
const packr = new Packr({ useRecords: false });

/** A decoded snapshot, ready to become a store. */
export interface SnapshotState {
  readonly revision: number;
  readonly compactMain: number;
  /** Every key in byte order. */
  readonly keys: string[];
  /** Head record per key (chains linked through `prev`). */
  readonly heads: Map<string, KeyRev>;
  /** The revision log in commit order. */
  readonly log: readonly KeyRev[];
}

/** Encodes the store's state. */
export function encodeSnapshot(
  index: KeyIndex,
  history: History,
  revision: number,
  compactMain: number,
): Uint8Array {
  const keys: string[] = [];
  let keyBytes = 0;
  const records: KeyRev[] = [];
  const recordKeys: number[] = [];
  index.forEachHead((key, head) => {
    let tail = head;
    while (tail.prev !== undefined) tail = tail.prev;
    if (tail.main < compactMain) {
      records.push(tail);
      recordKeys.push(keys.length);
    }
    keys.push(key);
    keyBytes += key.length;
  });
  const baseCount = records.length;
  // Invariant relied on by restore: base records are in strictly increasing key order (one per
  // key) and precede the log, whose records are in commit order.
  if (history.length > 0) {
    // Log records name their key by its position in the key list.
    const keyNumber = new Map<string, number>();
    for (let i = 0; i < keys.length; i++) keyNumber.set(keys[i] as string, i);
    for (let i = 0; i < history.length; i++) {
      const r = history.at(i);
      if (r === undefined) continue;
      records.push(r);
      recordKeys.push(keyNumber.get(r.key) ?? 0);
    }
  }
  const n = records.length;
  let valueBytes = 0;
  for (const r of records) valueBytes += r.value.length;
  const header = packr.pack([
    MAGIC,
    FORMAT,
    revision,
    compactMain,
    baseCount,
    keys.length,
    n,
    keyBytes,
    valueBytes,
  ]);
  const size = 4 + header.length + keyBytes + 4 * keys.length + 4 * n + valueBytes + 4 * n + 32 * n + 4;
  // Every byte is written below, so the buffer need not be zero-filled first.
  const out = Buffer.allocUnsafe(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let off = 0;
  view.setUint32(off, header.length, false);
  off += 4;
  off += header.copy(out, off);
  for (const k of keys) off += out.write(k, off, k.length, 'latin1');
  for (const k of keys) {
    view.setUint32(off, k.length, true);
    off += 4;
  }
  for (const k of recordKeys) {
    view.setUint32(off, k, true);
    off += 4;
  }
  for (const r of records) off += out.write(r.value, off, r.value.length, 'latin1');
  for (const r of records) {
    view.setUint32(off, r.value.length, true);
    off += 4;
  }
  for (const r of records) {
    view.setFloat64(off, r.main, true);
    view.setFloat64(off + 8, r.create, true);
    view.setFloat64(off + 16, r.version, true);
    view.setFloat64(off + 24, r.lease, true);
    off += 32;
  }
  view.setUint32(off, crc32(out.subarray(0, off)), false);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function corrupt(why: string, cause?: unknown): MvccError {
  return new MvccError('CORRUPT_SNAPSHOT', `snapshot refused: ${why}`, cause === undefined ? {} : { cause });
}

function isInt(v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** Splits `count` binary strings off one big string by the u32 lengths at `view[lenOff..]`. */
function split(all: string, view: DataView, lenOff: number, count: number, what: string): string[] {
  const out: string[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(lenOff + 4 * i, true);
    if (off + len > all.length) throw corrupt(`${what} lengths exceed their blob`);
    out.push(all.slice(off, off + len));
    off += len;
  }
  if (off !== all.length) throw corrupt(`${what} lengths do not cover their blob`);
  return out;
}

/**
 * Decodes and checks a snapshot. Any damage (truncation, a flipped bit, a foreign format) or
 * inconsistency (records out of order, impossible versions) is refused.
 *
 * @throws MvccError `CORRUPT_SNAPSHOT`
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotState {
  if (!(bytes instanceof Uint8Array)) throw corrupt('not a Uint8Array');
  if (bytes.byteLength < 9) throw corrupt('too short');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength - 4;
  if (view.getUint32(end, false) !== crc32(buf.subarray(0, end))) throw corrupt('checksum mismatch');
  const headerLength = view.getUint32(0, false);
  if (4 + headerLength > end) throw corrupt('header exceeds the snapshot');
  let header: unknown;
  try {
    header = packr.unpack(buf.subarray(4, 4 + headerLength));
  } catch (err) {
    throw corrupt('undecodable header', err);
  }
  if (!Array.isArray(header) || header.length !== 9 || header[0] !== MAGIC)
    throw corrupt('not an mvcc snapshot');
  if (header[1] !== FORMAT) throw corrupt(`unknown format ${String(header[1])}`);
  const [, , revision, compactMain, baseCount, keyCount, n, keyBytes, valueBytes] = header as unknown[];
  if (!isInt(revision, 1)) throw corrupt('bad revision');
  if (!isInt(compactMain, -1, revision)) throw corrupt('bad compacted revision');
  if (!isInt(keyCount, 0) || !isInt(n, 0) || !isInt(keyBytes, 0) || !isInt(valueBytes, 0))
    throw corrupt('bad sizes');
  if (!isInt(baseCount, 0, n)) throw corrupt('bad base count');
  const keysAt = 4 + headerLength;
  const keyLengthsAt = keysAt + keyBytes;
  const recordKeysAt = keyLengthsAt + 4 * keyCount;
  const valuesAt = recordKeysAt + 4 * n;
  const valueLengthsAt = valuesAt + valueBytes;
  const numbersAt = valueLengthsAt + 4 * n;
  if (numbersAt + 32 * n !== end) throw corrupt('sizes do not add up');

  const keys = split(buf.toString('latin1', keysAt, keyLengthsAt), view, keyLengthsAt, keyCount, 'key');
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (k.length === 0 || (i > 0 && (keys[i - 1] as string) >= k)) throw corrupt('keys not strictly ordered');
  }
  // Values are sliced off one big string as the records are built (no array of a million).
  const valueBlob = buf.toString('latin1', valuesAt, valueLengthsAt);
  let valueOff = 0;
  // Replaying the records in order rebuilds each chain (a record's `prev` is its key's head so
  // far) and the log; every record is checked against its predecessor as it is linked.
  const heads = new Map<string, KeyRev>();
  const log: KeyRev[] = [];
  let lastMain = compactMain;
  let lastBaseKey = -1;
  for (let i = 0; i < n; i++) {
    const keyIndex = view.getUint32(recordKeysAt + 4 * i, true);
    const key = keys[keyIndex];
    if (key === undefined) throw corrupt('record key out of range');
    const at = numbersAt + 32 * i;
    const main = view.getFloat64(at, true);
    const create = view.getFloat64(at + 8, true);
    const version = view.getFloat64(at + 16, true);
    const lease = view.getFloat64(at + 24, true);
    const valueLength = view.getUint32(valueLengthsAt + 4 * i, true);
    if (valueOff + valueLength > valueBlob.length) throw corrupt('value lengths exceed their blob');
    const value = valueBlob.slice(valueOff, valueOff + valueLength);
    valueOff += valueLength;
    const base = i < baseCount;
    // Base records come one per key in key order, so they start their chain: checking the
    // order saves a map lookup per key (most of a restore when history was compacted).
    if (base && keyIndex <= lastBaseKey) throw corrupt('base records out of key order');
    if (base) lastBaseKey = keyIndex;
    const prev = base ? undefined : heads.get(key);
    checkRecord(base, prev, main, create, version, lease, value, revision, compactMain, lastMain);
    const rec = new KeyRev(key, value, main, create, version, lease, prev);
    heads.set(key, rec);
    if (!base) {
      log.push(rec);
      lastMain = main;
    }
  }
  if (valueOff !== valueBlob.length) throw corrupt('value lengths do not cover their blob');
  if (heads.size !== keys.length) throw corrupt('a key has no record');
  return { revision, compactMain, keys, heads, log };
}

/** The invariants one record must satisfy given its predecessor in its key's chain. */
function checkRecord(
  base: boolean,
  prev: KeyRev | undefined,
  main: number,
  create: number,
  version: number,
  lease: number,
  value: string,
  revision: number,
  compactMain: number,
  lastMain: number,
): void {
  if (!isInt(main, 1, revision) || !isInt(version, 0) || !isInt(lease, 0) || !isInt(create, 0, main)) {
    throw corrupt('record numbers out of range');
  }
  if (base) {
    // A base record is the single version compaction kept below the compacted revision.
    if (main >= compactMain || version === 0) throw corrupt('bad base record');
  } else if (main < lastMain || (main === compactMain && version === 0)) {
    throw corrupt('revision log out of order');
  }
  if (prev !== undefined && prev.main > main) throw corrupt('key history out of order');
  if (version === 0) {
    // A delete always follows the live version it deleted, which compaction keeps.
    if (create !== 0 || lease !== 0 || value.length !== 0 || prev === undefined)
      throw corrupt('bad tombstone');
    return;
  }
  if (create === 0) throw corrupt('bad create revision');
  if (prev !== undefined && prev.version !== 0) {
    if (version !== prev.version + 1 || create !== prev.create) throw corrupt('bad version chain');
  } else if (prev !== undefined || (!base && main > compactMain)) {
    // After a delete, or as the first record newer than the compaction: a new generation.
    if (version !== 1 || create !== main) throw corrupt('bad new generation');
  }
}
