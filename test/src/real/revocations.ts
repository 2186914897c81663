/**
 * Session revocations for the lock checker, as real mode can know them: the simulation reads
 * them from the members' lessors, a real run only from outside. Every `pollMs`, a linearizable
 * `leases()` list is read from a running member; a session (lease) the lock workload used
 * (seen in an `acquire` invoke) that is missing from a list whose read **started after** the
 * session was first seen is revoked (expired, or revoked by its client).
 *
 * Both fields are upper bounds, so the lock checker's `lock-after-revoke` stays sound (no false
 * alarms) though less sharp than in the simulation: `time` is when the list came back (the
 * revocation happened before), `revision` is the list's header revision (at or after the
 * revocation's). A session first seen after the read started is not judged by it: its grant
 * might not be in that list only because the read began first.
 */
import type { SessionRevocation } from '../checkers/lock/log.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { RealCluster } from './cluster.js';

/** A revocation, as the workload host reports it. */
export type Revocation = Omit<SessionRevocation, 'type'>;

/** Polls for revoked sessions (see the module notes). */
export class RevocationPoller {
  readonly #cluster: RealCluster;
  readonly #recorder: HistoryRecorder;
  readonly #nowNs: () => number;
  readonly #pollMs: number;
  readonly #listeners = new Set<(r: Revocation) => void>();
  /** Session id → when it was first seen (ns). */
  readonly #seen = new Map<number, number>();
  readonly #revoked = new Set<number>();
  #scanned = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #next = 0;

  constructor(cluster: RealCluster, recorder: HistoryRecorder, nowNs: () => number, pollMs = 100) {
    this.#cluster = cluster;
    this.#recorder = recorder;
    this.#nowNs = nowNs;
    this.#pollMs = pollMs;
  }

  /** Adds a listener (starting the polls); returns a function that removes it. */
  subscribe(listener: (r: Revocation) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#running) {
      this.#running = true;
      this.#loop = this.#run();
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops polling. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      await this.pollOnce();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, this.#pollMs);
      });
    }
  }

  /** One poll (see the module notes). */
  async pollOnce(): Promise<void> {
    this.#scan();
    const started = this.#nowNs();
    const ids = this.#cluster.inState('running');
    if (ids.length === 0 || this.#seen.size === this.#revoked.size) return;
    const id = ids[this.#next++ % ids.length] as number;
    const client = this.#cluster.member(id)?.client;
    if (client === undefined) return;
    let live: Set<number>;
    let revision: number;
    try {
      const r = await client.leases({ timeoutMs: 1000 });
      live = new Set(r.leases.map((l) => l.id));
      revision = r.header.revision;
    } catch {
      return;
    }
    const time = this.#nowNs();
    for (const [session, firstSeen] of this.#seen) {
      if (this.#revoked.has(session) || firstSeen >= started || live.has(session)) continue;
      this.#revoked.add(session);
      for (const l of this.#listeners) l({ time, session, revision });
    }
  }

  /** Notes sessions from `acquire` invokes recorded since the last scan. */
  #scan(): void {
    const events = this.#recorder.events;
    for (; this.#scanned < events.length; this.#scanned++) {
      const e = events[this.#scanned];
      if (e === undefined || e.type !== 'invoke' || e.f !== 'acquire') continue;
      const v = e.value as { session?: unknown } | null;
      const s = v?.session;
      if (typeof s === 'number' && !this.#seen.has(s)) this.#seen.set(s, e.time);
    }
  }
}
