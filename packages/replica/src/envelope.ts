/**
 * The envelope a replica wraps around every command it proposes, so that it can recognise its
 * own proposals among the committed entries, whichever member appended them:
 *
 * ```
 * u8      0xF1 (tag and format version)
 * varint  proposer: the id of the replica that proposed it
 * varint  session: a random number drawn when that replica started (see below)
 * varint  seq: 1, 2, 3, ... per session
 * ...     the command, as given to propose()
 * ```
 *
 * Varints are unsigned LEB128 (at most 2^53 - 1). Typical overhead: 12 bytes.
 *
 * Why not match proposals by (term, index)? The index is only known once the leader appended
 * the entry; a follower forwarding a proposal (and a leader under load) never learns it
 * synchronously. And why a session? `seq` restarts at 1 when the replica restarts, while entries
 * proposed by its previous incarnation may still be committed later: the random session (53
 * bits) keeps the two apart. The same (session, seq) also lets every replica drop a duplicated
 * forwarded proposal deterministically (see `SessionTable`).
 *
 * Entries with empty data are Raft's own (the empty entry a new leader appends, §5.4.2 / thesis
 * §6.4) and carry no command.
 */
export const ENVELOPE_TAG = 0xf1;

/** The decoded header of an envelope. Reused by the hot path: one instance per replica. */
export interface ProposalHeader {
  proposer: number;
  session: number;
  seq: number;
  /** Offset of the command in the entry data. */
  offset: number;
}

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  let n = 3;
  v = Math.floor(v / 0x200000);
  while (v > 0) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  // Small values (every sequence number for a long while) with bit operators; above 2^31
  // with arithmetic, since sessions use up to 53 bits.
  while (v >= 0x80000000) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v >= 128) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Small envelopes are carved out of shared 64 KiB slabs: a typed array with its own
 * ArrayBuffer per proposal costs more (allocation and, above all, garbage collection of the
 * buffers) than the rest of the proposal's path on the leader. A slab lives while any entry
 * carved from it does (until the log is compacted past it): at most 64 KiB per live entry in
 * the worst case, a few bytes per entry in practice.
 */
const SLAB_BYTES = 64 * 1024;
const MAX_SLAB_ALLOC = 4096;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function allocate(n: number): Uint8Array {
  if (n > MAX_SLAB_ALLOC) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const view = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7; // keep views 8-byte aligned
  return view;
}

/**
 * The constant part of one replica's envelopes (tag, proposer, session), encoded once: only
 * the sequence number changes from one proposal to the next.
 */
export function envelopePrefix(proposer: number, session: number): Uint8Array {
  const buf = new Uint8Array(1 + varintSize(proposer) + varintSize(session));
  buf[0] = ENVELOPE_TAG;
  writeVarint(buf, writeVarint(buf, 1, proposer), session);
  return buf;
}

/** Wraps `command` behind `prefix` (from {@link envelopePrefix}) and `seq`; one copy. */
export function encodeEnvelope(prefix: Uint8Array, seq: number, command: Uint8Array): Uint8Array {
  const size = prefix.byteLength + varintSize(seq);
  const buf = allocate(size + command.byteLength);
  buf.set(prefix, 0);
  writeVarint(buf, prefix.byteLength, seq);
  buf.set(command, size);
  return buf;
}

/**
 * Decodes the header of `data` into `out`. Returns false when `data` is not an envelope (wrong
 * tag, truncated or over-long varints): a corrupt entry, which the caller treats as fatal.
 */
export function decodeEnvelope(data: Uint8Array, out: ProposalHeader): boolean {
  if (data.byteLength < 4 || data[0] !== ENVELOPE_TAG) return false;
  let pos = 1;
  const n = data.byteLength;
  // Three varints, unrolled as a loop over the fields to keep the hot path allocation-free.
  for (let field = 0; field < 3; field++) {
    let v = 0;
    let mult = 1;
    for (;;) {
      if (pos >= n || mult > 2 ** 49) return false;
      const b = data[pos++] as number;
      v += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) break;
      mult *= 128;
    }
    if (field === 0) out.proposer = v;
    else if (field === 1) out.session = v;
    else out.seq = v;
  }
  out.offset = pos;
  return true;
}

/**
 * The command inside an envelope whose header was decoded into `h`: a view, not a copy (a plain
 * `Uint8Array` even when `data` is a `Buffer`, whose `subarray` is several times slower).
 */
export function commandOf(data: Uint8Array, h: ProposalHeader): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + h.offset, data.byteLength - h.offset);
}

/** A fresh header to decode into. */
export function newHeader(): ProposalHeader {
  return { proposer: 0, session: 0, seq: 0, offset: 0 };
}
