/**
 * Snapshot files: the snapshot's metadata and data under one CRC32C, written to a temporary
 * file, fsynced, renamed into place and the directory fsynced before the WAL records a marker
 * naming it (with the same CRC), so a marker never points at a file that could be missing or
 * half-written after a crash.
 *
 * Layout (little-endian), byte by byte:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic `FSNP` |
 * | 4 | 2 | format version (1) |
 * | 6 | 2 | header size (24) |
 * | 8 | 4 | metadata length M |
 * | 12 | 4 | zero |
 * | 16 | 8 | data length D |
 * | 24 | M | metadata: msgpack map `{ index, term, confState }` |
 * | 24+M | D | the snapshot's data |
 * | 24+M+D | 4 | CRC32C of bytes [0, 24+M+D) |
 */

import type { ConfState, Snapshot } from '@flotilla/raft';
import { crc32c } from '@node-rs/crc32';
import { Packr } from 'msgpackr';
import { FORMAT_VERSION, readU64, writeU64 } from './format.js';

/** "FSNP" */
export const SNAPSHOT_MAGIC = 0x504e5346;
const HEADER = 24;
const packr = new Packr({ useRecords: false, variableMapSize: true });

/** The parts of a snapshot file (written with three writes, so the data is never copied) and its CRC. */
export function encodeSnapshotFile(snap: Snapshot): { parts: Uint8Array[]; crc: number } {
  const { index, term, confState } = snap.metadata;
  const meta = packr.pack({
    index,
    term,
    confState: {
      voters: [...confState.voters],
      learners: [...confState.learners],
      votersOutgoing: [...confState.votersOutgoing],
      learnersNext: [...confState.learnersNext],
      autoLeave: confState.autoLeave,
    },
  });
  const head = new Uint8Array(HEADER + meta.byteLength);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, SNAPSHOT_MAGIC, true);
  dv.setUint16(4, FORMAT_VERSION, true);
  dv.setUint16(6, HEADER, true);
  dv.setUint32(8, meta.byteLength, true);
  writeU64(dv, 16, snap.data.byteLength);
  head.set(meta, HEADER);
  const crc = crc32c(snap.data, crc32c(head));
  const trailer = new Uint8Array(4);
  new DataView(trailer.buffer).setUint32(0, crc, true);
  return { parts: [head, snap.data, trailer], crc };
}

/** Parses and verifies a snapshot file; a string says what is wrong (and where). */
export function decodeSnapshotFile(
  buf: Uint8Array,
): { snapshot: Snapshot; crc: number } | { error: string; offset: number } {
  if (buf.byteLength < HEADER + 4) return { error: `file is too short (${buf.byteLength} bytes)`, offset: 0 };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== SNAPSHOT_MAGIC) return { error: 'bad snapshot magic', offset: 0 };
  const metaLength = dv.getUint32(8, true);
  const dataLength = readU64(dv, 16);
  const end = HEADER + metaLength + dataLength;
  if (dataLength < 0 || end + 4 !== buf.byteLength) {
    return {
      error: `lengths (metadata ${metaLength}, data ${dataLength}) do not match the file size`,
      offset: 8,
    };
  }
  const crc = dv.getUint32(end, true);
  if (crc32c(buf.subarray(0, end)) !== crc) return { error: 'snapshot file fails its checksum', offset: end };
  if (dv.getUint16(4, true) !== FORMAT_VERSION || dv.getUint16(6, true) !== HEADER) {
    return { error: 'unsupported snapshot format version', offset: 4 };
  }
  let meta: unknown;
  try {
    meta = packr.unpack(buf.subarray(HEADER, HEADER + metaLength));
  } catch (err) {
    return { error: `snapshot metadata does not decode: ${String(err)}`, offset: HEADER };
  }
  const metadata = checkMetadata(meta);
  if (metadata === undefined) return { error: 'snapshot metadata has the wrong shape', offset: HEADER };
  return { snapshot: { metadata, data: buf.subarray(HEADER + metaLength, end) }, crc };
}

const isIds = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) > 0);
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function checkMetadata(v: unknown): Snapshot['metadata'] | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as { index?: unknown; term?: unknown; confState?: unknown };
  if (!isIndex(m.index) || !isIndex(m.term) || typeof m.confState !== 'object' || m.confState === null) {
    return undefined;
  }
  const c = m.confState as Record<string, unknown>;
  if (!isIds(c.voters) || !isIds(c.learners) || !isIds(c.votersOutgoing) || !isIds(c.learnersNext))
    return undefined;
  if (typeof c.autoLeave !== 'boolean') return undefined;
  const confState: ConfState = {
    voters: c.voters,
    learners: c.learners,
    votersOutgoing: c.votersOutgoing,
    learnersNext: c.learnersNext,
    autoLeave: c.autoLeave,
  };
  return { index: m.index, term: m.term, confState };
}
