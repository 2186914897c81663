/**
 * `hashKV`: a 32-bit digest of the retained history up to a revision, for comparing replicas
 * (etcd's corruption check, `HashKV`). Replicas that applied the same operations hold the same
 * records in the same order, so they produce the same hash; a replica whose data diverged (a
 * lost write, a flipped bit) almost surely does not.
 *
 * What is hashed, in order: the base records (the one version per key that compaction kept below
 * the compacted revision, in key order), then every record of the revision log with
 * `main <= revision`, each as its key, value and numbers with lengths, so no two different
 * histories feed the same bytes. The digest is CRC-32 (`zlib.crc32`, built into Node), as
 * etcd's is a CRC-32 (Castagnoli) of its backend rows; the values differ from etcd's, which
 * hashes protobuf-encoded rows.
 */
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { writeString } from './bytes.js';
import type { History } from './history.js';
import type { KeyIndex } from './key-index.js';
import type { KeyRev } from './key-rev.js';

/** Feeds records to CRC-32 through a reusable buffer (one native call per 64 KiB). */
class Hasher {
  private readonly buf = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private crc = 0;

  private flush(): void {
    this.crc = crc32(this.buf.subarray(0, this.used), this.crc);
    this.used = 0;
  }

  private num(x: number): void {
    if (this.used + 8 > this.buf.length) this.flush();
    this.buf.writeDoubleLE(x, this.used);
    this.used += 8;
  }

  private str(s: string): void {
    this.num(s.length);
    if (s.length > this.buf.length) {
      this.flush();
      this.crc = crc32(Buffer.from(s, 'latin1'), this.crc);
      return;
    }
    if (this.used + s.length > this.buf.length) this.flush();
    this.used = writeString(this.buf, this.used, s);
  }

  record(r: KeyRev): void {
    this.str(r.key);
    this.str(r.value);
    this.num(r.main);
    this.num(r.create);
    this.num(r.version);
    this.num(r.lease);
  }

  digest(): number {
    this.flush();
    return this.crc >>> 0;
  }
}

/** The hash of the retained history up to `revision` (already validated by the caller). */
export function hashHistory(
  index: KeyIndex,
  history: History,
  compactMain: number,
  revision: number,
): number {
  const h = new Hasher();
  const { heads } = index.inOrder();
  for (let i = 0; i < heads.length; i++) {
    let tail = heads[i] as KeyRev;
    while (tail.prev !== undefined) tail = tail.prev;
    if (tail.main < compactMain) h.record(tail);
  }
  const end = history.firstAtOrAfter(revision + 1);
  for (let i = 0; i < end; i++) {
    const r = history.at(i);
    if (r !== undefined) h.record(r);
  }
  return h.digest();
}
