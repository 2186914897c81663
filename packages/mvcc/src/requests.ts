/**
 * Validation of caller input and its conversion to the internal, normalized requests the store
 * executes: keys and values as binary strings, every option present with its default.
 *
 * Checks run in etcd's order (its gRPC layer validates a request before Raft sees it): for a
 * put, `EMPTY_KEY`, then `VALUE_PROVIDED`, then `LEASE_PROVIDED`; for a transaction, its
 * compares, then the success ops, then the failure ops, recursively. Type errors
 * (`INVALID_ARGUMENT`) are reported where they are met in that walk. Nothing here reads the
 * store, so a request rejected here has changed nothing.
 */
import { describe, toBinary } from './bytes.js';
import { MvccError } from './errors.js';
import type {
  Bytes,
  CompareResult,
  CompareTarget,
  DeleteRangeOptions,
  Op,
  PutOptions,
  RangeOptions,
  SortOrder,
  SortTarget,
  TxnRequest,
  WatchFilter,
  WatchRequest,
} from './types.js';

/**
 * A range end as given: `undefined` for a single key (absent or empty, protobuf's default),
 * otherwise the bytes. `"\0"` is kept as given (meaning "unbounded") because etcd's duplicate-key
 * check treats it literally; {@link scanEnd} interprets it.
 */
export type RangeEnd = string | undefined;

/** The exclusive scan bound of a range end: `null` for "unbounded" (`"\0"`). */
export function scanEnd(end: string): string | null {
  return end === '\0' ? null : end;
}

export interface NPut {
  readonly kind: 'put';
  readonly key: string;
  readonly value: string;
  readonly lease: number;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

export interface NRange {
  readonly kind: 'range';
  readonly key: string;
  readonly end: RangeEnd;
  /** As given; 0 or negative means "current" (etcd). */
  readonly revision: number;
  /** As given; 0 or negative means "no limit" (etcd). */
  readonly limit: number;
  readonly sortOrder: SortOrder;
  readonly sortTarget: SortTarget;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  readonly minModRevision: number;
  readonly maxModRevision: number;
  readonly minCreateRevision: number;
  readonly maxCreateRevision: number;
}

export interface NDelete {
  readonly kind: 'deleteRange';
  readonly key: string;
  readonly end: RangeEnd;
  readonly prevKv: boolean;
}

export interface NCompare {
  readonly key: string;
  readonly end: RangeEnd;
  readonly target: CompareTarget;
  readonly result: CompareResult;
  /** The operand of numeric targets (0 for `value`). */
  readonly num: number;
  /** The operand of the `value` target as a binary string ('' otherwise). */
  readonly bytes: string;
}

export interface NTxn {
  readonly kind: 'txn';
  readonly compare: readonly NCompare[];
  readonly success: readonly NOp[];
  readonly failure: readonly NOp[];
}

export type NOp = NPut | NRange | NDelete | NTxn;

export interface NWatch {
  readonly key: string;
  readonly end: RangeEnd;
  readonly startRevision: number;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
}

function invalid(message: string): MvccError {
  return new MvccError('INVALID_ARGUMENT', message);
}

/** The options bag: undefined, or a plain object. */
function bag<T extends object>(opts: T | undefined, what: string): Partial<Record<keyof T, unknown>> {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw invalid(`${what} must be an object, got ${describe(opts)}`);
  }
  return opts as Partial<Record<keyof T, unknown>>;
}

function bool(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(`${what} must be a boolean, got ${describe(v)}`);
  return v;
}

/** A safe integer (any sign: etcd gives negative revisions and limits a meaning). */
export function int(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw invalid(`${what} must be a safe integer, got ${typeof v === 'number' ? v : describe(v)}`);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], fallback: T, what: string): T {
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw invalid(`${what} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v) ?? describe(v)}`);
}

/** A key: bytes, non-empty. */
export function key(input: Bytes, what = 'key'): string {
  const k = toBinary(input, what);
  if (k.length === 0) throw new MvccError('EMPTY_KEY', `${what} must not be empty`);
  return k;
}

/** A range end: absent or empty means "single key". */
export function rangeEnd(input: Bytes | undefined): RangeEnd {
  if (input === undefined) return undefined;
  const e = toBinary(input, 'rangeEnd');
  return e.length === 0 ? undefined : e;
}

/** A lease id: a non-negative safe integer, 0 for none. */
function leaseId(v: unknown): number {
  const n = int(v, 'lease');
  if (n < 0) throw invalid(`lease must not be negative, got ${n}`);
  return n;
}

export function normalizePut(k: Bytes, value: Bytes | undefined, options: PutOptions | undefined): NPut {
  const nk = key(k);
  const v = value === undefined ? '' : toBinary(value, 'value');
  const o = bag(options, 'put options');
  const lease = leaseId(o.lease);
  const prevKv = bool(o.prevKv, 'prevKv');
  const ignoreValue = bool(o.ignoreValue, 'ignoreValue');
  const ignoreLease = bool(o.ignoreLease, 'ignoreLease');
  if (ignoreValue && v.length !== 0) {
    throw new MvccError('VALUE_PROVIDED', 'ignoreValue is set but a value is provided');
  }
  if (ignoreLease && lease !== 0) {
    throw new MvccError('LEASE_PROVIDED', 'ignoreLease is set but a lease is provided');
  }
  return { kind: 'put', key: nk, value: v, lease, prevKv, ignoreValue, ignoreLease };
}

const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'createRevision', 'modRevision', 'value'];

export function normalizeRange(k: Bytes, end: Bytes | undefined, options: RangeOptions | undefined): NRange {
  const nk = key(k);
  const ne = rangeEnd(end);
  const o = bag(options, 'range options');
  return {
    kind: 'range',
    key: nk,
    end: ne,
    revision: int(o.revision, 'revision'),
    limit: int(o.limit, 'limit'),
    sortOrder: oneOf(o.sortOrder, SORT_ORDERS, 'none', 'sortOrder'),
    sortTarget: oneOf(o.sortTarget, SORT_TARGETS, 'key', 'sortTarget'),
    keysOnly: bool(o.keysOnly, 'keysOnly'),
    countOnly: bool(o.countOnly, 'countOnly'),
    minModRevision: int(o.minModRevision, 'minModRevision'),
    maxModRevision: int(o.maxModRevision, 'maxModRevision'),
    minCreateRevision: int(o.minCreateRevision, 'minCreateRevision'),
    maxCreateRevision: int(o.maxCreateRevision, 'maxCreateRevision'),
  };
}

export function normalizeDelete(
  k: Bytes,
  end: Bytes | undefined,
  options: DeleteRangeOptions | undefined,
): NDelete {
  const nk = key(k);
  const ne = rangeEnd(end);
  const o = bag(options, 'deleteRange options');
  return { kind: 'deleteRange', key: nk, end: ne, prevKv: bool(o.prevKv, 'prevKv') };
}

const COMPARE_TARGETS: readonly CompareTarget[] = [
  'version',
  'createRevision',
  'modRevision',
  'value',
  'lease',
];
const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'notEqual', 'greater', 'less'];

function normalizeCompare(c: unknown): NCompare {
  if (typeof c !== 'object' || c === null) throw invalid(`a compare must be an object, got ${describe(c)}`);
  const o = c as Record<string, unknown>;
  const nk = key(o.key as Bytes, 'compare key');
  const ne = rangeEnd(o.rangeEnd as Bytes | undefined);
  if (o.target === undefined) throw invalid('compare target is required');
  const target = oneOf(o.target, COMPARE_TARGETS, 'version', 'compare target');
  if (o.result === undefined) throw invalid('compare result is required');
  const result = oneOf(o.result, COMPARE_RESULTS, 'equal', 'compare result');
  if (target === 'value') {
    if (typeof o.value !== 'string' && !(o.value instanceof Uint8Array)) {
      throw invalid(`a value compare needs a string or Uint8Array value, got ${describe(o.value)}`);
    }
    return { key: nk, end: ne, target, result, num: 0, bytes: toBinary(o.value, 'compare value') };
  }
  if (typeof o.value !== 'number')
    throw invalid(`a ${target} compare needs a number, got ${describe(o.value)}`);
  return { key: nk, end: ne, target, result, num: int(o.value, 'compare value'), bytes: '' };
}

function list(v: unknown, what: string): readonly unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(`${what} must be an array, got ${describe(v)}`);
  return v;
}

function normalizeOp(op: unknown): NOp {
  if (typeof op !== 'object' || op === null) throw invalid(`an op must be an object, got ${describe(op)}`);
  const o = op as Record<string, unknown>;
  const kinds = (['put', 'range', 'deleteRange', 'txn'] as const).filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) {
    throw invalid('an op must have exactly one of put, range, deleteRange, txn');
  }
  const kind = kinds[0];
  const body = o[kind as string];
  if (typeof body !== 'object' || body === null) throw invalid(`op ${kind} must be an object`);
  const b = body as Record<string, unknown>;
  switch (kind) {
    case 'put':
      return normalizePut(b.key as Bytes, b.value as Bytes | undefined, b as PutOptions);
    case 'range':
      return normalizeRange(b.key as Bytes, b.rangeEnd as Bytes | undefined, b as RangeOptions);
    case 'deleteRange':
      return normalizeDelete(b.key as Bytes, b.rangeEnd as Bytes | undefined, b as DeleteRangeOptions);
    default:
      return normalizeTxn(b as TxnRequest);
  }
}

export function normalizeTxn(req: TxnRequest): NTxn {
  if (typeof req !== 'object' || req === null) throw invalid(`a txn must be an object, got ${describe(req)}`);
  const compare = list(req.compare, 'compare').map(normalizeCompare);
  const success = list(req.success, 'success').map((op) => normalizeOp(op as Op));
  const failure = list(req.failure, 'failure').map((op) => normalizeOp(op as Op));
  return { kind: 'txn', compare, success, failure };
}

const FILTERS: readonly WatchFilter[] = ['noPut', 'noDelete'];

/**
 * Normalizes a watch request. Type errors throw; a request etcd would accept and then cancel
 * (empty key, empty range, negative start revision) returns the cancel reason instead.
 */
export function normalizeWatch(req: WatchRequest): NWatch | { readonly cancelReason: string } {
  if (typeof req !== 'object' || req === null) throw invalid(`a watch request must be an object`);
  const k = toBinary(req.key, 'key');
  const end = rangeEnd(req.rangeEnd);
  const startRevision = int(req.startRevision, 'startRevision');
  const prevKv = bool(req.prevKv, 'prevKv');
  const progressNotify = bool(req.progressNotify, 'progressNotify');
  const filters = list(req.filters, 'filters').map((f) => oneOf(f, FILTERS, 'noPut', 'filter'));
  if (k.length === 0) return { cancelReason: 'EMPTY_KEY: key must not be empty' };
  // etcd: "mvcc: watcher range is empty" when rangeEnd (other than "\0") is not above key.
  if (end !== undefined && end !== '\0' && end <= k) {
    return { cancelReason: 'INVALID_ARGUMENT: watcher range is empty (rangeEnd <= key)' };
  }
  if (startRevision < 0) return { cancelReason: 'INVALID_ARGUMENT: startRevision must not be negative' };
  return {
    key: k,
    end,
    startRevision,
    prevKv,
    noPut: filters.includes('noPut'),
    noDelete: filters.includes('noDelete'),
    progressNotify,
  };
}
