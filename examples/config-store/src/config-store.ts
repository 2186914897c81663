/**
 * A configuration store on a Flotilla KV cluster: settings are JSON values under a key prefix,
 * written with `set`, read consistently with `read`, and followed live with `live`.
 *
 * How `live` stays exact (the pattern every watch consumer should follow):
 * 1. read the whole prefix linearizably, remembering the revision R the read was served at;
 * 2. watch the prefix from R + 1: every change after the snapshot, none twice, in order;
 * 3. if the watch ends (its member stopped), watch again through another member from one past
 *    the last revision applied: no gap, no duplicate;
 * 4. if that revision has been compacted away (the watch is canceled with `compactRevision`),
 *    start over at step 1: the values are re-read whole, so nothing is missed either.
 */
import type { KvApi, KvWatch } from '@flotilla/kv';
import { prefixEnd } from '@flotilla/mvcc';

/** One change the live view applied: `value` undefined means the setting was removed. */
export interface ConfigChange {
  readonly name: string;
  readonly value: unknown;
  readonly revision: number;
}

const decoder = new TextDecoder();

/** Reads and writes settings under `prefix` through any of `members` (the first that answers). */
export class ConfigStore {
  readonly prefix: string;
  readonly #members: readonly KvApi[];

  /** `members`: the cluster members this process may talk to, in order of preference. */
  constructor(members: readonly KvApi[], options: { readonly prefix?: string } = {}) {
    if (members.length === 0) throw new Error('ConfigStore needs at least one member');
    this.#members = members;
    this.prefix = options.prefix ?? 'config/';
  }

  /** Writes `name` = `value` (as JSON). Resolves with the revision that holds it. */
  async set(name: string, value: unknown, via = 0): Promise<number> {
    const r = await this.#member(via).put(this.prefix + name, JSON.stringify(value));
    return r.header.revision;
  }

  /** Removes `name`. Resolves with the revision of the removal (the current one if absent). */
  async remove(name: string, via = 0): Promise<number> {
    const r = await this.#member(via).delete(this.prefix + name);
    return r.header.revision;
  }

  /** Every setting, read linearizably, and the revision the read reflects. */
  async read(via = 0): Promise<{ readonly values: Map<string, unknown>; readonly revision: number }> {
    const r = await this.#member(via).get(this.prefix, { rangeEnd: prefixEnd(this.prefix) });
    const values = new Map<string, unknown>();
    for (const kv of r.kvs)
      values.set(decoder.decode(kv.key).slice(this.prefix.length), JSON.parse(decoder.decode(kv.value)));
    return { values, revision: r.header.revision };
  }

  /**
   * A live view of every setting, kept up to date from a watch (see the module notes).
   * Resolves once the initial values are loaded. `onChange` sees each change once, in order.
   */
  async live(onChange: (change: ConfigChange) => void = () => {}): Promise<LiveConfig> {
    const view = new LiveConfig(this, this.#members, onChange);
    await view.load();
    return view;
  }

  #member(i: number): KvApi {
    const m = this.#members[i % this.#members.length];
    if (m === undefined) throw new Error('no member');
    return m;
  }
}

/** The live view `ConfigStore.live` returns. */
export class LiveConfig {
  readonly #store: ConfigStore;
  readonly #members: readonly KvApi[];
  readonly #onChange: (change: ConfigChange) => void;
  #values = new Map<string, unknown>();
  #revision = 0;
  #via = 0;
  #watch: KvWatch | undefined;
  #closed = false;
  /** Settles when the watch loop ends (after `close`, or when no member can be reached). */
  done: Promise<void> = Promise.resolve();

  constructor(store: ConfigStore, members: readonly KvApi[], onChange: (change: ConfigChange) => void) {
    this.#store = store;
    this.#members = members;
    this.#onChange = onChange;
  }

  /** The current settings. */
  get values(): ReadonlyMap<string, unknown> {
    return this.#values;
  }

  /** Every change up to this revision has been applied to {@link values}. */
  get revision(): number {
    return this.#revision;
  }

  /** The member index the view currently watches through. */
  get via(): number {
    return this.#via;
  }

  /** Step 1, then the watch loop in the background. @internal */
  async load(): Promise<void> {
    const { values, revision } = await this.#store.read(this.#via);
    this.#values = values;
    this.#revision = revision;
    this.done = this.#follow();
  }

  /** Re-reads everything; reports what differs from the view as changes at the read's revision. */
  async #reload(): Promise<void> {
    const { values, revision } = await this.#store.read(this.#via);
    const before = this.#values;
    this.#values = values;
    this.#revision = revision;
    for (const [name, value] of values) {
      if (JSON.stringify(before.get(name)) !== JSON.stringify(value))
        this.#onChange({ name, value, revision });
    }
    for (const name of before.keys())
      if (!values.has(name)) this.#onChange({ name, value: undefined, revision });
  }

  async #follow(): Promise<void> {
    let failures = 0;
    while (!this.#closed && failures < this.#members.length) {
      const member = this.#members[this.#via] as KvApi;
      const prefix = this.#store.prefix;
      const watch = member.watch({
        key: prefix,
        rangeEnd: prefixEnd(prefix),
        startRevision: this.#revision + 1,
      });
      this.#watch = watch;
      let compacted = false;
      let progressed = false;
      for await (const resp of watch) {
        if (resp.canceled === true) {
          compacted = resp.compactRevision !== undefined;
          break;
        }
        for (const ev of resp.events) {
          const name = decoder.decode(ev.kv.key).slice(prefix.length);
          const value = ev.type === 'put' ? JSON.parse(decoder.decode(ev.kv.value)) : undefined;
          if (value === undefined) this.#values.delete(name);
          else this.#values.set(name, value);
          this.#onChange({ name, value, revision: ev.kv.modRevision });
        }
        this.#revision = Math.max(this.#revision, resp.revision);
        progressed = true;
      }
      if (this.#closed) return;
      if (compacted) {
        try {
          await this.#reload();
          continue;
        } catch {
          // This member cannot serve the read either: try the next one below.
        }
      }
      // The member stopped (or refused the watch): resume through the next one.
      failures = progressed ? 1 : failures + 1;
      this.#via = (this.#via + 1) % this.#members.length;
    }
  }

  /** Stops following. */
  close(): void {
    this.#closed = true;
    this.#watch?.cancel();
  }
}
