import type { HardState } from '@flotilla/raft';
import type { FileHandle, FileSystem } from './file-system.js';
import { encodeSegmentHeader, FRAME_HEADER_SIZE, FrameBuilder, SEGMENT_HEADER_SIZE } from './format.js';
import { segmentName, segmentTmpName } from './names.js';
import type { SegmentInfo } from './recovery.js';
import type { SnapshotMarker } from './replay.js';

/** What has been written to the WAL so far: restated at the start of each new segment. */
export interface WrittenState {
  hardState: HardState;
  marker: SnapshotMarker | undefined;
  /** The log's last index after every frame written so far. */
  lastIndex: number;
}

/** The segment being written. */
interface Tail extends SegmentInfo {
  readonly handle: FileHandle;
  /** Where the next frame goes. */
  end: number;
  /** CRC of the last frame (or of the header): what the next frame chains to. */
  chain: number;
  /** True once it holds more than its checkpoint. */
  hasData: boolean;
}

/**
 * The chain of segment files: writes frames at the end of the last one, starts a new one when it
 * is full (a "cut"), and drops old ones on compaction.
 *
 * A cut, in this order, so that a crash at any point leaves a readable WAL:
 * 1. fsync the full segment (every frame in it is durable, so only its seal can be torn);
 * 2. write the new segment's header and checkpoint (the current hard state and snapshot marker,
 *    so the segment can be replayed without the ones before it) into a preallocated temp file,
 *    fsync it, rename it to its name, fsync the directory: the segment now exists, complete;
 * 3. append a seal frame (naming the successor) to the old segment and fsync it. The new
 *    header already carries the CRC of that seal, so the chain runs across the files.
 * Only then does data go to the new segment. A crash between 2 and 3 leaves an unsealed
 * segment followed by one holding only a checkpoint; recovery removes the latter. A sealed last
 * segment, by contrast, proves its successor was lost.
 *
 * Preallocation: each segment is filled with zeros to `segmentBytes` before use, by a
 * background task that prepares the next segment while the current one fills. Overwriting
 * allocated blocks lets fdatasync skip the metadata update an append needs (measured: about
 * twice the fsync rate on ext4 here; see the README).
 */
export class SegmentLog {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #guard: () => void;
  readonly #segments: SegmentInfo[];
  #tail: Tail;
  #next: { seq: number; handle: Promise<FileHandle> } | undefined;
  readonly #frames = new FrameBuilder();

  constructor(
    fs: FileSystem,
    dir: string,
    segmentBytes: number,
    segments: SegmentInfo[],
    tail: Tail,
    guard: () => void,
  ) {
    this.#fs = fs;
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#segments = segments;
    this.#tail = tail;
    this.#guard = guard;
    this.#prepareNext();
  }

  /**
   * Creates the first segment of a new WAL: header and an empty checkpoint, preallocated, made
   * durable under its name.
   */
  static async create(
    fs: FileSystem,
    dir: string,
    segmentBytes: number,
    guard: () => void,
  ): Promise<SegmentLog> {
    const frames = new FrameBuilder();
    const { handle, end, chain } = await writeNewSegment(fs, dir, frames, segmentBytes, guard, {
      seq: 1,
      firstIndex: 1,
      prevTail: 0,
      written: { hardState: { term: 0, vote: 0, commit: 0 }, marker: undefined, lastIndex: 0 },
      prepared: undefined,
    });
    const info = { name: segmentName(1, 1), seq: 1, firstIndex: 1 };
    return new SegmentLog(
      fs,
      dir,
      segmentBytes,
      [info],
      { ...info, handle, end, chain, hasData: false },
      guard,
    );
  }

  /** The CRC the next frame chains to. */
  get chain(): number {
    return this.#tail.chain;
  }

  /** The segments, oldest first. */
  get segments(): readonly SegmentInfo[] {
    return this.#segments;
  }

  /**
   * True when a frame of `frameBody` bytes should not go into the current segment: it would pass
   * `segmentBytes` and the segment already holds data (an oversized frame goes into a fresh
   * segment alone rather than never being written).
   */
  needsCut(frameBody: number): boolean {
    const t = this.#tail;
    return t.hasData && t.end + FRAME_HEADER_SIZE + frameBody > this.#segmentBytes;
  }

  /** Writes one frame (built with {@link FrameBuilder.finish} on {@link chain}) at the end. */
  async writeFrame(frame: { bytes: Uint8Array; crc: number }): Promise<void> {
    this.#guard();
    const t = this.#tail;
    await t.handle.write(frame.bytes, t.end);
    t.end += frame.bytes.byteLength;
    t.chain = frame.crc;
    t.hasData = true;
  }

  /** Makes every frame written so far durable. */
  async sync(): Promise<void> {
    this.#guard();
    await this.#tail.handle.sync();
  }

  /** Starts a new segment (see the class comment for the order and why). */
  async cut(written: WrittenState): Promise<void> {
    this.#guard();
    const old = this.#tail;
    await old.handle.sync();
    const seq = old.seq + 1;
    this.#frames.begin();
    this.#frames.addSeal(seq);
    const sealFrame = this.#frames.finish(old.chain);
    const seal = { bytes: sealFrame.bytes.slice(), crc: sealFrame.crc };
    const prepared = this.#next?.seq === seq ? this.#next.handle : undefined;
    this.#next = undefined;
    const firstIndex = written.lastIndex + 1;
    const { handle, end, chain } = await writeNewSegment(
      this.#fs,
      this.#dir,
      this.#frames,
      this.#segmentBytes,
      this.#guard,
      {
        seq,
        firstIndex,
        prevTail: seal.crc,
        written,
        prepared,
      },
    );
    this.#guard();
    await old.handle.write(seal.bytes, old.end);
    await old.handle.sync();
    await old.handle.close();
    const info = { name: segmentName(seq, firstIndex), seq, firstIndex };
    this.#segments.push(info);
    this.#tail = { ...info, handle, end, chain, hasData: false };
    this.#prepareNext();
  }

  /**
   * Removes, oldest first, every segment whose entries are all at or below `index` (segment k's
   * entries are all below segment k+1's first index). The last segment always stays. Each
   * removal is made durable before the next, so a crash can never leave a hole in the sequence.
   */
  async dropThrough(index: number): Promise<void> {
    for (;;) {
      const [first, second] = this.#segments;
      if (first === undefined || second === undefined || second.firstIndex - 1 > index) return;
      this.#guard();
      await this.#fs.remove(`${this.#dir}/${first.name}`);
      await this.#fs.fsyncDir(this.#dir);
      this.#segments.shift();
    }
  }

  /**
   * Closes the files. A prepared next segment stays a temp file (recovery removes it); a failure
   * to prepare it does not matter any more.
   */
  async close(): Promise<void> {
    const next = this.#next;
    this.#next = undefined;
    await next?.handle.then((h) => h.close()).catch(() => undefined);
    await this.#tail.handle.close();
  }

  /** Starts preallocating the next segment in the background. */
  #prepareNext(): void {
    const seq = this.#tail.seq + 1;
    const handle = (async () => {
      this.#guard();
      const h = await this.#fs.create(`${this.#dir}/${segmentTmpName(seq)}`);
      await h.allocate(Math.max(this.#segmentBytes, SEGMENT_HEADER_SIZE));
      await h.sync();
      return h;
    })();
    // The error (if any) surfaces when the cut awaits the handle; do not let it go unhandled.
    handle.catch(() => undefined);
    this.#next = { seq, handle };
  }
}

/**
 * Writes a new segment's header and checkpoint into a (prepared or new) temp file, makes it
 * durable, and renames it into place with a directory fsync.
 */
async function writeNewSegment(
  fs: FileSystem,
  dir: string,
  frames: FrameBuilder,
  segmentBytes: number,
  guard: () => void,
  s: {
    seq: number;
    firstIndex: number;
    prevTail: number;
    written: WrittenState;
    prepared: Promise<FileHandle> | undefined;
  },
): Promise<{ handle: FileHandle; end: number; chain: number }> {
  const header = encodeSegmentHeader(s.seq, s.firstIndex, s.prevTail);
  frames.begin();
  frames.addHardState(s.written.hardState);
  const m = s.written.marker;
  if (m !== undefined) frames.addSnapshot(m.index, m.term, m.crc, false);
  const checkpoint = frames.finish(header.crc);
  const tmp = `${dir}/${segmentTmpName(s.seq)}`;
  guard();
  const handle = await (s.prepared ?? fs.create(tmp));
  const start = new Uint8Array(SEGMENT_HEADER_SIZE + checkpoint.bytes.byteLength);
  start.set(header.bytes);
  start.set(checkpoint.bytes, SEGMENT_HEADER_SIZE);
  guard();
  await handle.write(start, 0);
  if (s.prepared === undefined) await handle.allocate(Math.max(segmentBytes, start.byteLength));
  await handle.sync();
  guard();
  const path = `${dir}/${segmentName(s.seq, s.firstIndex)}`;
  await fs.rename(tmp, path);
  await fs.fsyncDir(dir);
  // Continue through a handle opened under the final name, so errors and fault hooks name the
  // segment rather than the temp file it was.
  const named = await fs.openWrite(path);
  await handle.close();
  return { handle: named, end: start.byteLength, chain: checkpoint.crc };
}
