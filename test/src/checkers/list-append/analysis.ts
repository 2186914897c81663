import { VerificationError } from '../../errors.js';
import { keyId } from '../../history/keys.js';
import type { RegisterKey } from '../../history/types.js';
import { show } from '../result.js';
import { type ListAppendAnomaly, txnRef } from './anomalies.js';
import { describeTxn, type Txn } from './txns.js';

/** One ok read micro-op of a key. */
export interface KeyRead {
  readonly txn: Txn;
  /** The list read. */
  readonly value: readonly number[];
  /** The list without the txn's own earlier appends: the version it read from others. */
  readonly external: readonly number[];
}

/** What the history tells about one key. */
export interface KeyFacts {
  readonly key: RegisterKey;
  /** Element → the txn that appended it (elements are unique per key). */
  readonly writer: Map<number, Txn>;
  /** Txn → its appends to this key, in order. */
  readonly appends: Map<Txn, number[]>;
  readonly reads: KeyRead[];
  /**
   * The version order recovered from the longest read (every read is a prefix of it), or null
   * when two reads are incompatible. Committed appends missing from it come after all of it.
   */
  order: readonly number[] | null;
  /** Appends of ok txns that no read shows. */
  unobserved: { readonly txn: Txn; readonly element: number }[];
}

const endsWith = (v: readonly number[], suffix: readonly number[]): boolean =>
  suffix.length <= v.length && suffix.every((x, i) => v[v.length - suffix.length + i] === x);

const isPrefix = (p: readonly number[], v: readonly number[]): boolean =>
  p.length <= v.length && p.every((x, i) => v[i] === x);

/**
 * Collects per-key facts and the anomalies visible without the dependency graph: internal
 * inconsistency, duplicate elements, garbage and aborted reads (G1a), intermediate reads
 * (G1b), incompatible version orders, lost updates and lost appends.
 *
 * @throws VerificationError `HISTORY_MALFORMED` if two txns append the same element to a key
 *   (the workload must append unique values, or no version order can be recovered).
 */
export function analyzeKeys(txns: readonly Txn[]): {
  keys: Map<string, KeyFacts>;
  anomalies: ListAppendAnomaly[];
} {
  const keys = new Map<string, KeyFacts>();
  const anomalies: ListAppendAnomaly[] = [];
  const reported = new Set<string>();
  const facts = (key: RegisterKey): KeyFacts => {
    const id = keyId(key);
    let f = keys.get(id);
    if (f === undefined) {
      f = { key, writer: new Map(), appends: new Map(), reads: [], order: null, unobserved: [] };
      keys.set(id, f);
    }
    return f;
  };

  // Who appended what, from every txn (a failed txn's appends identify aborted reads).
  for (const t of txns) {
    for (const m of t.mops) {
      if (m[0] !== 'append') continue;
      const f = facts(m[1]);
      const prior = f.writer.get(m[2]);
      if (prior !== undefined && prior !== t) {
        throw new VerificationError(
          'HISTORY_MALFORMED',
          `element ${m[2]} is appended to key ${show(m[1])} by both T${prior.op.id} and T${t.op.id}; ` +
            'list-append workloads must append unique values per key',
          { details: { reason: 'duplicate-append', index: t.op.invoke.index, process: t.op.process } },
        );
      }
      f.writer.set(m[2], t);
      f.appends.set(t, [...(f.appends.get(t) ?? []), m[2]]);
    }
  }

  for (const t of txns) {
    if (t.op.type !== 'ok') continue;
    // Per key: what this txn knows the list to be (null: not read yet) and its own appends.
    const known = new Map<string, number[] | null>();
    const own = new Map<string, number[]>();
    for (const m of t.mops) {
      const id = keyId(m[1]);
      const f = facts(m[1]);
      if (m[0] === 'append') {
        const k = known.get(id);
        if (k !== undefined && k !== null) k.push(m[2]);
        own.set(id, [...(own.get(id) ?? []), m[2]]);
        continue;
      }
      const value = m[2] ?? [];
      const mine = own.get(id) ?? [];
      const k = known.get(id);
      const expected = k === undefined || k === null ? null : k;
      if (expected !== null ? !sameList(expected, value) : !endsWith(value, mine)) {
        anomalies.push({
          type: 'internal',
          key: m[1],
          txn: txnRef(t),
          value,
          expected: expected !== null ? show(expected) : `a list ending in ${show(mine)}`,
          message: `T${t.op.id} read ${show(m[1])} = ${show(value)} but its own earlier reads and appends imply ${
            expected !== null ? show(expected) : `a list ending in ${show(mine)}`
          }`,
        });
      }
      known.set(id, [...value]);
      const external = endsWith(value, mine)
        ? value.slice(0, value.length - mine.length)
        : value.filter((x) => !mine.includes(x));
      f.reads.push({ txn: t, value, external });
    }
  }

  for (const f of keys.values()) {
    // Elements need checking once: a read that is a prefix of the longest holds nothing the
    // longest does not (long histories read long lists, so this matters for speed).
    let longest: KeyRead | undefined;
    for (const r of f.reads) if (longest === undefined || r.value.length > longest.value.length) longest = r;
    for (const r of f.reads) {
      const full = r === longest || longest === undefined || !isPrefix(r.value, longest.value);
      checkElements(f, r.txn, r.value, anomalies, reported, full);
    }
    recoverOrder(f, longest, anomalies);
  }
  return { keys, anomalies };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i] === x);
}

/**
 * Duplicate, garbage and aborted (G1a) elements of one read (only when `full`), and whether it
 * ends at an intermediate state (G1b).
 */
function checkElements(
  f: KeyFacts,
  t: Txn,
  value: readonly number[],
  anomalies: ListAppendAnomaly[],
  reported: Set<string>,
  full: boolean,
): void {
  // One bad element is one anomaly, however many reads show it.
  const firstReport = (what: string): boolean => {
    const id = `${keyId(f.key)}/${what}`;
    if (reported.has(id)) return false;
    reported.add(id);
    return true;
  };
  const seen = new Set<number>();
  const duplicates = new Set<number>();
  for (const el of full ? value : []) {
    if (seen.has(el)) duplicates.add(el);
    seen.add(el);
    const w = f.writer.get(el);
    if (w === undefined) {
      if (firstReport(`garbage:${el}`)) {
        anomalies.push({
          type: 'garbage-read',
          key: f.key,
          element: el,
          reader: txnRef(t),
          message: `T${t.op.id} read ${show(f.key)} = ${show(value)}, but no txn ever appended ${el}`,
        });
      }
    } else if (w.op.type === 'fail' && firstReport(`aborted:${el}`)) {
      anomalies.push({
        type: 'G1a',
        key: f.key,
        element: el,
        reader: txnRef(t),
        writer: txnRef(w),
        message: `T${t.op.id} read ${show(f.key)} = ${show(value)}, including ${el} appended by T${w.op.id}, which failed`,
      });
    }
  }
  if (duplicates.size > 0) {
    anomalies.push({
      type: 'duplicate-elements',
      key: f.key,
      reader: txnRef(t),
      value,
      duplicates: [...duplicates],
      message: `T${t.op.id} read ${show(f.key)} = ${show(value)}, holding ${show([...duplicates])} more than once`,
    });
  }
  const last = value[value.length - 1];
  if (last === undefined) return;
  const w = f.writer.get(last);
  if (w === undefined || w === t || w.op.type === 'fail') return;
  const mine = f.appends.get(w) ?? [];
  if (mine[mine.length - 1] !== last && firstReport(`intermediate:${last}`)) {
    anomalies.push({
      type: 'G1b',
      key: f.key,
      element: last,
      reader: txnRef(t),
      writer: txnRef(w),
      message:
        `T${t.op.id} read ${show(f.key)} = ${show(value)}, ending at ${last}, an intermediate state of ` +
        `T${w.op.id}, which went on to append ${show(mine.slice(mine.indexOf(last) + 1))}`,
    });
  }
}

/** Version order from the longest read, incompatible orders, lost updates and lost appends. */
function recoverOrder(f: KeyFacts, longest: KeyRead | undefined, anomalies: ListAppendAnomaly[]): void {
  const order = longest?.value ?? [];
  const clash = longest === undefined ? undefined : f.reads.find((r) => !isPrefix(r.value, order));
  if (longest !== undefined && clash !== undefined) {
    anomalies.push({
      type: 'incompatible-order',
      key: f.key,
      reads: [
        { txn: txnRef(longest.txn), value: longest.value },
        { txn: txnRef(clash.txn), value: clash.value },
      ],
      message:
        `reads of ${show(f.key)} disagree on its order: T${longest.txn.op.id} read ${show(longest.value)}, ` +
        `T${clash.txn.op.id} read ${show(clash.value)}, and neither is a prefix of the other`,
    });
    f.order = null;
  } else {
    f.order = order;
  }

  // Lost update: committed txns that read the key before appending to it, from the same version.
  const byVersion = new Map<string, Txn[]>();
  for (const [t, appended] of f.appends) {
    if (t.op.type !== 'ok' || appended.length === 0) continue;
    const first = t.mops.find((m) => keyId(m[1]) === keyId(f.key));
    if (first === undefined || first[0] !== 'r' || first[2] === null) continue;
    const v = JSON.stringify(first[2]);
    byVersion.set(v, [...(byVersion.get(v) ?? []), t]);
  }
  for (const [v, group] of byVersion) {
    if (group.length < 2) continue;
    anomalies.push({
      type: 'lost-update',
      key: f.key,
      read: JSON.parse(v) as number[],
      txns: group.map(txnRef),
      message:
        `${group.map((t) => `T${t.op.id}`).join(', ')} all read ${show(f.key)} = ${v} and then appended to it; ` +
        'in a serial order only one of them could have read that version',
    });
  }

  if (f.order === null) return;
  const inOrder = new Set(f.order);
  for (const [t, appended] of f.appends) {
    if (t.op.type !== 'ok') continue;
    for (const el of appended) if (!inOrder.has(el)) f.unobserved.push({ txn: t, element: el });
  }
  for (const u of f.unobserved) {
    const reader = f.reads.find((r) => r.txn !== u.txn && r.txn.op.invoke.index > u.txn.op.completion.index);
    if (reader === undefined) continue;
    anomalies.push({
      type: 'lost-append',
      key: f.key,
      element: u.element,
      writer: txnRef(u.txn),
      reader: txnRef(reader.txn),
      read: reader.value,
      message:
        `${describeTxn(txnRef(u.txn))} committed its append of ${u.element} to ${show(f.key)}, yet no read ever shows it: ` +
        `T${reader.txn.op.id}, invoked after it completed, read ${show(reader.value)}`,
    });
  }
}
