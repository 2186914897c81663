import type { DirectoryLock, FileHandle } from './file-system.js';
import type { SimFile } from './sim-file.js';
import { type FailFault, SimFsError, type SimOpKind } from './sim-types.js';

/** What a handle needs from its file system: running an operation with the fault machinery. */
export interface SimRunner {
  handleOp<T>(
    kind: SimOpKind,
    path: string,
    effect: () => T,
    extra: { epoch: number; bytes?: number; onFail?: (fault: FailFault) => void },
  ): Promise<T>;
  count(kind: 'write' | 'sync', bytes?: number): void;
}

/** A lock of a simulated directory: lost when the simulated machine crashes. */
export class SimLock implements DirectoryLock {
  #held = true;
  readonly #onRelease: () => void;
  constructor(onRelease: () => void) {
    this.#onRelease = onRelease;
  }
  get held(): boolean {
    return this.#held;
  }
  /** The process holding it died. */
  lost(): void {
    this.#held = false;
  }
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.#onRelease();
  }
}

/** An open simulated file; dead (ECRASHED) once the machine crashed after it was opened. */
export class SimHandle implements FileHandle {
  readonly path: string;
  readonly #fs: SimRunner;
  readonly #file: SimFile;
  readonly #epoch: number;
  #closed = false;

  constructor(fs: SimRunner, path: string, file: SimFile, epoch: number) {
    this.#fs = fs;
    this.path = path;
    this.#file = file;
    this.#epoch = epoch;
  }

  size(): Promise<number> {
    return this.#op('size', () => this.#file.length);
  }

  write(data: Uint8Array, position: number): Promise<void> {
    return this.#op(
      'write',
      () => {
        this.#file.write(data, position);
        this.#fs.count('write', data.byteLength);
      },
      data.byteLength,
      (fault) => {
        // A short write: a prefix reached the page cache before the error.
        const n = Math.min(fault.partialBytes ?? 0, data.byteLength);
        if (n > 0) this.#file.write(data.subarray(0, n), position);
      },
    );
  }

  allocate(size: number): Promise<void> {
    return this.#op('allocate', () => {
      if (size > this.#file.length) this.#file.resize(size);
    });
  }

  truncate(size: number): Promise<void> {
    return this.#op('truncate', () => this.#file.resize(size));
  }

  sync(): Promise<void> {
    return this.#op(
      'sync',
      () => {
        this.#file.sync();
        this.#fs.count('sync');
      },
      undefined,
      () => this.#file.failSync(),
    );
  }

  close(): Promise<void> {
    return this.#op('close', () => {
      this.#closed = true;
    });
  }

  #op<T>(kind: SimOpKind, effect: () => T, bytes?: number, onFail?: (fault: FailFault) => void): Promise<T> {
    if (this.#closed) return Promise.reject(new SimFsError('EIO', `${kind} ${this.path}: handle is closed`));
    const extra: { epoch: number; bytes?: number; onFail?: (fault: FailFault) => void } = {
      epoch: this.#epoch,
    };
    if (bytes !== undefined) extra.bytes = bytes;
    if (onFail !== undefined) extra.onFail = onFail;
    return this.#fs.handleOp(kind, this.path, effect, extra);
  }
}
