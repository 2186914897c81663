/**
 * Generates random concurrent list-append histories that are strictly serializable by
 * construction, and mutations of them that each carry one known anomaly. Test and benchmark
 * support, not package API.
 *
 * Construction: each txn is applied atomically to a map of lists at one moment between its
 * invoke and its completion, so the order of application is a serial order that respects real
 * time. Some txns abort before applying (`fail`), some crash (`info`) before or after applying;
 * a crashed one that has not applied may still apply later, or never. Appended elements are
 * unique (one counter for all keys).
 */
import type { Random } from '@flotilla/raft';
import {
  type HistoryEvent,
  HistoryRecorder,
  type JsonValue,
  type MicroOp,
  type OperationHandle,
} from '@flotilla/verification';

export interface ListAppendGenOptions {
  readonly clients: number;
  readonly txns: number;
  readonly keys: number;
  readonly maxMops?: number;
  readonly infoRate?: number;
  readonly failRate?: number;
}

interface InFlight {
  readonly handle: OperationHandle;
  readonly template: readonly MicroOp[];
  result: MicroOp[] | null;
}

/** A strictly serializable list-append history (see the file comment). */
export function generateListAppendHistory(rng: Random, options: ListAppendGenOptions): HistoryEvent[] {
  let now = 0;
  const rec = new HistoryRecorder({ clock: () => (now += rng.int(1, 1000)) });
  const lists = new Map<string, number[]>();
  let element = 1;
  const maxMops = options.maxMops ?? 4;
  const infoRate = options.infoRate ?? 0.02;
  const failRate = options.failRate ?? 0.03;
  const process = Array.from({ length: options.clients }, (_, i) => i);
  const slots: (InFlight | null)[] = Array.from({ length: options.clients }, () => null);
  const zombies: InFlight[] = [];
  let invoked = 0;

  const apply = (t: InFlight): void => {
    t.result = t.template.map((m): MicroOp => {
      const key = String(m[1]);
      const list = lists.get(key) ?? [];
      if (m[0] === 'append') {
        lists.set(key, [...list, m[2]]);
        return m;
      }
      return ['r', m[1], [...list]];
    });
  };

  while (invoked < options.txns || slots.some((s) => s !== null)) {
    const c = rng.int(0, options.clients);
    const slot = slots[c];
    if (slot === null || slot === undefined) {
      if (invoked >= options.txns) continue;
      if (zombies.length > 0 && rng.chance(0.1)) {
        const z = zombies.splice(rng.int(0, zombies.length), 1)[0];
        if (z !== undefined && rng.chance(0.5)) apply(z);
      }
      const template: MicroOp[] = [];
      const n = rng.int(1, maxMops + 1);
      for (let i = 0; i < n; i++) {
        const key = `k${rng.int(0, options.keys)}`;
        template.push(rng.chance(0.5) ? ['append', key, element++] : ['r', key, null]);
      }
      slots[c] = {
        handle: rec.invoke(process[c] ?? c, 'txn', template as unknown as JsonValue),
        template,
        result: null,
      };
      invoked++;
      continue;
    }
    if (slot.result === null) {
      if (rng.chance(failRate)) {
        slot.handle.fail();
        slots[c] = null;
      } else if (rng.chance(infoRate)) {
        slot.handle.info();
        zombies.push(slot);
        slots[c] = null;
        process[c] = (process[c] ?? c) + options.clients;
      } else {
        apply(slot);
      }
      continue;
    }
    if (rng.chance(infoRate)) {
      slot.handle.info();
      process[c] = (process[c] ?? c) + options.clients;
    } else {
      slot.handle.ok(slot.result as unknown as JsonValue);
    }
    slots[c] = null;
  }
  return [...rec.events];
}

type Mops = MicroOp[];

function completions(history: readonly HistoryEvent[]): { invoke: HistoryEvent; done: HistoryEvent }[] {
  const open = new Map<number, HistoryEvent>();
  const out: { invoke: HistoryEvent; done: HistoryEvent }[] = [];
  for (const e of history) {
    if (e.type === 'invoke') open.set(e.process, e);
    else {
      const invoke = open.get(e.process);
      if (invoke !== undefined) out.push({ invoke, done: e });
      open.delete(e.process);
    }
  }
  return out;
}

function replace(history: readonly HistoryEvent[], target: HistoryEvent, mops: Mops): HistoryEvent[] {
  return history.map((e) => (e === target ? { ...e, value: mops as unknown as JsonValue } : e));
}

/** Ok reads: [completion event, micro-op index, key, list]. */
function okReads(history: readonly HistoryEvent[]) {
  const out: { done: HistoryEvent; invoke: HistoryEvent; i: number; key: JsonValue; list: number[] }[] = [];
  for (const { invoke, done } of completions(history)) {
    if (done.type !== 'ok') continue;
    (done.value as unknown as Mops).forEach((m, i) => {
      if (m[0] === 'r' && m[2] !== null) out.push({ done, invoke, i, key: m[1], list: [...m[2]] });
    });
  }
  return out;
}

function withRead(
  history: readonly HistoryEvent[],
  done: HistoryEvent,
  i: number,
  list: number[],
): HistoryEvent[] {
  const mops = (done.value as unknown as Mops).map(
    (m, j): MicroOp => (j === i && m[0] === 'r' ? ['r', m[1], list] : m),
  );
  return replace(history, done, mops);
}

/** A read lists one of its elements twice. Null without a non-empty read. */
export function injectDuplicate(history: readonly HistoryEvent[], rng: Random): HistoryEvent[] | null {
  const reads = okReads(history).filter((r) => r.list.length > 0);
  if (reads.length === 0) return null;
  const r = rng.pick(reads);
  return withRead(history, r.done, r.i, [...r.list, r.list[0] as number]);
}

/** A read shows an element nobody appended. Null without reads. */
export function injectGarbage(history: readonly HistoryEvent[], rng: Random): HistoryEvent[] | null {
  const reads = okReads(history);
  if (reads.length === 0) return null;
  const r = rng.pick(reads);
  return withRead(history, r.done, r.i, [...r.list, 1_000_000_000]);
}

/** A read shows an element appended by a failed txn. Null without such a pair. */
export function injectAbortedRead(history: readonly HistoryEvent[], rng: Random): HistoryEvent[] | null {
  const aborted: { key: JsonValue; el: number }[] = [];
  for (const { invoke, done } of completions(history)) {
    if (done.type !== 'fail') continue;
    for (const m of invoke.value as unknown as Mops)
      if (m[0] === 'append') aborted.push({ key: m[1], el: m[2] });
  }
  const pairs = okReads(history).flatMap((r) =>
    aborted.filter((a) => a.key === r.key).map((a) => ({ r, a })),
  );
  if (pairs.length === 0) return null;
  const { r, a } = rng.pick(pairs);
  return withRead(history, r.done, r.i, [...r.list, a.el]);
}

/**
 * A stale read: txn R reads a key once and does not append to it; its list is cut just before
 * the first element of a txn T that completed before R was invoked. R must have seen T's
 * append under strict serializability. Null without such a pair.
 */
export function injectStaleRead(history: readonly HistoryEvent[], rng: Random): HistoryEvent[] | null {
  const done = completions(history);
  const writerOf = new Map<string, { invoke: HistoryEvent; done: HistoryEvent }>();
  for (const c of done) {
    for (const m of c.invoke.value as unknown as Mops)
      if (m[0] === 'append') writerOf.set(`${String(m[1])}/${m[2]}`, c);
  }
  const candidates: { done: HistoryEvent; i: number; list: number[] }[] = [];
  for (const r of okReads(history)) {
    const mops = r.done.value as unknown as Mops;
    if (mops.filter((m) => m[1] === r.key).length !== 1) continue;
    const cut = r.list.findIndex((el) => {
      const w = writerOf.get(`${String(r.key)}/${el}`);
      return w !== undefined && w.done.type === 'ok' && w.done.index < r.invoke.index;
    });
    if (cut < 0) continue;
    // Cut at the first element of that writer, so the next element is its append.
    candidates.push({ done: r.done, i: r.i, list: r.list.slice(0, cut) });
  }
  if (candidates.length === 0) return null;
  const c = rng.pick(candidates);
  return withRead(history, c.done, c.i, c.list);
}
