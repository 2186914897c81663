/**
 * Writes: a {@link WriteTxn} stages the changes of one transaction (or of one plain put or
 * delete) and reads through them; the store commits them all at one new revision, or drops
 * them if anything fails, so every error leaves the store unchanged.
 *
 * A transaction runs in etcd 3.4's phases (`applierV3backend.Txn`):
 * 1. validation and the duplicate-key check ({@link checkDuplicates}), before anything is read;
 * 2. every compare of the taken path, nested txns included, is evaluated against the state
 *    *before* the transaction ({@link decide}): so a nested txn's compares do not see the outer
 *    txn's earlier writes, while its ranges do;
 * 3. the ops of the taken path are checked against that same state ({@link precheck}): puts with
 *    `ignoreValue`/`ignoreLease` need an existing key, ranges a retained, non-future revision;
 * 4. the ops run in order, each seeing the writes before it; all writes share the revision
 *    `beginRev + 1` and are numbered by their order (etcd's `sub` revision).
 *
 * etcd 3.4.23 panics in phase 4 when a put with `ignoreValue` or `ignoreLease` meets a key that
 * an earlier op of the same transaction deleted (e.g. `put b`, then
 * `txn { success: [deleteRange("a", "\0"), put("b", ignoreValue)] }`; the delete range ends at
 * `"\0"`, which its duplicate check does not see as overlapping). Here that put fails with
 * `KEY_NOT_FOUND` and, since writes are only staged, the whole transaction applies nothing.
 */
import { MvccError } from './errors.js';
import type { KeyIndex } from './key-index.js';
import { type KeyRev, keyRev, tombstone } from './key-rev.js';
import { collect, compareHolds, readRange, toKv } from './read.js';
import type { NDelete, NOp, NPut, NRange, NTxn } from './requests.js';
import type { DeleteRangeResult, KeyValue, OpResponse, PutResult, RangeResult, TxnResult } from './types.js';

/** The staged writes of one transaction and the reads that see them. */
export class WriteTxn {
  /** The store's revision when the transaction began. */
  readonly beginRev: number;
  /** New records in the order they were made (etcd's sub-revision order). */
  readonly changes: KeyRev[] = [];
  private readonly staged = new Map<string, KeyRev>();
  private readonly index: KeyIndex;
  /** The compacted revision (-1 on a store never compacted, as etcd's `compactMainRev`). */
  private readonly compactMain: number;

  constructor(index: KeyIndex, beginRev: number, compactMain: number) {
    this.index = index;
    this.beginRev = beginRev;
    this.compactMain = compactMain;
  }

  /** The revision reads see: `beginRev` until the first write, `beginRev + 1` after it. */
  get rev(): number {
    return this.changes.length === 0 ? this.beginRev : this.beginRev + 1;
  }

  /** The newest record of `key` including staged writes (possibly a tombstone). */
  head(key: string): KeyRev | undefined {
    return this.staged.get(key) ?? this.index.head(key);
  }

  private stage(rec: KeyRev): void {
    this.changes.push(rec);
    this.staged.set(rec.key, rec);
  }

  /** etcd's `applierV3backend.Put` inside a write txn. */
  put(p: NPut): PutResult {
    const cur = this.head(p.key);
    const rec = newVersion(p, cur, this.beginRev + 1);
    this.stage(rec);
    return putResult(p, cur, rec.main);
  }

  /** etcd's `applierV3backend.DeleteRange` inside a write txn. */
  deleteRange(d: NDelete): DeleteRangeResult {
    const victims = collect(this.index, this.staged, d.key, d.end, this.rev, true);
    const prevKvs: KeyValue[] = d.prevKv ? victims.map((r) => toKv(r)) : [];
    const rev = this.beginRev + 1;
    for (const r of victims) this.stage(tombstone(r.key, rev, this.head(r.key)));
    return { deleted: victims.length, prevKvs, revision: this.rev };
  }

  /** etcd's `applierV3backend.Range` inside a txn: sees the staged writes. */
  range(r: NRange): RangeResult {
    return readRange(this.index, this.staged, r, this.rev, this.compactMain);
  }
}

/**
 * The record a put creates at revision `rev` over the key's newest record `cur` (etcd's
 * `storeTxnWrite.put`): a live key gets version + 1 and keeps its createRevision; a missing or
 * deleted one starts a new generation (version 1, createRevision = rev).
 *
 * @throws MvccError `KEY_NOT_FOUND` for an ignore flag on a missing key. Callers check this
 *   against the state before the transaction first, so here it can only mean an earlier op of
 *   the same transaction deleted the key: the case that makes etcd 3.4.23 panic.
 */
export function newVersion(p: NPut, cur: KeyRev | undefined, rev: number): KeyRev {
  const live = cur !== undefined && cur.version !== 0 ? cur : undefined;
  if (live === undefined) {
    if (p.ignoreValue || p.ignoreLease) {
      throw new MvccError(
        'KEY_NOT_FOUND',
        'ignoreValue/ignoreLease on a key deleted earlier in the same transaction',
        {
          details: { deletedInTxn: true },
        },
      );
    }
    return keyRev(p.key, p.value, rev, rev, 1, p.lease, cur);
  }
  return keyRev(
    p.key,
    p.ignoreValue ? live.value : p.value,
    rev,
    live.create,
    live.version + 1,
    p.ignoreLease ? live.lease : p.lease,
    cur,
  );
}

/** A put's answer: its revision, and the previous version when asked and there was one. */
export function putResult(p: NPut, cur: KeyRev | undefined, rev: number): PutResult {
  return p.prevKv && cur !== undefined && cur.version !== 0
    ? { revision: rev, prevKv: toKv(cur) }
    : { revision: rev };
}

/** A delete's key interval for the duplicate check: `[begin, end)` compared as bytes. */
type Interval = readonly [begin: string, end: string];

/**
 * Whether a put of `key` overlaps one of `dels`, as etcd's interval tree answers it: a range
 * `[begin, end)` contains `key` iff `begin <= key < end`. A range whose end is not above its
 * begin, notably one ending at `"\0"` ("to the end of the keyspace"), overlaps nothing, because
 * etcd builds the interval from the raw range end.
 */
function overlaps(dels: readonly Interval[], key: string): boolean {
  for (const [begin, end] of dels) if (begin <= key && key < end) return true;
  return false;
}

function duplicate(key: string): MvccError {
  return new MvccError('DUPLICATE_KEY', `key ${JSON.stringify(key)} is written twice in one transaction`);
}

/**
 * etcd's `checkIntervals` for one branch: a put may not meet another put of the same key, nor
 * a delete range containing it, at its level or below. A nested txn's then- and else-puts may
 * share keys (only one branch runs). Returns the branch's puts and deletes for the level above.
 *
 * @throws MvccError `DUPLICATE_KEY`
 */
export function checkDuplicates(ops: readonly NOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (op.kind === 'deleteRange') dels.push([op.key, op.end ?? `${op.key}\0`]);
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.kind !== 'txn') continue;
    const then = checkDuplicates(op.success);
    const other = checkDuplicates(op.failure);
    for (const k of then.puts) {
      if (puts.has(k) || overlaps(dels, k)) throw duplicate(k);
      puts.add(k);
    }
    for (const k of other.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || overlaps(dels, k)) throw duplicate(k);
      puts.add(k);
    }
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    if (puts.has(op.key) || overlaps(dels, op.key)) throw duplicate(op.key);
    puts.add(op.key);
  }
  return { puts, dels };
}

/**
 * Evaluates the compares of `t` and of every nested txn on its taken path against the state
 * before the transaction (etcd's `compareToPath`). Records each txn's outcome in `decisions`.
 */
export function decide(t: NTxn, index: KeyIndex, current: number, decisions: Map<NTxn, boolean>): void {
  const ok = t.compare.every((c) => compareHolds(index, c, current));
  decisions.set(t, ok);
  for (const op of ok ? t.success : t.failure) {
    if (op.kind === 'txn') decide(op, index, current, decisions);
  }
}

/** The ops on the taken path, depth first, nested txns expanded (etcd's `checkRequests`). */
function takenOps(t: NTxn, decisions: ReadonlyMap<NTxn, boolean>, out: (NPut | NRange)[]): void {
  for (const op of decisions.get(t) === true ? t.success : t.failure) {
    if (op.kind === 'txn') takenOps(op, decisions, out);
    else if (op.kind !== 'deleteRange') out.push(op);
  }
}

/**
 * Checks the taken path against the state before the transaction, as etcd does before applying
 * anything: first every put (`KEY_NOT_FOUND` for `ignoreValue`/`ignoreLease` on a missing key,
 * then `LEASE_NOT_FOUND`), then every range (`FUTURE_REVISION` above the current revision,
 * `COMPACTED` below the compacted one; a negative revision below it counts as compacted too,
 * as in etcd's `checkRequestRange`).
 */
export function precheck(
  t: NTxn,
  decisions: ReadonlyMap<NTxn, boolean>,
  index: KeyIndex,
  current: number,
  compactMain: number,
  leaseExists: ((lease: number) => boolean) | undefined,
): void {
  const ops: (NPut | NRange)[] = [];
  takenOps(t, decisions, ops);
  for (const op of ops) {
    if (op.kind === 'put') checkPut(op, index, leaseExists);
  }
  for (const op of ops) {
    if (op.kind !== 'range' || op.revision === 0) continue;
    if (op.revision > current) {
      throw new MvccError(
        'FUTURE_REVISION',
        `revision ${op.revision} is above the current revision ${current}`,
      );
    }
    if (op.revision < compactMain) {
      throw new MvccError(
        'COMPACTED',
        `revision ${op.revision} has been compacted (compacted at ${compactMain})`,
      );
    }
  }
}

/**
 * The checks of a put against the current state: `KEY_NOT_FOUND` for an ignore flag on a
 * missing key, `LEASE_NOT_FOUND` for an unknown lease. etcd runs them in this order inside a
 * transaction (`checkRequestPut`) and in the opposite order for a plain put (`applierV3backend.Put`
 * looks the lease up first), hence `leaseFirst`.
 */
export function checkPut(
  p: NPut,
  index: KeyIndex,
  leaseExists: ((lease: number) => boolean) | undefined,
  leaseFirst = false,
): void {
  const leaseOk = p.lease === 0 || leaseExists === undefined || leaseExists(p.lease);
  if (leaseFirst && !leaseOk) throw leaseNotFound(p.lease);
  if (p.ignoreValue || p.ignoreLease) {
    const h = index.head(p.key);
    if (h === undefined || h.version === 0) {
      throw new MvccError('KEY_NOT_FOUND', 'ignoreValue/ignoreLease needs an existing key');
    }
  }
  if (!leaseOk) throw leaseNotFound(p.lease);
}

function leaseNotFound(lease: number): MvccError {
  return new MvccError('LEASE_NOT_FOUND', `lease ${lease} does not exist`);
}

/** Runs the taken branch of `t` (phase 4). A nested txn reports revision 0, as etcd's. */
export function runTxn(
  t: NTxn,
  w: WriteTxn,
  decisions: ReadonlyMap<NTxn, boolean>,
  nested: boolean,
): TxnResult {
  const succeeded = decisions.get(t) === true;
  const responses: OpResponse[] = [];
  for (const op of succeeded ? t.success : t.failure) {
    switch (op.kind) {
      case 'put':
        responses.push({ put: w.put(op) });
        break;
      case 'range':
        responses.push({ range: w.range(op) });
        break;
      case 'deleteRange':
        responses.push({ deleteRange: w.deleteRange(op) });
        break;
      default:
        responses.push({ txn: runTxn(op, w, decisions, true) });
    }
  }
  return { succeeded, responses, revision: nested ? 0 : w.rev };
}
