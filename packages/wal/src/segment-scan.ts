import { corrupt } from './errors.js';
import {
  decodeSegmentHeader,
  FRAME_HEADER_SIZE,
  pad8,
  probeFrame,
  REC_HARD_STATE,
  REC_SEAL,
  REC_SNAPSHOT,
  RECORD_HEADER_SIZE,
  readU64,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
} from './format.js';

/** A valid frame of a segment. */
export interface FrameRef {
  readonly at: number;
  readonly end: number;
}

/** Where the valid frames of a segment stop, when something other than zeros follows them. */
export interface BadTail {
  readonly at: number;
  readonly reason: string;
  /**
   * True when the damage can only be what a crash leaves: nothing valid after it, or a hole of
   * zeros (a write that never reached the disk) before the next valid frame.
   */
  readonly torn: boolean;
  /** One past the last non-zero byte of the file (what a repair must clear). */
  readonly dirtyEnd: number;
}

/** The structure of one segment file, checked frame by frame. */
export interface ScannedSegment {
  readonly name: string;
  readonly header: SegmentHeader;
  readonly buf: Uint8Array;
  readonly dv: DataView;
  readonly frames: readonly FrameRef[];
  /** Offset just past the last valid frame (where the next frame would be written). */
  readonly end: number;
  /** The chain value after the last valid frame. */
  readonly chain: number;
  /** The successor's sequence number when the segment ends with a seal frame. */
  readonly sealedTo: number | undefined;
  readonly bad: BadTail | undefined;
}

const SECTOR = 512;

/**
 * Scans a segment: the header, then frames while each is valid and chains to the one before.
 * Stops at a seal, at zeros (the preallocated, never-written rest of the file), or at the first
 * frame that does not check, which it then classifies (see {@link BadTail}). Throws
 * `WAL_CORRUPT` for a bad header or a bad first frame (the header and the first frame, the
 * checkpoint, are made durable before the segment gets its name, so no crash can damage them).
 */
export function scanSegment(name: string, buf: Uint8Array): ScannedSegment {
  const header = decodeSegmentHeader(buf);
  if (typeof header === 'string') throw corrupt(name, 0, header);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames: FrameRef[] = [];
  let at = SEGMENT_HEADER_SIZE;
  let chain = header.crc;
  let sealedTo: number | undefined;
  let bad: BadTail | undefined;
  while (at < buf.byteLength) {
    const probe = probeFrame(buf, dv, at);
    if (probe.ok && probe.prev === chain) {
      frames.push({ at, end: probe.end });
      chain = probe.crc;
      at = probe.end;
      sealedTo = sealOf(dv, frames[frames.length - 1] as FrameRef);
      if (sealedTo !== undefined) break;
      continue;
    }
    if (isZero(buf, at, buf.byteLength)) break;
    const reason = probe.ok ? 'frame does not chain to the frame before it (a stale frame)' : probe.reason;
    bad = classify(buf, dv, at, probe.ok ? at : at + 8, reason);
    break;
  }
  if (frames.length === 0) {
    throw corrupt(
      name,
      SEGMENT_HEADER_SIZE,
      `the checkpoint frame is missing or damaged (${bad?.reason ?? 'no frame'})`,
    );
  }
  return { name, header, buf, dv, frames, end: at, chain, sealedTo, bad };
}

/** The next sequence number when `frame` is a seal frame (a single seal record). */
function sealOf(dv: DataView, frame: FrameRef): number | undefined {
  const p = frame.at + FRAME_HEADER_SIZE;
  if (dv.getUint32(p + 4, true) !== REC_SEAL) return undefined;
  return readU64(dv, p + RECORD_HEADER_SIZE);
}

/** True when the first frame of `seg` is a checkpoint (hard state and snapshot records only). */
export function isCheckpoint(seg: ScannedSegment, frame: FrameRef): boolean {
  for (let p = frame.at + FRAME_HEADER_SIZE; p < frame.end; ) {
    const type = seg.dv.getUint32(p + 4, true);
    if (type !== REC_HARD_STATE && type !== REC_SNAPSHOT) return false;
    p += RECORD_HEADER_SIZE + pad8(seg.dv.getUint32(p, true));
  }
  return true;
}

/**
 * Decides whether bad bytes at `at` are a torn tail or corruption. A crash leaves either nothing
 * valid after the damage (a torn last write, perhaps with garbage), or a hole: pages of the last
 * writes that never reached the disk read back as the zeros the segment was preallocated with,
 * while later pages did. A sector (512 bytes) of the damaged region that reads all zeros is such
 * a hole (etcd applies the same test to torn entries). Anything else followed by a valid frame
 * is damage to data that was once complete: corruption.
 */
function classify(buf: Uint8Array, dv: DataView, at: number, scanFrom: number, reason: string): BadTail {
  // One past the last non-zero byte: skip zero chunks natively, then finish byte by byte.
  let dirtyEnd = buf.byteLength;
  while (dirtyEnd - ZERO_CHUNK.length > at && isZero(buf, dirtyEnd - ZERO_CHUNK.length, dirtyEnd)) {
    dirtyEnd -= ZERO_CHUNK.length;
  }
  while (dirtyEnd > at && buf[dirtyEnd - 1] === 0) dirtyEnd--;
  let next = -1;
  for (let y = scanFrom; y + FRAME_HEADER_SIZE <= dirtyEnd; y += 8) {
    if (probeFrame(buf, dv, y).ok) {
      next = y;
      break;
    }
  }
  if (next < 0) return { at, reason, torn: true, dirtyEnd };
  return {
    at,
    reason: `${reason}; a valid frame follows at offset ${next}`,
    torn: hasZeroSector(buf, at, next),
    dirtyEnd,
  };
}

/**
 * True when [from, to) holds a hole: its start up to the next sector boundary is all zeros (the
 * lost page began before the damaged frame, so even the frame's header is missing), or a whole
 * aligned sector inside it is. A zero run that ends mid-sector is not counted: entry data
 * ending in zeros must not make bit rot look like a lost write.
 */
function hasZeroSector(buf: Uint8Array, from: number, to: number): boolean {
  const firstBoundary = Math.min(from - (from % SECTOR) + SECTOR, to);
  if (from % SECTOR !== 0 && firstBoundary - from >= 8 && isZero(buf, from, firstBoundary)) return true;
  for (let s = from % SECTOR === 0 ? from : firstBoundary; s + SECTOR <= to; s += SECTOR) {
    if (isZero(buf, s, s + SECTOR)) return true;
  }
  return false;
}

const ZERO_CHUNK = new Uint8Array(64 * 1024);

/** True when bytes [from, to) are all zero (compared 64 KiB at a time, natively). */
export function isZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let p = from; p < to; p += ZERO_CHUNK.length) {
    const n = Math.min(ZERO_CHUNK.length, to - p);
    if (Buffer.compare(buf.subarray(p, p + n), ZERO_CHUNK.subarray(0, n)) !== 0) return false;
  }
  return true;
}
