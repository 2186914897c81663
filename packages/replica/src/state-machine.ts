/**
 * The application's replicated state: what a {@link Replica} applies committed commands to.
 *
 * Contract (what the replica guarantees and what it expects back):
 * - `apply(command, index)` is called for every committed command, strictly in log order and
 *   exactly once per index, also across restarts: on start the replica restores the newest
 *   snapshot with `restore` and then applies only the commands after it. Indexes increase but
 *   are not contiguous (Raft's own entries, such as a new leader's empty entry and membership
 *   changes, are not passed in). The return value (or the value its promise resolves to) is
 *   what the proposer's `propose` promise resolves with, on the replica that proposed it.
 *   Apply must be deterministic: every replica applies the same commands in the same order and
 *   must reach the same state (no clock, no randomness, no I/O whose result can differ).
 * - `snapshot()` returns the whole state as bytes, as of the last applied command. The replica
 *   does not call `apply` until the snapshot (or its promise) is returned.
 * - `restore(data)` replaces the whole state with a snapshot taken by `snapshot()` on any
 *   replica (at start, or when the leader sends one to a replica that fell behind).
 *
 * A method that throws (or rejects) stops the replica with an `APPLY_FAILED` error: a state
 * machine that could not apply an entry no longer matches the log, so it must not serve.
 *
 * @example
 * ```ts
 * class Counter implements StateMachine<number> {
 *   value = 0;
 *   apply(command: Uint8Array): number {
 *     this.value += command[0] ?? 0;
 *     return this.value;
 *   }
 *   snapshot(): Uint8Array {
 *     return new TextEncoder().encode(String(this.value));
 *   }
 *   restore(data: Uint8Array): void {
 *     this.value = Number(new TextDecoder().decode(data));
 *   }
 * }
 * ```
 */
export interface StateMachine<R = unknown> {
  apply(command: Uint8Array, index: number): R | Promise<R>;
  snapshot(): Uint8Array | Promise<Uint8Array>;
  restore(data: Uint8Array): void | Promise<void>;
}
