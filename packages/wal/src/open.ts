import { posix } from 'node:path';
import { MemoryStorage } from '@flotilla/raft';
import { invalid, WalError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { parseName, TMP_SUFFIX } from './names.js';
import { nodeFileSystem } from './node-file-system.js';
import { RecoveredStorage } from './recovered-storage.js';
import { recoverDirectory } from './recovery.js';
import { lockGuard, Wal } from './replica-storage.js';
import { SegmentLog } from './segment-log.js';
import type { OpenReplicaStorageOptions, ReplicaStorage } from './types.js';

/** etcd's default segment size. */
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * Opens a replica's durable storage in `dir`: creates the directory layout on first use, or
 * recovers what is there (the newest recorded snapshot, then the WAL records after it).
 *
 * Recovery repairs only what a crash can leave (a torn last frame of the last segment, a
 * segment cut interrupted before the previous segment was sealed, temp files) and reports each
 * repair through `opts.logger`. Any other damage throws `WAL_CORRUPT` naming the file and
 * offset, and changes nothing. A directory held by another live process throws `WAL_LOCKED`.
 *
 * @example
 * ```ts
 * const rs = await openReplicaStorage('/var/lib/app/raft');
 * // Give rs.storage to the Raft node; persist each Ready before sending its messages:
 * await rs.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, mustSync: rd.mustSync });
 * ```
 */
export async function openReplicaStorage(
  dir: string,
  opts: OpenReplicaStorageOptions = {},
): Promise<ReplicaStorage> {
  if (typeof dir !== 'string' || dir === '') throw invalid('dir must be a non-empty path');
  const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1 || segmentBytes > 2 ** 32) {
    throw invalid('segmentBytes must be an integer between 1 and 2^32');
  }
  const fs: FileSystem = opts.fs ?? nodeFileSystem;
  const logger = opts.logger;
  await io(`creating ${dir}`, () => fs.mkdir(dir));
  const locked = await io(`locking ${dir}`, () => fs.lock(dir));
  if (!locked.acquired) {
    throw new WalError('WAL_LOCKED', `${dir} is locked by ${locked.holder}`, {
      details: { holder: locked.holder },
    });
  }
  const lock = locked.lock;
  const guard = lockGuard(lock);
  try {
    const names = await io(`listing ${dir}`, () => fs.list(dir));
    const rec = await io(`reading ${dir}`, () => recoverDirectory(fs, dir, names, logger));
    if (rec === undefined) {
      const storage = new MemoryStorage();
      // A new WAL: the first segment, then make the directory itself durable: `mkdir -p` may
      // have created every ancestor, and each one's entry is durable only once its parent is
      // fsynced.
      const log = await io(`creating the first segment in ${dir}`, async () => {
        for (const name of names) if (name.endsWith(TMP_SUFFIX)) await fs.remove(`${dir}/${name}`);
        const created = await SegmentLog.create(fs, dir, segmentBytes, guard);
        for (let d = dir, up = posix.dirname(d); ; d = up, up = posix.dirname(d)) {
          await fs.fsyncDir(d);
          if (up === d) break;
        }
        return created;
      });
      return new Wal({
        fs,
        dir,
        lock,
        log,
        storage,
        hardState: storage.initialState().hardState,
        snapshot: undefined,
        marker: undefined,
        lastIndex: 0,
        lastTerm: 0,
        snapshotFiles: [],
      });
    }
    // Repairs, now that nothing is corrupt.
    const log = await io(`repairing ${dir}`, async () => {
      if (rec.dropSegment !== undefined) {
        await fs.remove(`${dir}/${rec.dropSegment}`);
        await fs.fsyncDir(dir);
      }
      for (const name of rec.leftovers) await fs.remove(`${dir}/${name}`);
      const tail = rec.tail;
      const handle = await fs.openWrite(`${dir}/${tail.name}`);
      if (tail.dirtyEnd !== undefined) {
        // Clear the torn tail so it can never be mistaken for data again, keep the preallocation.
        await handle.truncate(tail.end);
        await handle.allocate(Math.max(segmentBytes, tail.end));
      }
      // What we just read may have been only in the page cache (the previous process died, the
      // machine did not). Raft will treat the recovered log as persisted, so make it so before
      // returning: otherwise a later power loss could take back entries Raft already voted or
      // acknowledged on.
      await handle.sync();
      await fs.fsyncDir(dir);
      return new SegmentLog(fs, dir, segmentBytes, [...rec.segments], { ...tail, handle }, guard);
    });
    const entries = rec.entries;
    return new Wal({
      fs,
      dir,
      lock,
      log,
      storage: new RecoveredStorage(rec.snapshot, entries, rec.hardState),
      hardState: rec.hardState,
      snapshot: rec.snapshot,
      marker: rec.marker,
      lastIndex: rec.lastIndex,
      lastTerm: entries.count > 0 ? entries.term(entries.count - 1) : (rec.snapshot?.metadata.term ?? 0),
      snapshotFiles: names.filter((n) => parseName(n)?.kind === 'snap' && !rec.leftovers.includes(n)),
    });
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** Runs file system work, turning its failures into `WAL_IO` (a WalError passes through). */
async function io<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof WalError) throw err;
    throw new WalError('WAL_IO', `${what} failed: ${String(err)}`, { cause: err });
  }
}
