/**
 * The `for await` form of a watch. It is a listener that holds each response until the loop
 * asks for it: the listener returns a promise that settles when `next()` takes the response, so
 * a slow loop applies back-pressure to the watcher (which then falls back to catching up from
 * history instead of buffering without bound).
 */
import type { Watcher, WatchListener, WatchResponse, WatchStream } from './types.js';

type Result = IteratorResult<WatchResponse, undefined>;

const DONE: Result = { value: undefined, done: true };

export class WatchStreamImpl implements WatchStream {
  private readonly watcher: Watcher;
  /** A delivered response no `next()` has taken yet, and the release of its listener promise. */
  private held: { resp: WatchResponse; release: () => void } | undefined;
  /** `next()` calls waiting for a response, oldest first. */
  private readonly waiters: ((r: Result) => void)[] = [];
  private done = false;

  /** Starts the watch with `start`, which receives this stream's listener. */
  constructor(start: (listener: WatchListener) => Watcher) {
    this.watcher = start((resp) => this.deliver(resp));
  }

  get id(): number {
    return this.watcher.id;
  }

  private deliver(resp: WatchResponse): void | Promise<void> {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter({ value: resp, done: false });
      if (resp.canceled === true) this.end();
      return;
    }
    return new Promise<void>((release) => {
      this.held = { resp, release };
    });
  }

  next(): Promise<Result> {
    const held = this.held;
    if (held !== undefined) {
      this.held = undefined;
      if (held.resp.canceled === true) this.end();
      held.release();
      return Promise.resolve({ value: held.resp, done: false });
    }
    if (this.done) return Promise.resolve(DONE);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<Result> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  cancel(): void {
    this.watcher.cancel();
    this.end();
    // A held response is dropped; settling its promise lets the (canceled) watcher finish.
    this.held?.release();
    this.held = undefined;
  }

  /** No more responses: pending and future `next()` calls resolve as done. */
  private end(): void {
    this.done = true;
    for (const w of this.waiters.splice(0)) w(DONE);
  }

  [Symbol.asyncIterator](): WatchStream {
    return this;
  }
}
