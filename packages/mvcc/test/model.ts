/**
 * A deliberately naive model of the store, for the model-based test: the full key-value map
 * of every revision (a list of maps), the list of changes of every revision, and etcd's rules
 * written as plainly as possible. Keys and values are binary strings; results have the store's
 * shapes with strings in place of byte arrays (compare with `readable(storeResult)`).
 */

export interface MKv {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;
}

export interface MChange {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The new version for a put, undefined for a delete. */
  readonly kv: MKv | undefined;
}

export type MRangeOpts = {
  revision?: number;
  limit?: number;
  sortOrder?: 'none' | 'ascend' | 'descend';
  sortTarget?: 'key' | 'version' | 'createRevision' | 'modRevision' | 'value';
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
};
export type MPutOpts = { lease?: number; prevKv?: boolean; ignoreValue?: boolean; ignoreLease?: boolean };
export type MCompare = {
  key: string;
  rangeEnd?: string;
  target: 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';
  result: 'equal' | 'notEqual' | 'greater' | 'less';
  value: number | string;
};
export type MOp =
  | { put: { key: string; value: string } & MPutOpts }
  | { range: { key: string; rangeEnd?: string } & MRangeOpts }
  | { deleteRange: { key: string; rangeEnd?: string; prevKv?: boolean } }
  | { txn: MTxn };
export type MTxn = { compare: MCompare[]; success: MOp[]; failure: MOp[] };

/** A failed operation, with the store's error code. */
export class ModelError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(code);
    this.code = code;
  }
}

/** Leases the model's lessor knows (the store gets the same `leaseExists`). */
export const LEASES = new Set([1, 2]);

type State = Map<string, MKv>;

function inRange(k: string, key: string, end: string | undefined): boolean {
  if (end === undefined || end === '') return k === key;
  if (end === '\0') return k >= key;
  return k >= key && k < end;
}

function select(state: State, key: string, end: string | undefined): MKv[] {
  return [...state.values()]
    .filter((kv) => inRange(kv.key, key, end))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

function cmp(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Model {
  /** `states[r]` is the whole map at revision r (index 0 unused; a fresh store is at 1). */
  readonly states: State[] = [new Map(), new Map()];
  /** `changes[r]` are the changes revision r made, in order. */
  readonly changes: MChange[][] = [[], []];
  compacted = -1;
  readonly compactions: number[] = [];

  get revision(): number {
    return this.states.length - 1;
  }

  private get current(): State {
    return this.states[this.revision] as State;
  }

  private commit(state: State, changes: MChange[]): void {
    this.states.push(state);
    this.changes.push(changes);
  }

  put(key: string, value: string, o: MPutOpts): { revision: number; prevKv?: MKv } {
    this.checkPutArgs(key, value, o);
    const lease = o.lease ?? 0;
    if (lease !== 0 && !LEASES.has(lease)) throw new ModelError('LEASE_NOT_FOUND');
    if ((o.ignoreValue || o.ignoreLease) && !this.current.has(key)) throw new ModelError('KEY_NOT_FOUND');
    const work = new Map(this.current);
    const changes: MChange[] = [];
    const res = this.applyPut(work, changes, key, value, o, this.revision + 1);
    this.commit(work, changes);
    return res;
  }

  private checkPutArgs(key: string, value: string, o: MPutOpts): void {
    if (key === '') throw new ModelError('EMPTY_KEY');
    if (o.ignoreValue && value !== '') throw new ModelError('VALUE_PROVIDED');
    if (o.ignoreLease && (o.lease ?? 0) !== 0) throw new ModelError('LEASE_PROVIDED');
  }

  private applyPut(
    work: State,
    changes: MChange[],
    key: string,
    value: string,
    o: MPutOpts,
    rev: number,
  ): { revision: number; prevKv?: MKv } {
    const prev = work.get(key);
    if ((o.ignoreValue || o.ignoreLease) && prev === undefined) throw new ModelError('KEY_NOT_FOUND');
    const kv: MKv = {
      key,
      value: o.ignoreValue && prev ? prev.value : value,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      lease: o.ignoreLease && prev ? prev.lease : (o.lease ?? 0),
    };
    work.set(key, kv);
    changes.push({ type: 'put', key, kv });
    return o.prevKv && prev ? { revision: rev, prevKv: prev } : { revision: rev };
  }

  range(
    key: string,
    end: string | undefined,
    o: MRangeOpts,
  ): { kvs: MKv[]; count: number; more: boolean; revision: number } {
    if (key === '') throw new ModelError('EMPTY_KEY');
    return this.rangeIn(undefined, key, end, o, this.revision);
  }

  /** A range read; `work` is a txn's working state, visible when reading at `viewRev`. */
  private rangeIn(
    work: State | undefined,
    key: string,
    end: string | undefined,
    o: MRangeOpts,
    viewRev: number,
  ): { kvs: MKv[]; count: number; more: boolean; revision: number } {
    const asked = o.revision ?? 0;
    if (asked > viewRev) throw new ModelError('FUTURE_REVISION');
    const rev = asked <= 0 ? viewRev : asked;
    if (rev < this.compacted) throw new ModelError('COMPACTED');
    const state = work !== undefined && rev === viewRev ? work : (this.states[rev] as State);
    const all = select(state, key, end);
    if (o.countOnly) return { kvs: [], count: all.length, more: false, revision: viewRev };
    const filtered = !!(o.maxModRevision || o.minModRevision || o.maxCreateRevision || o.minCreateRevision);
    const limit0 = o.limit ?? 0;
    // etcd sorts only the first limit + 1 keys when the sort comes from a non-key target alone.
    const fetched =
      (o.sortOrder ?? 'none') === 'none' && !filtered && limit0 > 0 ? all.slice(0, limit0 + 1) : all;
    let kvs = fetched.filter(
      (kv) =>
        (!o.maxModRevision || kv.modRevision <= o.maxModRevision) &&
        (!o.minModRevision || kv.modRevision >= o.minModRevision) &&
        (!o.maxCreateRevision || kv.createRevision <= o.maxCreateRevision) &&
        (!o.minCreateRevision || kv.createRevision >= o.minCreateRevision),
    );
    const target = o.sortTarget ?? 'key';
    let order = o.sortOrder ?? 'none';
    if (order === 'none' && target !== 'key') order = 'ascend';
    if (order !== 'none') {
      const field = (kv: MKv): number | string =>
        target === 'createRevision' ? kv.createRevision : kv[target];
      kvs = kvs
        .map((kv, i) => ({ kv, i }))
        .sort(
          (a, b) =>
            (order === 'ascend' ? cmp(field(a.kv), field(b.kv)) : cmp(field(b.kv), field(a.kv))) || a.i - b.i,
        )
        .map((x) => x.kv);
    }
    const limit = o.limit ?? 0;
    const more = limit > 0 && kvs.length > limit;
    if (more) kvs = kvs.slice(0, limit);
    if (o.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
    return { kvs, count: all.length, more, revision: viewRev };
  }

  deleteRange(
    key: string,
    end: string | undefined,
    prevKv: boolean,
  ): { deleted: number; prevKvs: MKv[]; revision: number } {
    if (key === '') throw new ModelError('EMPTY_KEY');
    const work = new Map(this.current);
    const changes: MChange[] = [];
    const res = this.applyDelete(work, changes, key, end, prevKv, this.revision);
    if (changes.length > 0) this.commit(work, changes);
    return res;
  }

  private applyDelete(
    work: State,
    changes: MChange[],
    key: string,
    end: string | undefined,
    prevKv: boolean,
    beginRev: number,
  ): { deleted: number; prevKvs: MKv[]; revision: number } {
    const victims = select(work, key, end);
    for (const kv of victims) {
      work.delete(kv.key);
      changes.push({ type: 'delete', key: kv.key, kv: undefined });
    }
    return {
      deleted: victims.length,
      prevKvs: prevKv ? victims : [],
      revision: changes.length > 0 ? beginRev + 1 : beginRev,
    };
  }

  compact(rev: number): void {
    if (rev <= this.compacted) throw new ModelError('COMPACTED');
    if (rev > this.revision) throw new ModelError('FUTURE_REVISION');
    this.compacted = rev;
    this.compactions.push(rev);
  }

  txn(t: MTxn): unknown {
    this.validateTxn(t);
    this.duplicates(t.success);
    this.duplicates(t.failure);
    const pre = this.current;
    const decided = new Map<MTxn, boolean>();
    const decide = (x: MTxn): void => {
      const ok = x.compare.every((c) => this.holds(pre, c));
      decided.set(x, ok);
      for (const op of ok ? x.success : x.failure) if ('txn' in op) decide(op.txn);
    };
    decide(t);
    const taken: MOp[] = [];
    const walk = (x: MTxn): void => {
      for (const op of decided.get(x) ? x.success : x.failure) {
        if ('txn' in op) walk(op.txn);
        else taken.push(op);
      }
    };
    walk(t);
    for (const op of taken) {
      if (!('put' in op)) continue;
      const p = op.put;
      if ((p.ignoreValue || p.ignoreLease) && !pre.has(p.key)) throw new ModelError('KEY_NOT_FOUND');
      if ((p.lease ?? 0) !== 0 && !LEASES.has(p.lease ?? 0)) throw new ModelError('LEASE_NOT_FOUND');
    }
    for (const op of taken) {
      if (!('range' in op) || !op.range.revision) continue;
      if (op.range.revision > this.revision) throw new ModelError('FUTURE_REVISION');
      if (op.range.revision < this.compacted) throw new ModelError('COMPACTED');
    }
    const work = new Map(pre);
    const changes: MChange[] = [];
    const begin = this.revision;
    const view = (): number => (changes.length > 0 ? begin + 1 : begin);
    const run = (x: MTxn, nested: boolean): unknown => {
      const responses = (decided.get(x) ? x.success : x.failure).map((op): unknown => {
        if ('put' in op)
          return { put: this.applyPut(work, changes, op.put.key, op.put.value, op.put, begin + 1) };
        if ('deleteRange' in op) {
          const d = op.deleteRange;
          return {
            deleteRange: this.applyDelete(work, changes, d.key, d.rangeEnd, d.prevKv ?? false, begin),
          };
        }
        if ('range' in op)
          return { range: this.rangeIn(work, op.range.key, op.range.rangeEnd, op.range, view()) };
        return { txn: run(op.txn, true) };
      });
      return { succeeded: decided.get(x) === true, responses, revision: nested ? 0 : view() };
    };
    const res = run(t, false);
    if (changes.length > 0) this.commit(work, changes);
    return res;
  }

  private validateTxn(t: MTxn): void {
    for (const c of t.compare) if (c.key === '') throw new ModelError('EMPTY_KEY');
    for (const op of [...t.success, ...t.failure]) {
      if ('put' in op) this.checkPutArgs(op.put.key, op.put.value, op.put);
      else if ('range' in op) {
        if (op.range.key === '') throw new ModelError('EMPTY_KEY');
      } else if ('deleteRange' in op) {
        if (op.deleteRange.key === '') throw new ModelError('EMPTY_KEY');
      } else this.validateTxn(op.txn);
    }
  }

  /**
   * etcd's duplicate-key rule: a put conflicts with another put of its key or with a delete
   * interval [key, end) (begin <= k < end, compared on the raw end bytes, so an end of "\0" or
   * below the key covers nothing) at its own level or in nested txns below it.
   */
  private duplicates(ops: MOp[]): { puts: Set<string>; dels: [string, string][] } {
    const dels: [string, string][] = [];
    for (const op of ops) {
      if ('deleteRange' in op) {
        const d = op.deleteRange;
        dels.push([d.key, d.rangeEnd === undefined || d.rangeEnd === '' ? `${d.key}\0` : d.rangeEnd]);
      }
    }
    const hit = (k: string): boolean => dels.some(([b, e]) => b <= k && k < e);
    const puts = new Set<string>();
    for (const op of ops) {
      if (!('txn' in op)) continue;
      const a = this.duplicates(op.txn.success);
      const b = this.duplicates(op.txn.failure);
      for (const k of a.puts) {
        if (puts.has(k) || hit(k)) throw new ModelError('DUPLICATE_KEY');
        puts.add(k);
      }
      for (const k of b.puts) {
        if ((puts.has(k) && !a.puts.has(k)) || hit(k)) throw new ModelError('DUPLICATE_KEY');
        puts.add(k);
      }
      dels.push(...a.dels, ...b.dels);
    }
    for (const op of ops) {
      if (!('put' in op)) continue;
      if (puts.has(op.put.key) || hit(op.put.key)) throw new ModelError('DUPLICATE_KEY');
      puts.add(op.put.key);
    }
    return { puts, dels };
  }

  private holds(state: State, c: MCompare): boolean {
    const kvs = select(state, c.key, c.rangeEnd);
    const test = (stored: number | string): boolean => {
      const r = cmp(stored, c.value);
      return c.result === 'equal'
        ? r === 0
        : c.result === 'notEqual'
          ? r !== 0
          : c.result === 'greater'
            ? r > 0
            : r < 0;
    };
    const field = (kv: MKv | undefined): number | string => {
      if (c.target === 'value') return kv?.value ?? '';
      if (kv === undefined) return 0;
      return c.target === 'createRevision' ? kv.createRevision : kv[c.target];
    };
    if (kvs.length === 0) return c.target !== 'value' && test(field(undefined));
    return kvs.every((kv) => test(field(kv)));
  }

  /** Every change from `start` on matching a watch, with its prevKv (key at revision - 1). */
  expectedEvents(
    key: string,
    end: string | undefined,
    start: number,
    withPrev: boolean,
    noPut: boolean,
    noDelete: boolean,
  ): ExpectedEvent[] {
    const out: ExpectedEvent[] = [];
    for (let r = Math.max(start, 2); r <= this.revision; r++) {
      const list = this.changes[r] as MChange[];
      list.forEach((ch, i) => {
        if (!inRange(ch.key, key, end === '\0' ? '\0' : end)) return;
        if (ch.type === 'put' ? noPut : noDelete) return;
        const prev = withPrev ? (this.states[r - 1] as State).get(ch.key) : undefined;
        const lastOfKey = !list.slice(i + 1).some((x) => x.key === ch.key);
        // What compaction at r would drop from the log: deletes and superseded versions.
        const droppable = ch.type === 'delete' || !lastOfKey;
        out.push({
          text: eventText(ch, r),
          prev: prev === undefined ? undefined : kvText(prev),
          revision: r,
          droppable,
        });
      });
    }
    return out;
  }
}

export interface ExpectedEvent {
  readonly text: string;
  readonly prev: string | undefined;
  readonly revision: number;
  /** May be missing if the watch replayed this revision after it was compacted. */
  readonly droppable: boolean;
}

export function kvText(kv: MKv): string {
  return `${kv.key}=${kv.value}@${kv.modRevision}/c${kv.createRevision}/v${kv.version}/l${kv.lease}`;
}

export function eventText(ch: MChange, rev: number): string {
  return ch.kv === undefined ? `delete ${ch.key}@${rev}` : `put ${kvText(ch.kv)}`;
}
