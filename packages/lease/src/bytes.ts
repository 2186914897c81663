/**
 * Small byte helpers for the client recipes. They duplicate a few lines of `@flotilla/mvcc`
 * on purpose: the recipes run against a remote `KvClient` too, and must not pull the store's
 * runtime (and its B-tree dependency) into a client.
 */

const encoder = new TextEncoder();

/** UTF-8 bytes of a string; bytes are returned as given. */
export function toBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? encoder.encode(input) : input;
}

/**
 * The range end selecting every key that starts with `prefix` (etcd's `GetPrefixRangeEnd`): the
 * prefix with its last byte below 0xff incremented and the rest dropped; `"\0"` (every key ≥ the
 * start) when there is no such byte.
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i] as number;
    if (b < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = b + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}
