import { type CycleAnomaly, type CycleStep, type CycleType, txnRef } from './anomalies.js';
import type { Dependencies } from './dependencies.js';
import { ALL, edgeName, lowestBit, RT, RW, WR, WW } from './graph.js';

/**
 * One rung of the search ladder: cycles that start with an edge of `start` and close through
 * edges of `path`. Rungs go from the most severe class to the least, so each component is
 * reported under the worst anomaly it contains (Elle searches the same way).
 */
interface Rung {
  readonly start: number;
  readonly path: number;
  /** Only accept cycles with a real-time edge (the `-realtime` rungs). */
  readonly realtime: boolean;
}

const WITHOUT_RT: readonly Rung[] = [
  { start: WW, path: WW, realtime: false }, // G0
  { start: WR, path: WW | WR, realtime: false }, // G1c
  { start: RW, path: WW | WR, realtime: false }, // G-single: exactly one rw
  { start: RW, path: WW | WR | RW, realtime: false }, // G2
];

const WITH_RT: readonly Rung[] = [
  { start: RT, path: WW | RT, realtime: true },
  { start: RT, path: WW | WR | RT, realtime: true },
  { start: RW, path: WW | WR | RT, realtime: true },
  { start: RW, path: ALL, realtime: true },
];

/** Options of {@link findCycles}. */
export interface CycleSearchOptions {
  /**
   * Start edges tried per rung and component (each costs one breadth-first search); the
   * shortest cycle among them is reported.
   */
  readonly maxStartEdges: number;
}

/** The class of a cycle from its edge labels. */
export function classify(labels: readonly number[]): CycleType {
  let rw = 0;
  let wr = 0;
  let rt = false;
  for (const l of labels) {
    if (l === RW) rw++;
    else if (l === WR) wr++;
    else if (l === RT) rt = true;
  }
  const base = rw === 0 ? (wr === 0 ? 'G0' : 'G1c') : rw === 1 ? 'G-single' : 'G2';
  return (rt ? `${base}-realtime` : base) as CycleType;
}

/**
 * Finds the cyclic components of the dependency graph (Tarjan) and extracts one short cycle
 * from each, classified. First without real-time edges (G0, G1c, G-single, G2: violations of
 * serializability and weaker levels); then with them, reporting only cycles that use a
 * real-time edge (the `-realtime` classes: violations of strict serializability).
 */
export function findCycles(deps: Dependencies, options: CycleSearchOptions): CycleAnomaly[] {
  const { graph } = deps;
  const out: CycleAnomaly[] = [];
  for (const comp of graph.components(null, WW | WR | RW)) {
    const found = searchComponent(deps, comp, WITHOUT_RT, WW | WR | RW, options);
    if (found !== null) out.push(found);
  }
  // Also with real-time edges, even where a cycle without them was found: a stale read often
  // closes a short realtime cycle (R -rw-> W -rt-> R) while its data-only cycle is long.
  for (const comp of graph.components(null, ALL)) {
    const found = searchComponent(deps, comp, WITH_RT, ALL, options);
    if (found !== null) out.push(found);
  }
  return out;
}

function searchComponent(
  deps: Dependencies,
  comp: readonly number[],
  ladder: readonly Rung[],
  fallbackMask: number,
  options: CycleSearchOptions,
): CycleAnomaly | null {
  const { graph } = deps;
  const inSet = new Uint8Array(graph.size);
  for (const v of comp) inSet[v] = 1;
  for (const rung of ladder) {
    // Among the first start edges, keep the shortest cycle: long cycles are hard to read.
    // Start edges that point most "backwards in time" first: an edge u -> v where v completed
    // long before u was invoked is what a stale read or a lost write adds, and real time
    // closes a short cycle right behind it. Ordinary edges point forwards or join
    // concurrent txns.
    const starts: { u: number; v: number; back: number }[] = [];
    for (const u of comp) {
      for (const v of graph.successors(u)) {
        if (inSet[v] === 0 || (graph.mask(u, v) & rung.start) === 0) continue;
        starts.push({ u, v, back: returnOf(deps, v) - invokeOf(deps, u) });
      }
    }
    starts.sort((a, b) => a.back - b.back);
    let best: { nodes: number[]; labels: number[] } | null = null;
    for (const { u, v } of starts.slice(0, options.maxStartEdges)) {
      const path = graph.shortestPath(v, u, inSet, rung.path);
      if (path === null || (best !== null && path.length + 1 >= best.nodes.length)) continue;
      const nodes = [u, ...path];
      const labels = [lowestBit(graph.mask(u, v) & rung.start)];
      for (let i = 1; i + 1 < nodes.length; i++) {
        labels.push(lowestBit(graph.mask(nodes[i] as number, nodes[i + 1] as number) & rung.path));
      }
      if (rung.realtime && !labels.includes(RT)) continue;
      best = { nodes, labels };
      if (nodes.length <= 3) break;
    }
    if (best !== null) return cycleAnomaly(deps, best.nodes, best.labels);
  }
  // The budget ran out: any cycle of the component will do (one always exists in an SCC).
  const u = comp[0] as number;
  for (const v of graph.successors(u)) {
    if (inSet[v] === 0 || (graph.mask(u, v) & fallbackMask) === 0) continue;
    const path = graph.shortestPath(v, u, inSet, fallbackMask);
    if (path === null) continue;
    const nodes = [u, ...path];
    const labels: number[] = [];
    for (let i = 0; i + 1 < nodes.length; i++) {
      labels.push(lowestBit(graph.mask(nodes[i] as number, nodes[i + 1] as number) & fallbackMask));
    }
    return cycleAnomaly(deps, nodes, labels);
  }
  return null;
}

function invokeOf(deps: Dependencies, n: number): number {
  return deps.txns[n]?.op.invoke.index ?? 0;
}

/** History position of a txn's completion; an `info` txn returns at infinity. */
function returnOf(deps: Dependencies, n: number): number {
  const t = deps.txns[n];
  return t === undefined || t.op.type !== 'ok' ? Number.POSITIVE_INFINITY : t.op.completion.index;
}

function cycleAnomaly(deps: Dependencies, nodes: readonly number[], labels: readonly number[]): CycleAnomaly {
  const steps: CycleStep[] = [];
  for (let i = 0; i < labels.length; i++) {
    const from = nodes[i] as number;
    const to = nodes[i + 1] as number;
    const label = labels[i] as number;
    steps.push({
      from: txnRef(deps.txns[from] as (typeof deps.txns)[number]),
      to: txnRef(deps.txns[to] as (typeof deps.txns)[number]),
      edge: edgeName(label),
      why: deps.graph.why(from, to, label),
    });
  }
  const type = classify(labels);
  const shown = steps.slice(0, 12);
  const chain = shown.map((s) => `T${s.from.id} -${s.edge}-> `).join('');
  const end =
    steps.length > shown.length ? `... (${steps.length} edges in all)` : `T${steps[0]?.from.id ?? '?'}`;
  return { type, cycle: steps, message: `${type} cycle: ${chain}${end}` };
}
