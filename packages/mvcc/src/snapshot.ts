/**
 * Snapshot encoding: the whole store (every retained version, the revision, the compaction
 * point) as bytes, and back. The layout is documented in `snapshot-format.ts`.
 *
 * Both directions are built for a million keys and more (measured in the README). The encoder
 * gets every key's head in key order from the index without a hash lookup per key where it can
 * (`KeyIndex.inOrder`), collects the records and their sizes in one pass, then writes each
 * column straight into one preallocated buffer, visiting each record once more. The decoder
 * slices keys and values off a few large strings, inserts each key into the hash map right
 * after decoding it, links the revision log through that map, and hands the key index its keys
 * in order so the B+ tree is bulk-loaded bottom-up.
 */
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { writeString, writeStrings } from './bytes.js';
import { HeadTable } from './head-table.js';
import type { History } from './history.js';
import type { KeyIndex } from './key-index.js';
import { type KeyRev, keyRev, tombstone } from './key-rev.js';
import { BlobReader, corrupt, FORMAT, HEADER_FIELDS, MAGIC, NUMBERS_SIZE, packr } from './snapshot-format.js';

/** A decoded snapshot, ready to become a store. */
export interface SnapshotState {
  readonly revision: number;
  readonly compactMain: number;
  /** Every key in strictly ascending byte order. */
  readonly keys: string[];
  /** The newest record of every key (chains linked through `prev`). */
  readonly heads: HeadTable;
  /** Every record with a lease (a superset of the heads with one). */
  readonly leased: readonly KeyRev[];
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
  const { keys, heads } = index.inOrder();
  const keyCount = keys.length;
  const logLength = history.length;
  // Log records name their key by its position in the key list. Only keys whose newest record
  // is at or above the compaction can appear in the log (every log record has main >=
  // compactMain), so only those are looked up here.
  const logKeys = new Map<string, number>();
  for (let i = 0; i < logLength; i++) {
    const r = history.at(i);
    if (r !== undefined) logKeys.set(r.key, 0);
  }
  // Pass 1: the records in snapshot order, their key numbers, and the sizes.
  const records: KeyRev[] = [];
  const recordKeys: number[] = [];
  let keyBytes = 0;
  let valueBytes = 0;
  for (let i = 0; i < keyCount; i++) {
    const key = keys[i] as string;
    const head = heads[i] as KeyRev;
    keyBytes += key.length;
    if (logKeys.size > 0 && head.main >= compactMain && logKeys.has(key)) logKeys.set(key, i);
    let tail = head;
    while (tail.prev !== undefined) tail = tail.prev;
    if (tail.main < compactMain) {
      records.push(tail);
      recordKeys.push(i);
      valueBytes += tail.value.length;
    }
  }
  // Invariant relied on by restore: base records are in strictly increasing key order (one per
  // key) and precede the log, whose records are in commit order.
  const baseCount = records.length;
  for (let i = 0; i < logLength; i++) {
    const r = history.at(i);
    if (r === undefined) continue;
    records.push(r);
    recordKeys.push(logKeys.get(r.key) ?? 0);
    valueBytes += r.value.length;
  }
  const n = records.length;
  const header = packr.pack([
    MAGIC,
    FORMAT,
    revision,
    compactMain,
    baseCount,
    keyCount,
    n,
    keyBytes,
    valueBytes,
  ]);
  const keysAt = 4 + header.length;
  const keyLengthsAt = keysAt + keyBytes;
  const recordKeysAt = keyLengthsAt + 4 * keyCount;
  const valuesAt = recordKeysAt + 4 * n;
  const valueLengthsAt = valuesAt + valueBytes;
  const numbersAt = valueLengthsAt + 4 * n;
  const end = numbersAt + NUMBERS_SIZE * n;
  // Pass 2: every byte is written below, so the buffer need not be zero-filled first.
  const out = Buffer.allocUnsafe(end + 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, header.length, false);
  header.copy(out, 4);
  writeStrings(out, keysAt, keys);
  for (let i = 0; i < keyCount; i++) view.setUint32(keyLengthsAt + 4 * i, (keys[i] as string).length, true);
  for (let i = 0; i < n; i++) view.setUint32(recordKeysAt + 4 * i, recordKeys[i] as number, true);
  // One visit per record for its value, value length and numbers.
  let valueAt = valuesAt;
  for (let i = 0; i < n; i++) {
    const r = records[i] as KeyRev;
    const v = r.value;
    valueAt = writeString(out, valueAt, v);
    view.setUint32(valueLengthsAt + 4 * i, v.length, true);
    const at = numbersAt + NUMBERS_SIZE * i;
    view.setFloat64(at, r.main, true);
    view.setFloat64(at + 8, r.create, true);
    view.setFloat64(at + 16, r.version, true);
    view.setFloat64(at + 24, r.lease, true);
  }
  view.setUint32(end, crc32(out.subarray(0, end)), false);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function isInt(v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** The header's numbers, checked. */
interface Header {
  revision: number;
  compactMain: number;
  baseCount: number;
  keyCount: number;
  n: number;
  keyBytes: number;
  valueBytes: number;
}

function decodeHeader(buf: Buffer, at: number, length: number): Header {
  let header: unknown;
  try {
    header = packr.unpack(buf.subarray(at, at + length));
  } catch (err) {
    throw corrupt('undecodable header', err);
  }
  if (!Array.isArray(header) || header.length !== HEADER_FIELDS || header[0] !== MAGIC)
    throw corrupt('not an mvcc snapshot');
  if (header[1] !== FORMAT) throw corrupt(`unknown format ${String(header[1])}`);
  const [, , revision, compactMain, baseCount, keyCount, n, keyBytes, valueBytes] = header as unknown[];
  if (!isInt(revision, 1)) throw corrupt('bad revision');
  if (!isInt(compactMain, -1, revision)) throw corrupt('bad compacted revision');
  if (!isInt(keyCount, 0) || !isInt(n, 0) || !isInt(keyBytes, 0) || !isInt(valueBytes, 0))
    throw corrupt('bad sizes');
  if (!isInt(baseCount, 0, n)) throw corrupt('bad base count');
  return { revision, compactMain, baseCount, keyCount, n, keyBytes, valueBytes };
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
  const { revision, compactMain, baseCount, keyCount, n, keyBytes, valueBytes } = decodeHeader(
    buf,
    4,
    headerLength,
  );
  const keysAt = 4 + headerLength;
  const keyLengthsAt = keysAt + keyBytes;
  const recordKeysAt = keyLengthsAt + 4 * keyCount;
  const valuesAt = recordKeysAt + 4 * n;
  const valueLengthsAt = valuesAt + valueBytes;
  const numbersAt = valueLengthsAt + 4 * n;
  if (numbersAt + NUMBERS_SIZE * n !== end) throw corrupt('sizes do not add up');

  // Keys are decoded in order, each just before the first base record that needs it, so the
  // hash map insertion below finds the fresh key string still in the CPU cache.
  const keyBlob = new BlobReader(buf, keysAt, keyLengthsAt);
  const keys: string[] = [];
  let last = '';
  const takeKey = (): void => {
    const i = keys.length;
    const k = keyBlob.take(view.getUint32(keyLengthsAt + 4 * i, true), 'key');
    if (k.length === 0 || (i > 0 && last >= k)) throw corrupt('keys not strictly ordered');
    keys.push(k);
    last = k;
  };
  const valueBlob = new BlobReader(buf, valuesAt, valueLengthsAt);
  // The newest record of every key so far: the map the restored index adopts.
  const heads = new HeadTable(keyCount);
  // Records with a lease: the index attaches those that end up heads.
  const leased: KeyRev[] = [];
  // The base: one record per key, in key order, each starting its chain.
  let lastBaseKey = -1;
  for (let i = 0; i < baseCount; i++) {
    const keyIndex = view.getUint32(recordKeysAt + 4 * i, true);
    if (keyIndex >= keyCount) throw corrupt('record key out of range');
    if (keyIndex <= lastBaseKey) throw corrupt('base records out of key order');
    lastBaseKey = keyIndex;
    while (keys.length <= keyIndex) takeKey();
    const key = keys[keyIndex] as string;
    const at = numbersAt + NUMBERS_SIZE * i;
    const main = view.getFloat64(at, true);
    const create = view.getFloat64(at + 8, true);
    const version = view.getFloat64(at + 16, true);
    const lease = view.getFloat64(at + 24, true);
    const value = valueBlob.take(view.getUint32(valueLengthsAt + 4 * i, true), 'value');
    checkRecord(true, undefined, main, create, version, lease, value, revision, compactMain, compactMain);
    const rec = keyRev(key, value, main, create, version, lease, undefined);
    heads.set(rec);
    if (lease !== 0) leased.push(rec);
  }
  while (keys.length < keyCount) takeKey();
  keyBlob.finish('key');
  // The log, in commit order: replaying it extends the chains (a record's `prev` is its key's
  // head so far); every record is checked against its predecessor as it is linked.
  const log: KeyRev[] = [];
  let lastMain = compactMain;
  for (let i = baseCount; i < n; i++) {
    const key = keys[view.getUint32(recordKeysAt + 4 * i, true)];
    if (key === undefined) throw corrupt('record key out of range');
    const at = numbersAt + NUMBERS_SIZE * i;
    const main = view.getFloat64(at, true);
    const create = view.getFloat64(at + 8, true);
    const version = view.getFloat64(at + 16, true);
    const lease = view.getFloat64(at + 24, true);
    const value = valueBlob.take(view.getUint32(valueLengthsAt + 4 * i, true), 'value');
    const prev = heads.get(key);
    checkRecord(false, prev, main, create, version, lease, value, revision, compactMain, lastMain);
    const rec =
      version === 0 ? tombstone(key, main, prev) : keyRev(key, value, main, create, version, lease, prev);
    heads.set(rec);
    log.push(rec);
    if (lease !== 0) leased.push(rec);
    lastMain = main;
  }
  valueBlob.finish('value');
  if (heads.size !== keyCount) throw corrupt('a key has no record');
  return { revision, compactMain, keys, heads, leased, log };
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
