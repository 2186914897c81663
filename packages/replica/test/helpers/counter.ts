import type { StateMachine } from '@flotilla/replica';

/**
 * A tiny state machine for tests: a counter plus the list of every applied command, so tests
 * can compare replicas entry by entry. A command is a uint32 (big-endian) added to the counter;
 * `apply` returns the counter's new value.
 */
export class Counter implements StateMachine<number> {
  value = 0;
  /** (index, command value) of every applied command, in order. */
  readonly log: Array<[number, number]> = [];
  lastIndex = 0;

  apply(command: Uint8Array, index: number): number {
    if (index <= this.lastIndex) throw new Error(`index ${index} applied after ${this.lastIndex}`);
    this.lastIndex = index;
    const n =
      command.byteLength >= 4
        ? new DataView(command.buffer, command.byteOffset, 4).getUint32(0)
        : (command[0] ?? 0);
    this.value += n;
    this.log.push([index, n]);
    return this.value;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(
      JSON.stringify({ value: this.value, log: this.log, lastIndex: this.lastIndex }),
    );
  }

  restore(data: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(data)) as {
      value: number;
      log: Array<[number, number]>;
      lastIndex: number;
    };
    this.value = s.value;
    this.log.length = 0;
    this.log.push(...s.log);
    this.lastIndex = s.lastIndex;
  }
}

/** A 4-byte command adding `n`. */
export function add(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
