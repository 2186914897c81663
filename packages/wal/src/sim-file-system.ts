import { posix } from 'node:path';
import { type Random, seededRandom } from '@flotilla/raft';
import type { FileHandle, FileSystem, LockResult } from './file-system.js';
import { SimFile, type TearMode } from './sim-file.js';
import { SimHandle, SimLock } from './sim-handle.js';
import {
  type FailFault,
  type SimCrashOptions,
  type SimFaultHook,
  SimFsError,
  type SimOp,
  type SimOpKind,
  type SimStats,
} from './sim-types.js';

type DirChange =
  | { readonly kind: 'link'; readonly name: string; readonly node: SimNode }
  | { readonly kind: 'unlink'; readonly name: string; readonly node: SimNode }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly node: SimNode };

interface SimDir {
  readonly kind: 'dir';
  /** What a reader sees. */
  current: Map<string, SimNode>;
  /** What survives a crash. */
  durable: Map<string, SimNode>;
  /** Changes since the last fsyncDir, in order. */
  changes: DirChange[];
}
interface SimFileNode {
  readonly kind: 'file';
  readonly file: SimFile;
}
type SimNode = SimDir | SimFileNode;

const newDir = (): SimDir => ({ kind: 'dir', current: new Map(), durable: new Map(), changes: [] });

/**
 * An in-memory {@link FileSystem} that can crash like a machine losing power, for tests and
 * the deterministic cluster simulation.
 *
 * It tracks which bytes and which directory changes are durable. {@link crash} drops every
 * unsynced write (optionally tearing the last one or filling it with garbage, or losing pages
 * out of order) and loses unsynced creations, renames and removals independently, all drawn
 * from the given {@link Random}; then it behaves like a freshly booted machine: every handle
 * and lock from before is dead (operations on them throw `ECRASHED`), and nothing that was not
 * synced survives in it. Faults are injected with {@link failNextSync}, {@link failNextWrite}
 * or a general {@link setFaultHook}; damage (bit rot, an operator deleting a file) with
 * {@link damage} and {@link unlink}.
 *
 * Deterministic: the same calls in the same order with the same seeds give the same state.
 */
export class SimFileSystem implements FileSystem {
  readonly #root: SimDir = newDir();
  readonly #rng: Random;
  #epoch = 0;
  #seq = 0;
  #hook: SimFaultHook | undefined;
  #failSyncs = 0;
  #failWrites = 0;
  readonly #locks = new Map<string, SimLock>();
  /** Counters since construction. */
  readonly stats: SimStats = { ops: 0, writes: 0, bytesWritten: 0, syncs: 0, dirSyncs: 0, crashes: 0 };

  /** `rng` draws the random parts of crashes a fault hook asks for (default: seed 0). */
  constructor(opts: { rng?: Random } = {}) {
    this.#rng = opts.rng ?? seededRandom(0);
  }

  // -------------------------------------------------------------------------------------------
  // Nemesis API
  // -------------------------------------------------------------------------------------------

  /**
   * Power loss: unsynced data and directory changes are lost as described in
   * {@link SimCrashOptions}, every open handle and lock dies, and operations started before
   * the crash fail with `ECRASHED` when they complete.
   */
  crash(options: SimCrashOptions): void {
    const { rng } = options;
    const keep = options.keepDirectoryChange ?? 0.5;
    const modes: readonly TearMode[] = ['drop', 'torn', 'garbage', 'pages'];
    const seen = new Set<SimNode>();
    const visit = (dir: SimDir): void => {
      // Replay the unsynced changes in order, each surviving independently; a change whose
      // premise was lost (renaming a file whose creation was lost) cannot survive.
      const next = new Map(dir.durable);
      for (const change of dir.changes) {
        if (!rng.chance(keep)) continue;
        if (change.kind === 'link') next.set(change.name, change.node);
        else if (change.kind === 'unlink') {
          if (next.get(change.name) === change.node) next.delete(change.name);
        } else if (next.get(change.from) === change.node) {
          next.delete(change.from);
          next.set(change.to, change.node);
        }
      }
      dir.durable = next;
      dir.current = new Map(next);
      dir.changes = [];
      for (const node of next.values()) {
        if (seen.has(node)) continue;
        seen.add(node);
        if (node.kind === 'dir') visit(node);
        else {
          const mode = options.writes ?? 'random';
          node.file.crash(mode === 'random' ? rng.pick(modes) : mode, rng);
        }
      }
    };
    visit(this.#root);
    this.#epoch++;
    for (const lock of this.#locks.values()) lock.lost();
    this.#locks.clear();
    this.stats.crashes++;
  }

  /** The next `count` file syncs fail with EIO (and lose the file's unsynced writes). */
  failNextSync(count = 1): void {
    this.#failSyncs += count;
  }

  /** The next `count` writes fail with EIO without writing anything. */
  failNextWrite(count = 1): void {
    this.#failWrites += count;
  }

  /** Removes the fault hook and every armed failure. */
  clearFaults(): void {
    this.#hook = undefined;
    this.#failSyncs = 0;
    this.#failWrites = 0;
  }

  /** Installs (or, with `undefined`, removes) a hook that decides a fault for every operation. */
  setFaultHook(hook: SimFaultHook | undefined): void {
    this.#hook = hook;
  }

  /** Replaces a file's content at once and durably with `edit(content)` (bit rot, truncation). */
  damage(path: string, edit: (content: Uint8Array) => Uint8Array): void {
    const file = this.#file(path);
    file.replace(edit(file.read()));
  }

  /** Flips one bit of a file, durably. */
  flipBit(path: string, bit: number): void {
    this.damage(path, (c) => {
      const byte = Math.floor(bit / 8);
      if (byte >= c.length) throw new RangeError(`flipBit: bit ${bit} is beyond ${path}'s ${c.length} bytes`);
      c[byte] = (c[byte] ?? 0) ^ (1 << (bit % 8));
      return c;
    });
  }

  /** Removes a file at once and durably (an operator's `rm`). */
  unlink(path: string): void {
    const { dir, name } = this.#parent(path);
    if (dir.current.get(name)?.kind !== 'file') throw new SimFsError('ENOENT', path);
    dir.current.delete(name);
    dir.durable.delete(name);
  }

  /** What a reader would see in a file now (synchronous, no fault hook). */
  peek(path: string): Uint8Array {
    return this.#file(path).read();
  }

  /** The entries of a directory now (synchronous, no fault hook). */
  names(dir: string): string[] {
    return [...this.#dir(dir).current.keys()].sort();
  }

  // -------------------------------------------------------------------------------------------
  // FileSystem
  // -------------------------------------------------------------------------------------------

  async mkdir(path: string): Promise<void> {
    const p = norm(path);
    await this.#run('mkdir', p, () => {
      let dir = this.#root;
      for (const part of p.split('/').filter((s) => s !== '')) {
        const child = dir.current.get(part);
        if (child === undefined) {
          const made = newDir();
          dir.current.set(part, made);
          dir.changes.push({ kind: 'link', name: part, node: made });
          dir = made;
        } else if (child.kind === 'dir') dir = child;
        else throw new SimFsError('ENOTDIR', p);
      }
    });
  }

  list(dir: string): Promise<string[]> {
    const p = norm(dir);
    return this.#run('list', p, () => [...this.#dir(p).current.keys()].sort());
  }

  create(path: string): Promise<FileHandle> {
    const p = norm(path);
    return this.#run('create', p, () => {
      const { dir, name } = this.#parent(p);
      const old = dir.current.get(name);
      if (old?.kind === 'dir') throw new SimFsError('EISDIR', p);
      if (old !== undefined) {
        // O_TRUNC on an existing file: same inode, cut to zero.
        old.file.resize(0);
        return new SimHandle(this, p, old.file, this.#epoch);
      }
      const node: SimFileNode = { kind: 'file', file: new SimFile() };
      dir.current.set(name, node);
      dir.changes.push({ kind: 'link', name, node });
      return new SimHandle(this, p, node.file, this.#epoch);
    });
  }

  openWrite(path: string): Promise<FileHandle> {
    const p = norm(path);
    return this.#run('openWrite', p, () => new SimHandle(this, p, this.#file(p), this.#epoch));
  }

  readFile(path: string): Promise<Uint8Array> {
    const p = norm(path);
    return this.#run('readFile', p, () => this.#file(p).read());
  }

  rename(from: string, to: string): Promise<void> {
    const f = norm(from);
    const t = norm(to);
    return this.#run('rename', f, () => {
      const src = this.#parent(f);
      const dst = this.#parent(t);
      const node = src.dir.current.get(src.name);
      if (node === undefined) throw new SimFsError('ENOENT', f);
      if (dst.dir.current.get(dst.name)?.kind === 'dir') throw new SimFsError('EISDIR', t);
      src.dir.current.delete(src.name);
      dst.dir.current.set(dst.name, node);
      if (src.dir === dst.dir) src.dir.changes.push({ kind: 'rename', from: src.name, to: dst.name, node });
      else {
        dst.dir.changes.push({ kind: 'link', name: dst.name, node });
        src.dir.changes.push({ kind: 'unlink', name: src.name, node });
      }
    });
  }

  remove(path: string): Promise<void> {
    const p = norm(path);
    return this.#run('remove', p, () => {
      const { dir, name } = this.#parent(p);
      const node = dir.current.get(name);
      if (node === undefined) throw new SimFsError('ENOENT', p);
      if (node.kind === 'dir') throw new SimFsError('EISDIR', p);
      dir.current.delete(name);
      dir.changes.push({ kind: 'unlink', name, node });
    });
  }

  fsyncDir(path: string): Promise<void> {
    const p = norm(path);
    return this.#run('fsyncDir', p, () => {
      const dir = this.#dir(p);
      dir.durable = new Map(dir.current);
      dir.changes = [];
      this.stats.dirSyncs++;
    });
  }

  lock(dir: string): Promise<LockResult> {
    const p = norm(dir);
    return this.#run('lock', p, (): LockResult => {
      this.#dir(p);
      if (this.#locks.has(p))
        return { acquired: false, holder: `another open storage in this simulated process (${p})` };
      const lock = new SimLock(() => {
        if (this.#locks.get(p) === lock) this.#locks.delete(p);
      });
      this.#locks.set(p, lock);
      return { acquired: true, lock };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals shared with SimHandle
  // -------------------------------------------------------------------------------------------

  /**
   * Runs one operation: asks the fault hook, applies the effect synchronously, then resolves
   * after a microtask and only if no crash happened meanwhile (a crashed process never sees its
   * operations succeed). `onFail` applies the side effect of an injected failure (the prefix of
   * a short write, the pages a failed sync drops) before the operation throws.
   */
  async #run<T>(
    kind: SimOpKind,
    path: string,
    effect: () => T,
    extra: { epoch?: number; bytes?: number; onFail?: (fault: FailFault) => void } = {},
  ): Promise<T> {
    const epoch = extra.epoch ?? this.#epoch;
    if (epoch !== this.#epoch)
      throw new SimFsError('ECRASHED', `${kind} ${path}: handle from before a crash`);
    this.stats.ops++;
    const seq = ++this.#seq;
    const op: SimOp =
      extra.bytes === undefined ? { kind, path, seq } : { kind, path, bytes: extra.bytes, seq };
    let fault = this.#hook?.(op);
    if (fault === undefined && kind === 'sync' && this.#failSyncs > 0) {
      this.#failSyncs--;
      fault = { fail: 'EIO' };
    }
    if (fault === undefined && kind === 'write' && this.#failWrites > 0) {
      this.#failWrites--;
      fault = { fail: 'EIO' };
    }
    if (fault !== undefined && 'fail' in fault) {
      extra.onFail?.(fault);
      throw new SimFsError(fault.fail, `${kind} ${path}: injected fault`);
    }
    if (fault !== undefined && fault.crash === 'before') {
      this.crash({ rng: this.#rng, ...fault.options });
      throw new SimFsError('ECRASHED', `${kind} ${path}: crashed before the operation`);
    }
    const result = effect();
    if (fault !== undefined) {
      this.crash({ rng: this.#rng, ...fault.options });
      throw new SimFsError('ECRASHED', `${kind} ${path}: crashed after the operation`);
    }
    await Promise.resolve();
    if (epoch !== this.#epoch)
      throw new SimFsError('ECRASHED', `${kind} ${path}: crashed before it returned`);
    return result;
  }

  /** Runs an operation on a handle opened in `epoch` (see {@link SimHandle}). */
  handleOp<T>(
    kind: SimOpKind,
    path: string,
    effect: () => T,
    extra: { epoch: number; bytes?: number; onFail?: (fault: FailFault) => void },
  ): Promise<T> {
    return this.#run(kind, path, effect, extra);
  }

  /** Counts a write or a sync (called from the handle's effect). */
  count(kind: 'write' | 'sync', bytes = 0): void {
    if (kind === 'sync') this.stats.syncs++;
    else {
      this.stats.writes++;
      this.stats.bytesWritten += bytes;
    }
  }

  #dir(path: string): SimDir {
    let dir = this.#root;
    for (const part of path.split('/').filter((s) => s !== '')) {
      const child = dir.current.get(part);
      if (child === undefined) throw new SimFsError('ENOENT', path);
      if (child.kind !== 'dir') throw new SimFsError('ENOTDIR', path);
      dir = child;
    }
    return dir;
  }

  #parent(path: string): { dir: SimDir; name: string } {
    const p = norm(path);
    return { dir: this.#dir(posix.dirname(p)), name: posix.basename(p) };
  }

  #file(path: string): SimFile {
    const { dir, name } = this.#parent(path);
    const node = dir.current.get(name);
    if (node === undefined) throw new SimFsError('ENOENT', path);
    if (node.kind === 'dir') throw new SimFsError('EISDIR', path);
    return node.file;
  }
}

const CLEAN = /^(\/[^/.][^/]*)+$|^\/$/;

/** An absolute, normalised path (fast when it already is one, which is the common case). */
function norm(path: string): string {
  return CLEAN.test(path) && !path.includes('/..') ? path : posix.resolve('/', path);
}
