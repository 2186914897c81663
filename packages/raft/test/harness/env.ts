import { isFlotillaError } from '@flotilla/errors';
import {
  type ConfState,
  decodeConfChange,
  describeMessage,
  describeReady,
  type NetworkMessage,
  type NodeId,
  type RaftConfig,
  RawNode,
} from '@flotilla/raft';
import { Output } from './output.js';
import type { HarnessStorage } from './storage.js';

/** A node's configuration as the scenario chose it (everything but storage and logger). */
export type NodeConfig = Omit<RaftConfig, 'storage' | 'logger'>;

/**
 * One member of the scenario cluster: the RawNode, the storage that holds what was persisted,
 * and a tiny state machine (the list of applied payloads) so scenarios can show what was
 * applied, snapshotted and restored.
 */
export interface HarnessNode {
  readonly id: NodeId;
  node: RawNode;
  readonly storage: HarnessStorage;
  readonly config: NodeConfig;
  /** The state machine: payloads of applied non-empty normal entries, in order. */
  applied: string[];
  /** Index of the last applied entry (or installed snapshot). */
  appliedIndex: number;
  /** The configuration as of `appliedIndex` (what a snapshot must record). */
  confState: ConfState;
  /** Crashed and not restarted: receives nothing, ticks nothing. */
  down: boolean;
}

/** The state machine's snapshot format: the applied payloads, as JSON. */
export function encodeStateMachine(applied: readonly string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(applied));
}

export function decodeStateMachine(data: Uint8Array): string[] {
  if (data.length === 0) return [];
  const v: unknown = JSON.parse(new TextDecoder().decode(data));
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error('bad state machine snapshot');
  return v;
}

/** `error: CODE: message` for a Flotilla error; other errors are harness bugs and rethrown. */
export function describeError(err: unknown): string {
  if (isFlotillaError(err)) return `error: ${err.code}: ${err.message}`;
  throw err;
}

/**
 * The interaction environment behind the scenario files (etcd's rafttest.InteractionEnv): a set
 * of RawNodes, one FIFO queue of messages in flight, network cuts, and the output being printed.
 * It performs the host's duties exactly as the RawNode contract says — persist, send, apply,
 * advance — but only when a command asks, so a scenario controls every interleaving.
 */
export class InteractionEnv {
  readonly nodes = new Map<NodeId, HarnessNode>();
  /** Messages sent and not yet delivered or dropped, in send order. */
  queue: NetworkMessage[] = [];
  readonly out = new Output();
  /** Cut links, as `a-b` with a < b: messages between a and b are dropped on delivery. */
  readonly cuts = new Set<string>();

  /** Every node id, ascending. */
  ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  node(id: NodeId): HarnessNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Ids given on the command line, or every node when none. */
  idsOrAll(ids: readonly NodeId[]): NodeId[] {
    for (const id of ids) this.node(id);
    return ids.length > 0 ? [...ids] : this.ids();
  }

  /** Runs `fn`, printing `error: ...` instead of throwing when it throws a Flotilla error. */
  attempt(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.out.write(describeError(err));
      return false;
    }
  }

  /**
   * Builds a RawNode over `storage` (a fresh start or a restart). `applied` is the index the
   * state machine already has (on restart: the snapshot it was restored from), so Raft does not
   * hand those entries out again.
   */
  startNode(id: NodeId, storage: HarnessStorage, config: NodeConfig, applied?: number): RawNode {
    const c = applied === undefined ? config : { ...config, applied };
    return new RawNode({ ...c, id, storage, logger: this.out.logger() });
  }

  // -------------------------------------------------------------------------------------------
  // The host's duties
  // -------------------------------------------------------------------------------------------

  /**
   * Handles one Ready of node `id` as a host must: print it, persist (snapshot, entries, hard
   * state), send (queue the messages), apply the snapshot and committed entries (conf changes
   * through applyConfChange), then advance. Returns false when there was nothing to do.
   */
  processReady(id: NodeId): boolean {
    const h = this.node(id);
    if (h.down || !h.node.hasReady()) return false;
    const rd = h.node.ready();
    // A Ready can be empty: it then only lets advance() release held-back messages (for example
    // a vote rejection), which appear in the next Ready.
    this.out.write(describeReady(rd) || '(empty Ready)');
    // 1. Persist. A snapshot replaces the log; entries may overwrite a suffix (§5.3).
    if (rd.snapshot !== undefined) h.storage.applySnapshot(rd.snapshot);
    h.storage.append(rd.entries);
    if (rd.hardState !== undefined) h.storage.setHardState(rd.hardState);
    // 2. Send.
    this.queue.push(...rd.messages);
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      h.applied = decodeStateMachine(rd.snapshot.data);
      h.appliedIndex = rd.snapshot.metadata.index;
      h.confState = rd.snapshot.metadata.confState;
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') {
        this.attempt(() => {
          h.confState = h.node.applyConfChange(decodeConfChange(e.data));
        });
      } else if (e.data.length > 0) {
        h.applied.push(new TextDecoder().decode(e.data));
      }
      h.appliedIndex = e.index;
    }
    // 4. Advance: releases the held-back messages (self-acks, votes, responses to peers).
    h.node.advance();
    return true;
  }

  /** True when a message from `from` to `to` would be dropped by a cut or a crashed node. */
  blocked(from: NodeId, to: NodeId): string | undefined {
    const target = this.nodes.get(to);
    if (target === undefined) return 'unknown node';
    if (target.down) return 'node down';
    const key = from < to ? `${from}-${to}` : `${to}-${from}`;
    if (this.cuts.has(key)) return 'partitioned';
    return undefined;
  }

  /** Delivers one message (printing it and what it caused), or prints why it was dropped. */
  deliver(m: NetworkMessage): void {
    const why = this.blocked(m.from, m.to);
    if (why !== undefined) {
      this.out.write(`${describeMessage(m)} DROPPED (${why})`);
      return;
    }
    this.out.write(describeMessage(m));
    const h = this.node(m.to);
    this.out.nested(() => this.attempt(() => h.node.step(m)));
  }

  /** Removes and returns the queued messages matching `pred`, keeping the others in order. */
  takeMessages(pred: (m: NetworkMessage) => boolean): NetworkMessage[] {
    const taken: NetworkMessage[] = [];
    const kept: NetworkMessage[] = [];
    for (const m of this.queue) (pred(m) ? taken : kept).push(m);
    this.queue = kept;
    return taken;
  }

  /**
   * Adds a node over `storage` (which holds whatever the scenario preloaded); its state machine
   * starts empty, as of the storage's snapshot.
   */
  addNode(id: NodeId, storage: HarnessStorage, config: NodeConfig): void {
    if (this.nodes.has(id)) throw new Error(`node ${id} exists`);
    const snap = storage.snapshot().metadata;
    const node = this.startNode(id, storage, config);
    this.nodes.set(id, {
      id,
      node,
      storage,
      config,
      applied: [],
      appliedIndex: snap.index,
      confState: snap.confState,
      down: false,
    });
  }
}
