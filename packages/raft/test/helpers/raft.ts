/**
 * Single-node test helpers in the style of etcd's newTestRaft: a RawNode over a MemoryStorage
 * preloaded with a configuration, entries and hard state; message builders; and `read()` which
 * handles Readies (persist, apply, advance) and returns what the node sent.
 */
import {
  type ConfState,
  decodeConfChange,
  type Entry,
  type HardState,
  MemoryStorage,
  type NetworkMessage,
  type NodeId,
  RawNode,
  type ReadState,
  type Ready,
  type Status,
} from '@flotilla/raft';
import { type ConfigOverrides, enc, persist } from './network.js';

export const cs = (voters: NodeId[], learners: NodeId[] = []): ConfState => ({
  voters,
  learners,
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

/** Entries with the given terms at indexes 1, 2, ... (etcd's index(1).terms(...)). */
export const terms = (...ts: number[]): Entry[] =>
  ts.map((term, i) => ({ term, index: i + 1, type: 'normal', data: new Uint8Array() }));

export const entry = (index: number, term: number, data = ''): Entry => ({
  index,
  term,
  type: 'normal',
  data: enc(data),
});

/** Storage holding configuration `conf` (as an index-0 snapshot), `ents` and `hs`. */
export function newStorage(conf: ConfState, ents: Entry[] = [], hs?: HardState): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({ metadata: { index: 0, term: 0, confState: conf }, data: new Uint8Array() });
  s.append(ents);
  if (hs !== undefined) s.setHardState(hs);
  return s;
}

export interface NodeOptions extends ConfigOverrides {
  learners?: NodeId[];
  storage?: MemoryStorage;
  ents?: Entry[];
  hs?: HardState;
}

export class TestNode {
  readonly id: NodeId;
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  /** Committed entries applied so far. */
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly readies: Ready[] = [];

  constructor(id: NodeId, voters: NodeId[], opts: NodeOptions = {}) {
    const { learners, storage, ents, hs, ...config } = opts;
    this.id = id;
    this.storage = storage ?? newStorage(cs(voters, learners ?? []), ents ?? [], hs);
    this.node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage: this.storage, ...config });
  }

  /** Handles every pending Ready (persist, apply, advance) and returns the messages sent. */
  read(): NetworkMessage[] {
    const out: NetworkMessage[] = [];
    for (let i = 0; i < 100 && this.node.hasReady(); i++) {
      const rd = this.node.ready();
      this.readies.push(rd);
      persist(this.storage, rd);
      out.push(...rd.messages);
      for (const e of rd.committedEntries) {
        this.applied.push(e);
        if (e.type === 'confChange') this.node.applyConfChange(decodeConfChange(e.data));
      }
      this.readStates.push(...rd.readStates);
      this.node.advance();
    }
    return out;
  }

  step(...ms: NetworkMessage[]): void {
    for (const m of ms) this.node.step(m);
  }

  status(): Status {
    return this.node.status();
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) this.node.tick();
  }

  /** Ticks until the node campaigns (at most 2·electionTick ticks). */
  tickUntilCampaign(electionTick = 10): void {
    for (let i = 0; i < 2 * electionTick; i++) {
      const before = this.status().raftState;
      this.node.tick();
      if (this.status().raftState !== before) return;
    }
  }

  /** Campaigns and collects the given votes (no PreVote), then reads the leader's first messages. */
  elect(voters: NodeId[]): NetworkMessage[] {
    this.node.campaign();
    this.read();
    const s = this.status();
    for (const v of voters) {
      if (v !== this.id)
        this.node.step({ type: 'voteResp', from: v, to: this.id, term: s.term, reject: false });
    }
    return this.read();
  }

  /** Normal payloads applied, as strings. */
  appliedData(): string[] {
    return this.applied
      .filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

// Message builders (fields every test would otherwise repeat).
export const app = (
  from: NodeId,
  to: NodeId,
  term: number,
  index: number,
  logTerm: number,
  entries: Entry[] = [],
  commit = 0,
): NetworkMessage => ({ type: 'app', from, to, term, index, logTerm, entries, commit });

export const appResp = (from: NodeId, to: NodeId, term: number, index: number): NetworkMessage => ({
  type: 'appResp',
  from,
  to,
  term,
  index,
  reject: false,
  rejectHint: 0,
  logTerm: 0,
});

export const appReject = (
  from: NodeId,
  to: NodeId,
  term: number,
  index: number,
  rejectHint: number,
  logTerm: number,
): NetworkMessage => ({ type: 'appResp', from, to, term, index, reject: true, rejectHint, logTerm });

export const vote = (
  from: NodeId,
  to: NodeId,
  term: number,
  index: number,
  logTerm: number,
  transfer = false,
): NetworkMessage => ({
  type: 'vote',
  from,
  to,
  term,
  index,
  logTerm,
  transfer,
});

export const preVote = (
  from: NodeId,
  to: NodeId,
  term: number,
  index: number,
  logTerm: number,
): NetworkMessage => ({
  type: 'preVote',
  from,
  to,
  term,
  index,
  logTerm,
  transfer: false,
});

export const voteResp = (from: NodeId, to: NodeId, term: number, reject = false): NetworkMessage => ({
  type: 'voteResp',
  from,
  to,
  term,
  reject,
});

export const heartbeat = (
  from: NodeId,
  to: NodeId,
  term: number,
  commit = 0,
  readSeq = 0,
): NetworkMessage => ({
  type: 'heartbeat',
  from,
  to,
  term,
  commit,
  readSeq,
});

export const heartbeatResp = (from: NodeId, to: NodeId, term: number, readSeq = 0): NetworkMessage => ({
  type: 'heartbeatResp',
  from,
  to,
  term,
  readSeq,
});

/** Only the messages of `type`. */
export type MessageOf<T extends NetworkMessage['type']> =
  Extract<NetworkMessage, { type: T }> extends never
    ? NetworkMessage & { type: T }
    : Extract<NetworkMessage, { type: T }>;

export function only<T extends NetworkMessage['type']>(
  msgs: readonly NetworkMessage[],
  type: T,
): MessageOf<T>[] {
  return msgs.filter((m) => m.type === type) as MessageOf<T>[];
}
