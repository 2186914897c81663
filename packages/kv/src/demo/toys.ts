/**
 * Props for the demo's lock scene: a toy external resource that checks fencing tokens, and a
 * way to freeze a client the way a long GC pause (or a stopped VM) freezes a real process.
 */
import type { KvLike } from '@flotilla/lease';
import type { KvApi } from '../api.js';

/**
 * A resource outside the store (a file server, a payment API, a database) that protects itself
 * with fencing tokens: it remembers the largest token it has seen and refuses any write that
 * carries a smaller one. That check, not the lock, is what keeps a stale holder out: the lock
 * only decides who may *try*; the resource decides what is *accepted*.
 */
export class FencedStorage {
  #highest = 0;
  readonly #writes: { readonly token: number; readonly value: string }[] = [];

  /** Accepts `value` unless `token` is older than one already seen. */
  write(token: number, value: string): { readonly ok: boolean; readonly highest: number } {
    if (token < this.#highest) return { ok: false, highest: this.#highest };
    this.#highest = token;
    this.#writes.push({ token, value });
    return { ok: true, highest: token };
  }

  /** The writes accepted, in order. */
  get writes(): readonly { readonly token: number; readonly value: string }[] {
    return this.#writes;
  }
}

/**
 * A client's view of the cluster that can be frozen: while frozen, every call waits (nothing
 * reaches the cluster, keep-alives included), as if the process were paused; `thaw()` lets the
 * held calls go, late, exactly as a process that wakes up would send them.
 */
export class FreezableKv implements KvLike {
  readonly #kv: KvApi;
  #frozen: Promise<void> | undefined;
  #thaw: (() => void) | undefined;

  constructor(kv: KvApi) {
    this.#kv = kv;
  }

  /** Holds every call from now on. */
  freeze(): void {
    if (this.#frozen !== undefined) return;
    this.#frozen = new Promise<void>((resolve) => {
      this.#thaw = resolve;
    });
  }

  /** Lets the held calls (and later ones) through. */
  thaw(): void {
    this.#thaw?.();
    this.#frozen = undefined;
    this.#thaw = undefined;
  }

  async #gate(): Promise<void> {
    while (this.#frozen !== undefined) await this.#frozen;
  }

  put: KvLike['put'] = async (key, value, options) => {
    await this.#gate();
    return this.#kv.put(key, value, options);
  };
  get: KvLike['get'] = async (key, options) => {
    await this.#gate();
    return this.#kv.get(key, options);
  };
  delete: KvLike['delete'] = async (key, options) => {
    await this.#gate();
    return this.#kv.delete(key, options);
  };
  txn: KvLike['txn'] = async (request) => {
    await this.#gate();
    return this.#kv.txn(request);
  };
  watch: KvLike['watch'] = (request) => this.#kv.watch(request);
  grant: KvLike['grant'] = async (ttl, options) => {
    await this.#gate();
    return this.#kv.grant(ttl, options);
  };
  revoke: KvLike['revoke'] = async (id) => {
    await this.#gate();
    return this.#kv.revoke(id);
  };
  keepAliveOnce: KvLike['keepAliveOnce'] = async (id) => {
    await this.#gate();
    return this.#kv.keepAliveOnce(id);
  };
  timeToLive: KvLike['timeToLive'] = async (id, options) => {
    await this.#gate();
    return this.#kv.timeToLive(id, options);
  };
}
