/**
 * Helpers shared by the mvcc tests: readable views of results (bytes as strings) and a manual
 * scheduler that delivers watch responses only when a test says so.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  type KeyValue,
  MvccError,
  type MvccStore,
  type WatchEvent,
  type WatchResponse,
} from '@flotilla/mvcc';

/** Bytes as a latin1 string, so tests compare readable values (one char per byte). */
export const s = (u: Uint8Array): string =>
  Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('latin1');

/** Binary string to bytes. */
export const b = (x: string): Uint8Array => new Uint8Array(Buffer.from(x, 'latin1'));

/** A KeyValue with readable key and value. */
export interface Kv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export function kv(x: KeyValue): Kv {
  return {
    key: s(x.key),
    value: s(x.value),
    createRevision: x.createRevision,
    modRevision: x.modRevision,
    version: x.version,
    lease: x.lease,
  };
}

/** Any result with byte arrays replaced by readable strings (deeply). */
export function readable(x: unknown): unknown {
  if (x instanceof Uint8Array) return s(x);
  if (Array.isArray(x)) return x.map(readable);
  if (typeof x === 'object' && x !== null) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, readable(v)]));
  }
  return x;
}

/** A watch event as `type key@modRevision` (plus `<-prev@rev` with prevKv). */
export function ev(e: WatchEvent): string {
  const base = `${e.type} ${s(e.kv.key)}@${e.kv.modRevision}`;
  return e.prevKv === undefined ? base : `${base}<-${s(e.prevKv.value)}@${e.prevKv.modRevision}`;
}

/** Collects a watch's responses. */
export function collector(): {
  responses: WatchResponse[];
  listener: (r: WatchResponse) => void;
  events: () => string[];
} {
  const responses: WatchResponse[] = [];
  return {
    responses,
    listener: (r) => {
      responses.push(r);
    },
    events: () => responses.flatMap((r) => r.events.map(ev)),
  };
}

/** A scheduler for `MvccStore` that queues deliveries until `run()` is called. */
export function manualScheduler(): {
  schedule: (task: () => void) => void;
  run: () => number;
  pending: () => number;
} {
  const tasks: (() => void)[] = [];
  return {
    schedule: (task) => {
      tasks.push(task);
    },
    run: () => {
      let n = 0;
      for (let t = tasks.shift(); t !== undefined; t = tasks.shift()) {
        t();
        n++;
      }
      return n;
    },
    pending: () => tasks.length,
  };
}

/** Lets queued microtasks (default watch deliveries, settled listener promises) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Asserts `f` throws an MvccError with `code`, and that the store's state did not change. */
export function rejects(store: MvccStore, f: () => unknown, code: string): void {
  const before = store.snapshot();
  const revision = store.revision;
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof MvccError, `expected MvccError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
  assert.equal(store.revision, revision, 'a rejected call created a revision');
  assert.deepEqual(store.snapshot(), before, 'a rejected call changed the store');
}
