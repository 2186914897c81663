/**
 * A small builder for hand-written histories in tests: events are recorded through the real
 * {@link HistoryRecorder} (so hand-made histories obey the same rules), one microsecond apart.
 */
import {
  type HistoryEvent,
  HistoryRecorder,
  type JsonValue,
  type MicroOp,
  type OperationHandle,
} from '@flotilla/verification';

export class Script {
  private now = 0;
  private readonly rec = new HistoryRecorder({ clock: () => (this.now += 1000) });
  private readonly open = new Map<number, OperationHandle>();

  get events(): readonly HistoryEvent[] {
    return this.rec.events;
  }

  invoke(process: number, f: string, value: JsonValue): this {
    this.open.set(process, this.rec.invoke(process, f, value));
    return this;
  }

  ok(process: number, value?: JsonValue, revision?: number): this {
    this.take(process).ok(value, revision === undefined ? {} : { revision });
    return this;
  }

  fail(process: number): this {
    this.take(process).fail();
    return this;
  }

  info(process: number): this {
    this.take(process).info();
    return this;
  }

  /** Invoke and complete `ok` at once (a sequential operation). */
  op(process: number, f: string, value: JsonValue, result?: JsonValue, revision?: number): this {
    return this.invoke(process, f, value).ok(process, result, revision);
  }

  /** Invoke a txn: its reads are sent as `null` whatever `mops` says. */
  invokeTxn(process: number, mops: readonly MicroOp[]): this {
    return this.invoke(
      process,
      'txn',
      mops.map((m) => (m[0] === 'r' ? ['r', m[1], null] : [...m])),
    );
  }

  /** Complete a txn `ok` with its reads filled in as `mops` says. */
  okTxn(process: number, mops: readonly MicroOp[], revision?: number): this {
    return this.ok(process, mops.map((m) => [...m]) as JsonValue, revision);
  }

  /** A txn invoked and completed `ok` at once. */
  txn(process: number, mops: readonly MicroOp[], revision?: number): this {
    return this.invokeTxn(process, mops).okTxn(process, mops, revision);
  }

  private take(process: number): OperationHandle {
    const h = this.open.get(process);
    if (h === undefined) throw new Error(`script: process ${process} has nothing in flight`);
    this.open.delete(process);
    return h;
  }
}
