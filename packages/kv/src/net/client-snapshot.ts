/**
 * Downloading a member's state machine snapshot (etcd's `Maintenance.Snapshot`): a header with
 * the size, then chunks, then the end. A lost connection or a member that stops restarts the
 * download on the next member; the deadline bounds the whole thing.
 */
import type { ClientConnection, Waiter } from './client-connection.js';
import type { StreamOwner } from './client-watch.js';
import { fromWireError, netError, TRY_ANOTHER_MEMBER } from './errors.js';
import type { ServerMessage, SnapshotHeader } from './protocol.js';

/** A downloaded snapshot: the bytes `KvStateMachine.restore` takes, and where they came from. */
export interface SnapshotData {
  readonly data: Uint8Array;
  readonly memberId: number;
  /** The store revision the snapshot holds. */
  readonly revision: number;
}

/** One snapshot download (see the module notes). */
export class SnapshotDownload implements Waiter {
  readonly done: Promise<SnapshotData>;
  readonly #owner: StreamOwner<SnapshotDownload>;
  #resolve: (d: SnapshotData) => void = () => {};
  #reject: (e: Error) => void = () => {};
  #header: SnapshotHeader | undefined;
  #data: Uint8Array | undefined;
  #fill = 0;
  #settled = false;
  readonly #timer: NodeJS.Timeout;

  constructor(owner: StreamOwner<SnapshotDownload>, timeoutMs: number) {
    this.#owner = owner;
    this.done = new Promise<SnapshotData>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = setTimeout(
      () => this.#fail(netError('TIMEOUT', `the snapshot download did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
  }

  /** Starts (or restarts) the download on `conn`. */
  attach(conn: ClientConnection): void {
    if (this.#settled) return;
    this.#header = undefined;
    this.#data = undefined;
    this.#fill = 0;
    const id = conn.nextId();
    conn.waiters.set(id, this);
    conn.queue({ t: 'open', id, m: 'snapshot', a: {} });
  }

  receive(conn: ClientConnection, m: ServerMessage): void {
    if (this.#settled) return;
    if (m.t === 'item') {
      const r = m.r as Record<string, unknown>;
      if (this.#header === undefined) {
        const size = r.size;
        if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
          this.#fail(netError('UNAVAILABLE', `${conn.endpoint} sent a malformed snapshot header`));
          return;
        }
        this.#header = r as unknown as SnapshotHeader;
        this.#data = new Uint8Array(size);
        return;
      }
      const chunk = r.chunk;
      const data = this.#data as Uint8Array;
      if (!(chunk instanceof Uint8Array) || this.#fill + chunk.byteLength > data.byteLength) {
        this.#fail(netError('UNAVAILABLE', `${conn.endpoint} sent a malformed snapshot chunk`));
        return;
      }
      data.set(chunk, this.#fill);
      this.#fill += chunk.byteLength;
      return;
    }
    if (m.t === 'end') {
      const h = this.#header;
      const data = this.#data;
      if (h === undefined || data === undefined || this.#fill !== data.byteLength) {
        this.#fail(netError('UNAVAILABLE', `${conn.endpoint} ended the snapshot early`));
        return;
      }
      this.#settled = true;
      clearTimeout(this.#timer);
      this.#owner.removed(this);
      this.#resolve({ data, memberId: h.memberId, revision: h.revision });
      return;
    }
    if (m.t === 'err') {
      if (TRY_ANOTHER_MEMBER.has(m.e.code)) this.#owner.reattach(this, conn);
      else this.#fail(fromWireError(m.e, true, conn.endpoint));
    }
  }

  unprocessed(conn: ClientConnection): void {
    this.lost(conn);
  }

  lost(conn: ClientConnection): void {
    if (!this.#settled) this.#owner.reattach(this, conn);
  }

  /** Gives up (the client closed). */
  abort(err: Error): void {
    this.#fail(err);
  }

  #fail(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#owner.removed(this);
    this.#reject(err);
  }
}
