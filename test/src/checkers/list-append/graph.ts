/**
 * A dependency graph between transactions with typed edges, Tarjan's strongly connected
 * components and breadth-first shortest paths, each restricted to a set of edge types.
 *
 * Hand-written rather than taken from a graph library: the searches run many times over
 * subsets of nodes and edge types, which this representation (integer nodes, a bitmask of
 * relations per pair) makes a filter instead of a new graph each time; and both searches are
 * iterative, so a realtime chain of many thousands of transactions cannot overflow the call
 * stack as the recursive Tarjan of common JavaScript graph libraries can.
 */

/** Edge types, as bits so a pair of transactions can be related in several ways at once. */
export const WW = 1;
export const WR = 2;
export const RW = 4;
export const RT = 8;
export const ALL = WW | WR | RW | RT;

/** The name of a single edge-type bit. */
export type EdgeName = 'ww' | 'wr' | 'rw' | 'rt';

export function edgeName(bit: number): EdgeName {
  return bit === WW ? 'ww' : bit === WR ? 'wr' : bit === RW ? 'rw' : 'rt';
}

/** The lowest (most severe) edge type present in `mask`, as a single bit. */
export function lowestBit(mask: number): number {
  return mask & -mask;
}

export class DependencyGraph {
  readonly size: number;
  private readonly out: number[][];
  private readonly masks = new Map<number, number>();
  private readonly whys = new Map<number, () => string>();

  constructor(size: number) {
    this.size = size;
    this.out = Array.from({ length: size }, () => []);
  }

  /** Adds `from → to` of type `bit`, keeping the first explanation given for each type. */
  add(from: number, to: number, bit: number, why: () => string): void {
    if (from === to) return;
    const pair = from * this.size + to;
    const mask = this.masks.get(pair);
    if (mask === undefined) {
      this.masks.set(pair, bit);
      (this.out[from] as number[]).push(to);
    } else if ((mask & bit) === 0) {
      this.masks.set(pair, mask | bit);
    } else {
      return;
    }
    // Kept as a closure: most edges are never printed, and the words cost more than the edge.
    this.whys.set(pair * 16 + bit, why);
  }

  /** The types relating `from → to` (0 when none). */
  mask(from: number, to: number): number {
    return this.masks.get(from * this.size + to) ?? 0;
  }

  /** Why `from → to` has type `bit` ("" when it has not). */
  why(from: number, to: number, bit: number): string {
    return this.whys.get((from * this.size + to) * 16 + bit)?.() ?? '';
  }

  successors(node: number): readonly number[] {
    return this.out[node] ?? [];
  }

  /** Number of related pairs, and of edges counting each type separately. */
  edgeCounts(): { pairs: number; byType: Record<EdgeName, number> } {
    const byType: Record<EdgeName, number> = { ww: 0, wr: 0, rw: 0, rt: 0 };
    for (const mask of this.masks.values()) {
      for (const bit of [WW, WR, RW, RT]) if ((mask & bit) !== 0) byType[edgeName(bit)]++;
    }
    return { pairs: this.masks.size, byType };
  }

  /**
   * Strongly connected components of the subgraph induced by `nodes` (all nodes when null)
   * using only edges with a type in `allowed`. Returns only components that contain a cycle
   * (two or more nodes: there are no self-loops).
   */
  components(nodes: readonly number[] | null, allowed: number): number[][] {
    const n = this.size;
    const inSet = new Uint8Array(n);
    const roots = nodes ?? Array.from({ length: n }, (_, i) => i);
    for (const v of roots) inSet[v] = 1;
    const index = new Int32Array(n).fill(-1);
    const low = new Int32Array(n);
    const onStack = new Uint8Array(n);
    const stack: number[] = [];
    const frameNode: number[] = [];
    const frameNext: number[] = [];
    const result: number[][] = [];
    let counter = 0;
    const open = (v: number): void => {
      index[v] = counter;
      low[v] = counter;
      counter++;
      stack.push(v);
      onStack[v] = 1;
      frameNode.push(v);
      frameNext.push(0);
    };
    for (const root of roots) {
      if (index[root] !== -1) continue;
      open(root);
      while (frameNode.length > 0) {
        const top = frameNode.length - 1;
        const v = frameNode[top] as number;
        const succ = this.successors(v);
        const i = frameNext[top] as number;
        if (i < succ.length) {
          frameNext[top] = i + 1;
          const w = succ[i] as number;
          if (inSet[w] === 0 || (this.mask(v, w) & allowed) === 0) continue;
          if (index[w] === -1) open(w);
          else if (onStack[w] === 1) low[v] = Math.min(low[v] as number, index[w] as number);
          continue;
        }
        frameNode.pop();
        frameNext.pop();
        const parent = frameNode[frameNode.length - 1];
        if (parent !== undefined) low[parent] = Math.min(low[parent] as number, low[v] as number);
        if (low[v] === index[v]) {
          const component: number[] = [];
          for (;;) {
            const w = stack.pop() as number;
            onStack[w] = 0;
            component.push(w);
            if (w === v) break;
          }
          if (component.length > 1) result.push(component);
        }
      }
    }
    return result;
  }

  /**
   * A shortest path `from → ... → to` inside `inSet` over edges with a type in `allowed`, as
   * the list of nodes (both ends included), or null.
   */
  shortestPath(from: number, to: number, inSet: Uint8Array, allowed: number): number[] | null {
    const parent = new Map<number, number>([[from, -1]]);
    let frontier = [from];
    while (frontier.length > 0) {
      const next: number[] = [];
      for (const v of frontier) {
        for (const w of this.successors(v)) {
          if (inSet[w] === 0 || parent.has(w) || (this.mask(v, w) & allowed) === 0) continue;
          parent.set(w, v);
          if (w === to) {
            const path = [to];
            for (let p = v; p !== -1; p = parent.get(p) ?? -1) path.push(p);
            return path.reverse();
          }
          next.push(w);
        }
      }
      frontier = next;
    }
    return null;
  }
}
