import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Entry, NetworkMessage } from '@flotilla/raft';
import { heartbeat } from '@flotilla/replica/testing';
import { Codec, checkBatch } from '@flotilla/transport-tcp/wire';
import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { type Node, RawClient, seqs, startNode, WAIT_MS } from './helpers.js';

/** Entries as plain comparable data (decoded binary fields are Buffers). */
function plain(entries: readonly Entry[]): unknown[] {
  return entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString('hex') }));
}

function app(to: number, entries: readonly Entry[], commit = 0): NetworkMessage {
  return { type: 'app', from: 1, to, term: 3, index: 4, logTerm: 3, entries, commit };
}

const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: fc.nat({ max: 1000 }),
  index: fc.nat({ max: 1_000_000 }),
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: fc.uint8Array({ maxLength: 64 }),
});

test("property: a leader's frames to every follower decode to the entries it sent, small appends and large", () => {
  fc.assert(
    fc.property(
      fc.array(entryArb, { maxLength: 40 }),
      fc.integer({ min: 1, max: 4 }),
      fc.nat({ max: 3 }),
      (entries, followers, extraHeartbeats) => {
        const codec = new Codec();
        for (let to = 2; to < 2 + followers; to++) {
          const batch: NetworkMessage[] = [app(to, entries.slice(), 7)];
          for (let k = 0; k < extraHeartbeats; k++) batch.push({ ...heartbeat(1, to, k), term: 3 });
          const { frames, oversized } = codec.frames(batch, 1 << 20);
          assert.equal(oversized.length, 0);
          const got = frames.flatMap((f) => {
            const b = checkBatch(codec.decode(f.subarray(4)), 1, to);
            assert.ok(typeof b !== 'string', String(b));
            return b;
          });
          assert.equal(got.length, batch.length);
          const first = got[0];
          assert.ok(first !== undefined && first.type === 'app');
          assert.deepEqual(plain(first.entries), plain(entries));
          assert.equal(first.commit, 7);
        }
      },
    ),
  );
});

test('the followers of one Ready share one encoding of a large append, and a new run is encoded anew', () => {
  const codec = new Codec();
  const mk = (base: number): Entry[] =>
    Array.from({ length: 32 }, (_, i) => ({
      term: 3,
      index: base + i,
      type: 'normal' as const,
      data: new Uint8Array(100).fill(i),
    }));
  const run = mk(5);
  const [to2] = codec.frames([app(2, run.slice())], 1 << 20).frames;
  const [to3] = codec.frames([app(3, run.slice())], 1 << 20).frames;
  assert.ok(to2 !== undefined && to3 !== undefined);
  // On the wire (a plain msgpack decoder's view): the same entries bytes in both frames.
  const raw = new Unpackr();
  const e2 = (raw.unpack(to2.subarray(4)) as Array<{ entries: unknown }>)[0]?.entries;
  const e3 = (raw.unpack(to3.subarray(4)) as Array<{ entries: unknown }>)[0]?.entries;
  assert.ok(e2 instanceof Uint8Array && e3 instanceof Uint8Array);
  assert.deepEqual(Buffer.from(e2), Buffer.from(e3));
  // A small append carries its entries inline, as an array.
  const [small] = codec.frames([app(2, run.slice(0, 3))], 1 << 20).frames;
  assert.ok(
    Array.isArray((raw.unpack((small as Buffer).subarray(4)) as Array<{ entries: unknown }>)[0]?.entries),
  );
  const other = mk(37);
  const [next] = codec.frames([app(2, other)], 1 << 20).frames;
  assert.ok(next !== undefined);
  const decoded = codec.decode(next.subarray(4)) as NetworkMessage[];
  const m = decoded[0];
  assert.ok(m?.type === 'app');
  assert.deepEqual(plain(m.entries), plain(other));
  // A run with the same first and last entries but another length is another run.
  const shorter = [run[0] as Entry, ...run.slice(2)];
  const [s] = codec.frames([app(2, shorter)], 1 << 20).frames;
  const sm = (codec.decode((s as Buffer).subarray(4)) as NetworkMessage[])[0];
  assert.ok(sm?.type === 'app');
  assert.deepEqual(plain(sm.entries), plain(shorter));
});

test('a frame of many large appends decodes, each run expanded on its own', () => {
  const codec = new Codec();
  const entries = Array.from({ length: 16 }, (_, i) => ({
    term: 1,
    index: i + 1,
    type: 'normal' as const,
    data: new Uint8Array(8),
  }));
  const batch = Array.from({ length: 2000 }, () => app(2, entries));
  const [frame] = codec.frames(batch, 1 << 26).frames;
  assert.ok(frame !== undefined);
  const got = codec.decode(frame.subarray(4)) as NetworkMessage[];
  assert.equal(got.length, 2000);
  assert.ok(got.every((m) => m.type === 'app' && m.entries.length === 16));
});

const nodes: Node[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.t.close()));
});

test('undecodable entry bytes close the connection as a malformed frame; nothing reaches Raft', async () => {
  const b = await startNode(2);
  nodes.push(b);
  b.t.addPeer(1, '127.0.0.1:9');
  const c = await RawClient.connect(b.t.port);
  c.hello(1, 2);
  await c.reply();
  c.send([
    {
      type: 'app',
      from: 1,
      to: 2,
      term: 1,
      index: 0,
      logTerm: 0,
      entries: Buffer.from([0x92, 0x01]),
      commit: 0,
    },
  ]);
  await c.closed;
  const l = await b.log.until((x) => x.fields?.code === 'MALFORMED_FRAME', 'malformed entries refused');
  assert.match(l.message, /undecodable/);
  // Entry bytes that decode to something other than entries fail the shape checks.
  const d = await RawClient.connect(b.t.port);
  d.hello(1, 2);
  await d.reply();
  d.send([
    { type: 'app', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: Buffer.from([0x05]), commit: 0 },
  ]);
  await d.closed;
  assert.equal(b.inbox.messages.length, 0);
  // A well-formed batch still gets through on a new connection.
  const ok = await RawClient.connect(b.t.port);
  ok.hello(1, 2);
  await ok.reply();
  ok.send([heartbeat(1, 2, 9)]);
  await b.inbox.until(() => seqs(b.inbox, 1).includes(9), 'a valid batch', WAIT_MS);
  ok.destroy();
});
