/**
 * A minimal etcd v3 client over its HTTP/JSON gateway (grpc-gateway: base64 bytes, int64 as
 * strings, zero values omitted), speaking `@flotilla/mvcc`'s request and result types so that
 * the differential test can run one operation on both and compare the answers field by field.
 */
import { Buffer } from 'node:buffer';
import type {
  Bytes,
  Compare,
  DeleteRangeResult,
  KeyValue,
  Op,
  OpResponse,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnRequest,
  TxnResult,
  WatchEvent,
  WatchRequest,
} from '../src/index.js';

/** An etcd error mapped to the store's error code. */
export class EtcdError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const ERRORS: readonly (readonly [string, string])[] = [
  ['key is not provided', 'EMPTY_KEY'],
  ['key not found', 'KEY_NOT_FOUND'],
  ['value is provided', 'VALUE_PROVIDED'],
  ['lease is provided', 'LEASE_PROVIDED'],
  ['requested lease not found', 'LEASE_NOT_FOUND'],
  ['required revision has been compacted', 'COMPACTED'],
  ['required revision is a future revision', 'FUTURE_REVISION'],
  ['duplicate key given in txn request', 'DUPLICATE_KEY'],
];

type Json = Record<string, unknown>;

const b64 = (b: Bytes): string =>
  typeof b === 'string' ? Buffer.from(b, 'utf8').toString('base64') : Buffer.from(b).toString('base64');
const bytes = (s: unknown): Uint8Array =>
  new Uint8Array(Buffer.from(typeof s === 'string' ? s : '', 'base64'));
const num = (v: unknown): number => (v === undefined ? 0 : Number(v));

function kv(j: unknown): KeyValue {
  const o = (j ?? {}) as Json;
  return {
    key: bytes(o.key),
    value: bytes(o.value),
    createRevision: num(o.create_revision),
    modRevision: num(o.mod_revision),
    version: num(o.version),
    lease: num(o.lease),
  };
}

function header(o: Json): number {
  return num((o.header as Json | undefined)?.revision);
}

const SORT_ORDER = { none: 'NONE', ascend: 'ASCEND', descend: 'DESCEND' } as const;
const SORT_TARGET = {
  key: 'KEY',
  version: 'VERSION',
  createRevision: 'CREATE',
  modRevision: 'MOD',
  value: 'VALUE',
} as const;
const TARGET = {
  version: 'VERSION',
  createRevision: 'CREATE',
  modRevision: 'MOD',
  value: 'VALUE',
  lease: 'LEASE',
} as const;
const TARGET_FIELD = {
  version: 'version',
  createRevision: 'create_revision',
  modRevision: 'mod_revision',
  value: 'value',
  lease: 'lease',
} as const;
const RESULT = { equal: 'EQUAL', notEqual: 'NOT_EQUAL', greater: 'GREATER', less: 'LESS' } as const;

function putJson(p: PutRequest): Json {
  return {
    key: b64(p.key),
    value: b64(p.value ?? ''),
    lease: p.lease ?? 0,
    prev_kv: p.prevKv ?? false,
    ignore_value: p.ignoreValue ?? false,
    ignore_lease: p.ignoreLease ?? false,
  };
}

function rangeJson(r: RangeRequest): Json {
  return {
    key: b64(r.key),
    ...(r.rangeEnd === undefined ? {} : { range_end: b64(r.rangeEnd) }),
    revision: r.revision ?? 0,
    limit: r.limit ?? 0,
    sort_order: SORT_ORDER[r.sortOrder ?? 'none'],
    sort_target: SORT_TARGET[r.sortTarget ?? 'key'],
    keys_only: r.keysOnly ?? false,
    count_only: r.countOnly ?? false,
    min_mod_revision: r.minModRevision ?? 0,
    max_mod_revision: r.maxModRevision ?? 0,
    min_create_revision: r.minCreateRevision ?? 0,
    max_create_revision: r.maxCreateRevision ?? 0,
  };
}

function deleteJson(key: Bytes, rangeEnd: Bytes | undefined, prevKv: boolean | undefined): Json {
  return {
    key: b64(key),
    ...(rangeEnd === undefined ? {} : { range_end: b64(rangeEnd) }),
    prev_kv: prevKv ?? false,
  };
}

function compareJson(c: Compare): Json {
  const value = c.target === 'value' ? b64(c.value) : c.value;
  return {
    key: b64(c.key),
    ...(c.rangeEnd === undefined ? {} : { range_end: b64(c.rangeEnd) }),
    target: TARGET[c.target],
    result: RESULT[c.result],
    [TARGET_FIELD[c.target]]: value,
  };
}

function opJson(op: Op): Json {
  if ('put' in op) return { request_put: putJson(op.put) };
  if ('range' in op) return { request_range: rangeJson(op.range) };
  if ('deleteRange' in op) {
    const d = op.deleteRange;
    return { request_delete_range: deleteJson(d.key, d.rangeEnd, d.prevKv) };
  }
  return { request_txn: txnJson(op.txn) };
}

function txnJson(t: TxnRequest): Json {
  return {
    compare: (t.compare ?? []).map(compareJson),
    success: (t.success ?? []).map(opJson),
    failure: (t.failure ?? []).map(opJson),
  };
}

function putResult(o: Json): PutResult {
  return o.prev_kv === undefined ? { revision: header(o) } : { revision: header(o), prevKv: kv(o.prev_kv) };
}

function rangeResult(o: Json): RangeResult {
  return {
    kvs: ((o.kvs as unknown[] | undefined) ?? []).map(kv),
    count: num(o.count),
    more: o.more === true,
    revision: header(o),
  };
}

function deleteResult(o: Json): DeleteRangeResult {
  return {
    deleted: num(o.deleted),
    prevKvs: ((o.prev_kvs as unknown[] | undefined) ?? []).map(kv),
    revision: header(o),
  };
}

function txnResult(o: Json): TxnResult {
  const responses = ((o.responses as Json[] | undefined) ?? []).map((r): OpResponse => {
    if (r.response_put !== undefined) return { put: putResult(r.response_put as Json) };
    if (r.response_range !== undefined) return { range: rangeResult(r.response_range as Json) };
    if (r.response_delete_range !== undefined)
      return { deleteRange: deleteResult(r.response_delete_range as Json) };
    return { txn: txnResult(r.response_txn as Json) };
  });
  return { succeeded: o.succeeded === true, responses, revision: header(o) };
}

/** A flattened watch outcome: every event delivered, and how the watch ended. */
export interface WatchOutcome {
  readonly events: WatchEvent[];
  readonly canceled: boolean;
  readonly compactRevision: number;
}

export class EtcdGateway {
  private readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  private async call(path: string, body: Json): Promise<Json> {
    const r = await fetch(this.url + path, { method: 'POST', body: JSON.stringify(body) });
    const o = (await r.json()) as Json;
    if (typeof o.error === 'string') {
      const hit = ERRORS.find(([text]) => (o.error as string).includes(text));
      throw new EtcdError(hit === undefined ? 'UNKNOWN' : hit[1], o.error);
    }
    return o;
  }

  async put(p: PutRequest): Promise<PutResult> {
    return putResult(await this.call('/v3/kv/put', putJson(p)));
  }

  async range(r: RangeRequest): Promise<RangeResult> {
    return rangeResult(await this.call('/v3/kv/range', rangeJson(r)));
  }

  async deleteRange(key: Bytes, rangeEnd?: Bytes, prevKv?: boolean): Promise<DeleteRangeResult> {
    return deleteResult(await this.call('/v3/kv/deleterange', deleteJson(key, rangeEnd, prevKv)));
  }

  async txn(t: TxnRequest): Promise<TxnResult> {
    return txnResult(await this.call('/v3/kv/txn', txnJson(t)));
  }

  /** Physical compaction: waits until the backend has dropped the history, as the store does. */
  async compact(revision: number): Promise<void> {
    await this.call('/v3/kv/compaction', { revision, physical: true });
  }

  async grantLease(id: number, ttl: number): Promise<void> {
    await this.call('/v3/lease/grant', { ID: id, TTL: ttl });
  }

  /**
   * Opens a watch, collects its responses until it has reported `untilRevision` (or was
   * canceled), or `quietMs` passes without a response, then closes it.
   */
  async watch(req: WatchRequest, untilRevision: number, quietMs: number): Promise<WatchOutcome> {
    const ctl = new AbortController();
    const events: WatchEvent[] = [];
    let canceled = false;
    let compactRevision = 0;
    let timer = setTimeout(() => ctl.abort(), quietMs);
    const body = {
      create_request: {
        key: b64(req.key),
        ...(req.rangeEnd === undefined ? {} : { range_end: b64(req.rangeEnd) }),
        start_revision: req.startRevision ?? 0,
        prev_kv: req.prevKv ?? false,
        filters: (req.filters ?? []).map((f) => (f === 'noPut' ? 'NOPUT' : 'NODELETE')),
      },
    };
    try {
      const r = await fetch(`${this.url}/v3/watch`, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: ctl.signal,
      });
      const decoder = new TextDecoder();
      let buf = '';
      if (r.body === null) throw new Error('watch: no body');
      for await (const chunk of r.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          if (line === '') continue;
          const res = ((JSON.parse(line) as Json).result ?? {}) as Json;
          for (const e of (res.events as Json[] | undefined) ?? []) {
            const ev = { type: e.type === 'DELETE' ? 'delete' : 'put', kv: kv(e.kv) } as const;
            events.push(e.prev_kv === undefined ? ev : { ...ev, prevKv: kv(e.prev_kv) });
          }
          if (res.canceled === true) {
            canceled = true;
            compactRevision = num(res.compact_revision);
          }
          if (canceled || (res.created !== true && header(res) >= untilRevision)) {
            ctl.abort();
            break;
          }
          clearTimeout(timer);
          timer = setTimeout(() => ctl.abort(), quietMs);
        }
      }
    } catch (err) {
      if (!(err instanceof Error && err.name === 'AbortError')) throw err;
    } finally {
      clearTimeout(timer);
    }
    return { events, canceled, compactRevision };
  }
}
