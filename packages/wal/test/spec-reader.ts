/**
 * An independent reader of the WAL file format, written from the README's "File format" section
 * only (it shares no code with src/). The format test uses it to prove the documentation is
 * enough for a tool to read a WAL directory.
 */
import { crc32c } from '@node-rs/crc32';
import { unpack } from 'msgpackr';

export interface SpecRecord {
  type: number;
  /** Decoded fields, per type. */
  value: Record<string, unknown>;
}
export interface SpecFrame {
  offset: number;
  crc: number;
  prev: number;
  records: SpecRecord[];
}
export interface SpecSegment {
  seq: number;
  firstIndex: number;
  prevTail: number;
  headerCrc: number;
  frames: SpecFrame[];
}

const u64 = (dv: DataView, at: number) => dv.getUint32(at + 4, true) * 2 ** 32 + dv.getUint32(at, true);

export function readSegment(buf: Uint8Array): SpecSegment {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (Buffer.from(buf.subarray(0, 4)).toString('latin1') !== 'FWAL') throw new Error('magic');
  if (dv.getUint16(4, true) !== 1 || dv.getUint16(6, true) !== 32) throw new Error('version/size');
  const headerCrc = dv.getUint32(28, true);
  if (crc32c(buf.subarray(0, 28)) !== headerCrc) throw new Error('header crc');
  const seg: SpecSegment = {
    seq: u64(dv, 8),
    firstIndex: u64(dv, 16),
    prevTail: dv.getUint32(24, true),
    headerCrc,
    frames: [],
  };
  let at = 32;
  let chain = headerCrc;
  while (at + 16 <= buf.length) {
    const length = dv.getUint32(at + 4, true);
    if (length === 0) break; // zeros: the preallocated, unwritten rest
    if (Buffer.from(buf.subarray(at + 12, at + 16)).toString('latin1') !== 'FRAM')
      throw new Error(`frame magic at ${at}`);
    const crc = dv.getUint32(at, true);
    if (crc32c(buf.subarray(at + 4, at + 16 + length)) !== crc) throw new Error(`frame crc at ${at}`);
    const prev = dv.getUint32(at + 8, true);
    if (prev !== chain) throw new Error(`frame at ${at} does not chain`);
    const frame: SpecFrame = { offset: at, crc, prev, records: [] };
    for (let p = at + 16; p < at + 16 + length; ) {
      const len = dv.getUint32(p, true);
      const type = buf[p + 4] ?? 0;
      const q = p + 8;
      frame.records.push({ type, value: decodeRecord(type, dv, buf, q, len) });
      p = q + Math.ceil(len / 8) * 8;
    }
    seg.frames.push(frame);
    chain = crc;
    at += 16 + length;
  }
  return seg;
}

function decodeRecord(
  type: number,
  dv: DataView,
  buf: Uint8Array,
  q: number,
  len: number,
): Record<string, unknown> {
  switch (type) {
    case 1: {
      const first = u64(dv, q);
      const count = dv.getUint32(q + 8, true);
      const entries: Array<{ index: number; term: number; type: number; data: string }> = [];
      let p = q + 16;
      for (let k = 0; k < count; k++) {
        const dataLength = dv.getUint32(p + 12, true);
        entries.push({
          index: first + k,
          term: u64(dv, p),
          type: buf[p + 8] ?? -1,
          data: Buffer.from(buf.subarray(p + 16, p + 16 + dataLength)).toString('hex'),
        });
        p += 16 + dataLength;
      }
      if (p !== q + len) throw new Error('entries length');
      return { first, count, entries };
    }
    case 2:
      return { term: u64(dv, q), vote: u64(dv, q + 8), commit: u64(dv, q + 16) };
    case 3:
      return {
        index: u64(dv, q),
        term: u64(dv, q + 8),
        crc: dv.getUint32(q + 16, true),
        install: (dv.getUint32(q + 20, true) & 1) === 1,
      };
    case 4:
      return { nextSeq: u64(dv, q) };
    default:
      throw new Error(`record type ${type}`);
  }
}

export function readSnapshotFile(buf: Uint8Array): {
  meta: { index: number; term: number; confState: unknown };
  data: string;
  crc: number;
} {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (Buffer.from(buf.subarray(0, 4)).toString('latin1') !== 'FSNP') throw new Error('magic');
  if (dv.getUint16(4, true) !== 1 || dv.getUint16(6, true) !== 24) throw new Error('version/size');
  const m = dv.getUint32(8, true);
  const d = u64(dv, 16);
  const end = 24 + m + d;
  if (buf.length !== end + 4) throw new Error('size');
  const crc = dv.getUint32(end, true);
  if (crc32c(buf.subarray(0, end)) !== crc) throw new Error('crc');
  const meta = unpack(buf.subarray(24, 24 + m)) as { index: number; term: number; confState: unknown };
  return { meta, data: Buffer.from(buf.subarray(24 + m, end)).toString('hex'), crc };
}
