import { show } from '../result.js';
import type { KeyFacts } from './analysis.js';
import { DependencyGraph, RT, RW, WR, WW } from './graph.js';
import type { Txn } from './txns.js';

/** The graph and the txn of each node. */
export interface Dependencies {
  readonly graph: DependencyGraph;
  readonly txns: readonly Txn[];
}

const list = (v: readonly number[]): string => show(v);

/**
 * Infers the dependency graph between the txns that committed or may have (`ok` and `info`;
 * a `fail` txn certainly did not, and an `info` one is only ever linked through what reads
 * show of its appends), the way Elle does for list-append:
 *
 * - ww: the writer of each element of a key's version order precedes the writer of the next;
 * - wr: the writer of the last element a txn read (ignoring its own appends) precedes it;
 * - rw: a txn that read a version precedes the writer of the next element (it read before
 *   that append: an anti-dependency);
 * - committed appends no read shows must follow every observed element: the writer of the last
 *   observed element precedes them (ww), and so does every txn that read the whole observed
 *   list (rw);
 * - rt (strict serializability): a txn that completed `ok` precedes every txn invoked after.
 *   Only a transitive reduction is kept: a txn completing removes from the "frontier" the txns
 *   that precede it, since any later txn is reached through it. Process order needs no edges
 *   of its own: a process invokes only after its previous txn completed, which rt covers.
 *
 * Keys whose reads are incompatible contribute no ww/wr/rw edges (that anomaly is reported
 * on its own; a guessed order would only invent cycles).
 */
export function inferDependencies(txns: readonly Txn[], keys: Iterable<KeyFacts>): Dependencies {
  const nodes = txns.filter((t) => t.op.type !== 'fail');
  const node = new Map<Txn, number>(nodes.map((t, i) => [t, i]));
  const graph = new DependencyGraph(nodes.length);
  const name = (t: Txn) => `T${t.op.id}`;

  for (const f of keys) {
    const order = f.order;
    if (order === null) continue;
    const k = show(f.key);
    const writerNode = (el: number | undefined): { t: Txn; n: number } | null => {
      if (el === undefined) return null;
      const t = f.writer.get(el);
      const n = t === undefined ? undefined : node.get(t);
      return t === undefined || n === undefined ? null : { t, n };
    };
    for (let i = 0; i + 1 < order.length; i++) {
      const a = writerNode(order[i]);
      const b = writerNode(order[i + 1]);
      if (a === null || b === null) continue;
      graph.add(a.n, b.n, WW, () => {
        return `${name(a.t)} appended ${order[i]} to ${k} and ${name(b.t)} appended ${order[i + 1]}, the next element`;
      });
    }
    const last = writerNode(order[order.length - 1]);
    for (const u of f.unobserved) {
      const un = node.get(u.txn);
      if (last === null || un === undefined) continue;
      graph.add(last.n, un, WW, () => {
        return (
          `${name(last.t)} appended ${order[order.length - 1]}, the last element of ${k} any read shows; ` +
          `${name(u.txn)} committed ${u.element}, which no read shows, so it comes later`
        );
      });
    }
    for (const r of f.reads) {
      const rn = node.get(r.txn);
      if (rn === undefined) continue;
      const w = writerNode(r.external[r.external.length - 1]);
      if (w !== null) {
        graph.add(w.n, rn, WR, () => {
          return `${name(r.txn)} read ${k} = ${list(r.external)}, whose last element was appended by ${name(w.t)}`;
        });
      }
      const m = r.external.length;
      const nextEl = order[m];
      const next = writerNode(nextEl);
      if (next !== null) {
        graph.add(rn, next.n, RW, () => {
          return `${name(r.txn)} read ${k} = ${list(r.external)}; ${name(next.t)} appended the next element, ${nextEl}`;
        });
      }
      if (m !== order.length) continue;
      for (const u of f.unobserved) {
        const un = node.get(u.txn);
        if (un === undefined) continue;
        graph.add(rn, un, RW, () => {
          return (
            `${name(r.txn)} read ${k} = ${list(r.external)}, without ${u.element}, which ${name(u.txn)} ` +
            'appended and committed but no read ever shows (so it comes after every observed element)'
          );
        });
      }
    }
  }

  addRealtime(nodes, graph);
  return { graph, txns: nodes };
}

/** Real-time edges by a sweep over invokes and completions in history order. */
function addRealtime(nodes: readonly Txn[], graph: DependencyGraph): void {
  type Ev = { readonly at: number; readonly n: number; readonly completes: boolean };
  const events: Ev[] = [];
  nodes.forEach((t, n) => {
    events.push({ at: t.op.invoke.index, n, completes: false });
    // An info txn never completes in real time: its return is at infinity.
    if (t.op.type === 'ok') events.push({ at: t.op.completion.index, n, completes: true });
  });
  events.sort((a, b) => a.at - b.at);
  let frontier = new Set<number>();
  const preds = new Map<number, number[]>();
  for (const e of events) {
    if (!e.completes) {
      preds.set(e.n, [...frontier]);
      continue;
    }
    const before = preds.get(e.n) ?? [];
    const next = new Set(frontier);
    for (const p of before) next.delete(p);
    next.add(e.n);
    frontier = next;
  }
  for (const [n, before] of preds) {
    const to = nodes[n] as Txn;
    for (const p of before) {
      const from = nodes[p] as Txn;
      graph.add(p, n, RT, () => {
        return (
          `T${from.op.id} completed (event #${from.op.completion.index}) before ` +
          `T${to.op.id} was invoked (event #${to.op.invoke.index})`
        );
      });
    }
  }
}
