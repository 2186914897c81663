/**
 * Byte strings inside the store.
 *
 * Keys and values are kept as "binary strings": JavaScript strings whose every char code is one
 * byte (0..255), the encoding Node calls `'latin1'`. Measured on the target machines (see the
 * README), this is the cheapest faithful representation V8 offers: a one-byte string costs a
 * 16-byte header plus its bytes, where a `Uint8Array` costs roughly 100 bytes of object overhead
 * before its bytes. Comparing two binary strings with `<` compares char codes one by one, which is
 * exactly unsigned byte order (Go's `bytes.Compare`, etcd's key order), and `Map` hashes them
 * natively. Bytes are materialized as `Uint8Array` only when a result leaves the store.
 */
import { Buffer } from 'node:buffer';
import { MvccError } from './errors.js';
import type { Bytes } from './types.js';

/** Matches any char outside ASCII: such a string needs real UTF-8 encoding. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Converts a caller's key, value or range end to a binary string. Strings are UTF-8 encoded
 * (ASCII strings are already their own UTF-8 bytes, the fast path); bytes are copied, so a caller
 * mutating its array later cannot reach into the store.
 *
 * @param what - names the argument in the error message.
 * @throws MvccError `INVALID_ARGUMENT` when `input` is neither a string nor a Uint8Array.
 */
export function toBinary(input: Bytes, what: string): string {
  if (typeof input === 'string') {
    return NON_ASCII.test(input) ? Buffer.from(input, 'utf8').toString('latin1') : input;
  }
  if (input instanceof Uint8Array) {
    return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  }
  throw new MvccError('INVALID_ARGUMENT', `${what} must be a string or a Uint8Array, got ${describe(input)}`);
}

/** A short description of an unexpected value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Below this length a JavaScript copy loop beats a native write call (measured). */
const LOOP_MAX = 24;

/**
 * `Buffer.prototype.latin1Write`: undocumented, but present in every Node release (msgpackr
 * relies on its sibling `utf8Write` the same way, with the same fallback).
 */
type Latin1Write = (this: Buffer, s: string, at: number, length: number) => number;
const nativeLatin1Write = (Buffer.prototype as Buffer & { latin1Write?: Latin1Write }).latin1Write;

/**
 * Writes the binary string `s` (char codes 0..255) into `buf` at `at` and returns the byte
 * count. Calls the native writer directly when Node has it: `Buffer.prototype.write` validates
 * and dispatches its arguments in JavaScript first, which measured as costly as the copy itself
 * for 100-byte values.
 */
export const writeLatin1: (buf: Buffer, s: string, at: number, length: number) => number =
  typeof nativeLatin1Write === 'function'
    ? (buf, s, at, length) => nativeLatin1Write.call(buf, s, at, length)
    : (buf, s, at, length) => buf.write(s, at, length, 'latin1');

/** Writes binary string `s` into `out` at `at`; returns the offset after it. */
export function writeString(out: Buffer, at: number, s: string): number {
  const n = s.length;
  if (n > LOOP_MAX) return at + writeLatin1(out, s, at, n);
  for (let j = 0; j < n; j++) out[at + j] = s.charCodeAt(j);
  return at + n;
}

/** Writes binary strings back to back into `out` from `at`; returns the offset after them. */
export function writeStrings(out: Buffer, at: number, parts: readonly string[]): number {
  let off = at;
  for (let i = 0; i < parts.length; i++) off = writeString(out, off, parts[i] as string);
  return off;
}

// Results are carved out of 64 KiB slabs, like Node's own Buffer pool: a fresh ArrayBuffer per
// 100-byte value would cost an allocation with external-memory bookkeeping each time, which
// dominated point reads when measured. A slab is only ever handed out (never reused), so results
// never alias one another or the store's state; they only share an underlying `ArrayBuffer`.
const SLAB_SIZE = 64 * 1024;
/** Strings at least this long get their own buffer instead of a slab slice. */
const OWN_BUFFER_MIN = 4 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabWriter = Buffer.from(slab);
let slabUsed = 0;

/**
 * Materializes a binary string as a fresh `Uint8Array` the caller owns. Results may share an
 * underlying `ArrayBuffer` with other results (never with the store), so `result.buffer` must
 * not be used as if it held only these bytes: use `byteOffset`/`byteLength`, as with Buffers.
 */
export function toBytes(s: string): Uint8Array {
  const n = s.length;
  if (n === 0) return new Uint8Array(0);
  if (n >= OWN_BUFFER_MIN) {
    const out = new Uint8Array(n);
    Buffer.from(out.buffer, 0, n).write(s, 0, n, 'latin1');
    return out;
  }
  if (slabUsed + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabWriter = Buffer.from(slab);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed = writeString(slabWriter, slabUsed, s);
  return out;
}

/**
 * The range end that selects every key starting with `prefix` (etcd's `GetPrefixRangeEnd`):
 * the prefix with its last byte below 0xff incremented and everything after it dropped. A prefix
 * that is empty or all 0xff bytes has no such bound, so the result is `"\0"` ("every key ≥
 * key"); with an empty prefix use key `"\0"` as well to select all keys.
 *
 * @example
 * ```ts
 * store.range('/jobs/', prefixEnd('/jobs/')); // every key under /jobs/
 * ```
 */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const p = toBinary(prefix, 'prefix');
  for (let i = p.length - 1; i >= 0; i--) {
    const c = p.charCodeAt(i);
    if (c < 0xff) return toBytes(p.slice(0, i) + String.fromCharCode(c + 1));
  }
  return new Uint8Array([0]);
}
