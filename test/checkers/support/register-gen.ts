/**
 * Generates random concurrent register histories that are linearizable by construction, and
 * mutations of them that are certainly not. Test and benchmark support, not package API.
 *
 * Construction: clients invoke operations; each operation takes effect at one moment between
 * its invoke and its completion (its linearization point), applied to a sequential model of
 * one register per key, and completes with the model's answer. Some operations crash (`info`)
 * before or after taking effect; a crashed one that has not taken effect may still do so
 * later, or never. Some fail before taking effect. Values written are unique per key, which
 * the mutations rely on.
 */
import type { Random } from '@flotilla/raft';
import {
  type HistoryEvent,
  HistoryRecorder,
  type JsonValue,
  type OperationHandle,
} from '@flotilla/verification';

export interface RegisterGenOptions {
  readonly clients: number;
  readonly operations: number;
  readonly keys: number;
  /** Chance that a pending operation crashes (completes `info`). */
  readonly infoRate?: number;
  /** Chance that a write or cas fails before taking effect. */
  readonly failRate?: number;
}

type Kind = 'read' | 'write' | 'cas';

interface InFlight {
  readonly handle: OperationHandle;
  readonly kind: Kind;
  readonly key: string;
  readonly value: number | null;
  readonly expected: number | null;
  applied: boolean;
  result: JsonValue;
  succeeded: boolean;
}

/** A linearizable register history (see the file comment). */
export function generateRegisterHistory(rng: Random, options: RegisterGenOptions): HistoryEvent[] {
  let now = 0;
  const rec = new HistoryRecorder({ clock: () => (now += rng.int(1, 1000)) });
  const state = new Map<string, number | null>();
  const written = new Map<string, number[]>();
  let nextValue = 1;
  const infoRate = options.infoRate ?? 0.02;
  const failRate = options.failRate ?? 0.02;
  const process = Array.from({ length: options.clients }, (_, i) => i);
  const slots: (InFlight | null)[] = Array.from({ length: options.clients }, () => null);
  const zombies: InFlight[] = [];
  let invoked = 0;

  const apply = (op: InFlight): void => {
    const cur = state.get(op.key) ?? null;
    op.applied = true;
    if (op.kind === 'read') {
      op.result = [op.key, cur];
      op.succeeded = true;
    } else if (op.kind === 'write') {
      state.set(op.key, op.value);
      op.succeeded = true;
    } else if (cur === op.expected) {
      state.set(op.key, op.value);
      op.succeeded = true;
    } else {
      op.succeeded = false;
    }
  };

  while (invoked < options.operations || slots.some((s) => s !== null)) {
    const c = rng.int(0, options.clients);
    const slot = slots[c];
    if (slot === null || slot === undefined) {
      if (invoked >= options.operations) continue;
      if (zombies.length > 0 && rng.chance(0.1)) {
        // A crashed request still in flight somewhere takes effect late (or is forgotten).
        const z = zombies.splice(rng.int(0, zombies.length), 1)[0];
        if (z !== undefined && rng.chance(0.5)) apply(z);
      }
      const key = `k${rng.int(0, options.keys)}`;
      const roll = rng.next();
      const kind: Kind = roll < 0.45 ? 'read' : roll < 0.8 ? 'write' : 'cas';
      const value = kind === 'read' ? null : nextValue++;
      const history = written.get(key) ?? [];
      const expected =
        kind === 'cas' ? (history.length === 0 || rng.chance(0.2) ? null : rng.pick(history)) : null;
      if (value !== null) written.set(key, [...history, value]);
      const arg: JsonValue =
        kind === 'read' ? [key, null] : kind === 'write' ? [key, value] : [key, [expected, value]];
      slots[c] = {
        handle: rec.invoke(process[c] ?? c, kind, arg),
        kind,
        key,
        value,
        expected,
        applied: false,
        result: arg,
        succeeded: false,
      };
      invoked++;
      continue;
    }
    if (!slot.applied) {
      if (slot.kind !== 'read' && rng.chance(failRate)) {
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
    } else if (slot.succeeded) {
      slot.handle.ok(slot.result);
    } else {
      slot.handle.fail();
    }
    slots[c] = null;
  }
  return [...rec.events];
}

/** A copy of `history` with one event's value replaced (and its invoke's, when given). */
function withValues(
  history: readonly HistoryEvent[],
  invokeIndex: number | null,
  completionIndex: number,
  value: JsonValue,
): HistoryEvent[] {
  return history.map((e) => (e.index === invokeIndex || e.index === completionIndex ? { ...e, value } : e));
}

interface Op {
  readonly f: string;
  readonly type: string;
  readonly key: string;
  readonly invoke: HistoryEvent;
  readonly completion: HistoryEvent;
  readonly value: JsonValue;
}

function operations(history: readonly HistoryEvent[]): Op[] {
  const open = new Map<number, HistoryEvent>();
  const out: Op[] = [];
  for (const e of history) {
    if (e.type === 'invoke') {
      open.set(e.process, e);
      continue;
    }
    const invoke = open.get(e.process);
    if (invoke === undefined) continue;
    open.delete(e.process);
    const v = e.value as readonly JsonValue[];
    out.push({ f: e.f, type: e.type, key: String(v[0]), invoke, completion: e, value: v[1] ?? null });
  }
  return out;
}

function written(op: Op): JsonValue | undefined {
  if (op.type !== 'ok') return undefined;
  if (op.f === 'write') return op.value;
  if (op.f === 'cas') return (op.value as readonly JsonValue[])[1];
  return undefined;
}

/**
 * Stale read: writes W1 then W2 (W2 invoked after W1 completed), then a read invoked after W2
 * completed is made to return W1's value. Values are unique, so nothing else could have
 * restored it: certainly not linearizable. Returns null when the history has no such triple.
 */
export function injectStaleRead(history: readonly HistoryEvent[], rng: Random): HistoryEvent[] | null {
  const ops = operations(history);
  const candidates: [Op, Op][] = [];
  for (const r of ops) {
    if (r.f !== 'read' || r.type !== 'ok') continue;
    const before = ops.filter(
      (w) => w.key === r.key && written(w) !== undefined && w.completion.index < r.invoke.index,
    );
    for (const w2 of before) {
      const w1 = before.find((w) => w.completion.index < w2.invoke.index && written(w) !== r.value);
      if (w1 !== undefined) candidates.push([r, w1]);
    }
    if (candidates.length > 20) break;
  }
  if (candidates.length === 0) return null;
  const [r, w1] = rng.pick(candidates);
  return withValues(history, null, r.completion.index, [r.key, written(w1) ?? null]);
}

/** Garbage read: an ok read returns a value never written. Null if there is no ok read. */
export function injectGarbageRead(history: readonly HistoryEvent[], rng: Random): HistoryEvent[] | null {
  const reads = operations(history).filter((o) => o.f === 'read' && o.type === 'ok');
  if (reads.length === 0) return null;
  const r = rng.pick(reads);
  return withValues(history, null, r.completion.index, [r.key, -1]);
}

/**
 * Lost update: two ok cas on one key, C1 completed before C2 was invoked; C2 is made to expect
 * what C1 expected. C1 replaced that value and unique values mean nothing restores it, so both
 * cannot have succeeded. Null when there is no such pair.
 */
export function injectDoubleCas(history: readonly HistoryEvent[], rng: Random): HistoryEvent[] | null {
  const cas = operations(history).filter((o) => o.f === 'cas' && o.type === 'ok');
  const pairs: [Op, Op][] = [];
  for (const c1 of cas) {
    for (const c2 of cas) {
      if (c1.key === c2.key && c1.completion.index < c2.invoke.index) pairs.push([c1, c2]);
    }
  }
  if (pairs.length === 0) return null;
  const [c1, c2] = rng.pick(pairs);
  const expected = (c1.value as readonly JsonValue[])[0] ?? null;
  const fresh = (c2.value as readonly JsonValue[])[1] ?? null;
  return withValues(history, c2.invoke.index, c2.completion.index, [c2.key, [expected, fresh]]);
}
