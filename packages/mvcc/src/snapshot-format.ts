/**
 * The snapshot byte layout (format 1), shared by the encoder and the decoder.
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
 * Records come in two parts: first the "base", the oldest retained record of each key when it
 * is older than the compacted revision (compaction keeps exactly one such version per key), in
 * key order; then the revision log in commit order. Together they are every retained record,
 * and replaying them in this order rebuilds every key's chain and the log exactly. The encoding
 * is a pure function of the store's history, so replicas that applied the same operations
 * produce byte-identical snapshots (`compactMain` is -1 for a store never compacted).
 *
 * Why columns: a million keys become a few large copies instead of a million small msgpack
 * values, and the numbers need no parsing. The format is the one every release has written;
 * the header's format number lets a later layout be told apart from this one.
 */
import type { Buffer } from 'node:buffer';
import { Packr } from 'msgpackr';
import { MvccError } from './errors.js';

export const MAGIC = 'flotilla-mvcc';
export const FORMAT = 1;
/** The header's fields: magic, format, revision, compactMain, baseCount, keyCount, n, keyBytes, valueBytes. */
export const HEADER_FIELDS = 9;
/** Bytes of the numbers of one record (main, create, version, lease as f64). */
export const NUMBERS_SIZE = 32;

export const packr = new Packr({ useRecords: false });

export function corrupt(why: string, cause?: unknown): MvccError {
  return new MvccError('CORRUPT_SNAPSHOT', `snapshot refused: ${why}`, cause === undefined ? {} : { cause });
}

/**
 * Strings are decoded from the buffer this many bytes at a time: one native call per chunk
 * instead of one per key or value, and far below V8's maximum string length (about 2^29
 * characters), which a whole blob could exceed.
 */
export const STRING_CHUNK = 4 * 1024 * 1024;

/**
 * Reads binary strings back from a blob, in order. The blob is decoded to strings a chunk at a
 * time and each result is a slice of its chunk (V8 makes slices of 13 characters or more views
 * into the chunk, so a value costs a small object instead of a copy).
 *
 * Invariant: `chunk` holds bytes `[chunkAt, chunkAt + chunk.length)` of `buf`; `pos` is the
 * next unread byte, `chunkAt <= pos <= end`.
 */
export class BlobReader {
  private readonly buf: Buffer;
  private readonly end: number;
  private chunk = '';
  private chunkAt: number;
  private pos: number;

  constructor(buf: Buffer, start: number, end: number) {
    this.buf = buf;
    this.end = end;
    this.chunkAt = start;
    this.pos = start;
  }

  /**
   * The next `len` bytes as a binary string.
   *
   * @throws MvccError `CORRUPT_SNAPSHOT` when they run past the blob.
   */
  take(len: number, what: string): string {
    const pos = this.pos;
    if (len > this.end - pos) throw corrupt(`${what} lengths exceed their blob`);
    this.pos = pos + len;
    if (len === 0) return '';
    let rel = pos - this.chunkAt;
    if (rel + len > this.chunk.length) {
      const to = Math.min(this.end, pos + Math.max(STRING_CHUNK, len));
      this.chunk = this.buf.toString('latin1', pos, to);
      this.chunkAt = pos;
      rel = 0;
    }
    return this.chunk.slice(rel, rel + len);
  }

  /** @throws MvccError `CORRUPT_SNAPSHOT` unless every byte of the blob was taken. */
  finish(what: string): void {
    if (this.pos !== this.end) throw corrupt(`${what} lengths do not cover their blob`);
  }
}
