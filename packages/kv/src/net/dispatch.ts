/**
 * The server's unary calls: one protocol method → one node call, field by field as etcd's
 * request messages name them. Only the documented fields are read (own properties only, so a
 * hostile body cannot reach a prototype); their values are checked by the node itself, which
 * rejects a bad request with a typed error and changes nothing (see `requests.ts`).
 */
import type { Bytes, TxnRequest } from '@flotilla/mvcc';
import type { KvApi, RequestOptions } from '../api.js';
import { invalid } from '../errors.js';
import type { Method } from './protocol.js';

/** A request body as decoded: a plain object (anything else is refused). */
type Body = Record<string, unknown>;

/** The field `name` of `b` when it is an own property. */
function f(b: Body, name: string): unknown {
  return Object.hasOwn(b, name) ? b[name] : undefined;
}

/** Copies the named own fields that are present (so absent stays absent for the node's checks). */
function pick(b: Body, names: readonly string[], timeoutMs: number | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = timeoutMs === undefined ? {} : { timeoutMs };
  for (const n of names) {
    const v = f(b, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/** etcd's `RangeRequest` fields (besides `key`). */
const RANGE_FIELDS = [
  'rangeEnd',
  'revision',
  'limit',
  'sortOrder',
  'sortTarget',
  'serializable',
  'keysOnly',
  'countOnly',
  'minModRevision',
  'maxModRevision',
  'minCreateRevision',
  'maxCreateRevision',
] as const;
/** etcd's `PutRequest` fields (besides `key` and `value`). */
const PUT_FIELDS = ['lease', 'prevKv', 'ignoreValue', 'ignoreLease'] as const;

/** The request body as an object, or `INVALID_ARGUMENT`. */
export function body(a: unknown, method: string): Body {
  if (a === undefined || a === null) return {};
  if (typeof a !== 'object' || Array.isArray(a) || a instanceof Uint8Array) {
    throw invalid(`the body of ${method} must be an object`);
  }
  return a as Body;
}

/**
 * Runs one unary call on `node` with `timeoutMs` as its deadline (undefined: the node's
 * default). Rejects (or throws) with the node's typed errors; `INVALID_ARGUMENT` for a body
 * that is not an object.
 */
export function dispatch(
  node: KvApi,
  method: Method,
  a: unknown,
  timeoutMs: number | undefined,
): Promise<unknown> {
  const b = body(a, method);
  const req: RequestOptions = timeoutMs === undefined ? {} : { timeoutMs };
  switch (method) {
    case 'range':
      return node.get(f(b, 'key') as Bytes, pick(b, RANGE_FIELDS, timeoutMs));
    case 'put':
      return node.put(f(b, 'key') as Bytes, f(b, 'value') as Bytes, pick(b, PUT_FIELDS, timeoutMs));
    case 'deleteRange':
      return node.delete(f(b, 'key') as Bytes, pick(b, ['rangeEnd', 'prevKv'], timeoutMs));
    case 'txn':
      return node.txn(
        {
          compare: f(b, 'compare'),
          success: f(b, 'success'),
          failure: f(b, 'failure'),
        } as TxnRequest,
        req,
      );
    case 'compact':
      return node.compact(f(b, 'revision') as number, req);
    case 'leaseGrant': {
      const id = f(b, 'id');
      // etcd's ID 0 means "let the server choose".
      return node.grant(
        f(b, 'ttl') as number,
        id === undefined || id === 0 ? req : { id: id as number, ...req },
      );
    }
    case 'leaseRevoke':
      return node.revoke(f(b, 'id') as number, req);
    case 'leaseKeepAlive':
      return node.keepAliveOnce(f(b, 'id') as number, req);
    case 'leaseTimeToLive':
      return node.timeToLive(f(b, 'id') as number, pick(b, ['keys'], timeoutMs));
    case 'leaseLeases':
      return node.leases(req);
    case 'memberList':
      return node.members(req);
    case 'memberAdd': {
      const urls = f(b, 'peerUrls');
      if (!Array.isArray(urls) || urls.length !== 1) {
        throw invalid('memberAdd needs peerUrls with exactly one URL');
      }
      return node.addMember(urls[0] as string, pick(b, ['isLearner', 'id'], timeoutMs));
    }
    case 'memberRemove':
      return node.removeMember(f(b, 'id') as number, req);
    case 'memberPromote':
      return node.promoteMember(f(b, 'id') as number, req);
    case 'status':
      return node.status(req);
  }
}
