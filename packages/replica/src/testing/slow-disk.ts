import type { FileHandle, FileSystem, LockResult } from '@flotilla/wal';
import type { Clock } from '../clock.js';

/**
 * A {@link FileSystem} whose `sync` and `fsyncDir` take time on a {@link Clock}: each waits a
 * delay drawn by `delayMs()` before the underlying call. Everything else passes through.
 *
 * Why a simulation needs it: on a `SimFileSystem` alone an fsync completes within microtasks,
 * so a crash injected between clock steps never lands while a write is in flight, and a replica
 * that acknowledged before its fsync would look correct. With a latency, unsynced data is
 * exposed for simulated milliseconds, during which messages travel and crashes happen, as on a
 * real disk.
 */
export class SlowDisk implements FileSystem {
  readonly #inner: FileSystem;
  readonly #clock: Clock;
  readonly #delayMs: () => number;

  constructor(inner: FileSystem, clock: Clock, delayMs: () => number) {
    this.#inner = inner;
    this.#clock = clock;
    this.#delayMs = delayMs;
  }

  /** Waits one drawn delay on the clock. */
  wait(): Promise<void> {
    const ms = this.#delayMs();
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }

  mkdir(path: string): Promise<void> {
    return this.#inner.mkdir(path);
  }
  list(dir: string): Promise<string[]> {
    return this.#inner.list(dir);
  }
  async create(path: string): Promise<FileHandle> {
    return new SlowHandle(await this.#inner.create(path), this);
  }
  async openWrite(path: string): Promise<FileHandle> {
    return new SlowHandle(await this.#inner.openWrite(path), this);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.#inner.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.#inner.rename(from, to);
  }
  remove(path: string): Promise<void> {
    return this.#inner.remove(path);
  }
  async fsyncDir(path: string): Promise<void> {
    await this.wait();
    await this.#inner.fsyncDir(path);
  }
  lock(dir: string): Promise<LockResult> {
    return this.#inner.lock(dir);
  }
}

class SlowHandle implements FileHandle {
  readonly #inner: FileHandle;
  readonly #disk: SlowDisk;

  constructor(inner: FileHandle, disk: SlowDisk) {
    this.#inner = inner;
    this.#disk = disk;
  }

  get path(): string {
    return this.#inner.path;
  }
  size(): Promise<number> {
    return this.#inner.size();
  }
  write(data: Uint8Array, position: number): Promise<void> {
    return this.#inner.write(data, position);
  }
  allocate(size: number): Promise<void> {
    return this.#inner.allocate(size);
  }
  truncate(size: number): Promise<void> {
    return this.#inner.truncate(size);
  }
  async sync(): Promise<void> {
    await this.#disk.wait();
    await this.#inner.sync();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
