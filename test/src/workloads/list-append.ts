/**
 * The list-append workload (Elle's): transactions of 1-4 micro-ops, each an append of a unique
 * integer to a key's list or a read of a key's list, over a few active keys that are retired
 * after a number of appends.
 *
 * Encoding in the KV (optimistic multi-key transactions, as etcd clients write them): each list
 * is ONE key whose value is the list as JSON (`[1,4,7]`). A transaction
 * 1. reads every key it touches in one read-only `txn` (ranges at one revision, linearizable),
 *    noting each key's `modRevision` (0 when absent);
 * 2. computes its reads and new lists locally (a read after an append in the same transaction
 *    sees it, as Elle expects);
 * 3. if it appends, commits with one `txn` whose compares require every touched key's
 *    `modRevision` to be unchanged and whose success branch puts the new lists. A failed compare
 *    changed nothing: the transaction starts over from step 1 (at most 3 attempts, then `fail`).
 * The commit revision (the read revision for a read-only transaction) is the `revision` of the
 * `ok` event. Since every touched key is compared, the transaction's reads are current at its
 * commit revision: a real multi-key transaction, strictly serializable if the store is.
 */
import type { TxnResponse } from '@flotilla/kv';
import type { Compare, Op } from '@flotilla/mvcc';
import type { MicroOp } from '../history/types.js';
import type { ClientApi, Workload, WorkloadHost } from './types.js';
import { type Completion, Worker } from './worker.js';

/** Knobs of {@link listAppendWorkload}. */
export interface ListAppendOptions {
  readonly clients?: number;
  /** Keys in use at a time (default 5). */
  readonly activeKeys?: number;
  /** Appends to a key before it is retired (default 40). */
  readonly appendsPerKey?: number;
  /** Longest transaction (default 4 micro-ops). */
  readonly maxTxnLength?: number;
  readonly thinkMs?: readonly [number, number];
}

const dec = new TextDecoder();

/** Key state shared by the workers: live keys, next element per key. */
class Lists {
  readonly #active: string[] = [];
  readonly #appends = new Map<string, number>();
  readonly used: string[] = [];
  #next = 0;

  constructor(
    active: number,
    readonly appendsPerKey: number,
  ) {
    for (let i = 0; i < active; i++) this.#active.push(this.#newKey());
  }

  #newKey(): string {
    const k = `la/${this.#next++}`;
    this.used.push(k);
    return k;
  }

  /** A live key chosen by `roll` in [0, 1). */
  key(roll: number): string {
    return this.#active[Math.floor(roll * this.#active.length)] as string;
  }

  /** The next element for `key` (unique per key); retires the key when it had its share. */
  element(key: string): number {
    const n = (this.#appends.get(key) ?? 0) + 1;
    this.#appends.set(key, n);
    if (n >= this.appendsPerKey) {
      const i = this.#active.indexOf(key);
      if (i >= 0) this.#active[i] = this.#newKey();
    }
    return n;
  }
}

function parseList(value: Uint8Array | undefined): number[] {
  if (value === undefined) return [];
  const parsed: unknown = JSON.parse(dec.decode(value));
  if (!Array.isArray(parsed) || !parsed.every((x) => Number.isSafeInteger(x))) {
    throw new Error(`a list key holds ${dec.decode(value)}, not a list of integers`);
  }
  return parsed as number[];
}

/** The kvs of the i-th range response of a txn. */
function rangeAt(r: TxnResponse, i: number): { value: Uint8Array; modRevision: number } | undefined {
  const op = r.responses[i];
  if (op === undefined || !('range' in op)) return undefined;
  return op.range.kvs[0];
}

/** Runs the micro-ops `mops` as one transaction (see the module notes). */
export async function runTxn(
  api: ClientApi,
  mops: readonly MicroOp[],
  timeoutMs: number,
): Promise<Completion> {
  const keys = [...new Set(mops.map((m) => String(m[1])))];
  for (let attempt = 0; attempt < 3; attempt++) {
    const read = await api.txn({ success: keys.map((key): Op => ({ range: { key } })) }, { timeoutMs });
    const lists = new Map<string, number[]>();
    const compare: Compare[] = [];
    keys.forEach((key, i) => {
      const kv = rangeAt(read, i);
      lists.set(key, parseList(kv?.value));
      compare.push({ key, target: 'modRevision', result: 'equal', value: kv?.modRevision ?? 0 });
    });
    const done: MicroOp[] = [];
    const written = new Set<string>();
    for (const m of mops) {
      const key = String(m[1]);
      const list = lists.get(key) as number[];
      if (m[0] === 'r') done.push(['r', m[1], [...list]]);
      else {
        list.push(m[2]);
        written.add(key);
        done.push(m);
      }
    }
    if (written.size === 0) return { type: 'ok', value: done, revision: read.header.revision };
    const commit = await api.txn(
      {
        compare,
        success: [...written].map((key): Op => ({ put: { key, value: JSON.stringify(lists.get(key)) } })),
      },
      { timeoutMs },
    );
    if (commit.succeeded) return { type: 'ok', value: done, revision: commit.header.revision };
  }
  return { type: 'fail', error: 'COMPARE_FAILED' };
}

/** The list-append workload (see the module notes). */
export function listAppendWorkload(options: ListAppendOptions = {}): Workload {
  const clients = options.clients ?? 4;
  const maxLen = options.maxTxnLength ?? 4;
  const [thinkMin, thinkMax] = options.thinkMs ?? [2, 10];
  const lists = new Lists(options.activeKeys ?? 5, options.appendsPerKey ?? 40);
  return {
    name: 'list-append',
    checkers: ['list-append'],
    async run(host: WorkloadHost): Promise<void> {
      const serverTimeout = Math.floor(host.opTimeoutMs * 0.4);
      const loop = async (slot: number): Promise<void> => {
        const w = new Worker(host, slot);
        while (!host.stopping) {
          const n = w.rng.int(1, maxLen + 1);
          const mops: MicroOp[] = [];
          for (let i = 0; i < n; i++) {
            const key = lists.key(w.rng.next());
            mops.push(w.rng.chance(0.5) ? ['r', key, null] : ['append', key, lists.element(key)]);
          }
          await w.op('txn', mops, (api) => runTxn(api, mops, serverTimeout), {
            readOnly: mops.every((m) => m[0] === 'r'),
          });
          await w.sleep(thinkMin + w.rng.next() * (thinkMax - thinkMin));
        }
      };
      await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
    },
    async finish(host: WorkloadHost): Promise<void> {
      // One final read of every key ever used (in chunks within the txn op limit).
      const w = new Worker(host, host.freshProcess());
      for (let i = 0; i < lists.used.length; i += 64) {
        const mops: MicroOp[] = lists.used.slice(i, i + 64).map((k) => ['r', k, null]);
        for (let attempt = 0; attempt < 5; attempt++) {
          const c = await w.op('txn', mops, (api) => runTxn(api, mops, host.opTimeoutMs), { readOnly: true });
          if (c.type === 'ok') break;
        }
      }
    },
  };
}
