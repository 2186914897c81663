/**
 * The small file layer the WAL does all its I/O through. Production uses
 * {@link nodeFileSystem}; tests and the cluster simulation use {@link SimFileSystem}, which
 * can lose unsynced data the way a power failure does and inject disk faults.
 *
 * Durability contract every implementation honours (POSIX's, stated so a simulation can be
 * faithful to it):
 * - bytes written to a file survive a crash only once {@link FileHandle.sync} returned after
 *   the write;
 * - a created, renamed or removed directory entry survives a crash only once
 *   {@link FileSystem.fsyncDir} of its directory returned after the change;
 * - `rename` is atomic: after a crash the target holds either the old or the new file.
 */
export interface FileSystem {
  /** Creates a directory and its missing parents; does nothing when it exists. */
  mkdir(path: string): Promise<void>;
  /** The names (not paths) of the entries of a directory, sorted. */
  list(dir: string): Promise<string[]>;
  /** Creates a file (truncating an existing one) and opens it for writing. */
  create(path: string): Promise<FileHandle>;
  /** Opens an existing file for writing at any position. */
  openWrite(path: string): Promise<FileHandle>;
  /** The whole content of a file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Atomically renames `from` to `to`, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file. */
  remove(path: string): Promise<void>;
  /** Makes the directory's entries (creations, renames, removals) durable. */
  fsyncDir(path: string): Promise<void>;
  /**
   * Takes the exclusive lock of a directory for this process. Fails (without throwing) when
   * another live holder has it, saying who.
   */
  lock(dir: string): Promise<LockResult>;
}

/** An open file. Positions and sizes are byte offsets. */
export interface FileHandle {
  /** The path the file was opened with. */
  readonly path: string;
  /** The current size in bytes. */
  size(): Promise<number>;
  /** Writes all of `data` at `position`, extending the file when it ends before. */
  write(data: Uint8Array, position: number): Promise<void>;
  /**
   * Extends the file with zero bytes to at least `size` bytes (preallocation: later writes
   * inside the allocated range make an fsync cheaper, because the file size and block map do
   * not change).
   */
  allocate(size: number): Promise<void>;
  /** Cuts the file to `size` bytes (or extends it with zeros). */
  truncate(size: number): Promise<void>;
  /** Makes every write to this file so far durable (fdatasync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** What {@link FileSystem.lock} answers. */
export type LockResult =
  | { readonly acquired: true; readonly lock: DirectoryLock }
  | { readonly acquired: false; readonly holder: string };

/** An exclusive lock on a directory. */
export interface DirectoryLock {
  /**
   * False once the lock is released or lost (a simulated crash ends the process that held it).
   * The WAL checks it before every change to the directory, so a dead process's leftover
   * promises can never touch files that a recovered process now owns.
   */
  readonly held: boolean;
  release(): Promise<void>;
}
