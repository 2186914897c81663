import {
  type NetworkMessage,
  type NodeId,
  type Random,
  type SnapMessage,
  seededRandom,
} from '@flotilla/raft';
import { type Clock, systemClock } from './clock.js';
import { ReplicaError } from './errors.js';
import { LinkFaults } from './testing/link-faults.js';
import { checkNodeId, checkProbability } from './transport/checks.js';
import { consoleLogger, type Logger } from './transport/logger.js';
import { type MemoryLink, MemoryTransport } from './transport/memory-transport.js';

/** Why the network dropped a message. */
export type DropReason =
  /** A partition, isolation or one-way cut (reported `unreachable` to the sender). */
  | 'partition'
  /** The sender does not know the recipient, or no open transport has its id (reported). */
  | 'unknownPeer'
  /** The random loss of {@link MemoryNetwork.setDropRate} (silent, like a lost packet). */
  | 'random'
  /** The recipient closed, or stopped knowing the sender, while the message was in flight. */
  | 'closed';

/** What the network did with a message, for traces and teaching tools. `at` is clock time. */
export type NetworkEvent =
  | { readonly kind: 'send'; readonly at: number; readonly message: NetworkMessage }
  | { readonly kind: 'deliver'; readonly at: number; readonly message: NetworkMessage }
  | { readonly kind: 'duplicate'; readonly at: number; readonly message: NetworkMessage }
  | {
      readonly kind: 'drop';
      readonly at: number;
      readonly message: NetworkMessage;
      readonly reason: DropReason;
    };

/** Message counts by message type (`app`, `heartbeat`, ...), since creation or `resetStats`. */
export interface NetworkStats {
  readonly sent: Readonly<Record<string, number>>;
  readonly delivered: Readonly<Record<string, number>>;
  readonly dropped: Readonly<Record<string, number>>;
  readonly duplicated: Readonly<Record<string, number>>;
}

/** Options of {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Seeds every random choice (drops, duplicates, delays): the same seed, the same run. */
  readonly seed: number;
  /** Schedules deliveries. Default {@link systemClock}; pass a `SimClock` for determinism. */
  readonly clock?: Clock;
  /** Sees every send, delivery, duplicate and drop, synchronously. */
  readonly observer?: (event: NetworkEvent) => void;
  /** Receives handler errors. Default: warnings and errors on the console. */
  readonly logger?: Logger;
  /**
   * Deliver structured clones instead of the sent objects, as a real wire would (catches a
   * host that mutates a message after sending it). Default false: objects are shared, which is
   * safe for Raft's immutable messages and much faster.
   */
  readonly cloneMessages?: boolean;
}

/** Options of {@link MemoryNetwork.transport}. */
export interface MemoryTransportOptions {
  /**
   * The peers this node knows at first. Omitted = open membership: every node that ever had a
   * transport on this network, minus those removed with `removePeer`.
   */
  readonly peers?: readonly NodeId[];
}

/** Messages in flight from one node to another, delivered as one batch. */
interface Delivery {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly messages: NetworkMessage[];
  timer: unknown;
  /** Set for snapshots: settles the sender's promise (an error = failed). */
  readonly settle?: (error?: ReplicaError) => void;
}

/**
 * A simulated network for a whole cluster in one process, with the faults Jepsen injects: every
 * node gets a {@link Transport} from {@link MemoryNetwork.transport}, and the test breaks links
 * (partitions, isolation, one-way cuts), pauses a node's delivery, and sets loss, delay and
 * duplication rates. Messages with different delays overtake each other (reordering).
 *
 * Determinism: every random choice comes from one `seededRandom(seed)` stream, drawn in send
 * order, and every delivery is a timer on the injected clock. With a `SimClock` the whole
 * delivery trace is a function of the seed and the test's actions.
 *
 * Delivery rules: a message is checked at send time (the sender must know the recipient, the
 * recipient must be open, the link up — otherwise it is dropped and the sender gets
 * `unreachable`) and again at delivery time (a link cut or a recipient closed meanwhile drops
 * it silently, as a reset connection loses what was in flight). Messages of one `send` to one
 * recipient with the same delay arrive as one batch; a paused recipient holds its deliveries
 * and gets them, in order, on `resume`.
 *
 * @example
 * ```ts
 * const clock = new SimClock();
 * const net = new MemoryNetwork({ seed: 7, clock });
 * const a = net.transport(1);
 * const b = net.transport(2);
 * await b.start((batch) => console.log(batch));
 * await a.start(() => {});
 * net.setDelay(1, 5);
 * a.send([{ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 0, readSeq: 0 }]);
 * clock.advance(5); // delivered
 * ```
 */
export class MemoryNetwork {
  /** The clock deliveries are scheduled on. */
  readonly clock: Clock;
  readonly #rng: Random;
  readonly #observer: ((event: NetworkEvent) => void) | undefined;
  readonly #logger: Logger;
  readonly #clone: boolean;
  readonly #faults = new LinkFaults();
  readonly #nodes = new Map<NodeId, MemoryTransport>();
  /** Every id that ever had a transport (the membership of open-mode transports). */
  readonly #seen = new Set<NodeId>();
  readonly #pending = new Set<Delivery>();
  /**
   * Deliveries held for paused nodes, in arrival order. A resumed node stays here, `draining`,
   * until its release timer fires, so messages arriving meanwhile queue behind the held ones
   * (FIFO holds across a pause).
   */
  readonly #held = new Map<NodeId, { deliveries: Delivery[]; draining: boolean }>();
  #dropRate = 0;
  #duplicateRate = 0;
  #minDelay = 0;
  #maxDelay = 0;
  #stats = emptyStats();
  readonly #link: MemoryLink;

  constructor(options: MemoryNetworkOptions) {
    if (typeof options !== 'object' || options === null || !Number.isSafeInteger(options.seed)) {
      throw new ReplicaError('INVALID_ARGUMENT', 'MemoryNetwork needs { seed } with an integer seed');
    }
    this.clock = options.clock ?? systemClock;
    this.#rng = seededRandom(options.seed);
    this.#observer = options.observer;
    this.#logger = options.logger ?? consoleLogger('memory-network');
    this.#clone = options.cloneMessages ?? false;
    this.#link = {
      logger: this.#logger,
      everAttached: (id) => this.#seen.has(id),
      send: (from, messages) => this.#send(from, messages),
      sendSnapshot: (from, message) => this.#sendSnapshot(from, message),
      detach: (t) => this.#detach(t),
    };
  }

  /**
   * A new transport for node `id`. A node that restarts gets a new transport once its old one
   * is closed; asking while the old one is open throws `TRANSPORT_EXISTS`.
   */
  transport(id: NodeId, options: MemoryTransportOptions = {}): MemoryTransport {
    checkNodeId(id);
    if (this.#nodes.has(id)) {
      throw new ReplicaError('TRANSPORT_EXISTS', `node ${id} already has an open transport on this network`);
    }
    const t = new MemoryTransport(this.#link, id, options.peers);
    this.#nodes.set(id, t);
    this.#seen.add(id);
    return t;
  }

  /** True when a message from `from` to `to` would pass the link faults now. */
  canReach(from: NodeId, to: NodeId): boolean {
    return this.#faults.canReach(from, to);
  }

  /**
   * Splits the nodes into groups that only talk within themselves, replacing any previous
   * partition. A node in no group is alone. Messages in flight across the cut are lost.
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.#faults.partition(groups);
  }

  /** Cuts `id` off from every other node, both ways, until {@link MemoryNetwork.heal}. */
  isolate(id: NodeId): void {
    this.#faults.isolate(id);
  }

  /** Cuts the one-way link `from → to` (`to` still reaches `from`). */
  cut(from: NodeId, to: NodeId): void {
    this.#faults.cut(from, to);
  }

  /** Restores the one-way link `from → to` cut by {@link MemoryNetwork.cut}. */
  uncut(from: NodeId, to: NodeId): void {
    this.#faults.uncut(from, to);
  }

  /** Lifts every partition, isolation and cut. Rates, delays and pauses stay as they are. */
  heal(): void {
    this.#faults.heal();
  }

  /** Each message is lost with probability `p` (0 ≤ p ≤ 1), silently. */
  setDropRate(p: number): void {
    checkProbability(p, 'drop rate');
    this.#dropRate = p;
  }

  /** Each message is delivered twice with probability `p`, the copy with its own delay. */
  setDuplicateRate(p: number): void {
    checkProbability(p, 'duplicate rate');
    this.#duplicateRate = p;
  }

  /** Each message takes a delay drawn uniformly from `[minMs, maxMs]`; unequal delays reorder. */
  setDelay(minMs: number, maxMs: number): void {
    if (!(Number.isFinite(minMs) && Number.isFinite(maxMs) && minMs >= 0 && minMs <= maxMs)) {
      throw new ReplicaError('INVALID_ARGUMENT', `setDelay needs 0 ≤ minMs ≤ maxMs, got ${minMs}, ${maxMs}`);
    }
    this.#minDelay = minMs;
    this.#maxDelay = maxMs;
  }

  /**
   * Holds every delivery to `id` (a process paused with SIGSTOP: its peers' messages wait in
   * its socket buffers). Its own sends are unaffected; the host stops driving a paused node.
   */
  pause(id: NodeId): void {
    checkNodeId(id);
    const held = this.#held.get(id);
    if (held === undefined) this.#held.set(id, { deliveries: [], draining: false });
    else held.draining = false;
  }

  /** Releases what {@link MemoryNetwork.pause} held, in order, on the next clock turn. */
  resume(id: NodeId): void {
    const held = this.#held.get(id);
    if (held === undefined || held.draining) return;
    held.draining = true;
    this.clock.setTimeout(() => {
      if (this.#held.get(id) !== held || !held.draining) return; // paused again meanwhile
      this.#held.delete(id);
      for (const d of held.deliveries) this.#arrive(d);
    }, 0);
  }

  /** Counts by message type. */
  stats(): NetworkStats {
    const s = this.#stats;
    return {
      sent: Object.fromEntries(s.sent),
      delivered: Object.fromEntries(s.delivered),
      dropped: Object.fromEntries(s.dropped),
      duplicated: Object.fromEntries(s.duplicated),
    };
  }

  resetStats(): void {
    this.#stats = emptyStats();
  }

  // --- the wire -------------------------------------------------------------------------------

  #send(sender: MemoryTransport, messages: readonly NetworkMessage[]): void {
    const from = sender.id;
    // One batch per (recipient, delay): messages queued together travel together.
    const batches = new Map<string, Delivery & { delay: number }>();
    const unreachable = new Set<NodeId>();
    for (const original of messages) {
      const m = this.#clone ? structuredClone(original) : original;
      this.#count('sent', m);
      this.#observe({ kind: 'send', at: this.clock.now(), message: m });
      const to = m.to;
      const receiver = this.#nodes.get(to);
      // Like a TCP handshake: both ends must know each other and the recipient must be up.
      if (!sender.knows(to) || receiver === undefined || !receiver.isOpen || !receiver.knows(from)) {
        this.#drop(m, 'unknownPeer');
        unreachable.add(to);
        continue;
      }
      if (!this.#faults.canReach(from, to)) {
        this.#drop(m, 'partition');
        unreachable.add(to);
        continue;
      }
      if (this.#dropRate > 0 && this.#rng.chance(this.#dropRate)) {
        this.#drop(m, 'random');
        continue;
      }
      const copies = this.#duplicateRate > 0 && this.#rng.chance(this.#duplicateRate) ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        if (c > 0) {
          this.#count('duplicated', m);
          this.#observe({ kind: 'duplicate', at: this.clock.now(), message: m });
        }
        const delay = this.#drawDelay();
        const key = `${to}:${delay}`;
        let batch = batches.get(key);
        if (batch === undefined) {
          batch = { from, to, messages: [], timer: undefined, delay };
          batches.set(key, batch);
        }
        batch.messages.push(m);
      }
    }
    for (const batch of batches.values()) this.#schedule(batch, batch.delay);
    for (const to of unreachable) this.clock.setTimeout(() => sender.reportUnreachable(to), 0);
  }

  #sendSnapshot(sender: MemoryTransport, message: SnapMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const m = this.#clone ? structuredClone(message) : message;
      this.#count('sent', m);
      this.#observe({ kind: 'send', at: this.clock.now(), message: m });
      const receiver = this.#nodes.get(m.to);
      let failure: ReplicaError | undefined;
      const known = receiver?.isOpen === true && receiver.knows(sender.id);
      if (!known || !this.#faults.canReach(sender.id, m.to)) {
        this.#drop(m, known ? 'partition' : 'unknownPeer');
        failure = new ReplicaError('PEER_UNREACHABLE', `snapshot to ${m.to}: peer unreachable`);
      } else if (this.#dropRate > 0 && this.#rng.chance(this.#dropRate)) {
        // A stream, unlike a datagram, fails loudly: the loss becomes a failed snapshot.
        this.#drop(m, 'random');
        failure = new ReplicaError('PEER_UNREACHABLE', `snapshot to ${m.to}: connection lost`);
      }
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      const settle = (error?: ReplicaError): void => (error === undefined ? resolve() : reject(error));
      this.#schedule(
        { from: sender.id, to: m.to, messages: [m], timer: undefined, settle },
        this.#drawDelay(),
      );
    });
  }

  #drawDelay(): number {
    const min = this.#minDelay;
    const max = this.#maxDelay;
    return max > min ? min + this.#rng.next() * (max - min) : min;
  }

  #schedule(d: Delivery, delay: number): void {
    this.#pending.add(d);
    d.timer = this.clock.setTimeout(() => this.#arrive(d), delay);
  }

  /** A delivery's timer fired: check the link again, then hand the batch over (or hold it). */
  #arrive(d: Delivery): void {
    this.#pending.delete(d);
    const receiver = this.#nodes.get(d.to);
    if (receiver === undefined || !receiver.isOpen || !receiver.knows(d.from)) {
      for (const m of d.messages) this.#drop(m, 'closed');
      d.settle?.(new ReplicaError('PEER_UNREACHABLE', `snapshot to ${d.to}: peer went away`));
      return;
    }
    if (!this.#faults.canReach(d.from, d.to)) {
      for (const m of d.messages) this.#drop(m, 'partition');
      d.settle?.(new ReplicaError('PEER_UNREACHABLE', `snapshot to ${d.to}: link cut`));
      return;
    }
    const held = this.#held.get(d.to);
    if (held !== undefined) {
      held.deliveries.push(d);
      return;
    }
    const at = this.clock.now();
    for (const m of d.messages) {
      this.#count('delivered', m);
      this.#observe({ kind: 'deliver', at, message: m });
    }
    try {
      receiver.deliver(d.messages);
      d.settle?.();
    } catch (err) {
      this.#logger.error('message handler threw', { node: d.to, from: d.from, error: String(err) });
      d.settle?.(
        new ReplicaError('SNAPSHOT_FAILED', `node ${d.to} failed to take the snapshot`, { cause: err }),
      );
    }
  }

  /** A transport closed: what it sent or was to receive is lost; its snapshots fail. */
  #detach(t: MemoryTransport): void {
    if (this.#nodes.get(t.id) === t) this.#nodes.delete(t.id);
    const lost = (d: Delivery): boolean => d.from === t.id || d.to === t.id;
    for (const d of [...this.#pending]) {
      if (!lost(d)) continue;
      this.clock.clearTimeout(d.timer);
      this.#pending.delete(d);
      this.#fail(d, t.id);
    }
    for (const held of this.#held.values()) {
      for (const d of held.deliveries) if (lost(d)) this.#fail(d, t.id);
      held.deliveries = held.deliveries.filter((d) => !lost(d));
    }
  }

  #fail(d: Delivery, closing: NodeId): void {
    for (const m of d.messages) this.#drop(m, 'closed');
    d.settle?.(
      d.from === closing
        ? new ReplicaError('TRANSPORT_CLOSED', `transport ${closing} closed with a snapshot in flight`)
        : new ReplicaError('PEER_UNREACHABLE', `snapshot to ${d.to}: peer closed`),
    );
  }

  #drop(m: NetworkMessage, reason: DropReason): void {
    this.#count('dropped', m);
    this.#observe({ kind: 'drop', at: this.clock.now(), message: m, reason });
  }

  #count(what: keyof MutableStats, m: NetworkMessage): void {
    const counts = this.#stats[what];
    counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
  }

  #observe(event: NetworkEvent): void {
    this.#observer?.(event);
  }
}

interface MutableStats {
  sent: Map<string, number>;
  delivered: Map<string, number>;
  dropped: Map<string, number>;
  duplicated: Map<string, number>;
}

function emptyStats(): MutableStats {
  return { sent: new Map(), delivered: new Map(), dropped: new Map(), duplicated: new Map() };
}
