import { RaftError } from '../errors.js';
import type { ConfChange, ConfChangeSingle } from '../types.js';

/**
 * The binary form of a {@link ConfChange}, stored in `'confChange'` entries. Small, deterministic
 * (one encoding per value) and self-contained, so `@flotilla/raft` needs no codec library.
 *
 * Layout (integers are unsigned LEB128 varints, at most 2^53 - 1, minimally encoded):
 *
 * ```
 * u8      format version (1)
 * u8      transition: 0 absent, 1 'auto', 2 'implicit', 3 'explicit'
 * u8      flags: bit 0 = context present; other bits 0
 * varint  number of changes n
 * n × { u8 type: 1 'addNode', 2 'removeNode', 3 'addLearner';  varint nodeId }
 * [varint context length; context bytes]   when flag bit 0 is set
 * ```
 *
 * Decoding consumes every byte and refuses anything else with `INVALID_CONF_CHANGE`.
 */
const VERSION = 1;
const TRANSITIONS = [undefined, 'auto', 'implicit', 'explicit'] as const;
const TYPES = [undefined, 'addNode', 'removeNode', 'addLearner'] as const;
const FLAG_CONTEXT = 1;

function bad(message: string): never {
  throw new RaftError('INVALID_CONF_CHANGE', message);
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  // Arithmetic rather than bit operators: ids and lengths may exceed 32 bits.
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Checks that `cc` is a well-formed {@link ConfChange} (known transition and change types, node
 * ids that are non-negative safe integers, context a Uint8Array). Throws `INVALID_CONF_CHANGE`.
 * A node id of 0 is allowed: etcd treats such a change as a no-op, which lets an application
 * cancel a committed change deterministically.
 */
export function validateConfChange(cc: ConfChange): void {
  if (typeof cc !== 'object' || cc === null) bad('conf change must be an object');
  if (cc.transition !== undefined && !TRANSITIONS.includes(cc.transition)) {
    bad(`unknown transition ${String(cc.transition)}`);
  }
  if (!Array.isArray(cc.changes)) bad('conf change needs a changes array');
  for (const c of cc.changes as readonly ConfChangeSingle[]) {
    if (typeof c !== 'object' || c === null || !TYPES.includes(c.type) || c.type === undefined) {
      bad(`unknown change ${JSON.stringify(c)}`);
    }
    if (!Number.isSafeInteger(c.nodeId) || c.nodeId < 0) bad(`invalid node id ${String(c.nodeId)}`);
  }
  if (cc.context !== undefined && !(cc.context instanceof Uint8Array)) bad('context must be a Uint8Array');
}

/**
 * Encodes a membership change for a `'confChange'` entry (what `proposeConfChange` stores).
 * Throws `INVALID_CONF_CHANGE` when `cc` is malformed.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  validateConfChange(cc);
  let size = 3 + varintSize(cc.changes.length);
  for (const c of cc.changes) size += 1 + varintSize(c.nodeId);
  if (cc.context !== undefined) size += varintSize(cc.context.byteLength) + cc.context.byteLength;
  const buf = new Uint8Array(size);
  buf[0] = VERSION;
  buf[1] = TRANSITIONS.indexOf(cc.transition);
  buf[2] = cc.context === undefined ? 0 : FLAG_CONTEXT;
  let pos = writeVarint(buf, 3, cc.changes.length);
  for (const c of cc.changes) {
    buf[pos++] = TYPES.indexOf(c.type);
    pos = writeVarint(buf, pos, c.nodeId);
  }
  if (cc.context !== undefined) {
    pos = writeVarint(buf, pos, cc.context.byteLength);
    buf.set(cc.context, pos);
  }
  return buf;
}

/**
 * Decodes the data of a committed `'confChange'` entry, to pass to `applyConfChange`. Throws
 * `INVALID_CONF_CHANGE` on anything that is not exactly one encoded change.
 */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (!(data instanceof Uint8Array)) bad('conf change data must be a Uint8Array');
  let pos = 0;
  const byte = (): number => {
    if (pos >= data.length) bad('truncated conf change');
    return data[pos++] as number;
  };
  const varint = (): number => {
    let v = 0;
    let mult = 1;
    for (let i = 0; ; i++) {
      const b = byte();
      if (i > 0 && b === 0) bad('non-minimal varint in conf change');
      v += (b & 0x7f) * mult;
      if (v > Number.MAX_SAFE_INTEGER) bad('varint out of range in conf change');
      if ((b & 0x80) === 0) return v;
      mult *= 128;
    }
  };
  if (byte() !== VERSION) bad('unknown conf change format version');
  const t = byte();
  if (t >= TRANSITIONS.length) bad('unknown conf change transition');
  const transition = TRANSITIONS[t];
  const flags = byte();
  if ((flags & ~FLAG_CONTEXT) !== 0) bad('unknown conf change flags');
  const n = varint();
  // Each change takes at least two bytes: refuse absurd counts before allocating.
  if (n * 2 > data.length - pos) bad('truncated conf change');
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < n; i++) {
    const type = TYPES[byte()];
    if (type === undefined) bad('unknown conf change type');
    changes.push({ type, nodeId: varint() });
  }
  let context: Uint8Array | undefined;
  if ((flags & FLAG_CONTEXT) !== 0) {
    const len = varint();
    if (len > data.length - pos) bad('truncated conf change context');
    context = data.slice(pos, pos + len);
    pos += len;
  }
  if (pos !== data.length) bad('trailing bytes after conf change');
  const cc: { transition?: ConfChange['transition']; changes: ConfChangeSingle[]; context?: Uint8Array } = {
    changes,
  };
  if (transition !== undefined) cc.transition = transition;
  if (context !== undefined) cc.context = context;
  return cc;
}
