import { VerificationError } from '../../errors.js';
import type { JsonValue, Operation, RegisterKey, RegisterValue } from '../../history/types.js';

/**
 * A register-workload operation with its value decoded. `read.value` is what an `ok` read
 * returned (`undefined` when the read did not complete `ok`: its result is unknown).
 */
export type RegisterCall =
  | {
      readonly f: 'read';
      readonly op: Operation;
      readonly key: RegisterKey;
      readonly value: RegisterValue | null | undefined;
    }
  | { readonly f: 'write'; readonly op: Operation; readonly key: RegisterKey; readonly value: RegisterValue }
  | {
      readonly f: 'cas';
      readonly op: Operation;
      readonly key: RegisterKey;
      readonly expected: RegisterValue | null;
      readonly value: RegisterValue;
    };

function bad(op: Operation, message: string): VerificationError {
  return new VerificationError(
    'HISTORY_MALFORMED',
    `operation #${op.invoke.index} (${op.f} by process ${op.process}): ${message}`,
    { details: { reason: 'bad-register-value', index: op.invoke.index, process: op.process } },
  );
}

function isKey(v: JsonValue | undefined): v is RegisterKey {
  return (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v));
}

function isValue(v: JsonValue | undefined): v is RegisterValue {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function pair(op: Operation, v: JsonValue, which: string): readonly [RegisterKey, JsonValue] {
  if (!Array.isArray(v) || v.length !== 2 || !isKey(v[0])) {
    throw bad(op, `${which} value must be [key, ...], got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1] ?? null];
}

/**
 * Decodes a `read`, `write` or `cas` operation. Returns `undefined` for other functions.
 *
 * Shapes (`value` of the events): read invoke `[key, null]`, read ok `[key, v | null]`;
 * write `[key, v]`; cas `[key, [expected, new]]` (`expected` may be `null`: "absent").
 * Values are strings or finite numbers; `null` means absent. A completion must name the same
 * key as its invoke, and a write or cas completion the same arguments.
 *
 * @throws VerificationError `HISTORY_MALFORMED` naming the operation.
 */
export function decodeRegisterCall(op: Operation): RegisterCall | undefined {
  if (op.f !== 'read' && op.f !== 'write' && op.f !== 'cas') return undefined;
  const [key, arg] = pair(op, op.invoke.value, 'invoke');
  const [doneKey, result] = pair(op, op.completion.value, 'completion');
  if (JSON.stringify(doneKey) !== JSON.stringify(key)) {
    throw bad(op, `completion names key ${JSON.stringify(doneKey)}, invoke ${JSON.stringify(key)}`);
  }
  if (op.f === 'read') {
    if (arg !== null) throw bad(op, 'a read invoke must be [key, null]');
    if (op.type !== 'ok') return { f: 'read', op, key, value: undefined };
    if (result !== null && !isValue(result)) throw bad(op, `read returned ${JSON.stringify(result)}`);
    return { f: 'read', op, key, value: result };
  }
  if (op.f === 'write') {
    if (!isValue(arg)) throw bad(op, `a write needs a string or number value, got ${JSON.stringify(arg)}`);
    if (op.type === 'ok' && result !== arg) throw bad(op, 'the ok value differs from the invoke value');
    return { f: 'write', op, key, value: arg };
  }
  if (!Array.isArray(arg) || arg.length !== 2 || !(arg[0] === null || isValue(arg[0])) || !isValue(arg[1])) {
    throw bad(op, `a cas needs [key, [expected, new]], got ${JSON.stringify(op.invoke.value)}`);
  }
  if (op.type === 'ok' && JSON.stringify(result) !== JSON.stringify(arg)) {
    throw bad(op, 'the ok value differs from the invoke value');
  }
  return { f: 'cas', op, key, expected: arg[0] ?? null, value: arg[1] };
}
