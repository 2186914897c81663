/**
 * The byte format of `Lessor.snapshot()`: deterministic (the same leases always give the same
 * bytes, so replicas can compare snapshot hashes) and checksummed.
 *
 * ```
 * offset  size  field
 * 0       4     magic "FLSE"
 * 4       1     format version (1)
 * 5       4     count of leases (uint32, big-endian)
 * 9       24·n  per lease, ascending by id: id, grantedTtl (s), remainingMs, each uint64 BE
 * 9+24n   4     CRC-32 (IEEE, zlib's) of every byte before it, uint32 BE
 * ```
 *
 * Only the leases are stored. The keys attached to them live in the mvcc store (each key carries
 * its lease id) and travel in the store's own snapshot, so the two can never disagree once the
 * host snapshots both at the same applied index.
 */
import { crc32 } from 'node:zlib';
import { LeaseError } from './errors.js';
import { MAX_LEASE_TTL } from './ttl.js';

/** One lease as the snapshot records it. */
export interface LeaseRecord {
  readonly id: number;
  readonly grantedTtl: number;
  readonly remainingMs: number;
}

const MAGIC = [0x46, 0x4c, 0x53, 0x45]; // "FLSE"
const VERSION = 1;
const HEADER = 9;
const RECORD = 24;
const TRAILER = 4;

/** Encodes `records` (already sorted by id, ascending) in the format above. */
export function encodeLeases(records: readonly LeaseRecord[]): Uint8Array {
  const out = new Uint8Array(HEADER + RECORD * records.length + TRAILER);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint8(4, VERSION);
  view.setUint32(5, records.length);
  let at = HEADER;
  for (const r of records) {
    view.setBigUint64(at, BigInt(r.id));
    view.setBigUint64(at + 8, BigInt(r.grantedTtl));
    view.setBigUint64(at + 16, BigInt(r.remainingMs));
    at += RECORD;
  }
  view.setUint32(at, crc32(out.subarray(0, at)));
  return out;
}

/**
 * Decodes and validates bytes made by {@link encodeLeases}. Throws `CORRUPT_SNAPSHOT` on any
 * defect: wrong type or length, bad magic or version, checksum mismatch, ids not strictly
 * ascending positive safe integers, a TTL outside `[1, MAX_LEASE_TTL]`, a remaining time that
 * is not a safe integer.
 */
export function decodeLeases(bytes: unknown): LeaseRecord[] {
  if (!(bytes instanceof Uint8Array)) corrupt('a lessor snapshot must be a Uint8Array');
  if (bytes.length < HEADER + TRAILER) corrupt(`${bytes.length} bytes is too short for a lessor snapshot`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const body = bytes.length - TRAILER;
  // The checksum goes first: a flipped bit anywhere (even in the magic) reads as corruption.
  if (view.getUint32(body) !== crc32(bytes.subarray(0, body))) corrupt('checksum mismatch');
  if (MAGIC.some((b, i) => bytes[i] !== b)) corrupt('not a lessor snapshot (bad magic)');
  if (view.getUint8(4) !== VERSION) corrupt(`unknown lessor snapshot version ${view.getUint8(4)}`);
  const count = view.getUint32(5);
  if (body - HEADER !== count * RECORD) corrupt(`length does not match ${count} leases`);
  const records: LeaseRecord[] = [];
  let previous = 0;
  for (let at = HEADER; at < body; at += RECORD) {
    const id = safe(view.getBigUint64(at), 'lease id');
    const grantedTtl = safe(view.getBigUint64(at + 8), 'TTL');
    const remainingMs = safe(view.getBigUint64(at + 16), 'remaining time');
    if (id <= previous) corrupt(`lease ids are not strictly ascending (${id} after ${previous})`);
    if (grantedTtl < 1 || grantedTtl > MAX_LEASE_TTL) corrupt(`lease ${id} has TTL ${grantedTtl}`);
    records.push({ id, grantedTtl, remainingMs });
    previous = id;
  }
  return records;
}

function safe(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) corrupt(`${what} ${value} is not a safe integer`);
  return Number(value);
}

function corrupt(message: string): never {
  throw new LeaseError('CORRUPT_SNAPSHOT', `corrupt lessor snapshot: ${message}`);
}
