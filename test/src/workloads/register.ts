/**
 * The register workload (Jepsen's linearizable register, one independent register per key):
 * workers read, write and compare-and-set a few keys at a time; a key is retired after
 * `opsPerKey` operations and a fresh one takes its place, so each key's history stays small
 * enough for the linearizability search (histories of independent keys are checked apart).
 *
 * Encoding: history key = the KV key (`r/<n>`); values are unique integers per key, stored as
 * their decimal string. A read is a linearizable `get`; a write a `put`; a cas a `txn` comparing
 * the value and putting the new one (`succeeded: false` → `fail`, the compare failed).
 */
import type { RegisterValue } from '../history/types.js';
import type { Workload, WorkloadHost } from './types.js';
import { type Completion, Worker } from './worker.js';

/** Knobs of {@link registerWorkload}. */
export interface RegisterOptions {
  /** Concurrent client processes (default 5). */
  readonly clients?: number;
  /** Keys in use at a time (default 3). */
  readonly activeKeys?: number;
  /** Operations on a key before it is retired (default 120). */
  readonly opsPerKey?: number;
  /** Key prefix (default `r/`); the watch workload uses its own. */
  readonly prefix?: string;
  /** Idle time between a worker's operations, ms (default 1-8, drawn per operation). */
  readonly thinkMs?: readonly [number, number];
}

const dec = new TextDecoder();

/** The shared state of one register run: which keys are live, what was written. */
class Registers {
  readonly #active: { key: string; ops: number }[] = [];
  readonly used: string[] = [];
  readonly #next = new Map<string, number>();
  readonly #last = new Map<string, number>();
  #nextKey = 0;

  constructor(
    readonly prefix: string,
    active: number,
    readonly opsPerKey: number,
  ) {
    for (let i = 0; i < active; i++) this.#active.push({ key: this.#newKey(), ops: 0 });
  }

  #newKey(): string {
    const key = `${this.prefix}${this.#nextKey++}`;
    this.used.push(key);
    return key;
  }

  /** A live key for the next operation (retiring keys that had their share). */
  take(slot: number): string {
    const i = slot % this.#active.length;
    let k = this.#active[i] as { key: string; ops: number };
    if (k.ops >= this.opsPerKey) {
      k = { key: this.#newKey(), ops: 0 };
      this.#active[i] = k;
    }
    k.ops++;
    return k.key;
  }

  /** A value never written to `key` before. */
  fresh(key: string): number {
    const v = (this.#next.get(key) ?? 0) + 1;
    this.#next.set(key, v);
    return v;
  }

  /** The last value seen or written for `key` (a likely-current cas expectation). */
  last(key: string): number | undefined {
    return this.#last.get(key);
  }

  saw(key: string, v: number | null): void {
    if (v !== null) this.#last.set(key, v);
  }
}

function parse(value: Uint8Array | undefined): RegisterValue | null {
  if (value === undefined) return null;
  const s = dec.decode(value);
  const n = Number(s);
  return Number.isSafeInteger(n) && String(n) === s ? n : s;
}

/** One random register operation by `w` on a live key. */
export async function registerOp(w: Worker, regs: Registers, serverTimeoutMs: number): Promise<Completion> {
  const key = regs.take(w.slot + w.rng.int(0, 1000));
  const roll = w.rng.next();
  if (roll < 0.45) {
    return w.op(
      'read',
      [key, null],
      async (api) => {
        const r = await api.get(key, { timeoutMs: serverTimeoutMs });
        const v = parse(r.kvs[0]?.value);
        if (typeof v === 'number' || v === null) regs.saw(key, v);
        return { type: 'ok', value: [key, v] };
      },
      { readOnly: true },
    );
  }
  if (roll < 0.75) {
    const v = regs.fresh(key);
    return w.op('write', [key, v], async (api) => {
      const r = await api.put(key, String(v), { timeoutMs: serverTimeoutMs });
      regs.saw(key, v);
      return { type: 'ok', revision: r.header.revision };
    });
  }
  const last = regs.last(key);
  const expected = last !== undefined && w.rng.chance(0.7) ? last : w.rng.int(1, (last ?? 1) + 2);
  const v = regs.fresh(key);
  return w.op('cas', [key, [expected, v]], async (api) => {
    const r = await api.txn(
      {
        compare: [{ key, target: 'value', result: 'equal', value: String(expected) }],
        success: [{ put: { key, value: String(v) } }],
      },
      { timeoutMs: serverTimeoutMs },
    );
    if (!r.succeeded) return { type: 'fail', error: 'COMPARE_FAILED' };
    regs.saw(key, v);
    return { type: 'ok', revision: r.header.revision };
  });
}

/** The register workload (see the module notes). */
export function registerWorkload(
  options: RegisterOptions = {},
): Workload & { readonly keys: () => string[] } {
  const clients = options.clients ?? 5;
  const [thinkMin, thinkMax] = options.thinkMs ?? [1, 8];
  let regs: Registers | undefined;
  const state = (): Registers => {
    regs ??= new Registers(options.prefix ?? 'r/', options.activeKeys ?? 3, options.opsPerKey ?? 120);
    return regs;
  };
  return {
    name: 'register',
    checkers: ['linearizability'],
    keys: () => [...state().used],
    async run(host: WorkloadHost): Promise<void> {
      const r = state();
      const serverTimeout = Math.floor(host.opTimeoutMs * 0.8);
      const loop = async (slot: number): Promise<void> => {
        const w = new Worker(host, slot);
        while (!host.stopping) {
          await registerOp(w, r, serverTimeout);
          if (thinkMax > 0) await w.sleep(thinkMin + w.rng.next() * (thinkMax - thinkMin));
        }
      };
      await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
    },
    async finish(host: WorkloadHost): Promise<void> {
      await finalReads(host, state().used, host.freshProcess());
    },
  };
}

/**
 * Reads every key once more after the cluster healed (retrying a read that failed a few times),
 * so a lost acknowledged write shows as a final read of an older value.
 */
export async function finalReads(
  host: WorkloadHost,
  keys: readonly string[],
  process: number,
): Promise<void> {
  const w = new Worker(host, process);
  for (const key of keys) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const c = await w.op(
        'read',
        [key, null],
        async (api) => {
          const r = await api.get(key);
          return { type: 'ok', value: [key, parse(r.kvs[0]?.value)] };
        },
        { readOnly: true },
      );
      if (c.type === 'ok') break;
    }
  }
}

export { Registers };
