import type { HardState, Snapshot } from '@flotilla/raft';
import type { EntryColumns } from './entry-columns.js';
import { corrupt } from './errors.js';
import type { FileSystem } from './file-system.js';
import {
  FRAME_HEADER_SIZE,
  HARD_STATE_SIZE,
  pad8,
  REC_ENTRIES,
  REC_HARD_STATE,
  REC_SEAL,
  REC_SNAPSHOT,
  RECORD_HEADER_SIZE,
  readU64,
  SNAPSHOT_INSTALL,
  SNAPSHOT_MARKER_SIZE,
} from './format.js';
import { parseName, snapshotName, TMP_SUFFIX } from './names.js';
import { ReplayLog, type SnapshotMarker } from './replay.js';
import { isCheckpoint, isZero, type ScannedSegment, scanSegment } from './segment-scan.js';
import { decodeSnapshotFile } from './snapshot-file.js';
import type { WalLogger } from './types.js';

/** A segment that recovery kept. */
export interface SegmentInfo {
  readonly name: string;
  readonly seq: number;
  readonly firstIndex: number;
}

/** The last segment, where writing continues. */
export interface TailInfo extends SegmentInfo {
  /** Where the next frame goes. */
  readonly end: number;
  /** The CRC the next frame chains to. */
  readonly chain: number;
  /** True when it holds more than its checkpoint frame. */
  readonly hasData: boolean;
  /** Set when a torn tail must be cleared: one past the last non-zero byte. */
  readonly dirtyEnd: number | undefined;
}

/** Everything recovery learned, and the repairs to make (only once nothing is corrupt). */
export interface Recovered {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | undefined;
  readonly marker: SnapshotMarker | undefined;
  /** The entries above the snapshot, in order (where they lie in the segment buffers). */
  readonly entries: EntryColumns;
  /** The log's last index (the snapshot's when there are no entries). */
  readonly lastIndex: number;
  readonly segments: SegmentInfo[];
  readonly tail: TailInfo;
  /** A last segment to delete: a cut that a crash interrupted before its predecessor was sealed. */
  readonly dropSegment: string | undefined;
  /** Leftovers nothing refers to: temp files, snapshot files newer than the recorded one. */
  readonly leftovers: string[];
}

/**
 * Reads a WAL directory back: the segments in order (each one's frames checked and chained to
 * the previous segment), the records replayed into the log they describe, and the snapshot the
 * last marker names. Returns undefined for a directory without segments (a new WAL). Throws
 * `WAL_CORRUPT` for any damage a crash cannot explain; changes nothing on disk.
 */
export async function recoverDirectory(
  fs: FileSystem,
  dir: string,
  names: readonly string[],
  logger: WalLogger | undefined,
): Promise<Recovered | undefined> {
  const segNames: Array<{ name: string; seq: number; firstIndex: number }> = [];
  const snapNames: Array<{ name: string; index: number }> = [];
  const leftovers: string[] = [];
  for (const name of names) {
    if (name.endsWith(TMP_SUFFIX)) leftovers.push(name);
    const parsed = parseName(name);
    if (parsed?.kind === 'wal') segNames.push({ name, seq: parsed.seq, firstIndex: parsed.firstIndex });
    else if (parsed?.kind === 'snap') snapNames.push({ name, index: parsed.index });
  }
  if (segNames.length === 0) {
    const first = snapNames[0];
    if (first !== undefined)
      throw corrupt(first.name, 0, 'snapshot files exist but every WAL segment is missing');
    return undefined;
  }
  segNames.sort((a, b) => a.seq - b.seq);
  for (const [i, s] of segNames.entries()) {
    const prev = segNames[i - 1];
    if (prev !== undefined && s.seq !== prev.seq + 1) {
      throw corrupt(s.name, 0, `segment ${prev.seq + 1} is missing before this one`);
    }
  }
  // Read every segment at once (the reads overlap in the I/O thread pool), scan them in order.
  const reads = segNames.map((s) => fs.readFile(`${dir}/${s.name}`));
  for (const r of reads) r.catch(() => undefined); // a failure surfaces when awaited below
  const segs: ScannedSegment[] = [];
  for (const [i, s] of segNames.entries()) {
    const seg = scanSegment(s.name, await (reads[i] as Promise<Uint8Array>));
    if (seg.header.seq !== s.seq || seg.header.firstIndex !== s.firstIndex) {
      throw corrupt(s.name, 8, 'the header does not match the file name');
    }
    if (!isCheckpoint(seg, seg.frames[0] ?? { at: 0, end: 0 })) {
      throw corrupt(s.name, 32, 'the first frame is not a checkpoint');
    }
    segs.push(seg);
  }

  // Every segment but the last ends with a seal naming its successor, and the successor's header
  // carries the chain on. The one exception a crash can cause: the successor was created (with
  // only its checkpoint) but the seal never reached the disk; that cut is undone.
  let dropSegment: string | undefined;
  for (let i = 0; i + 1 < segs.length; i++) {
    const s = segs[i] as ScannedSegment;
    const n = segs[i + 1] as ScannedSegment;
    if (s.sealedTo === undefined) {
      if (i === segs.length - 2 && n.frames.length === 1 && n.bad === undefined) {
        dropSegment = n.name;
        segs.pop();
        logger?.warn(`wal: undoing an interrupted segment cut: removing ${n.name}`, { segment: n.name });
        break;
      }
      throw corrupt(
        s.name,
        s.bad?.at ?? s.end,
        s.bad?.reason ?? 'a segment that is not the last ends without a seal',
      );
    }
    if (s.sealedTo !== n.header.seq || s.chain !== n.header.prevTail) {
      throw corrupt(n.name, 24, 'the segment does not continue the chain of the previous one');
    }
    if (!isZero(s.buf, s.end, s.buf.byteLength)) {
      logger?.warn(`wal: ignoring non-zero bytes after the seal of ${s.name}`, {
        segment: s.name,
        offset: s.end,
      });
    }
  }
  const last = segs[segs.length - 1] as ScannedSegment;
  if (last.sealedTo !== undefined)
    throw corrupt(last.name, last.end, `sealed, but segment ${last.sealedTo} is missing`);
  if (last.bad !== undefined && !last.bad.torn) throw corrupt(last.name, last.bad.at, last.bad.reason);

  const log = replay(segs);
  const entries = log.finish(segs[0]?.name ?? '');
  const marker = log.snapshot;
  let snapshot: Snapshot | undefined;
  if (marker !== undefined) {
    const name = snapshotName(marker.term, marker.index);
    if (!names.includes(name)) throw corrupt(name, 0, 'the snapshot file the WAL records is missing');
    const decoded = decodeSnapshotFile(await fs.readFile(`${dir}/${name}`));
    if ('error' in decoded) throw corrupt(name, decoded.offset, decoded.error);
    const meta = decoded.snapshot.metadata;
    if (decoded.crc !== marker.crc || meta.index !== marker.index || meta.term !== marker.term) {
      throw corrupt(name, 0, 'the snapshot file is not the one the WAL records');
    }
    snapshot = decoded.snapshot;
  }
  for (const s of snapNames) {
    if (
      s.index > (marker?.index ?? -1) ||
      (s.index === marker?.index && s.name !== snapshotName(marker.term, marker.index))
    ) {
      leftovers.push(s.name);
    }
  }
  if (last.bad !== undefined) {
    logger?.warn(`wal: cutting a torn tail off ${last.name} at offset ${last.bad.at}: ${last.bad.reason}`, {
      segment: last.name,
      offset: last.bad.at,
    });
  }
  return {
    hardState: log.hardState,
    snapshot,
    marker,
    entries,
    lastIndex: log.lastIndex,
    segments: segs.map((s) => ({ name: s.name, seq: s.header.seq, firstIndex: s.header.firstIndex })),
    tail: {
      name: last.name,
      seq: last.header.seq,
      firstIndex: last.header.firstIndex,
      end: last.end,
      chain: last.chain,
      hasData: last.frames.length > 1,
      dirtyEnd: last.bad?.dirtyEnd,
    },
    dropSegment,
    leftovers,
  };
}

/**
 * The last snapshot marker of the WAL: a pass over record headers only, so that the replay
 * never decodes entries this snapshot covers.
 */
function lastMarker(segs: readonly ScannedSegment[]): SnapshotMarker | undefined {
  let found: SnapshotMarker | undefined;
  for (const { dv, frames } of segs) {
    for (const frame of frames) {
      for (let p = frame.at + FRAME_HEADER_SIZE; p < frame.end; ) {
        const length = dv.getUint32(p, true);
        if (dv.getUint32(p + 4, true) === REC_SNAPSHOT && length === SNAPSHOT_MARKER_SIZE) {
          const at = p + RECORD_HEADER_SIZE;
          found = { index: readU64(dv, at), term: readU64(dv, at + 8), crc: dv.getUint32(at + 16, true) };
        }
        p += RECORD_HEADER_SIZE + pad8(length);
      }
    }
  }
  return found;
}

/** Replays every record of every frame, in order. */
function replay(segs: readonly ScannedSegment[]): ReplayLog {
  const log = new ReplayLog(segs[0]?.header.firstIndex ?? 1, lastMarker(segs));
  for (const [i, seg] of segs.entries()) {
    const { name, buf, dv } = seg;
    if (i > 0 && seg.header.firstIndex !== log.lastIndex + 1) {
      throw corrupt(
        name,
        16,
        `first index ${seg.header.firstIndex} does not follow the last index ${log.lastIndex}`,
      );
    }
    for (const frame of seg.frames) {
      for (let p = frame.at + FRAME_HEADER_SIZE; p < frame.end; ) {
        const length = dv.getUint32(p, true);
        const type = dv.getUint32(p + 4, true);
        const next = p + RECORD_HEADER_SIZE + pad8(length);
        if (next > frame.end) throw corrupt(name, p, 'a record runs past its frame');
        const at = p + RECORD_HEADER_SIZE;
        if (type === REC_ENTRIES) log.entries(name, buf, dv, at, length);
        else if (type === REC_HARD_STATE && length === HARD_STATE_SIZE) {
          const [term, vote, commit] = [readU64(dv, at), readU64(dv, at + 8), readU64(dv, at + 16)];
          if (term < 0 || vote < 0 || commit < 0) throw corrupt(name, p, 'bad hard state');
          log.hardState = { term, vote, commit };
        } else if (type === REC_SNAPSHOT && length === SNAPSHOT_MARKER_SIZE) {
          const m = { index: readU64(dv, at), term: readU64(dv, at + 8), crc: dv.getUint32(at + 16, true) };
          if (m.index < 0 || m.term < 0) throw corrupt(name, p, 'bad snapshot marker');
          log.marker(name, p, m, (dv.getUint32(at + 20, true) & SNAPSHOT_INSTALL) !== 0);
        } else if (type !== REC_SEAL)
          throw corrupt(name, p, `unknown record type ${type} or bad length ${length}`);
        p = next;
      }
    }
  }
  return log;
}
