/**
 * The watch workload: writers run register operations (reads, writes, compare-and-sets) on a
 * few fixed keys under `w/`, while watchers watch ranges of them and log every delivered event
 * (`watch.jsonl`). A watcher restarts, as a client does after a lost connection, from the last
 * revision it received + 1 (or its previous start when it received nothing): when its member
 * stops (a `canceled` response), and voluntarily every few hundred ms, on another member. Each
 * (re)start writes a `start_revision` line.
 *
 * At the end, a sentinel write to `w/0` (inside every watcher's range) gets revision R; each
 * watcher waits until it has received R, which proves (events arrive in revision order) it has
 * received everything before, and writes `end_revision` R. Judged by the watch checker and, for
 * the writers' history, the linearizability checker.
 */
import type { WatchResponse } from '@flotilla/mvcc';
import type { WatchStartLine } from '../history/watch-log.js';
import { finalReads, Registers, registerOp } from './register.js';
import type { Endpoint, Workload, WorkloadHost } from './types.js';
import { Worker } from './worker.js';

/** Knobs of {@link watchWorkload}. */
export interface WatchOptions {
  readonly writers?: number;
  readonly watchers?: number;
  /** Number of keys written (`w/0` ... `w/<n-1>`, default 4). */
  readonly keys?: number;
  /** A watcher restarts voluntarily after this long (ms, drawn per session; default 100-500). */
  readonly restartMs?: readonly [number, number];
  /** Longest wait for watchers to catch up at the end (simulated ms, default 20,000). */
  readonly catchUpMs?: number;
}

const dec = new TextDecoder();
const PREFIX = 'w/';

/** The ranges watchers are given; each contains `w/0`, where the sentinel is written. */
function rangeFor(i: number, keys: number): { key: string; rangeEnd?: string } {
  switch (i % 3) {
    case 0:
      // Every key under the prefix: 'w/' .. 'w0' ('0' follows '/').
      return { key: PREFIX, rangeEnd: 'w0' };
    case 1:
      return { key: `${PREFIX}0`, rangeEnd: `${PREFIX}${Math.max(1, Math.floor(keys / 2))}` };
    default:
      return { key: `${PREFIX}0` };
  }
}

function parse(value: Uint8Array): number | string {
  const s = dec.decode(value);
  const n = Number(s);
  return Number.isSafeInteger(n) && String(n) === s ? n : s;
}

/** One watcher: sessions on random members, restarting from what it received. */
class Watcher {
  /** Highest event revision delivered. */
  last = 0;
  /** The revision the current session started at. */
  start = 0;
  #target = 0;
  #done = false;
  #wake: (() => void) | undefined;

  constructor(
    readonly id: number,
    readonly range: { key: string; rangeEnd?: string },
    readonly worker: Worker,
    readonly host: WorkloadHost,
    readonly restartMs: readonly [number, number],
  ) {}

  /** Stops once an event at `revision` or later has been received; writes `end_revision`. */
  finishAt(revision: number): void {
    this.#target = revision;
    this.#check();
  }

  get finished(): boolean {
    return this.#done;
  }

  /** Gives up (the run ends). */
  abandon(): void {
    this.#done = true;
    this.#wake?.();
  }

  #check(): void {
    if (this.#done || this.#target === 0 || this.last < this.#target) return;
    this.host.watchLog.push({ watcher: this.id, key: this.range.key, end_revision: this.#target });
    this.#done = true;
    this.#wake?.();
  }

  async run(firstStart: number): Promise<void> {
    this.start = firstStart;
    const w = this.worker;
    while (!this.#done) {
      await w.running();
      const eps = this.host.endpoints();
      const ep: Endpoint | undefined = eps.length === 0 ? undefined : w.rng.pick(eps);
      if (ep?.api === undefined) {
        await w.sleep(20);
        continue;
      }
      const from = this.last > 0 ? this.last + 1 : this.start;
      this.start = from;
      const line: WatchStartLine =
        this.range.rangeEnd === undefined
          ? { watcher: this.id, key: this.range.key, start_revision: from }
          : { watcher: this.id, key: this.range.key, start_revision: from, range_end: this.range.rangeEnd };
      this.host.watchLog.push(line);
      const watch = w.client(undefined, ep).watch({ ...this.range, startRevision: from });
      const [lo, hi] = this.restartMs;
      const timer = w.clock.setTimeout(() => watch.cancel(), lo + w.rng.next() * (hi - lo));
      this.#wake = () => watch.cancel();
      try {
        for await (const resp of watch as AsyncIterable<WatchResponse>) {
          // A paused client takes its events only once it runs again.
          await w.running();
          for (const e of resp.events) {
            this.host.watchLog.push({
              watcher: this.id,
              key: dec.decode(e.kv.key),
              revision: e.kv.modRevision,
              event: e.type,
              value: e.type === 'put' ? parse(e.kv.value) : null,
            });
            if (e.kv.modRevision > this.last) this.last = e.kv.modRevision;
          }
          this.#check();
          if (this.#done || resp.canceled === true) break;
        }
      } finally {
        w.clock.clearTimeout(timer);
        watch.cancel();
        this.#wake = undefined;
      }
      if (!this.#done) await w.sleep(1 + w.rng.next() * 5);
    }
  }
}

/** The watch workload (see the module notes). */
export function watchWorkload(options: WatchOptions = {}): Workload {
  const writers = options.writers ?? 3;
  const nWatchers = options.watchers ?? 3;
  const nKeys = options.keys ?? 4;
  const regs = new Registers(PREFIX, nKeys, Number.POSITIVE_INFINITY);
  const watchers: Watcher[] = [];
  const running: Promise<void>[] = [];
  return {
    name: 'watch',
    checkers: ['linearizability', 'watch'],
    async run(host: WorkloadHost): Promise<void> {
      const serverTimeout = Math.floor(host.opTimeoutMs * 0.8);
      // Watches start just after the current revision, read linearizably.
      const starter = new Worker(host, host.freshProcess());
      let first = 0;
      while (first === 0 && !host.stopping) {
        const c = await starter.op(
          'read',
          [`${PREFIX}0`, null],
          async (api) => {
            const r = await api.get(`${PREFIX}0`);
            first = r.header.revision + 1;
            const kv = r.kvs[0];
            return { type: 'ok', value: [`${PREFIX}0`, kv === undefined ? null : parse(kv.value)] };
          },
          { readOnly: true },
        );
        if (c.type !== 'ok') await starter.sleep(20);
      }
      for (let i = 0; i < nWatchers; i++) {
        const wt = new Watcher(
          i,
          rangeFor(i, nKeys),
          new Worker(host, 500 + i),
          host,
          options.restartMs ?? [100, 500],
        );
        watchers.push(wt);
        running.push(wt.run(first));
      }
      const loop = async (slot: number): Promise<void> => {
        const w = new Worker(host, slot);
        while (!host.stopping) {
          await registerOp(w, regs, serverTimeout);
          await w.sleep(2 + w.rng.next() * 8);
        }
      };
      await Promise.all(Array.from({ length: writers }, (_, i) => loop(i)));
    },
    async finish(host: WorkloadHost): Promise<void> {
      const w = new Worker(host, host.freshProcess());
      let sentinel = 0;
      for (let attempt = 0; attempt < 20 && sentinel === 0; attempt++) {
        const v = regs.fresh(`${PREFIX}0`);
        const c = await w.op('write', [`${PREFIX}0`, v], async (api) => {
          const r = await api.put(`${PREFIX}0`, String(v));
          return { type: 'ok', revision: r.header.revision };
        });
        if (c.type === 'ok' && c.revision !== undefined) sentinel = c.revision;
        else await w.sleep(50);
      }
      if (sentinel === 0) {
        host.problem('the sentinel write of the watch workload never succeeded');
        for (const wt of watchers) wt.abandon();
      } else {
        for (const wt of watchers) wt.finishAt(sentinel);
      }
      const deadline = new Promise<'late'>((resolve) => {
        w.clock.setTimeout(() => resolve('late'), options.catchUpMs ?? 20_000);
      });
      const all = Promise.all(running);
      if ((await Promise.race([all, deadline])) === 'late') {
        const stuck = watchers.filter((wt) => !wt.finished).map((wt) => wt.id);
        host.problem(`watchers ${stuck.join(', ')} never received the sentinel at revision ${sentinel}`);
        for (const wt of watchers) wt.abandon();
        await all;
      }
      await finalReads(host, regs.used, host.freshProcess());
    },
  };
}
