import type { Entry } from '../types.js';

/** A shared empty list, so "no entries" costs no allocation. Never mutated. */
export const NO_ENTRIES: readonly Entry[] = Object.freeze([]) as readonly Entry[];

/** The payload of empty entries (a new leader's entry, leave-joint changes). Never mutated. */
export const EMPTY_DATA: Uint8Array = new Uint8Array(0);

/**
 * How many entries of `ents[start..end)` fit in `maxSize` payload bytes: always at least one
 * (so an oversized entry still makes progress), then as many as keep the running total
 * ≤ `maxSize`. `maxSize` 0 means exactly one entry (etcd's "one entry per message") and
 * Infinity means no limit.
 */
export function limitCount(ents: readonly Entry[], start: number, end: number, maxSize: number): number {
  if (end <= start) return 0;
  if (maxSize === Number.POSITIVE_INFINITY) return end - start;
  if (maxSize === 0) return 1;
  let size = (ents[start] as Entry).data.byteLength;
  let i = start + 1;
  for (; i < end; i++) {
    size += (ents[i] as Entry).data.byteLength;
    if (size > maxSize) break;
  }
  return i - start;
}

/** The payload bytes of `ents` (what every size limit counts). */
export function payloadBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (let i = 0; i < ents.length; i++) n += (ents[i] as Entry).data.byteLength;
  return n;
}
