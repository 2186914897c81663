import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { NetworkMessage } from '@flotilla/raft';
import { everyMessageType, heartbeat } from '@flotilla/replica/testing';
import { TcpTransportError } from '@flotilla/transport-tcp';
import {
  Codec,
  checkBatch,
  FrameDecoder,
  isNetworkMessage,
  readBin,
  SnapshotReceiver,
} from '@flotilla/transport-tcp/wire';
import fc from 'fast-check';
import { type Node, RawClient, seqs, startNode, WAIT_MS } from './helpers.js';

const codec = new Codec();

/** Splits `bytes` at the given cut points (sorted, deduplicated, in range). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

test('property: frames survive any split of the byte stream', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(
          payloads.map((p) => {
            const h = Buffer.alloc(4);
            h.writeUInt32BE(p.length);
            return Buffer.concat([h, p]);
          }),
        );
        const decoder = new FrameDecoder(1024);
        const got: Buffer[] = [];
        for (const piece of split(stream, cuts)) got.push(...decoder.push(piece));
        assert.deepEqual(
          got.map((b) => Buffer.from(b).toString('hex')),
          payloads.map((p) => Buffer.from(p).toString('hex')),
        );
        assert.equal(decoder.midFrame, false);
      },
    ),
  );
});

/** Runs bytes through everything the receiver does; returns what would reach Raft. */
function receive(bytes: Buffer, cuts: number[]): NetworkMessage[] {
  const decoder = new FrameDecoder(4096);
  const delivered: NetworkMessage[] = [];
  try {
    for (const piece of split(bytes, cuts)) {
      for (const payload of decoder.push(piece)) {
        const batch = checkBatch(codec.decode(payload), 1, 2);
        if (typeof batch === 'string') return delivered;
        delivered.push(...batch);
      }
    }
  } catch (err) {
    // The only acceptable failure: a typed transport error (the connection would close).
    assert.ok(err instanceof TcpTransportError, `unexpected ${String(err)}`);
  }
  return delivered;
}

test('property: random bytes never throw anything but a transport error, and never yield a bad message', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      for (const m of receive(Buffer.from(bytes), cuts)) assert.ok(isNetworkMessage(m));
    }),
    { numRuns: 2000 },
  );
});

test('property: mutated valid frames never throw anything but a transport error', () => {
  const valid = codec.frame(everyMessageType(1, 2));
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.nat(valid.length - 1), byte: fc.integer({ min: 0, max: 255 }) }), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.nat(valid.length),
      (mutations, truncate) => {
        const bytes = Buffer.from(valid);
        for (const { at, byte } of mutations) bytes[at] = byte;
        const delivered = receive(bytes.subarray(0, Math.max(truncate, 4)), []);
        for (const m of delivered) assert.ok(isNetworkMessage(m) && m.from === 1 && m.to === 2);
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: snapshot chunk frames and headers are checked, never trusted', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), (frames) => {
      const r = new SnapshotReceiver(1, 2, 1000, codec);
      try {
        for (const f of frames) r.onFrame(Buffer.from(f));
      } catch (err) {
        assert.ok(err instanceof TcpTransportError, `unexpected ${String(err)}`);
      }
      assert.ok(r.progress.received <= r.progress.size);
    }),
    { numRuns: 1000 },
  );
  assert.throws(() => readBin(Buffer.from([0xc4, 5, 1])), TcpTransportError);
  assert.equal(readBin(Buffer.from([0xc5, 0, 2, 7, 8])).toString('hex'), '0708');
});

test('a decoder that failed refuses further input', () => {
  const d = new FrameDecoder(10);
  assert.throws(() => d.push(Buffer.from([0, 0, 0, 11])), { code: 'FRAME_TOO_LARGE' });
  assert.throws(() => d.push(Buffer.from([0])), { code: 'MALFORMED_FRAME' });
});

const nodes: Node[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.t.close()));
});

test('property: a live transport survives random bytes after a valid handshake', async () => {
  const b = await startNode(2, { maxFrameBytes: 4096 });
  nodes.push(b);
  b.t.addPeer(1, '127.0.0.1:9');
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
      const c = await RawClient.connect(b.t.port);
      c.hello(1, 2);
      await c.reply();
      c.socket.write(bytes);
      // Whatever the bytes, the connection either closes or delivers only valid messages.
      c.socket.end();
      await c.closed;
      for (const m of b.inbox.messages) assert.ok(isNetworkMessage(m));
    }),
    { numRuns: 40 },
  );
  // And it still serves a well-behaved peer.
  const ok = await RawClient.connect(b.t.port);
  ok.hello(1, 2);
  await ok.reply();
  ok.send([heartbeat(1, 2, 4242)]);
  await b.inbox.until(() => seqs(b.inbox, 1).includes(4242), 'valid traffic after the fuzzing', WAIT_MS);
  ok.destroy();
});
