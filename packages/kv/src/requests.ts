/**
 * The API boundary: checks a caller's request and turns it into a {@link KvCommand} (keys and
 * values as bytes, every option explicit), or throws a typed `KvError` and proposes nothing.
 *
 * Checks run in etcd's order where etcd defines one (its gRPC layer validates a request before
 * Raft sees it): types, then `EMPTY_KEY`, then the size limits, then the put flag rules
 * (`VALUE_PROVIDED`, `LEASE_PROVIDED`), then the encoded size (`REQUEST_TOO_LARGE`). Failures
 * that depend on the store (`KEY_NOT_FOUND`, `DUPLICATE_KEY`, `LEASE_NOT_FOUND`, `COMPACTED`,
 * ...) are decided when the command is applied, identically on every member.
 */
import { Buffer } from 'node:buffer';
import type {
  Compare,
  Op,
  PutRequest,
  RangeOptions,
  RangeRequest,
  SortOrder,
  SortTarget,
  TxnRequest,
} from '@flotilla/mvcc';
import type { DeleteOptions, GetOptions, PutRequestOptions, RequestOptions } from './api.js';
import { encodeCommand, type KvCommand } from './commands.js';
import { invalid, KvError } from './errors.js';
import type { KvLimits } from './limits.js';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** Caller bytes as a `Uint8Array` (strings UTF-8 encoded). */
export function toBytes(input: unknown, what: string): Uint8Array {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (input instanceof Uint8Array) return input;
  throw invalid(`${what} must be a string or a Uint8Array, got ${describe(input)}`);
}

/** A non-empty key within `maxKeyBytes`. */
export function checkKey(input: unknown, limits: KvLimits, what = 'key'): Uint8Array {
  const k = toBytes(input, what);
  if (k.byteLength === 0) throw new KvError('EMPTY_KEY', `${what} must not be empty`);
  if (k.byteLength > limits.maxKeyBytes) {
    throw new KvError(
      'KEY_TOO_LARGE',
      `${what} is ${k.byteLength} bytes, over the limit of ${limits.maxKeyBytes}`,
    );
  }
  return k;
}

/** A range end: absent or empty means "the single key" (protobuf's default). */
export function checkRangeEnd(input: unknown, limits: KvLimits): Uint8Array | undefined {
  if (input === undefined) return undefined;
  const e = toBytes(input, 'rangeEnd');
  if (e.byteLength === 0) return undefined;
  if (e.byteLength > limits.maxKeyBytes) {
    throw new KvError(
      'KEY_TOO_LARGE',
      `rangeEnd is ${e.byteLength} bytes, over the limit of ${limits.maxKeyBytes}`,
    );
  }
  return e;
}

function checkValue(input: unknown, limits: KvLimits): Uint8Array {
  const v = input === undefined ? new Uint8Array(0) : toBytes(input, 'value');
  if (v.byteLength > limits.maxValueBytes) {
    throw new KvError(
      'VALUE_TOO_LARGE',
      `value is ${v.byteLength} bytes, over the limit of ${limits.maxValueBytes}`,
    );
  }
  return v;
}

/** The options bag: undefined or a plain object. */
export function bag(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalid(`${what} must be an object, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

function flag(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(`${what} must be a boolean, got ${describe(v)}`);
  return v;
}

/** A safe integer of any sign (etcd gives negative revisions and limits a meaning). */
function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw invalid(`${what} must be a safe integer, got ${typeof v === 'number' ? v : describe(v)}`);
  }
  return v;
}

/** A lease id: 0 (none) or a positive safe integer. */
function leaseField(v: unknown): number {
  if (v === undefined) return 0;
  const n = int(v, 'lease');
  if (n < 0) throw invalid(`lease must not be negative, got ${n}`);
  return n;
}

/** `timeoutMs` and `signal` of any request. */
export function checkRequestOptions(o: Record<string, unknown>): RequestOptions {
  const { timeoutMs, signal } = o;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
  ) {
    throw invalid(`timeoutMs must be a number of ms > 0, got ${String(timeoutMs)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalid('signal must be an AbortSignal');
  return { timeoutMs: timeoutMs as number | undefined, signal: signal as AbortSignal | undefined };
}

/** Encodes `cmd`, refusing it when over `maxRequestBytes`. */
export function encodeChecked(cmd: KvCommand, limits: KvLimits): Uint8Array {
  const data = encodeCommand(cmd);
  if (data.byteLength > limits.maxRequestBytes) {
    throw new KvError(
      'REQUEST_TOO_LARGE',
      `request is ${data.byteLength} bytes encoded, over the limit of ${limits.maxRequestBytes}`,
    );
  }
  return data;
}

/** A put's command. */
export function putCommand(
  key: unknown,
  value: unknown,
  options: PutRequestOptions | undefined,
  limits: KvLimits,
) {
  const k = checkKey(key, limits);
  const v = checkValue(value, limits);
  const o = bag(options, 'put options');
  const lease = leaseField(o.lease);
  const ignoreValue = flag(o.ignoreValue, 'ignoreValue');
  const ignoreLease = flag(o.ignoreLease, 'ignoreLease');
  if (ignoreValue && v.byteLength !== 0) {
    throw new KvError('VALUE_PROVIDED', 'ignoreValue is set but a value is provided');
  }
  if (ignoreLease && lease !== 0)
    throw new KvError('LEASE_PROVIDED', 'ignoreLease is set but a lease is provided');
  const cmd: KvCommand = {
    type: 'put',
    key: k,
    value: v,
    lease,
    prevKv: flag(o.prevKv, 'prevKv'),
    ignoreValue,
    ignoreLease,
  };
  return { command: cmd, request: checkRequestOptions(o) };
}

/** A delete's command. */
export function deleteCommand(key: unknown, options: DeleteOptions | undefined, limits: KvLimits) {
  const k = checkKey(key, limits);
  const o = bag(options, 'delete options');
  const cmd: KvCommand = {
    type: 'deleteRange',
    key: k,
    rangeEnd: checkRangeEnd(o.rangeEnd, limits),
    prevKv: flag(o.prevKv, 'prevKv'),
  };
  return { command: cmd, request: checkRequestOptions(o) };
}

const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'createRevision', 'modRevision', 'value'];
const RANGE_INTS = [
  'revision',
  'limit',
  'minModRevision',
  'maxModRevision',
  'minCreateRevision',
  'maxCreateRevision',
] as const;

/** The range options of a get or a txn range op, as mvcc takes them (only the fields given). */
function rangeOptions(o: Record<string, unknown>): RangeOptions {
  const out: Record<string, unknown> = {};
  for (const name of RANGE_INTS) if (o[name] !== undefined) out[name] = int(o[name], name);
  if (o.sortOrder !== undefined) {
    if (!SORT_ORDERS.includes(o.sortOrder as SortOrder)) {
      throw invalid(`sortOrder must be one of ${SORT_ORDERS.join(', ')}, got ${String(o.sortOrder)}`);
    }
    out.sortOrder = o.sortOrder;
  }
  if (o.sortTarget !== undefined) {
    if (!SORT_TARGETS.includes(o.sortTarget as SortTarget)) {
      throw invalid(`sortTarget must be one of ${SORT_TARGETS.join(', ')}, got ${String(o.sortTarget)}`);
    }
    out.sortTarget = o.sortTarget;
  }
  if (o.keysOnly !== undefined) out.keysOnly = flag(o.keysOnly, 'keysOnly');
  if (o.countOnly !== undefined) out.countOnly = flag(o.countOnly, 'countOnly');
  return out as RangeOptions;
}

/** A checked get: key, range end, mvcc range options, consistency and request options. */
export interface CheckedGet {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array | undefined;
  readonly range: RangeOptions;
  readonly serializable: boolean;
  readonly request: RequestOptions;
}

/** Checks a get. */
export function checkGet(key: unknown, options: GetOptions | undefined, limits: KvLimits): CheckedGet {
  const k = checkKey(key, limits);
  const o = bag(options, 'get options');
  return {
    key: k,
    rangeEnd: checkRangeEnd(o.rangeEnd, limits),
    range: rangeOptions(o),
    serializable: flag(o.serializable, 'serializable'),
    request: checkRequestOptions(o),
  };
}

const COMPARE_TARGETS = ['version', 'createRevision', 'modRevision', 'value', 'lease'];
const COMPARE_RESULTS = ['equal', 'notEqual', 'greater', 'less'];

function compare(c: unknown, limits: KvLimits): Compare {
  const o = bag(c, 'a compare');
  const key = checkKey(o.key, limits, 'compare key');
  const rangeEnd = checkRangeEnd(o.rangeEnd, limits);
  if (!COMPARE_TARGETS.includes(o.target as string)) {
    throw invalid(`compare target must be one of ${COMPARE_TARGETS.join(', ')}, got ${String(o.target)}`);
  }
  if (!COMPARE_RESULTS.includes(o.result as string)) {
    throw invalid(`compare result must be one of ${COMPARE_RESULTS.join(', ')}, got ${String(o.result)}`);
  }
  const base = {
    key,
    result: o.result as Compare['result'],
    ...(rangeEnd === undefined ? {} : { rangeEnd }),
  };
  if (o.target === 'value') {
    if (typeof o.value !== 'string' && !(o.value instanceof Uint8Array)) {
      throw invalid(`a value compare needs a string or Uint8Array value, got ${describe(o.value)}`);
    }
    return { ...base, target: 'value', value: checkValue(o.value, limits) };
  }
  return { ...base, target: o.target as 'version', value: int(o.value, `${String(o.target)} compare value`) };
}

function op(raw: unknown, limits: KvLimits, depth: number): Op {
  const o = bag(raw, 'a txn op');
  const kinds = ['put', 'range', 'deleteRange', 'txn'].filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) throw invalid('a txn op must have exactly one of put, range, deleteRange, txn');
  const body = bag(o[kinds[0] as string], `op ${String(kinds[0])}`);
  switch (kinds[0]) {
    case 'put': {
      const { command } = putCommand(body.key, body.value, body as PutRequestOptions, limits);
      if (command.type !== 'put') throw invalid('unreachable');
      const put: PutRequest = {
        key: command.key,
        value: command.value,
        ...(command.lease !== 0 ? { lease: command.lease } : {}),
        ...(command.prevKv ? { prevKv: true } : {}),
        ...(command.ignoreValue ? { ignoreValue: true } : {}),
        ...(command.ignoreLease ? { ignoreLease: true } : {}),
      };
      return { put };
    }
    case 'range': {
      const rangeEnd = checkRangeEnd(body.rangeEnd, limits);
      const range: RangeRequest = {
        key: checkKey(body.key, limits),
        ...(rangeEnd === undefined ? {} : { rangeEnd }),
        ...rangeOptions(body),
      };
      return { range };
    }
    case 'deleteRange': {
      const rangeEnd = checkRangeEnd(body.rangeEnd, limits);
      const key = checkKey(body.key, limits);
      const prevKv = flag(body.prevKv, 'prevKv');
      return {
        deleteRange: { key, ...(rangeEnd === undefined ? {} : { rangeEnd }), ...(prevKv ? { prevKv } : {}) },
      };
    }
    default:
      return { txn: txnRequest(body, limits, depth + 1) };
  }
}

function list(v: unknown, what: string, limits: KvLimits): readonly unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(`${what} must be an array, got ${describe(v)}`);
  if (v.length > limits.maxTxnOps) {
    throw new KvError(
      'TOO_MANY_OPS',
      `${what} has ${v.length} entries, over the limit of ${limits.maxTxnOps}`,
    );
  }
  return v;
}

/** etcd nests transactions freely; a bound keeps a hostile request from exhausting the stack. */
const MAX_TXN_DEPTH = 64;

function txnRequest(raw: unknown, limits: KvLimits, depth: number): TxnRequest {
  if (depth > MAX_TXN_DEPTH) throw invalid(`transactions nest deeper than ${MAX_TXN_DEPTH}`);
  const o = bag(raw, 'a txn');
  return {
    compare: list(o.compare, 'compare', limits).map((c) => compare(c, limits)),
    success: list(o.success, 'success', limits).map((x) => op(x, limits, depth)),
    failure: list(o.failure, 'failure', limits).map((x) => op(x, limits, depth)),
  };
}

/** A txn's command: every compare and op checked, all bytes converted. */
export function txnCommand(request: unknown, limits: KvLimits): KvCommand {
  if (request === undefined) throw invalid('txn needs a request object');
  return { type: 'txn', request: txnRequest(request, limits, 0) };
}

/** A positive safe integer id (lease or member). */
export function checkId(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw invalid(`${what} must be a positive safe integer, got ${String(v)}`);
  }
  return v;
}

/** A revision argument: a safe integer ≥ 0. */
export function checkRevision(v: unknown): number {
  const n = int(v, 'revision');
  if (n < 0) throw invalid(`revision must not be negative, got ${n}`);
  return n;
}
