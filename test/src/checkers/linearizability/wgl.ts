/**
 * The linearizability search of Wing & Gong, with Lowe's improvements ("Testing for
 * linearizability", Concurrency and Computation 2017), in the form Porcupine made popular:
 *
 * - every operation contributes a call entry and a return entry; entries are sorted by history
 *   position into a doubly linked list;
 * - the search walks the list from its head. At a call entry it tries to linearize that
 *   operation now: if the model accepts it from the current state, the call and its return are
 *   "lifted" out of the list and the walk restarts from the head. Reaching a return entry means
 *   an operation that has already returned could not be placed, so the search backtracks: it
 *   pops the last linearized operation, "unlifts" it and tries the entry after its call;
 * - a cache of (set of linearized operations, model state) pairs already explored prunes the
 *   search (Lowe's memoization); the set is a bitset and its hash is kept incrementally with
 *   Zobrist hashing, so a step costs O(1) plus a bitset copy when a new pair is cached;
 * - operations whose outcome is unknown (`info`) have their return at infinity: they may be
 *   linearized anywhere after their call. The search succeeds as soon as every definite
 *   operation is linearized, since the remaining unknown ones may simply never have happened.
 *
 * The model is abstract here: states are small integers and `step(state, op)` returns the next
 * state or -1 when the operation cannot happen in that state.
 */

/** One operation as the search sees it. */
export interface SearchOp {
  /** History position of the call (the invoke's index). */
  readonly call: number;
  /**
   * History position of the return (fractional positions allowed), or `Infinity` for an
   * operation of unknown outcome, which may be linearized any time after its call.
   */
  readonly ret: number;
  /** False for an unknown-outcome operation, which need not be linearized at all. */
  readonly definite: boolean;
  /**
   * True for an operation that never changes the model state (a read). When such an operation
   * can be linearized right now, doing so first loses nothing: in any linearization of the rest
   * it can be moved to the front (the state is the same for everyone else, and no remaining
   * operation returned before it was invoked, or its return entry would come first). The search
   * then takes it without branching, which tames many concurrent reads.
   */
  readonly pure?: boolean;
}

/** The outcome of {@link searchLinearization}. */
export type SearchOutcome =
  | { readonly result: 'linearizable'; readonly steps: number; readonly order: readonly number[] }
  | {
      readonly result: 'not-linearizable';
      readonly steps: number;
      /** The longest sequence of operations linearized before the search gave up (when tracked). */
      readonly partial: readonly number[];
      /**
       * The operation whose return entry is the furthest the search ever got stuck at. Every
       * event before that return has a linearization (the search got there), and no
       * linearization gets past it: its completion is where the history stops being
       * linearizable.
       */
      readonly culprit: number;
    }
  | { readonly result: 'unknown'; readonly steps: number };

/** Options of {@link searchLinearization}. */
export interface SearchOptions {
  /** Give up with `unknown` after this many search steps (deterministic, unlike a timeout). */
  readonly maxSteps: number;
  /** Record the deepest partial linearization (costs a copy each time the depth grows). */
  readonly trackPartial?: boolean;
}

/** A tiny deterministic generator for Zobrist keys (xorshift32; no global randomness). */
function zobristKeys(n: number): Int32Array {
  const keys = new Int32Array(n);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    keys[i] = x;
  }
  return keys;
}

/** Mixes a model state into a 32-bit value so states and bitset hashes combine well. */
function mixState(state: number): number {
  let h = Math.imul(state ^ 0x27d4eb2d, 0x165667b1);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Searches for a linearization of `ops` from `initial` under `step`.
 *
 * Invariants kept by the loop: the linked list holds exactly the entries of operations not yet
 * linearized, in history order; `bits` and `hash` describe the linearized set; `stackOps` /
 * `stackStates` hold the linearized operations in order with the state before each.
 *
 * `ops` should be numbered in call order (any order is correct; call order keeps the cached
 * configurations small).
 */
export function searchLinearization(
  ops: readonly SearchOp[],
  initial: number,
  step: (state: number, op: number) => number,
  options: SearchOptions,
): SearchOutcome {
  const n = ops.length;
  // Entry e = 2*op is the call, 2*op + 1 the return; HEAD and TAIL are sentinels.
  const HEAD = 2 * n;
  const TAIL = 2 * n + 1;
  const next = new Int32Array(2 * n + 2);
  const prev = new Int32Array(2 * n + 2);
  const order: number[] = [];
  for (let e = 0; e < 2 * n; e++) order.push(e);
  const pos = (e: number): number => {
    const op = ops[e >> 1] as SearchOp;
    return (e & 1) === 0 ? op.call : op.ret;
  };
  // History positions are distinct except the infinite returns, which all sort last; a call
  // never shares a finite position with a return.
  order.sort((x, y) => pos(x) - pos(y) || (x & 1) - (y & 1) || x - y);
  let last = HEAD;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = TAIL;
  prev[TAIL] = last;

  const lift = (op: number): void => {
    const c = 2 * op;
    const r = c + 1;
    next[prev[c] as number] = next[c] as number;
    prev[next[c] as number] = prev[c] as number;
    next[prev[r] as number] = next[r] as number;
    prev[next[r] as number] = prev[r] as number;
  };
  // Dancing links: removals are undone in reverse order, so the removed nodes' own pointers
  // are still the right ones to splice back.
  const unlift = (op: number): void => {
    const c = 2 * op;
    const r = c + 1;
    next[prev[r] as number] = r;
    prev[next[r] as number] = r;
    next[prev[c] as number] = c;
    prev[next[c] as number] = c;
  };

  // The linearized set. Operations are numbered in call order, so the set is always "every
  // operation below `low`" plus a few within the concurrency window above it: the cache
  // stores just `low` and the words from `low` to the highest set bit, not the whole bitset
  // (a full copy per cached configuration would cost gigabytes on long histories).
  const bits = new Uint32Array((n + 31) >>> 5);
  let low = 0;
  let highWord = -1;
  const setBit = (op: number): void => {
    bits[op >>> 5] = (bits[op >>> 5] as number) | (1 << (op & 31));
    if (op >>> 5 > highWord) highWord = op >>> 5;
    if (op === low) while (low < n && ((bits[low >>> 5] as number) & (1 << (low & 31))) !== 0) low++;
  };
  const clearBit = (op: number): void => {
    bits[op >>> 5] = (bits[op >>> 5] as number) & ~(1 << (op & 31));
    if (op < low) low = op;
    while (highWord >= 0 && bits[highWord] === 0) highWord--;
  };
  const zobrist = zobristKeys(n);
  const cache = new Map<number, { low: number; words: Uint32Array; state: number }[]>();
  /** Caches (linearized set, state); false when it was already there. */
  const remember = (hash: number, state: number): boolean => {
    const key = (hash ^ mixState(state)) | 0;
    const from = low >>> 5;
    const length = Math.max(0, highWord - from + 1);
    const bucket = cache.get(key);
    if (bucket !== undefined) {
      outer: for (const seen of bucket) {
        if (seen.state !== state || seen.low !== low || seen.words.length !== length) continue;
        for (let w = 0; w < length; w++) if (seen.words[w] !== bits[from + w]) continue outer;
        return false;
      }
    }
    const entry = { low, words: bits.slice(from, from + length), state };
    if (bucket === undefined) cache.set(key, [entry]);
    else bucket.push(entry);
    return true;
  };

  const stackOps = new Int32Array(n);
  const stackStates = new Int32Array(n);
  // 1 when the frame was a forced (pure) step: backtracking through it tries no alternative.
  const stackForced = new Uint8Array(n);
  let depth = 0;
  let partial: number[] = [];
  let remaining = 0;
  for (const op of ops) if (op.definite) remaining++;
  let state = initial;
  let hash = 0;
  let steps = 0;
  let entry = next[HEAD] as number;
  const track = options.trackPartial === true;

  // Looks for a pure operation that can be linearized now, among the calls before the first
  // return entry; returns its index or -1.
  const findPure = (): number => {
    for (let e = next[HEAD] as number; e !== TAIL && (e & 1) === 0; e = next[e] as number) {
      const op = e >> 1;
      if ((ops[op] as SearchOp).pure === true && step(state, op) === state) return op;
    }
    return -1;
  };
  let backtrack = false;
  let culprit = -1;

  while (remaining > 0) {
    if (++steps > options.maxSteps) return { result: 'unknown', steps };
    if (!backtrack && entry === next[HEAD]) {
      const op = findPure();
      if (op >= 0) {
        setBit(op);
        const nextHash = hash ^ (zobrist[op] as number);
        if (remember(nextHash, state)) {
          stackOps[depth] = op;
          stackStates[depth] = state;
          stackForced[depth] = 1;
          depth++;
          if (track && depth > partial.length) partial = Array.from(stackOps.subarray(0, depth));
          hash = nextHash;
          lift(op);
          if ((ops[op] as SearchOp).definite) remaining--;
          entry = next[HEAD] as number;
          continue;
        }
        // Explored before from here and failed: so does this configuration.
        clearBit(op);
        backtrack = true;
        continue;
      }
    }
    if (backtrack || (entry & 1) === 1) {
      // A return entry (its operation returned before we found a place for it), or a forced
      // step that led nowhere: undo the last choice that had alternatives.
      if (!backtrack) {
        const stuck = entry >> 1;
        if (culprit < 0 || (ops[stuck] as SearchOp).ret > (ops[culprit] as SearchOp).ret) culprit = stuck;
      }
      backtrack = false;
      let op = -1;
      while (depth > 0) {
        depth--;
        op = stackOps[depth] as number;
        state = stackStates[depth] as number;
        clearBit(op);
        hash ^= zobrist[op] as number;
        unlift(op);
        if ((ops[op] as SearchOp).definite) remaining++;
        if (stackForced[depth] === 0) break;
        op = -1;
      }
      if (op < 0) return { result: 'not-linearizable', steps, partial, culprit };
      entry = next[2 * op] as number;
      continue;
    }
    if (entry === TAIL) {
      // Only unknown-outcome returns can be left at the end, and the loop stops before
      // reaching them once every definite operation is placed; reaching TAIL means a bug.
      throw new Error('linearizability search walked off the entry list');
    }
    if ((entry & 1) === 0) {
      const op = entry >> 1;
      const after = step(state, op);
      if (after >= 0) {
        setBit(op);
        const nextHash = hash ^ (zobrist[op] as number);
        if (remember(nextHash, after)) {
          stackOps[depth] = op;
          stackStates[depth] = state;
          stackForced[depth] = 0;
          depth++;
          if (track && depth > partial.length) partial = Array.from(stackOps.subarray(0, depth));
          state = after;
          hash = nextHash;
          lift(op);
          if ((ops[op] as SearchOp).definite) remaining--;
          entry = next[HEAD] as number;
          continue;
        }
        clearBit(op);
      }
      entry = next[entry] as number;
    }
  }
  return { result: 'linearizable', steps, order: Array.from(stackOps.subarray(0, depth)) };
}
