/**
 * Model-based test: random sequences of put / deleteRange / txn (nested) / range at any
 * revision with every option / compact / watch / delivery, run on MvccStore and on the naive
 * model in ./model.ts, every result and error code compared.
 *
 * `pnpm test` runs a few hundred sequences; `MVCC_MODEL_RUNS=5000` (the package's
 * `test:model` script) runs thousands. A failure prints fast-check's seed and path; replay
 * with `MVCC_MODEL_SEED=<seed> MVCC_MODEL_PATH=<path>`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Compare,
  MvccError,
  MvccStore,
  type Op,
  type TxnRequest,
  type WatchEvent,
  type WatchResponse,
} from '@flotilla/mvcc';
import fc from 'fast-check';
import { b, manualScheduler, readable, s } from './helpers.js';
import {
  type ExpectedEvent,
  kvText,
  LEASES,
  type MCompare,
  type MKv,
  type MOp,
  Model,
  ModelError,
  type MPutOpts,
  type MRangeOpts,
  type MTxn,
} from './model.js';

const RUNS = Number(process.env.MVCC_MODEL_RUNS ?? 500);
const SEED = process.env.MVCC_MODEL_SEED === undefined ? undefined : Number(process.env.MVCC_MODEL_SEED);
const PATH = process.env.MVCC_MODEL_PATH;

// --- Generators --------------------------------------------------------------------------------

const key = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('a', 'b', 'c', 'ab', 'b\0', '\xff') },
  { weight: 1, arbitrary: fc.constant('') },
);
const end = fc.option(fc.constantFrom('\0', 'b', 'c', 'd', 'ab', '\xff', 'a', ''), { nil: undefined });
const value = fc.constantFrom('', 'x', 'y', 'zz', '\x80');
const lease = fc.constantFrom(0, 0, 0, 1, 2, 3);
/** A revision relative to the current one at run time (`back` revisions ago; -1 = future). */
type Rel = { back: number } | { abs: number } | undefined;
const rel: fc.Arbitrary<Rel> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.integer({ min: -1, max: 8 }).map((back) => ({ back })) },
  { weight: 1, arbitrary: fc.constantFrom(-1, -2).map((abs) => ({ abs })) },
);
const small = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: -1, max: 12 }) },
);

/** Mostly false: an ignore flag usually makes a put fail, which would leave the store empty. */
const rarely = fc.oneof(
  { weight: 9, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);
const putOpts: fc.Arbitrary<MPutOpts> = fc.record(
  { lease, prevKv: fc.boolean(), ignoreValue: rarely, ignoreLease: rarely },
  { requiredKeys: [] },
);
type GenRange = { key: string; rangeEnd?: string; rel: Rel } & Omit<MRangeOpts, 'revision'>;
const rangeReq: fc.Arbitrary<GenRange> = fc.record(
  {
    key,
    rangeEnd: end,
    rel,
    limit: fc.constantFrom(0, 0, 1, 2, 3, -1),
    sortOrder: fc.constantFrom('none', 'ascend', 'descend'),
    sortTarget: fc.constantFrom('key', 'version', 'createRevision', 'modRevision', 'value'),
    keysOnly: fc.boolean(),
    countOnly: fc.boolean(),
    minModRevision: small,
    maxModRevision: small,
    minCreateRevision: small,
    maxCreateRevision: small,
  },
  { requiredKeys: ['key', 'rel'] },
) as fc.Arbitrary<GenRange>;
const compare: fc.Arbitrary<MCompare> = fc.oneof(
  fc.record({
    key,
    rangeEnd: end,
    target: fc.constantFrom('version', 'createRevision', 'modRevision', 'lease'),
    result: fc.constantFrom('equal', 'notEqual', 'greater', 'less'),
    value: fc.integer({ min: 0, max: 10 }),
  }),
  fc.record({
    key,
    rangeEnd: end,
    target: fc.constant('value' as const),
    result: fc.constantFrom('equal', 'notEqual', 'greater', 'less'),
    value,
  }),
) as fc.Arbitrary<MCompare>;

type GenOp =
  | { put: { key: string; value: string } & MPutOpts }
  | { range: GenRange }
  | { deleteRange: { key: string; rangeEnd?: string; prevKv?: boolean } }
  | { txn: GenTxn };
type GenTxn = { compare: MCompare[]; success: GenOp[]; failure: GenOp[] };

const { txn: txnArb } = fc.letrec<{ txn: GenTxn; op: GenOp }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ put: fc.tuple(key, value, putOpts).map(([k, v, o]) => ({ key: k, value: v, ...o })) }),
    fc.record({ range: rangeReq }),
    fc.record({
      deleteRange: fc.record({ key, rangeEnd: end, prevKv: fc.boolean() }, { requiredKeys: ['key'] }),
    }),
    fc.record({ txn: tie('txn') as fc.Arbitrary<GenTxn> }),
  ),
  txn: fc.record({
    compare: fc.array(compare, { maxLength: 2 }),
    success: fc.array(tie('op') as fc.Arbitrary<GenOp>, { maxLength: 3 }),
    failure: fc.array(tie('op') as fc.Arbitrary<GenOp>, { maxLength: 2 }),
  }),
}));

type Step =
  | { kind: 'put'; key: string; value: string; opts: MPutOpts }
  | { kind: 'range'; req: GenRange }
  | { kind: 'delete'; key: string; end?: string; prevKv: boolean }
  | { kind: 'txn'; txn: GenTxn }
  | { kind: 'compact'; back: number }
  | {
      kind: 'watch';
      key: string;
      end?: string;
      start: 'now' | 'ahead' | number;
      prevKv: boolean;
      filter: 'none' | 'noPut' | 'noDelete';
    }
  | { kind: 'deliver' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(key, value, putOpts)
      .map(([k, v, opts]): Step => ({ kind: 'put', key: k, value: v, opts })),
  },
  { weight: 4, arbitrary: rangeReq.map((req): Step => ({ kind: 'range', req })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(key, end, fc.boolean())
      .map(([k, e, prevKv]): Step => ({ kind: 'delete', key: k, end: e, prevKv })),
  },
  { weight: 4, arbitrary: txnArb.map((txn): Step => ({ kind: 'txn', txn })) },
  // Multi-event revisions (several distinct keys in one txn) exercise whole-revision batching.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.subarray(['a', 'b', 'c', 'ab', 'b\0', '\xff'], { minLength: 2 }), value, fc.boolean())
      .map(
        ([keys, v, del]): Step => ({
          kind: 'txn',
          txn: {
            compare: [],
            success: keys.map((k, i) =>
              del && i === 0 ? { deleteRange: { key: k, rangeEnd: '\0' } } : { put: { key: k, value: v } },
            ),
            failure: [],
          },
        }),
      ),
  },
  { weight: 1, arbitrary: fc.integer({ min: -1, max: 6 }).map((back): Step => ({ kind: 'compact', back })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        key: fc.constantFrom('a', 'b', 'c', 'ab', '\xff', '\0'),
        end: fc.option(fc.constantFrom('\0', 'c', 'd', '\xff'), { nil: undefined }),
        start: fc.oneof(
          fc.constantFrom('now' as const, 'ahead' as const),
          fc.integer({ min: 0, max: 10 }),
          fc.integer({ min: 0, max: 10 }),
        ),
        prevKv: fc.boolean(),
        filter: fc.constantFrom('none', 'none', 'noPut', 'noDelete'),
      })
      .map((w): Step => ({ kind: 'watch', ...w })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'deliver' } as Step) },
);

// --- Running a sequence --------------------------------------------------------------------------

const resolveRev = (r: Rel, current: number): number =>
  r === undefined ? 0 : 'abs' in r ? r.abs : current - r.back;

/** The store's form of a generated range (bytes) and the model's form (strings, revision). */
function rangeFor(
  g: GenRange,
  current: number,
): { store: RangeArgs; model: { key: string; end?: string; opts: MRangeOpts } } {
  const { key: k, rangeEnd, rel: r, ...rest } = g;
  const opts: MRangeOpts = { ...rest, revision: resolveRev(r, current) };
  return {
    store: { key: b(k), ...(rangeEnd === undefined ? {} : { rangeEnd: b(rangeEnd) }), ...opts },
    model: { key: k, ...(rangeEnd === undefined ? {} : { end: rangeEnd }), opts },
  };
}
type RangeArgs = { key: Uint8Array; rangeEnd?: Uint8Array } & MRangeOpts;

function toStoreTxn(t: GenTxn, current: number): TxnRequest {
  const op = (o: GenOp): Op => {
    if ('put' in o) return { put: { ...o.put, key: b(o.put.key), value: b(o.put.value) } };
    if ('deleteRange' in o) {
      const d = o.deleteRange;
      return {
        deleteRange: {
          key: b(d.key),
          ...(d.rangeEnd === undefined ? {} : { rangeEnd: b(d.rangeEnd) }),
          prevKv: d.prevKv ?? false,
        },
      };
    }
    if ('range' in o) return { range: rangeFor(o.range, current).store };
    return { txn: toStoreTxn(o.txn, current) };
  };
  const cmp = (c: MCompare): Compare =>
    ({
      key: b(c.key),
      ...(c.rangeEnd === undefined ? {} : { rangeEnd: b(c.rangeEnd) }),
      target: c.target,
      result: c.result,
      value: typeof c.value === 'string' ? b(c.value) : c.value,
    }) as Compare;
  return { compare: t.compare.map(cmp), success: t.success.map(op), failure: t.failure.map(op) };
}

function toModelTxn(t: GenTxn, current: number): MTxn {
  const op = (o: GenOp): MOp => {
    if ('range' in o) {
      const m = rangeFor(o.range, current).model;
      return { range: { key: m.key, ...(m.end === undefined ? {} : { rangeEnd: m.end }), ...m.opts } };
    }
    if ('txn' in o) return { txn: toModelTxn(o.txn, current) };
    return o;
  };
  return { compare: t.compare, success: t.success.map(op), failure: t.failure.map(op) };
}

type Outcome = { ok: unknown } | { error: string };

function run(f: () => unknown, modelSide: boolean): Outcome {
  try {
    const r = f();
    return { ok: modelSide ? r : readable(r) };
  } catch (err) {
    if (err instanceof MvccError || err instanceof ModelError) return { error: err.code };
    throw err;
  }
}

function eventText(e: WatchEvent): { text: string; prev: string | undefined } {
  const kv = readable(e.kv) as MKv;
  const text = e.type === 'delete' ? `delete ${kv.key}@${kv.modRevision}` : `put ${kvText(kv)}`;
  return { text, prev: e.prevKv === undefined ? undefined : kvText(readable(e.prevKv) as MKv) };
}

interface OpenWatch {
  readonly label: string;
  readonly responses: WatchResponse[];
  readonly expected: () => ExpectedEvent[];
  /** The compacted revision when the watch was created, and compactions since. */
  readonly compactedAtStart: number;
  readonly startRevision: number;
  readonly compactionsBefore: number;
  readonly emptyRange: boolean;
}

/** Checks one watch's deliveries against the model (see the README's watch notes). */
function checkWatch(w: OpenWatch, model: Model): void {
  const got = w.responses.flatMap((r) => r.events.map(eventText));
  const want = w.expected();
  const canceled = w.responses.at(-1)?.canceled === true;
  const laterCompaction = model.compactions.length > w.compactionsBefore;
  if (w.emptyRange) {
    // etcd: "watcher range is empty": one canceled response, through the listener.
    assert.equal(w.responses.length, 1, w.label);
    assert.equal(canceled, true, w.label);
    assert.match(w.responses[0]?.cancelReason ?? '', /range is empty/);
    return;
  }
  // Responses are in revision order and never split a revision.
  let last = 0;
  for (const r of w.responses) {
    assert.ok(
      w.responses.indexOf(r) === w.responses.length - 1 || r.canceled !== true,
      `${w.label}: response after cancel`,
    );
    if (r.events.length === 0) continue;
    const first = r.events[0]?.kv.modRevision ?? 0;
    assert.ok(first > last, `${w.label}: revision ${first} split or out of order`);
    last = r.events.at(-1)?.kv.modRevision ?? 0;
  }
  if (!laterCompaction) {
    // Nothing was compacted after the watch started: the outcome is exact.
    if (w.startRevision < w.compactedAtStart) {
      assert.deepEqual(got, [], w.label);
      assert.equal(canceled, true, `${w.label}: must be canceled`);
      assert.equal(w.responses.at(-1)?.compactRevision, w.compactedAtStart);
      return;
    }
    assert.equal(canceled, false, `${w.label}: canceled without cause`);
    // A replay of the compacted revision itself lacks what compaction dropped (deletes), and
    // etcd reads prevKv at revision - 1, so there is none when that revision is compacted.
    assert.deepEqual(
      got,
      want
        .filter((e) => !(e.droppable && e.revision === model.compacted))
        .map((e) => ({ text: e.text, prev: e.revision - 1 < model.compacted ? undefined : e.prev })),
      w.label,
    );
    return;
  }
  // Compaction raced the watch: deliveries are the expected events in order, where events
  // compaction drops may be missing if replayed after it, prevKv may be missing when its
  // revision was compacted, and a watch whose position was compacted ends canceled.
  if (canceled)
    assert.ok(
      model.compactions.includes(w.responses.at(-1)?.compactRevision ?? -5),
      `${w.label}: bad compactRevision`,
    );
  let j = 0;
  const skippable = (e: ExpectedEvent): boolean => e.droppable && model.compactions.includes(e.revision);
  for (const g of got) {
    while (j < want.length && (want[j] as ExpectedEvent).text !== g.text) {
      assert.ok(
        skippable(want[j] as ExpectedEvent),
        `${w.label}: missing ${(want[j] as ExpectedEvent).text} before ${g.text}`,
      );
      j++;
    }
    const e = want[j];
    assert.ok(e !== undefined, `${w.label}: unexpected ${g.text}`);
    if (g.prev !== e.prev) {
      assert.ok(
        g.prev === undefined && e.revision - 1 < model.compacted,
        `${w.label}: prevKv of ${g.text}: ${g.prev} vs ${e.prev}`,
      );
    }
    j++;
  }
  if (!canceled) {
    for (; j < want.length; j++)
      assert.ok(
        skippable(want[j] as ExpectedEvent),
        `${w.label}: never delivered ${(want[j] as ExpectedEvent).text}`,
      );
  }
}

function runSequence(steps: readonly Step[], bufferEvents: number): void {
  const sched = manualScheduler();
  const store = new MvccStore({
    schedule: sched.schedule,
    watchBufferEvents: bufferEvents,
    leaseExists: (id) => LEASES.has(id),
  });
  const model = new Model();
  const watches: OpenWatch[] = [];
  steps.forEach((st, i) => {
    const current = model.revision;
    let ours: Outcome;
    let theirs: Outcome;
    switch (st.kind) {
      case 'put':
        ours = run(() => store.put(b(st.key), b(st.value), st.opts), false);
        theirs = run(() => model.put(st.key, st.value, st.opts), true);
        break;
      case 'range': {
        const r = rangeFor(st.req, current);
        ours = run(() => store.range(r.store.key, r.store.rangeEnd, r.store), false);
        theirs = run(() => model.range(r.model.key, r.model.end, r.model.opts), true);
        break;
      }
      case 'delete':
        ours = run(
          () =>
            store.deleteRange(b(st.key), st.end === undefined ? undefined : b(st.end), { prevKv: st.prevKv }),
          false,
        );
        theirs = run(() => model.deleteRange(st.key, st.end, st.prevKv), true);
        break;
      case 'txn':
        ours = run(() => store.txn(toStoreTxn(st.txn, current)), false);
        theirs = run(() => model.txn(toModelTxn(st.txn, current)), true);
        break;
      case 'compact':
        ours = run(() => store.compact(current - st.back), false);
        theirs = run(() => model.compact(current - st.back), true);
        break;
      case 'watch': {
        const start =
          st.start === 'now' ? 0 : st.start === 'ahead' ? current + 2 : Math.max(1, current - st.start);
        const responses: WatchResponse[] = [];
        const filters = st.filter === 'none' ? [] : [st.filter];
        store.watch(
          {
            key: b(st.key),
            ...(st.end === undefined ? {} : { rangeEnd: b(st.end) }),
            startRevision: start,
            prevKv: st.prevKv,
            filters,
          },
          (r) => {
            responses.push(r);
          },
        );
        const from = start === 0 ? current + 1 : start;
        watches.push({
          label: `watch #${watches.length} at step ${i} ${JSON.stringify({ ...st, start })}`,
          responses,
          expected: () =>
            model.expectedEvents(
              st.key,
              st.end,
              from,
              st.prevKv,
              st.filter === 'noPut',
              st.filter === 'noDelete',
            ),
          compactedAtStart: model.compacted,
          startRevision: from,
          compactionsBefore: model.compactions.length,
          emptyRange: st.end !== undefined && st.end !== '\0' && st.end <= st.key,
        });
        return;
      }
      default:
        sched.run();
        return;
    }
    assert.deepEqual(ours, theirs, `step ${i}: ${JSON.stringify(st)}`);
    assert.equal(store.revision, model.revision, `step ${i}: revision`);
    assert.equal(store.compactRevision, Math.max(0, model.compacted), `step ${i}: compactRevision`);
  });
  sched.run();
  for (const w of watches) checkWatch(w, model);
  // Every retained revision reads the same as the model's map, and a snapshot round-trips it.
  const copy = MvccStore.restore(store.snapshot());
  assert.deepEqual(copy.snapshot(), store.snapshot());
  for (let rev = Math.max(1, model.compacted); rev <= model.revision; rev++) {
    const want = model.range('\0', '\0', { revision: rev }).kvs;
    assert.deepEqual(readable(copy.range(b('\0'), b('\0'), { revision: rev }).kvs), want, `revision ${rev}`);
  }
  assert.equal(copy.hashKV().hash, store.hashKV().hash);
  for (const leaseId of [1, 2, 3]) {
    const want = model
      .range('\0', '\0', {})
      .kvs.filter((kv) => kv.lease === leaseId)
      .map((kv) => kv.key);
    assert.deepEqual(store.leaseKeys(leaseId).map(s), want, `lease ${leaseId}`);
  }
}

test(`model-based: ${RUNS} random sequences agree with the naive model`, () => {
  fc.assert(
    fc.property(
      fc.array(step, { minLength: 1, maxLength: 40 }),
      fc.constantFrom(1, 2, 3, 1024),
      (steps, bufferEvents) => {
        runSequence(steps, bufferEvents);
      },
    ),
    {
      numRuns: RUNS,
      includeErrorInReport: true,
      ...(SEED === undefined ? {} : { seed: SEED }),
      ...(PATH === undefined ? {} : { path: PATH }),
    },
  );
});
