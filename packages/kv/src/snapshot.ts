/**
 * The KV state machine's snapshot: one checksummed envelope around the mvcc store's snapshot,
 * the lessor's snapshot, the member attributes and the lease epochs, all taken at the same
 * applied index.
 *
 * ```
 * msgpack array [ "flotilla-kv", 1,          magic and format version
 *                 appliedIndex,               index of the last command applied
 *                 mvcc,                       MvccStore.snapshot() bytes (own CRC inside)
 *                 lessor,                     Lessor.snapshot() bytes (own CRC inside)
 *                 members,                    [[id, name, [peerUrl...], [clientUrl...]], ...] by id
 *                 epochs ]                    [[leaseId, epoch], ...] ascending by lease id
 * u32 BE   CRC-32 (zlib's) of the msgpack bytes
 * ```
 *
 * Deterministic: every part is a pure function of the applied commands (the mvcc and lessor
 * encodings are; the two tables are sorted here), so replicas that applied the same commands
 * produce byte-identical snapshots.
 */
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { KvError } from './errors.js';

const MAGIC = 'flotilla-kv';
const FORMAT = 1;
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** A member's published attributes (etcd's `Attributes`). */
export interface MemberAttributes {
  readonly name: string;
  /** Where peers reach it, as the member announced (the conf change's address wins if set). */
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/** The decoded parts of a snapshot. */
export interface KvSnapshotParts {
  /** Index of the last command applied (so a restored state machine knows where it stands). */
  readonly appliedIndex: number;
  readonly mvcc: Uint8Array;
  readonly lessor: Uint8Array;
  readonly members: ReadonlyMap<number, MemberAttributes>;
  readonly epochs: ReadonlyMap<number, number>;
}

/** Encodes the parts (see the module notes). */
export function encodeKvSnapshot(parts: KvSnapshotParts): Uint8Array {
  const members = [...parts.members.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([id, m]) => [id, m.name, [...m.peerUrls], [...m.clientUrls]]);
  const epochs = [...parts.epochs.entries()].sort((a, b) => a[0] - b[0]);
  const body = packr.pack([MAGIC, FORMAT, parts.appliedIndex, parts.mvcc, parts.lessor, members, epochs]);
  const out = new Uint8Array(body.byteLength + 4);
  out.set(body, 0);
  new DataView(out.buffer).setUint32(body.byteLength, crc32(body) >>> 0);
  return out;
}

function corrupt(message: string, cause?: unknown): KvError {
  return new KvError(
    'CORRUPT_SNAPSHOT',
    `corrupt KV snapshot: ${message}`,
    cause === undefined ? {} : { cause },
  );
}

function isNat(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((u) => typeof u === 'string');
}

/**
 * Decodes and checks a snapshot envelope (the inner mvcc and lessor bytes are checked by their
 * own `restore`).
 *
 * @throws KvError `CORRUPT_SNAPSHOT` when truncated, failing the checksum or malformed.
 */
export function decodeKvSnapshot(data: Uint8Array): KvSnapshotParts {
  if (!(data instanceof Uint8Array) || data.byteLength < 5) throw corrupt('too short');
  const bodyLength = data.byteLength - 4;
  const body = data.subarray(0, bodyLength);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(bodyLength) !== crc32(body) >>> 0) throw corrupt('checksum mismatch');
  let v: unknown;
  try {
    v = packr.unpack(body);
  } catch (err) {
    throw corrupt('not msgpack', err);
  }
  if (!Array.isArray(v) || v[0] !== MAGIC) throw corrupt('not a KV snapshot');
  if (v[1] !== FORMAT) throw corrupt(`unknown format version ${String(v[1])}`);
  const [, , appliedIndex, mvcc, lessor, rawMembers, rawEpochs] = v as unknown[];
  if (!isNat(appliedIndex)) throw corrupt('malformed applied index');
  if (!(mvcc instanceof Uint8Array) || !(lessor instanceof Uint8Array))
    throw corrupt('missing store or lessor');
  if (!Array.isArray(rawMembers) || !Array.isArray(rawEpochs)) throw corrupt('missing tables');
  const members = new Map<number, MemberAttributes>();
  for (const m of rawMembers as unknown[]) {
    if (
      !Array.isArray(m) ||
      !isNat(m[0]) ||
      typeof m[1] !== 'string' ||
      !isStrings(m[2]) ||
      !isStrings(m[3])
    ) {
      throw corrupt('malformed member');
    }
    members.set(m[0], { name: m[1], peerUrls: m[2], clientUrls: m[3] });
  }
  const epochs = new Map<number, number>();
  for (const e of rawEpochs as unknown[]) {
    if (!Array.isArray(e) || !isNat(e[0]) || !isNat(e[1])) throw corrupt('malformed lease epoch');
    epochs.set(e[0], e[1]);
  }
  return { appliedIndex, mvcc, lessor, members, epochs };
}
