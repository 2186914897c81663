/**
 * The byte layout of WAL segments (documented for tools in the package README, "File format").
 * Everything is little-endian; 64-bit integers are written as two 32-bit halves (low first)
 * and must be ≤ 2^53 - 1 (JavaScript's safe integers).
 *
 * A segment is a 32-byte header, then frames. A frame is what one write puts on disk: a
 * 16-byte header with a CRC32C, then records. The frame, not the record, is the unit of
 * atomicity: a torn write damages exactly one frame, and every save in a frame is acknowledged
 * after the same fsync, so dropping a torn frame never drops an acknowledged save.
 *
 * Chaining: each frame stores the CRC of the frame before it (the first frame of a segment
 * stores the segment header's CRC, and that header stores the last CRC of the previous
 * segment). A frame whose stored predecessor is not the CRC just read (a stale frame from
 * another place or file) is refused, so a valid-looking old frame can never be replayed as new.
 */

import type { Entry, HardState } from '@flotilla/raft';
import { crc32c } from '@node-rs/crc32';

/** "FWAL": the first 4 bytes of a segment. */
export const SEGMENT_MAGIC = 0x4c415746;
/** "FRAM": bytes 12..15 of every frame header. */
export const FRAME_MAGIC = 0x4d415246;
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 32;
export const FRAME_HEADER_SIZE = 16;
export const RECORD_HEADER_SIZE = 8;

/** Record types. */
export const REC_ENTRIES = 1;
export const REC_HARD_STATE = 2;
export const REC_SNAPSHOT = 3;
export const REC_SEAL = 4;

/** Bytes of the fixed part of an entries payload and of each entry. */
export const ENTRIES_HEADER_SIZE = 16;
export const ENTRY_HEADER_SIZE = 16;
export const HARD_STATE_SIZE = 24;
export const SNAPSHOT_MARKER_SIZE = 24;
export const SEAL_SIZE = 8;

/** Flag bit of a snapshot marker: the snapshot was installed (it replaces the whole log). */
export const SNAPSHOT_INSTALL = 1;

const TWO_32 = 0x1_0000_0000;

/** Rounds up to a multiple of 8 (records and frames are 8-byte aligned). */
export const pad8 = (n: number): number => (n + 7) & ~7;

export function writeU64(dv: DataView, at: number, n: number): void {
  dv.setUint32(at, n % TWO_32, true);
  dv.setUint32(at + 4, Math.floor(n / TWO_32), true);
}

/** Reads a u64; returns -1 when it exceeds 2^53 - 1 (which no writer produces). */
export function readU64(dv: DataView, at: number): number {
  const hi = dv.getUint32(at + 4, true);
  if (hi >= 0x20_0000) return -1;
  return hi * TWO_32 + dv.getUint32(at, true);
}

export interface SegmentHeader {
  readonly seq: number;
  /** The index the segment's first new entry would have (last index at the cut + 1). */
  readonly firstIndex: number;
  /** The chain value at the end of the previous segment (0 for the first segment ever). */
  readonly prevTail: number;
  /** CRC of the header: the chain value the first frame of this segment refers to. */
  readonly crc: number;
}

export function encodeSegmentHeader(
  seq: number,
  firstIndex: number,
  prevTail: number,
): { bytes: Uint8Array; crc: number } {
  const bytes = new Uint8Array(SEGMENT_HEADER_SIZE);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, SEGMENT_MAGIC, true);
  dv.setUint16(4, FORMAT_VERSION, true);
  dv.setUint16(6, SEGMENT_HEADER_SIZE, true);
  writeU64(dv, 8, seq);
  writeU64(dv, 16, firstIndex);
  dv.setUint32(24, prevTail, true);
  const crc = crc32c(bytes.subarray(0, 28));
  dv.setUint32(28, crc, true);
  return { bytes, crc };
}

/** Parses a segment header; a string says what is wrong with it. */
export function decodeSegmentHeader(buf: Uint8Array): SegmentHeader | string {
  if (buf.byteLength < SEGMENT_HEADER_SIZE)
    return `file is shorter (${buf.byteLength} bytes) than a segment header`;
  const dv = new DataView(buf.buffer, buf.byteOffset, SEGMENT_HEADER_SIZE);
  if (dv.getUint32(0, true) !== SEGMENT_MAGIC) return 'bad segment magic';
  const crc = dv.getUint32(28, true);
  if (crc32c(buf.subarray(0, 28)) !== crc) return 'segment header fails its checksum';
  if (dv.getUint16(4, true) !== FORMAT_VERSION) return `unsupported format version ${dv.getUint16(4, true)}`;
  if (dv.getUint16(6, true) !== SEGMENT_HEADER_SIZE) return 'bad segment header size';
  const seq = readU64(dv, 8);
  const firstIndex = readU64(dv, 16);
  if (seq < 1 || firstIndex < 1) return 'bad sequence number or first index';
  return { seq, firstIndex, prevTail: dv.getUint32(24, true), crc };
}

/**
 * Assembles frames in one growable buffer, so a whole group-commit batch becomes one write of
 * one preassembled buffer. Usage: `begin()`, `add*()` records, `finish(prev)`.
 */
export class FrameBuilder {
  #buf = new Uint8Array(512);
  #dv = new DataView(this.#buf.buffer);
  #start = 0;
  #end = 0;

  /** Starts a new frame at the beginning of the buffer (the previous frame's bytes are dropped). */
  begin(): void {
    this.#start = 0;
    this.#end = FRAME_HEADER_SIZE;
  }

  /** Bytes of record bodies added since `begin()`. */
  get bodySize(): number {
    return this.#end - this.#start - FRAME_HEADER_SIZE;
  }

  addEntries(entries: readonly Entry[]): void {
    let size = ENTRIES_HEADER_SIZE;
    for (const e of entries) size += ENTRY_HEADER_SIZE + e.data.byteLength;
    const first = entries[0];
    const at = this.#record(REC_ENTRIES, size);
    const dv = this.#dv;
    const buf = this.#buf;
    writeU64(dv, at, first === undefined ? 0 : first.index);
    dv.setUint32(at + 8, entries.length, true);
    dv.setUint32(at + 12, 0, true);
    let p = at + ENTRIES_HEADER_SIZE;
    for (const e of entries) {
      writeU64(dv, p, e.term);
      dv.setUint32(p + 8, e.type === 'confChange' ? 1 : 0, true);
      dv.setUint32(p + 12, e.data.byteLength, true);
      buf.set(e.data, p + ENTRY_HEADER_SIZE);
      p += ENTRY_HEADER_SIZE + e.data.byteLength;
    }
  }

  addHardState(hs: HardState): void {
    const at = this.#record(REC_HARD_STATE, HARD_STATE_SIZE);
    writeU64(this.#dv, at, hs.term);
    writeU64(this.#dv, at + 8, hs.vote);
    writeU64(this.#dv, at + 16, hs.commit);
  }

  addSnapshot(index: number, term: number, fileCrc: number, install: boolean): void {
    const at = this.#record(REC_SNAPSHOT, SNAPSHOT_MARKER_SIZE);
    writeU64(this.#dv, at, index);
    writeU64(this.#dv, at + 8, term);
    this.#dv.setUint32(at + 16, fileCrc, true);
    this.#dv.setUint32(at + 20, install ? SNAPSHOT_INSTALL : 0, true);
  }

  addSeal(nextSeq: number): void {
    writeU64(this.#dv, this.#record(REC_SEAL, SEAL_SIZE), nextSeq);
  }

  /** Closes the frame chained after `prev`; the bytes are valid until the next `begin()`. */
  finish(prev: number): { bytes: Uint8Array; crc: number } {
    const dv = this.#dv;
    const s = this.#start;
    dv.setUint32(s + 4, this.#end - s - FRAME_HEADER_SIZE, true);
    dv.setUint32(s + 8, prev, true);
    dv.setUint32(s + 12, FRAME_MAGIC, true);
    const crc = crc32c(this.#buf.subarray(s + 4, this.#end));
    dv.setUint32(s, crc, true);
    return { bytes: this.#buf.subarray(s, this.#end), crc };
  }

  /** Reserves a record of `payload` bytes (zeroing its padding) and returns the payload offset. */
  #record(type: number, payload: number): number {
    const at = this.#end;
    const size = RECORD_HEADER_SIZE + pad8(payload);
    this.#reserve(at + size);
    this.#dv.setUint32(at, payload, true);
    this.#dv.setUint32(at + 4, type, true);
    this.#buf.fill(0, at + RECORD_HEADER_SIZE + payload, at + size);
    this.#end = at + size;
    return at + RECORD_HEADER_SIZE;
  }

  #reserve(size: number): void {
    if (size <= this.#buf.byteLength) return;
    let cap = this.#buf.byteLength * 2;
    while (cap < size) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.#buf.subarray(0, this.#end));
    this.#buf = grown;
    this.#dv = new DataView(grown.buffer);
  }
}

/** On-disk bytes of the records a save produces (for segment rollover decisions). */
export function entriesRecordSize(entries: readonly Entry[]): number {
  let size = ENTRIES_HEADER_SIZE;
  for (const e of entries) size += ENTRY_HEADER_SIZE + e.data.byteLength;
  return RECORD_HEADER_SIZE + pad8(size);
}
export const HARD_STATE_RECORD_SIZE = RECORD_HEADER_SIZE + HARD_STATE_SIZE;
export const SNAPSHOT_RECORD_SIZE = RECORD_HEADER_SIZE + SNAPSHOT_MARKER_SIZE;

/** The result of looking at the bytes at one offset of a segment. */
export type FrameProbe =
  | { readonly ok: true; readonly crc: number; readonly prev: number; readonly end: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks the frame at `at` without trusting anything around it: magic, a length that fits the
 * buffer, the checksum. The chain (`prev`) is the caller's to check.
 */
export function probeFrame(buf: Uint8Array, dv: DataView, at: number): FrameProbe {
  if (at + FRAME_HEADER_SIZE > buf.byteLength)
    return { ok: false, reason: 'a frame header runs past the end of the file' };
  if (dv.getUint32(at + 12, true) !== FRAME_MAGIC) return { ok: false, reason: 'bad frame magic' };
  const length = dv.getUint32(at + 4, true);
  if (length === 0 || length % 8 !== 0) return { ok: false, reason: `bad frame length ${length}` };
  const end = at + FRAME_HEADER_SIZE + length;
  if (end > buf.byteLength)
    return { ok: false, reason: `frame length ${length} runs past the end of the file` };
  const crc = dv.getUint32(at, true);
  if (crc32c(buf.subarray(at + 4, end)) !== crc) return { ok: false, reason: 'frame fails its checksum' };
  return { ok: true, crc, prev: dv.getUint32(at + 8, true), end };
}
