/**
 * Version records: what the key index chains per key and the revision log lists in commit
 * order (see `key-index.ts` for how they are indexed).
 */

/**
 * One version of a key, or a tombstone. Immutable except `prev`, which compaction cuts.
 *
 * Three classes implement it, so that the common records carry only the fields they need (V8
 * gives each class one compact shape; a field costs 8 bytes per record, and a store holds a
 * record per retained version): {@link Version} stores everything; {@link FirstVersion}, the
 * first version of a generation without a lease (what most puts of new keys create), derives
 * `create`, `version` and `lease`; {@link Tombstone} stores only the key, revision and link.
 * Measured at a million keys: 56 instead of 80 bytes per first version. Build records with
 * {@link keyRev} and {@link tombstone}, which pick the class.
 */
export interface KeyRev {
  /** The key as a binary string. */
  readonly key: string;
  /** The value as a binary string; empty for a tombstone. */
  readonly value: string;
  /** The revision of this change: modRevision of a put, the deleting revision of a tombstone. */
  readonly main: number;
  /** createRevision of the key's generation; 0 for a tombstone. */
  readonly create: number;
  /** Puts since the generation's creation, 1-based; 0 marks a tombstone. */
  readonly version: number;
  /** Lease id, 0 for none (and for a tombstone). */
  readonly lease: number;
  /** The previous record of the same key (older), or undefined at the chain's (compacted) end. */
  prev: KeyRev | undefined;
}

/** Any version, every field stored. */
class Version implements KeyRev {
  readonly key: string;
  readonly value: string;
  readonly main: number;
  readonly create: number;
  readonly version: number;
  readonly lease: number;
  prev: KeyRev | undefined;

  constructor(
    key: string,
    value: string,
    main: number,
    create: number,
    version: number,
    lease: number,
    prev: KeyRev | undefined,
  ) {
    this.key = key;
    this.value = value;
    this.main = main;
    this.create = create;
    this.version = version;
    this.lease = lease;
    this.prev = prev;
  }
}

/** Version 1 of a generation without a lease: createRevision is its own revision. */
class FirstVersion implements KeyRev {
  readonly key: string;
  readonly value: string;
  readonly main: number;
  prev: KeyRev | undefined;

  constructor(key: string, value: string, main: number, prev: KeyRev | undefined) {
    this.key = key;
    this.value = value;
    this.main = main;
    this.prev = prev;
  }

  get create(): number {
    return this.main;
  }

  get version(): number {
    return 1;
  }

  get lease(): number {
    return 0;
  }
}

/** A deletion: version 0, no value, no createRevision, no lease. */
class Tombstone implements KeyRev {
  readonly key: string;
  readonly main: number;
  prev: KeyRev | undefined;

  constructor(key: string, main: number, prev: KeyRev | undefined) {
    this.key = key;
    this.main = main;
    this.prev = prev;
  }

  get value(): string {
    return '';
  }

  get create(): number {
    return 0;
  }

  get version(): number {
    return 0;
  }

  get lease(): number {
    return 0;
  }
}

/** A put's record (`version >= 1`), in the most compact class that holds it. */
export function keyRev(
  key: string,
  value: string,
  main: number,
  create: number,
  version: number,
  lease: number,
  prev: KeyRev | undefined,
): KeyRev {
  return version === 1 && create === main && lease === 0
    ? new FirstVersion(key, value, main, prev)
    : new Version(key, value, main, create, version, lease, prev);
}

/** Creates a tombstone for `key` at revision `main`. */
export function tombstone(key: string, main: number, prev: KeyRev | undefined): KeyRev {
  return new Tombstone(key, main, prev);
}

/** The newest record of a chain with `main <= rev`, or undefined if none is retained. */
export function versionAt(head: KeyRev | undefined, rev: number): KeyRev | undefined {
  let r = head;
  while (r !== undefined && r.main > rev) r = r.prev;
  return r;
}

/** The live version of a chain as of `rev`: undefined when absent or deleted then. */
export function liveAt(head: KeyRev | undefined, rev: number): KeyRev | undefined {
  const r = versionAt(head, rev);
  return r === undefined || r.version === 0 ? undefined : r;
}
