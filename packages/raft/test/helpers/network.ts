/**
 * A small in-process cluster for the unit tests: RawNodes over MemoryStorage, messages delivered
 * synchronously in FIFO order, with drop / cut / isolate / ignore filters (in the spirit of
 * etcd's raft_test.go network). Each Ready is handled exactly as the RawNode contract says:
 * persist (snapshot, entries, hard state), queue the messages, apply committed entries (conf
 * changes through applyConfChange), advance.
 */
import { isFlotillaError } from '@flotilla/errors';
import {
  type ConfChange,
  type ConfState,
  decodeConfChange,
  type Entry,
  type HardState,
  MemoryStorage,
  type NetworkMessage,
  type NodeId,
  type RaftConfig,
  RawNode,
  type ReadState,
  type Ready,
} from '@flotilla/raft';

export type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'storage'>>;

/** One member with its storage and what it applied. */
export interface Peer {
  readonly id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  /** Normal entries applied, in order (conf changes are applied and listed too). */
  applied: Entry[];
  readStates: ReadState[];
  confState: ConfState | undefined;
  /** Every Ready handled, newest last (tests inspect them). */
  readies: Ready[];
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Writes a Ready's durable parts to storage, as a host must before sending. */
export function persist(storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
}

export interface NetworkOptions {
  /** Config for every node (electionTick 10 and heartbeatTick 1 by default). */
  config?: ConfigOverrides;
  /** Per-node overrides. */
  configFor?: (id: NodeId) => ConfigOverrides;
  /** Bootstrap every node with all ids as voters (default true). */
  bootstrap?: boolean;
  /** Voters to bootstrap with when not all ids (e.g. to leave some as learners later). */
  peers?: NodeId[];
  /** Preloaded storage per node (configuration, entries, hard state); such nodes are not bootstrapped. */
  storageFor?: (
    id: NodeId,
  ) => { voters: NodeId[]; learners?: NodeId[]; ents?: Entry[]; hs?: HardState } | undefined;
}

export class Network {
  readonly peers = new Map<NodeId, Peer>();
  /** Messages sent and not yet delivered, FIFO. */
  queue: NetworkMessage[] = [];
  /** Every message delivered, newest last. */
  delivered: NetworkMessage[] = [];
  /** Responses dropped because the recipient no longer tracks the sender. */
  peerNotFound = 0;
  readonly #cut = new Set<string>();
  readonly #ignored = new Set<string>();
  /** Called for every message about to be delivered; return false to drop it. */
  hook: ((m: NetworkMessage) => boolean) | undefined;
  readonly #opts: NetworkOptions;

  constructor(ids: NodeId[], opts: NetworkOptions = {}) {
    this.#opts = opts;
    for (const id of ids) {
      const preset = opts.storageFor?.(id);
      if (preset !== undefined) {
        const st = new MemoryStorage();
        st.applySnapshot({
          metadata: {
            index: 0,
            term: 0,
            confState: {
              voters: preset.voters,
              learners: preset.learners ?? [],
              votersOutgoing: [],
              learnersNext: [],
              autoLeave: false,
            },
          },
          data: new Uint8Array(),
        });
        st.append(preset.ents ?? []);
        if (preset.hs !== undefined) st.setHardState(preset.hs);
        this.add(id, undefined, st);
      } else {
        this.add(id, opts.bootstrap === false ? undefined : (opts.peers ?? ids));
      }
    }
  }

  /** Adds a member (bootstrapped with `peers` when given, else blank). */
  add(id: NodeId, peers?: NodeId[], storage = new MemoryStorage(), applied?: number): Peer {
    const node = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      ...this.#opts.config,
      ...this.#opts.configFor?.(id),
      ...(applied === undefined ? {} : { applied }),
    });
    if (peers !== undefined) node.bootstrap(peers);
    const p: Peer = { id, node, storage, applied: [], readStates: [], confState: undefined, readies: [] };
    this.peers.set(id, p);
    return p;
  }

  /** Replaces a member by a fresh RawNode over the same storage (a restart that loses nothing persisted). */
  restart(id: NodeId, overrides: ConfigOverrides = {}): Peer {
    const old = this.peer(id);
    const node = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: old.storage,
      ...this.#opts.config,
      ...this.#opts.configFor?.(id),
      ...overrides,
    });
    const p: Peer = { ...old, node, applied: [...old.applied], readies: [] };
    this.peers.set(id, p);
    return p;
  }

  peer(id: NodeId): Peer {
    const p = this.peers.get(id);
    if (p === undefined) throw new Error(`no peer ${id}`);
    return p;
  }

  node(id: NodeId): RawNode {
    return this.peer(id).node;
  }

  /** Handles one Ready of `id` if it has one; returns it. */
  process(id: NodeId): Ready | undefined {
    const p = this.peer(id);
    if (!p.node.hasReady()) return undefined;
    const rd = p.node.ready();
    p.readies.push(rd);
    persist(p.storage, rd);
    for (const m of rd.messages) this.queue.push(m);
    for (const e of rd.committedEntries) {
      p.applied.push(e);
      if (e.type === 'confChange') {
        const cc: ConfChange = decodeConfChange(e.data);
        p.confState = p.node.applyConfChange(cc);
      }
    }
    for (const rs of rd.readStates) p.readStates.push(rs);
    p.node.advance();
    return rd;
  }

  /** Handles Readies of every member until none has one. */
  processAll(): void {
    for (let round = 0; round < 1000; round++) {
      let any = false;
      for (const id of this.peers.keys()) if (this.process(id) !== undefined) any = true;
      if (!any) return;
    }
    throw new Error('processAll did not settle');
  }

  /** True when the message passes the filters. */
  #passes(m: NetworkMessage): boolean {
    if (!this.peers.has(m.to)) return false;
    if (this.#cut.has(`${m.from}-${m.to}`)) return false;
    if (this.#ignored.has(m.type)) return false;
    if (this.hook !== undefined && !this.hook(m)) return false;
    return true;
  }

  /** Delivers every queued message once (messages they cause stay queued). */
  deliverQueued(): number {
    const q = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of q) {
      if (!this.#passes(m)) continue;
      this.delivered.push(m);
      try {
        this.peer(m.to).node.step(m);
      } catch (err) {
        // As a host does: a response from a member that was removed is dropped.
        if (!isFlotillaError(err, 'STEP_PEER_NOT_FOUND')) throw err;
        this.peerNotFound++;
      }
      n++;
    }
    return n;
  }

  /** Processes Readies and delivers messages until the cluster is quiet. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processAll();
      if (this.queue.length === 0) return;
      this.deliverQueued();
    }
    throw new Error('stabilize did not settle');
  }

  /** Steps `msgs` into their recipients (filters apply), then stabilizes. */
  send(...msgs: NetworkMessage[]): void {
    this.queue.push(...msgs);
    this.stabilize();
  }

  /** Ticks `id` `n` times, handling Readies after each tick but not delivering. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick();
  }

  /** Ticks every member `n` times and stabilizes after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const p of this.peers.values()) p.node.tick();
      this.stabilize();
    }
  }

  /** `id` campaigns and the cluster settles. */
  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  /** Proposes `data` on `id` and settles. */
  propose(id: NodeId, data: string | Uint8Array): void {
    this.node(id).propose(typeof data === 'string' ? enc(data) : data);
    this.stabilize();
  }

  /** Drops messages in both directions between `a` and `b`. */
  cut(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}-${b}`);
    this.#cut.add(`${b}-${a}`);
  }

  /** Drops messages from `from` to `to` (one direction). */
  drop(from: NodeId, to: NodeId): void {
    this.#cut.add(`${from}-${to}`);
  }

  /** Cuts `id` from every other member. */
  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  /** Drops every message of `type`. */
  ignore(type: NetworkMessage['type']): void {
    this.#ignored.add(type);
  }

  /** Heals every cut and ignore (the hook stays). */
  recover(): void {
    this.#cut.clear();
    this.#ignored.clear();
  }

  /** The current leader per the members' status (0 when none agrees). */
  leader(): NodeId {
    for (const p of this.peers.values()) {
      const s = p.node.status();
      if (s.raftState === 'leader') return s.id;
    }
    return 0;
  }

  /** Payloads of the normal, non-empty entries `id` applied. */
  appliedData(id: NodeId): string[] {
    return this.peer(id)
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => dec(e.data));
  }
}
