import * as fs from 'node:fs';
import { join } from 'node:path';
import type { DirectoryLock, FileHandle, FileSystem, LockResult } from './file-system.js';

/**
 * The real {@link FileSystem} over `node:fs`.
 *
 * It uses the callback API on raw file descriptors (wrapped in promises here): one syscall per
 * call and no `FileHandle` objects, which matters when a benchmark counts microseconds per
 * batch. `sync` is `fdatasync`: it flushes the data and the metadata needed to read it (the
 * size), which is what a log needs.
 *
 * The directory lock is a `LOCK` file holding the owner's pid. It is created complete through a
 * hard link from a temporary file (so it is never seen half-written), and a lock whose pid is
 * no longer alive (`kill(pid, 0)` fails with ESRCH) or whose content is unreadable (a power loss
 * can leave it empty) is stale and taken over. Limits: a pid reused by an unrelated live process
 * makes a stale lock look held (remove `LOCK` by hand), and two processes taking over the same
 * stale lock at the same instant can both succeed (`node:fs` has no `flock`).
 */
export const nodeFileSystem: FileSystem = {
  async mkdir(path) {
    await fs.promises.mkdir(path, { recursive: true });
  },
  async list(dir) {
    return (await fs.promises.readdir(dir)).sort();
  },
  async create(path) {
    return new NodeFile(path, await openFd(path, 'w'));
  },
  async openWrite(path) {
    return new NodeFile(path, await openFd(path, 'r+'));
  },
  async readFile(path) {
    // One read of the whole file rather than readFile's 512 KiB chunks: segments are tens of
    // MiB and recovery reads them all.
    const fd = await openFd(path, 'r');
    try {
      const size = await new Promise<number>((resolve, reject) =>
        fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st.size))),
      );
      const buf = Buffer.allocUnsafe(size);
      let done = 0;
      while (done < size) {
        const n = await new Promise<number>((resolve, reject) =>
          fs.read(fd, buf, done, size - done, done, (err, bytes) => (err ? reject(err) : resolve(bytes))),
        );
        if (n === 0) break; // the file shrank meanwhile
        done += n;
      }
      return buf.subarray(0, done);
    } finally {
      await closeFd(fd);
    }
  },
  rename(from, to) {
    return fs.promises.rename(from, to);
  },
  remove(path) {
    return fs.promises.unlink(path);
  },
  async fsyncDir(path) {
    const fd = await openFd(path, 'r');
    try {
      await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
    } finally {
      await closeFd(fd);
    }
  },
  lock(dir) {
    return lockDirectory(dir);
  },
};

function openFd(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

const ZEROS = new Uint8Array(1 << 20);

class NodeFile implements FileHandle {
  readonly path: string;
  readonly #fd: number;

  constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  size(): Promise<number> {
    return new Promise((resolve, reject) =>
      fs.fstat(this.#fd, (err, st) => (err ? reject(err) : resolve(st.size))),
    );
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    // pwrite may write less than asked (a signal, a full disk): loop until all is written or it fails.
    let done = 0;
    while (done < data.byteLength) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.write(this.#fd, data, done, data.byteLength - done, position + done, (err, written) =>
          err ? reject(err) : resolve(written),
        ),
      );
      if (n <= 0) throw new Error(`write to ${this.path} made no progress`);
      done += n;
    }
  }

  async allocate(size: number): Promise<void> {
    // Node has no fallocate; writing zeros is also what makes later fdatasyncs cheap (the
    // blocks are allocated and initialised, so an overwrite changes no metadata).
    let at = await this.size();
    while (at < size) {
      const n = Math.min(ZEROS.byteLength, size - at);
      await this.write(ZEROS.subarray(0, n), at);
      at += n;
    }
  }

  truncate(size: number): Promise<void> {
    return new Promise((resolve, reject) =>
      fs.ftruncate(this.#fd, size, (err) => (err ? reject(err) : resolve())),
    );
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.#fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return closeFd(this.#fd);
  }
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockDirectory(dir: string): Promise<LockResult> {
  const lockPath = join(dir, 'LOCK');
  const tmp = join(dir, `LOCK.${process.pid}.tmp`);
  await fs.promises.writeFile(tmp, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.promises.link(tmp, lockPath);
        return { acquired: true, lock: new NodeLock(lockPath) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const text = await fs.promises.readFile(lockPath, 'utf8').catch(() => '');
      const pid = Number.parseInt(text, 10);
      if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) {
        return { acquired: false, holder: `pid ${pid} (${lockPath})` };
      }
      // Stale: its owner died (a crash or kill -9). Take it over.
      await fs.promises.unlink(lockPath).catch(() => undefined);
    }
    return { acquired: false, holder: `a process that keeps recreating ${lockPath}` };
  } finally {
    await fs.promises.unlink(tmp).catch(() => undefined);
  }
}

class NodeLock implements DirectoryLock {
  #held = true;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  get held(): boolean {
    return this.#held;
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    // Only remove the file if it is still ours (an operator may have removed and re-taken it).
    const text = await fs.promises.readFile(this.#path, 'utf8').catch(() => '');
    if (Number.parseInt(text, 10) === process.pid)
      await fs.promises.unlink(this.#path).catch(() => undefined);
    // The removal need not be durable: a LOCK left by a crash names a dead pid and is stale.
  }
}
