import type { NetworkMessage, NodeId } from '@flotilla/raft';
import type { MessageHandler, TransportEvents } from '../transport.js';

/**
 * Records what one transport delivered and reported, and lets a test wait for a condition on
 * it. Waiting is event-driven: the condition is re-checked on every delivery and event, and a
 * timer only bounds how long a failing test takes to fail (never what makes one pass).
 */
export class Inbox {
  readonly messages: NetworkMessage[] = [];
  readonly batches: NetworkMessage[][] = [];
  readonly unreachable: NodeId[] = [];
  #waiters = new Set<() => void>();

  readonly handler: MessageHandler = (batch) => {
    this.batches.push(batch);
    for (const m of batch) this.messages.push(m);
    this.#wake();
  };

  readonly events: TransportEvents = {
    unreachable: (to) => {
      this.unreachable.push(to);
      this.#wake();
    },
  };

  /** Messages from `from`, in arrival order. */
  from(from: NodeId): NetworkMessage[] {
    return this.messages.filter((m) => m.from === from);
  }

  /** Resolves once `cond()` holds; rejects with `label` after `timeoutMs`. */
  until(cond: () => boolean, label: string, timeoutMs: number): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${label}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/**
 * Repeats `attempt` until `cond()` holds, waiting up to `retryMs` for it after each attempt
 * (as Raft re-sends on every heartbeat). For effects that need a retry to happen at all, like
 * a transport reconnecting after its backoff. Fails after `timeoutMs`.
 */
export async function eventually(
  attempt: () => void,
  cond: () => boolean,
  label: string,
  options: { readonly retryMs: number; readonly timeoutMs: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    attempt();
    if (await holdsWithin(cond, options.retryMs)) return;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for: ${label}`);
  }
}

/** Polls `cond` every few ms for up to `ms`. */
function holdsWithin(cond: () => boolean, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (cond()) {
      resolve(true);
      return;
    }
    const start = Date.now();
    const poll = setInterval(() => {
      if (cond()) {
        clearInterval(poll);
        resolve(true);
      } else if (Date.now() - start >= ms) {
        clearInterval(poll);
        resolve(false);
      }
    }, 2);
  });
}
