import {
  decodeConfChange,
  MemoryStorage,
  type NetworkMessage,
  type NodeId,
  RawNode,
  type Ready,
  type Status,
} from '@flotilla/raft';

/**
 * One member of the lab: its durable storage (which survives a crash), the running RawNode
 * (absent while crashed), and its state machine — here simply the list of applied commands.
 */
export interface LabMember {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  node: RawNode | undefined;
  applied: string[];
}

/**
 * A tiny in-process host for a few RawNodes: the loop every Raft application writes. On each
 * Ready it (1) persists the entries and hard state, (2) sends the messages, (3) applies the
 * committed entries, (4) calls advance(). Messages travel through an in-memory queue and are
 * delivered in order; a crashed member receives nothing. Time is a counter of ticks.
 */
export class LabCluster {
  readonly members = new Map<NodeId, LabMember>();
  private readonly config: { electionTick: number; heartbeatTick: number; seed: number };
  private queue: NetworkMessage[] = [];
  /** Ticks since the start. */
  time = 0;
  /** Called with every Ready a member handles (the lab's narrator listens here). */
  onReady: ((id: NodeId, rd: Ready) => void) | undefined;

  constructor(ids: readonly NodeId[], seed: number) {
    this.config = { electionTick: 10, heartbeatTick: 1, seed };
    for (const id of ids) {
      const m: LabMember = { id, storage: new MemoryStorage(), node: undefined, applied: [] };
      this.members.set(id, m);
      m.node = this.start(m);
      // A new cluster: every member starts with the same list of voters.
      m.node.bootstrap([...ids]);
    }
    this.settle();
  }

  private start(m: LabMember): RawNode {
    const { electionTick, heartbeatTick, seed } = this.config;
    return new RawNode({
      id: m.id,
      storage: m.storage,
      electionTick,
      heartbeatTick,
      // Each member draws its randomized election timeouts from its own seeded generator, so a
      // run is reproducible and members time out at different moments.
      seed: seed * 100 + m.id,
      preVote: true,
      checkQuorum: true,
    });
  }

  member(id: NodeId): LabMember {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  /** Status of every running member. */
  statuses(): Status[] {
    const out: Status[] = [];
    for (const m of this.members.values()) if (m.node !== undefined) out.push(m.node.status());
    return out;
  }

  /** The running member that leads in the highest term, if any. */
  leader(): NodeId | undefined {
    let best: Status | undefined;
    for (const s of this.statuses())
      if (s.raftState === 'leader' && (best === undefined || s.term > best.term)) best = s;
    return best?.id;
  }

  /** Advances the clock by one tick on every running member, then lets the cluster settle. */
  tick(): void {
    this.time++;
    for (const m of this.members.values()) m.node?.tick();
    this.settle();
  }

  /** Proposes a command on member `id` (normally the leader). */
  propose(id: NodeId, command: string): void {
    const node = this.member(id).node;
    if (node === undefined) throw new Error(`member ${id} is down`);
    node.propose(new TextEncoder().encode(command));
    this.settle();
  }

  /** The member stops: its RawNode and state machine are gone; its storage survives. */
  crash(id: NodeId): void {
    const m = this.member(id);
    m.node = undefined;
    m.applied = [];
  }

  /**
   * The member starts again over its storage: term, vote, log and commit index come back, and
   * Raft hands the committed entries out again so the state machine is rebuilt.
   */
  restart(id: NodeId): void {
    const m = this.member(id);
    m.node = this.start(m);
    this.settle();
  }

  /** Handles every Ready and delivers every message until nothing is left to do. */
  settle(): void {
    for (let round = 0; round < 1000; round++) {
      for (const m of this.members.values()) this.handleReadies(m);
      if (this.queue.length === 0) return;
      const q = this.queue;
      this.queue = [];
      for (const msg of q) this.members.get(msg.to)?.node?.step(msg);
    }
    throw new Error('the cluster did not settle');
  }

  private handleReadies(m: LabMember): void {
    const node = m.node;
    if (node === undefined) return;
    while (node.hasReady()) {
      const rd = node.ready();
      this.onReady?.(m.id, rd);
      // 1. Persist (a real host writes to disk and fsyncs when rd.mustSync).
      if (rd.snapshot !== undefined) m.storage.applySnapshot(rd.snapshot);
      m.storage.append(rd.entries);
      if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
      // 2. Send.
      this.queue.push(...rd.messages);
      // 3. Apply, in log order. Membership entries go back to Raft.
      for (const e of rd.committedEntries) {
        if (e.type === 'confChange') node.applyConfChange(decodeConfChange(e.data));
        else if (e.data.length > 0) m.applied.push(new TextDecoder().decode(e.data));
      }
      // 4. Tell Raft the Ready is handled.
      node.advance();
    }
  }
}
