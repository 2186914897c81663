/**
 * Fuzzing the server with fast-check: random bytes, random msgpack values and random messages,
 * before and after the handshake. Whatever arrives, the server answers with a typed error or
 * closes that connection, never throws, and keeps serving well-behaved clients. A failure
 * prints fast-check's seed and path; replay with `{ seed, path }` in `fc.assert`'s options.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KvClient } from '@flotilla/kv/client';
import { METHODS } from '@flotilla/kv/client';
import fc from 'fast-check';
import { Cluster } from './helpers.js';
import { RawConn } from './raw-conn.js';

/** Methods the fuzzer may call with random bodies (membership changes and compaction excluded). */
const SAFE_METHODS = Object.keys(METHODS)
  .filter((m) => !m.startsWith('member') || m === 'memberList')
  .filter((m) => m !== 'compact');

describe('server fuzzing', () => {
  let cluster: Cluster;
  let probe: KvClient;
  before(async () => {
    cluster = await Cluster.start({ size: 1, server: { handshakeTimeoutMs: 500 } });
    await cluster.leader();
    probe = await cluster.client();
  });
  after(() => cluster.close());

  /** The server still answers a normal client. */
  async function alive(): Promise<void> {
    const r = await probe.status({ timeoutMs: 2000 });
    assert.equal(r.header.memberId, 1);
  }

  test('random bytes before or after the handshake', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        async (handshake, bytes) => {
          const c = handshake
            ? await RawConn.ready(cluster.endpoint(1))
            : await RawConn.open(cluster.endpoint(1));
          c.socket.write(bytes);
          c.close();
          await alive();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('random msgpack values as frames, as hellos and as batches', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('hello', 'frame', 'batch'), fc.anything(), async (where, value) => {
        const c =
          where === 'hello'
            ? await RawConn.open(cluster.endpoint(1))
            : await RawConn.ready(cluster.endpoint(1));
        c.send(where === 'batch' ? [value] : value);
        c.send([{ t: 'call', id: 1_000_000, m: 'status', a: {}, d: 2000 }]);
        // Either the status call is answered (the junk was refused or ignored) or the connection
        // closes: both are fine; hanging or crashing is not.
        const answer = await Promise.race([c.answer(1_000_000), c.closed.then(() => undefined)]);
        if (answer !== undefined) assert.ok(answer.t === 'ok' || answer.t === 'err');
        c.close();
        await alive();
      }),
      { numRuns: 80 },
    );
  });

  test('random messages: every one with a usable id is answered (ok or a typed err), or the connection closes', async () => {
    const message = fc.record(
      {
        t: fc.constantFrom('call', 'open', 'send', 'close', 'nope'),
        id: fc.oneof(fc.nat({ max: 1000 }), fc.anything()),
        m: fc.oneof(fc.constantFrom(...SAFE_METHODS, 'watch', 'leaseKeepAlive', 'snapshot'), fc.anything()),
        a: fc.oneof(
          fc.anything(),
          fc.record({ key: fc.oneof(fc.string(), fc.uint8Array(), fc.anything()), value: fc.anything() }),
        ),
        d: fc.oneof(fc.constant(undefined), fc.integer(), fc.double(), fc.anything()),
      },
      { requiredKeys: ['t'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 8 }), async (batch) => {
        const c = await RawConn.ready(cluster.endpoint(1));
        c.send(batch);
        c.send([{ t: 'call', id: 2_000_000, m: 'status', a: {}, d: 2000 }]);
        await Promise.race([c.answer(2_000_000), c.closed]);
        c.close();
        await alive();
      }),
      { numRuns: 80 },
    );
  });
});
