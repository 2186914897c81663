import type { NodeId } from '@flotilla/raft';
import { Packr } from 'msgpackr';
import type { SessionTableData } from './session-table.js';

/**
 * The two structured payloads a replica stores inside Raft's opaque bytes, both msgpack:
 *
 * - the **snapshot envelope** (`Snapshot.data`): the state machine's snapshot plus what the
 *   replica itself must restore at the same index: the address book (members added at runtime
 *   must be reachable after a restart or on a member that caught up by snapshot) and the
 *   session table (duplicate suppression must continue exactly where the log left it);
 * - the **conf-change context** (`ConfChange.context`): who proposed the change (so the
 *   proposer can resolve its promise) and the addresses of the members it adds.
 *
 * Plain maps without msgpackr's record extension, so the bytes do not depend on what was
 * encoded before (snapshots are compared across replicas in tests).
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** What a replica keeps in a snapshot besides the state machine's bytes. */
export interface SnapshotEnvelope {
  readonly stateMachine: Uint8Array;
  /** Addresses of members, by id (sorted by id). */
  readonly addresses: ReadonlyArray<readonly [NodeId, string]>;
  readonly sessions: SessionTableData;
}

const SNAPSHOT_VERSION = 1;

export function encodeSnapshotEnvelope(e: SnapshotEnvelope): Uint8Array {
  return packr.pack({ v: SNAPSHOT_VERSION, sm: e.stateMachine, addr: e.addresses, ses: e.sessions });
}

/**
 * Decodes a snapshot envelope. Empty bytes (a snapshot that carries only a configuration) decode
 * as an empty state. Throws on anything else that is not an envelope of this version.
 */
export function decodeSnapshotEnvelope(data: Uint8Array): SnapshotEnvelope | undefined {
  if (data.byteLength === 0) return undefined;
  const v: unknown = packr.unpack(data);
  if (typeof v !== 'object' || v === null)
    throw new Error('snapshot data is not a replica snapshot envelope');
  const o = v as Record<string, unknown>;
  if (o.v !== SNAPSHOT_VERSION) throw new Error(`unknown replica snapshot version ${String(o.v)}`);
  if (!(o.sm instanceof Uint8Array) || !Array.isArray(o.addr) || !Array.isArray(o.ses)) {
    throw new Error('malformed replica snapshot envelope');
  }
  const addresses: Array<readonly [NodeId, string]> = [];
  for (const a of o.addr as unknown[]) {
    if (!Array.isArray(a) || typeof a[0] !== 'number' || typeof a[1] !== 'string') {
      throw new Error('malformed address in replica snapshot envelope');
    }
    addresses.push([a[0], a[1]]);
  }
  return { stateMachine: o.sm, addresses, sessions: o.ses as SessionTableData };
}

/** What a replica puts in the context of the conf changes it proposes. */
export interface ConfChangeContext {
  /** The proposing replica's id, session and sequence number (see `envelope.ts`). */
  readonly proposer: NodeId;
  readonly session: number;
  readonly seq: number;
  /** Addresses of the members the change adds. */
  readonly addresses: ReadonlyArray<readonly [NodeId, string]>;
}

export function encodeConfChangeContext(c: ConfChangeContext): Uint8Array {
  return packr.pack({ p: c.proposer, s: c.session, q: c.seq, addr: c.addresses });
}

/**
 * Decodes a conf-change context, or returns undefined when there is none or it is not ours (the
 * bootstrap entries carry none; another host may carry anything). Never throws: the context
 * is advisory, the change itself is in the entry.
 */
export function decodeConfChangeContext(data: Uint8Array | undefined): ConfChangeContext | undefined {
  if (data === undefined || data.byteLength === 0) return undefined;
  try {
    const v: unknown = packr.unpack(data);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (
      typeof o.p !== 'number' ||
      typeof o.s !== 'number' ||
      typeof o.q !== 'number' ||
      !Array.isArray(o.addr)
    ) {
      return undefined;
    }
    const addresses: Array<readonly [NodeId, string]> = [];
    for (const a of o.addr as unknown[]) {
      if (Array.isArray(a) && typeof a[0] === 'number' && typeof a[1] === 'string')
        addresses.push([a[0], a[1]]);
    }
    return { proposer: o.p, session: o.s, seq: o.q, addresses };
  } catch {
    return undefined;
  }
}
