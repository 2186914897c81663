/**
 * The replicated commands of the KV state machine and their binary encoding (what a Raft log
 * entry carries, inside the replica's proposal envelope).
 *
 * Format: one msgpack array `[format, code, ...fields]`: the format version
 * ({@link COMMAND_FORMAT}, 1), the command's numeric code (stable: never reused), then its
 * fields in the order listed on {@link KvCommand}. Keys, values and range ends are msgpack
 * `bin`. A transaction travels as its etcd-shaped `TxnRequest` object with every key and value
 * already as bytes. Every command has fewer than 16 elements, so byte 0 is a fixarray header,
 * byte 1 the format and byte 2 the code ({@link peekCommandType} reads them without decoding).
 *
 * Why a format version: a member must never apply a command it does not fully understand (it
 * would diverge silently). A newer format is refused with `CORRUPT_COMMAND`, which stops that
 * member's replica (`APPLY_FAILED`) instead: upgrade every member before using new commands.
 *
 * Decoding checks the whole shape, so the state machine only ever sees well-formed commands.
 * Commands are built only by `requests.ts` (from validated API requests) and by the node's
 * lease and member plumbing, never from raw caller input.
 */
import type { TxnRequest } from '@flotilla/mvcc';
import { Packr } from 'msgpackr';
import { KvError } from './errors.js';

/** The current command format version (the first element of every encoded command). */
export const COMMAND_FORMAT = 1;

/** One lease's remaining time as the leader's timer measured it (see `leaseCheckpoint`). */
export interface CheckpointEntry {
  readonly id: number;
  /** Remaining milliseconds when the leader took the checkpoint. */
  readonly remainingMs: number;
  /**
   * The lease's epoch when the checkpoint was taken (the log index of its grant or latest
   * renewal): the checkpoint is stale (ignored) if a renewal was applied since, so it can never
   * shorten a freshly renewed lease.
   */
  readonly epoch: number;
}

/**
 * Every command the state machine applies. Field order is the wire order.
 *
 * - `put`, `deleteRange`, `txn`, `compact`: etcd's KV writes.
 * - `leaseGrant`: `id` 0 asks the state machine to choose one (the entry's index, or the next
 *   free id above it), so every replica picks the same id.
 * - `leaseRevoke`: a client's revoke (`LEASE_NOT_FOUND` when absent).
 * - `leaseRenew`: a keep-alive, routed through Raft so it reaches the leader's timer from any
 *   member (see the README's lease design).
 * - `leaseExpire`: the leader's timer found the lease expired. Applied only if no renewal was
 *   applied since the timer looked (`epoch` still matches); otherwise it is stale and ignored.
 * - `leaseCheckpoint`: remaining TTLs, so a new leader does not restart leases from full TTL.
 * - `memberPublish`, `memberForget`: a member's name, peer and client URLs (etcd's publish).
 */
export type KvCommand =
  | {
      readonly type: 'put';
      readonly key: Uint8Array;
      readonly value: Uint8Array;
      readonly lease: number;
      readonly prevKv: boolean;
      readonly ignoreValue: boolean;
      readonly ignoreLease: boolean;
    }
  | {
      readonly type: 'deleteRange';
      readonly key: Uint8Array;
      readonly rangeEnd: Uint8Array | undefined;
      readonly prevKv: boolean;
    }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compact'; readonly revision: number }
  | { readonly type: 'leaseGrant'; readonly id: number; readonly ttl: number }
  | { readonly type: 'leaseRevoke'; readonly id: number }
  | { readonly type: 'leaseRenew'; readonly id: number }
  | { readonly type: 'leaseExpire'; readonly id: number; readonly epoch: number }
  | { readonly type: 'leaseCheckpoint'; readonly checkpoints: readonly CheckpointEntry[] }
  | {
      readonly type: 'memberPublish';
      readonly id: number;
      readonly name: string;
      readonly peerUrls: readonly string[];
      readonly clientUrls: readonly string[];
    }
  | { readonly type: 'memberForget'; readonly id: number };

/** The kinds of {@link KvCommand}. */
export type KvCommandType = KvCommand['type'];

/** Stable wire codes. Append only: a code is never reused for another command. */
const CODES = {
  put: 1,
  deleteRange: 2,
  txn: 3,
  compact: 4,
  leaseGrant: 5,
  leaseRevoke: 6,
  leaseRenew: 7,
  leaseExpire: 8,
  leaseCheckpoint: 9,
  memberPublish: 10,
  memberForget: 11,
} as const satisfies Record<KvCommandType, number>;

// Plain maps, no records: the bytes depend only on the command, never on what was encoded before.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

const PUT_PREV_KV = 1;
const PUT_IGNORE_VALUE = 2;
const PUT_IGNORE_LEASE = 4;

/**
 * Encodes `cmd` (see the module notes for the format). The result may share its underlying
 * `ArrayBuffer` with other encoded commands (msgpackr packs into a pooled buffer and never
 * reuses a region it returned): use `byteOffset`/`byteLength`, never `.buffer` alone.
 */
export function encodeCommand(cmd: KvCommand): Uint8Array {
  return packr.pack(fields(cmd));
}

function fields(cmd: KvCommand): unknown[] {
  switch (cmd.type) {
    case 'put': {
      const flags =
        (cmd.prevKv ? PUT_PREV_KV : 0) |
        (cmd.ignoreValue ? PUT_IGNORE_VALUE : 0) |
        (cmd.ignoreLease ? PUT_IGNORE_LEASE : 0);
      return [COMMAND_FORMAT, CODES.put, cmd.key, cmd.value, cmd.lease, flags];
    }
    case 'deleteRange':
      return [COMMAND_FORMAT, CODES.deleteRange, cmd.key, cmd.rangeEnd ?? null, cmd.prevKv ? 1 : 0];
    case 'txn':
      return [COMMAND_FORMAT, CODES.txn, cmd.request];
    case 'compact':
      return [COMMAND_FORMAT, CODES.compact, cmd.revision];
    case 'leaseGrant':
      return [COMMAND_FORMAT, CODES.leaseGrant, cmd.id, cmd.ttl];
    case 'leaseRevoke':
      return [COMMAND_FORMAT, CODES.leaseRevoke, cmd.id];
    case 'leaseRenew':
      return [COMMAND_FORMAT, CODES.leaseRenew, cmd.id];
    case 'leaseExpire':
      return [COMMAND_FORMAT, CODES.leaseExpire, cmd.id, cmd.epoch];
    case 'leaseCheckpoint':
      return [
        COMMAND_FORMAT,
        CODES.leaseCheckpoint,
        cmd.checkpoints.map((c) => [c.id, c.remainingMs, c.epoch]),
      ];
    case 'memberPublish':
      return [COMMAND_FORMAT, CODES.memberPublish, cmd.id, cmd.name, [...cmd.peerUrls], [...cmd.clientUrls]];
    case 'memberForget':
      return [COMMAND_FORMAT, CODES.memberForget, cmd.id];
  }
}

const TYPE_BY_CODE = new Map<number, KvCommandType>(
  Object.entries(CODES).map(([type, code]) => [code, type as KvCommandType]),
);

/**
 * The kind of an encoded command without decoding it (for metrics on the apply path): byte 0
 * is a fixarray header, bytes 1 and 2 the format and the code as positive fixints. Undefined
 * when it does not look like a command of this format.
 */
export function peekCommandType(data: Uint8Array): KvCommandType | undefined {
  const header = data[0];
  const code = data[2];
  if (header === undefined || (header & 0xf0) !== 0x90 || data[1] !== COMMAND_FORMAT || code === undefined) {
    return undefined;
  }
  return TYPE_BY_CODE.get(code);
}

function corrupt(message: string, cause?: unknown): KvError {
  return new KvError('CORRUPT_COMMAND', `corrupt command: ${message}`, cause === undefined ? {} : { cause });
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw corrupt(`${what} is not bytes`);
  return v;
}

function nat(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw corrupt(`${what} is not a natural number`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw corrupt(`${what} is not a string`);
  return v;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw corrupt(`${what} is not an array`);
  return v;
}

/**
 * Decodes an encoded command, checking its whole shape.
 *
 * @throws KvError `CORRUPT_COMMAND` for an unknown format version, an unknown code or a
 *   malformed body (a bug or damage: the replica must stop rather than skip it).
 */
export function decodeCommand(data: Uint8Array): KvCommand {
  if (!(data instanceof Uint8Array) || data.byteLength < 3) throw corrupt('too short');
  let f: unknown[];
  try {
    f = arr(packr.unpack(data), 'the command');
  } catch (err) {
    if (err instanceof KvError) throw err;
    throw corrupt('not msgpack', err);
  }
  if (f[0] !== COMMAND_FORMAT) throw corrupt(`unknown format version ${String(f[0])}`);
  const code = f[1];
  switch (code) {
    case CODES.put: {
      const flags = nat(f[5], 'put flags');
      return {
        type: 'put',
        key: bytes(f[2], 'put key'),
        value: bytes(f[3], 'put value'),
        lease: nat(f[4], 'put lease'),
        prevKv: (flags & PUT_PREV_KV) !== 0,
        ignoreValue: (flags & PUT_IGNORE_VALUE) !== 0,
        ignoreLease: (flags & PUT_IGNORE_LEASE) !== 0,
      };
    }
    case CODES.deleteRange:
      return {
        type: 'deleteRange',
        key: bytes(f[2], 'delete key'),
        rangeEnd: f[3] === null ? undefined : bytes(f[3], 'delete range end'),
        prevKv: nat(f[4], 'delete flags') === 1,
      };
    case CODES.txn: {
      const request = f[2];
      // The txn's own shape is checked by mvcc when applied; a malformed one fails there
      // deterministically (INVALID_ARGUMENT) on every replica, changing nothing.
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        throw corrupt('txn body is not an object');
      }
      return { type: 'txn', request: request as TxnRequest };
    }
    case CODES.compact:
      return { type: 'compact', revision: nat(f[2], 'compact revision') };
    case CODES.leaseGrant:
      return { type: 'leaseGrant', id: nat(f[2], 'lease id'), ttl: nat(f[3], 'lease ttl') };
    case CODES.leaseRevoke:
      return { type: 'leaseRevoke', id: nat(f[2], 'lease id') };
    case CODES.leaseRenew:
      return { type: 'leaseRenew', id: nat(f[2], 'lease id') };
    case CODES.leaseExpire:
      return { type: 'leaseExpire', id: nat(f[2], 'lease id'), epoch: nat(f[3], 'epoch') };
    case CODES.leaseCheckpoint:
      return {
        type: 'leaseCheckpoint',
        checkpoints: arr(f[2], 'checkpoints').map((c) => {
          const t = arr(c, 'checkpoint');
          return {
            id: nat(t[0], 'checkpoint id'),
            remainingMs: nat(t[1], 'checkpoint remainingMs'),
            epoch: nat(t[2], 'checkpoint epoch'),
          };
        }),
      };
    case CODES.memberPublish:
      return {
        type: 'memberPublish',
        id: nat(f[2], 'member id'),
        name: str(f[3], 'member name'),
        peerUrls: arr(f[4], 'peer urls').map((u) => str(u, 'peer url')),
        clientUrls: arr(f[5], 'client urls').map((u) => str(u, 'client url')),
      };
    case CODES.memberForget:
      return { type: 'memberForget', id: nat(f[2], 'member id') };
    default:
      throw corrupt(`unknown command code ${String(code)}`);
  }
}
