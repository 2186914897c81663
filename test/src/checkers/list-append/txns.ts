import { VerificationError } from '../../errors.js';
import type { JsonValue, MicroOp, Operation, RegisterKey } from '../../history/types.js';
import { show } from '../result.js';

/**
 * A list-append transaction with its micro-ops decoded. For an `ok` txn the micro-ops are the
 * completion's (reads filled in); otherwise the invoke's (reads unknown, `null`).
 */
export interface Txn {
  readonly op: Operation;
  readonly mops: readonly MicroOp[];
}

function bad(op: Operation, message: string): VerificationError {
  return new VerificationError(
    'HISTORY_MALFORMED',
    `txn #${op.invoke.index} (process ${op.process}): ${message}`,
    { details: { reason: 'bad-txn-value', index: op.invoke.index, process: op.process } },
  );
}

function isKey(v: JsonValue | undefined): v is RegisterKey {
  return (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v));
}

function isElement(v: JsonValue | undefined): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function decodeMops(op: Operation, value: JsonValue, filled: boolean): MicroOp[] {
  if (!Array.isArray(value)) throw bad(op, `value must be a list of micro-ops, got ${show(value)}`);
  const out: MicroOp[] = [];
  for (const m of value as readonly JsonValue[]) {
    if (!Array.isArray(m) || m.length !== 3 || !isKey(m[1])) {
      throw bad(op, `micro-op ${show(m)} must be ["append", key, int] or ["r", key, ...]`);
    }
    const key = m[1];
    if (m[0] === 'append') {
      const el = m[2];
      if (!isElement(el)) throw bad(op, `append ${show(m)} needs an integer element`);
      out.push(['append', key, el]);
    } else if (m[0] === 'r') {
      const v = m[2] ?? null;
      if (v === null) {
        if (filled) throw bad(op, `read ${show(m)} of an ok txn must carry the list read`);
        out.push(['r', key, null]);
      } else {
        if (!Array.isArray(v) || !v.every((x: JsonValue) => isElement(x))) {
          throw bad(op, `read ${show(m)} must carry a list of integers`);
        }
        out.push(['r', key, v as number[]]);
      }
    } else {
      throw bad(op, `unknown micro-op ${show(m[0])} (expected "append" or "r")`);
    }
  }
  return out;
}

/**
 * Decodes a `txn` operation, or returns `undefined` for other functions.
 *
 * Shape: `value` is a list of micro-ops `["append", key, int]` and `["r", key, null | int[]]`.
 * The invoke's reads are `null`; an `ok` completion repeats the micro-ops in the same order
 * with every read filled in.
 *
 * @throws VerificationError `HISTORY_MALFORMED` naming the txn.
 */
export function decodeTxn(op: Operation): Txn | undefined {
  if (op.f !== 'txn') return undefined;
  const invoked = decodeMops(op, op.invoke.value, false);
  if (op.type !== 'ok') return { op, mops: invoked };
  const done = decodeMops(op, op.completion.value, true);
  if (done.length !== invoked.length) throw bad(op, 'the ok value has a different number of micro-ops');
  for (let i = 0; i < done.length; i++) {
    const a = invoked[i];
    const b = done[i];
    if (
      a === undefined ||
      b === undefined ||
      a[0] !== b[0] ||
      a[1] !== b[1] ||
      (a[0] === 'append' && a[2] !== b[2])
    ) {
      throw bad(op, `micro-op ${i} of the ok value differs from the invoke's`);
    }
  }
  return { op, mops: done };
}

/** What {@link describeTxn} needs of a txn. */
export interface TxnLike {
  readonly id: number;
  readonly process: number;
  readonly type: string;
  readonly invokeIndex: number;
  readonly completionIndex: number;
  readonly mops: readonly MicroOp[];
}

/** `T12 (process 3, ok, events #40..#45) [append "x" 1] [r "y" [1,2]]`: a txn for explanations. */
export function describeTxn(t: TxnLike): string {
  const body = t.mops
    .map((m) =>
      m[0] === 'append'
        ? `[append ${show(m[1])} ${m[2]}]`
        : `[r ${show(m[1])} ${m[2] === null ? '?' : show(m[2])}]`,
    )
    .join(' ');
  return `T${t.id} (process ${t.process}, ${t.type}, events #${t.invokeIndex}..#${t.completionIndex}) ${body}`;
}
