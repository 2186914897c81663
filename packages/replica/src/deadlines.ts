/** Something with a deadline: a pending proposal, read or membership change. */
export interface Expirable {
  /** Clock time (ms) at which it expires. */
  readonly deadline: number;
  /** True once it completed by other means; the queue then just drops it. */
  readonly settled: boolean;
  /** Called once, at the first `expire(now)` with `now ≥ deadline`, if not settled. */
  expire(): void;
  /** The replica stopped (`cause`: the failure that stopped it, if any). */
  stop(cause?: unknown): void;
}

/** A FIFO of items armed with the same timeout, so their deadlines are in order. */
interface Lane {
  items: Expirable[];
  head: number;
  /** Length past which settled items are swept out (doubles with the live size). */
  sweepAt: number;
}

const MIN_SWEEP = 4096;

/**
 * The one deadline mechanism of a replica: every request with a timeout goes in here and the
 * replica's tick calls {@link expire}. No timer per request: at 100,000 proposals per second a
 * timer each would cost more than the proposal (and with a `SimClock`, flood its heap).
 *
 * Items are grouped in lanes by timeout value. Within a lane deadlines are non-decreasing
 * (the clock is monotonic), so expiry only ever looks at each lane's head. Most requests
 * complete in about the order they were made, so settled items reach the head soon and are
 * dropped there; a straggler at the head holds the ones behind it, and a sweep (amortised O(1)
 * per item) removes settled ones once a lane grows past twice its size at the last sweep.
 * Resolution is the tick: a request expires at the first tick at or after its deadline.
 */
export class DeadlineQueue {
  readonly #lanes = new Map<number, Lane>();

  /** Adds `item`, armed with `timeoutMs` (its `deadline` must be now + timeoutMs). */
  add(item: Expirable, timeoutMs: number): void {
    let lane = this.#lanes.get(timeoutMs);
    if (lane === undefined) {
      lane = { items: [], head: 0, sweepAt: MIN_SWEEP };
      this.#lanes.set(timeoutMs, lane);
    }
    lane.items.push(item);
    if (lane.items.length - lane.head > lane.sweepAt) sweep(lane);
  }

  /** Expires every unsettled item whose deadline is ≤ `now`, oldest first within a lane. */
  expire(now: number): void {
    for (const [timeout, lane] of this.#lanes) {
      const items = lane.items;
      let head = lane.head;
      while (head < items.length) {
        const item = items[head] as Expirable;
        if (!item.settled) {
          if (item.deadline > now) break;
          item.expire();
        }
        head++;
      }
      if (head === items.length) {
        this.#lanes.delete(timeout);
        continue;
      }
      lane.head = head;
      if (head > MIN_SWEEP && head * 2 > items.length) {
        lane.items = items.slice(head);
        lane.head = 0;
      }
    }
  }

  /** Stops every unsettled item (the replica stopped) and empties the queue. */
  stopAll(cause?: unknown): void {
    const lanes = [...this.#lanes.values()];
    this.#lanes.clear();
    for (const lane of lanes) {
      for (let i = lane.head; i < lane.items.length; i++) {
        const item = lane.items[i] as Expirable;
        if (!item.settled) item.stop(cause);
      }
    }
  }
}

function sweep(lane: Lane): void {
  const live = lane.items.slice(lane.head).filter((i) => !i.settled);
  lane.items = live;
  lane.head = 0;
  lane.sweepAt = Math.max(MIN_SWEEP, 2 * live.length);
}
