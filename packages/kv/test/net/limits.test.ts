/**
 * The server's limits and its handling of clients that break the protocol: typed errors for
 * requests over a limit, a goaway and a closed connection for a broken byte stream, and the
 * server itself never affected (the next client is served as usual).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { DEFAULT_MAX_REQUEST_BYTES } from '@flotilla/kv';
import { KvClient } from '@flotilla/kv/client';
import { Cluster } from './helpers.js';
import { RawConn } from './raw-conn.js';

/** The error code of the answer to request `id` on `c`. */
async function code(c: RawConn, id: number): Promise<string | undefined> {
  const a = await c.answer(id);
  return (a?.e as { code?: string } | undefined)?.code;
}

describe('limits', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await Cluster.start({ size: 1, server: { maxStreams: 2, maxInflight: 4 } });
    await cluster.leader();
  });
  after(() => cluster.close());

  test("requests over etcd's 1.5 MiB limit get REQUEST_TOO_LARGE and change nothing; the connection stays", async () => {
    const client = await cluster.client();
    const rev = (await client.get('big')).header.revision;
    // Over the request limit but within a frame: the member refuses it.
    const over = new Uint8Array(DEFAULT_MAX_REQUEST_BYTES);
    await assert.rejects(client.put('big', over), (e: unknown) => isFlotillaError(e, 'REQUEST_TOO_LARGE'));
    // Larger than any frame the member accepts: the client refuses it without sending.
    const huge = new Uint8Array(3 * 1024 * 1024);
    await assert.rejects(client.put('big', huge), (e: unknown) => isFlotillaError(e, 'REQUEST_TOO_LARGE'));
    assert.equal((await client.get('big')).header.revision, rev);
    // Just under the limit is fine.
    const fits = new Uint8Array(DEFAULT_MAX_REQUEST_BYTES - 1024);
    const ok = await client.put('big', fits);
    assert.equal((await client.get('big')).kvs[0]?.value.byteLength, fits.byteLength);
    assert.ok(ok.header.revision > rev);
  });

  test('more requests in flight than the server allows get TOO_MANY_REQUESTS, the rest are served', async () => {
    const client = await cluster.client();
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => client.put(`many/${i}`, 'v')),
    );
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'ok' : isFlotillaError(r.reason) ? r.reason.code : '?',
    );
    assert.ok(codes.includes('ok'));
    assert.ok(codes.includes('TOO_MANY_REQUESTS'), codes.join(','));
    assert.ok(
      codes.every((c) => c === 'ok' || c === 'TOO_MANY_REQUESTS'),
      codes.join(','),
    );
  });

  test('more streams than the server allows: the extra watch ends canceled with TOO_MANY_REQUESTS', async () => {
    const client = await cluster.client();
    const w1 = client.watch({ key: 's1' });
    const w2 = client.watch({ key: 's2' });
    await Promise.all([w1.ready, w2.ready]);
    const w3 = client.watch({ key: 's3' });
    const r = await w3[Symbol.asyncIterator]().next();
    assert.equal(r.value?.canceled, true);
    assert.match(r.value?.cancelReason ?? '', /^TOO_MANY_REQUESTS/);
    w1.cancel();
    w2.cancel();
  });

  test('malformed messages with a usable id get INVALID_ARGUMENT; the connection stays', async () => {
    const c = await RawConn.ready(cluster.endpoint(1));
    try {
      c.send([{ t: 'call', id: 1, m: 'nope', a: {} }]);
      assert.equal(await code(c, 1), 'INVALID_ARGUMENT');
      c.send([{ t: 'call', id: 2, m: 'put', a: 'not an object', d: 1000 }]);
      assert.equal(await code(c, 2), 'INVALID_ARGUMENT');
      c.send([{ t: 'call', id: 3, m: 'put', a: { key: 'k', value: 'v' }, d: -1 }]);
      assert.equal(await code(c, 3), 'INVALID_ARGUMENT');
      c.send([{ t: 'whatever', id: 4 }]);
      assert.equal(await code(c, 4), 'INVALID_ARGUMENT');
      c.send([{ t: 'open', id: 5, m: 'nope' }]);
      assert.equal(await code(c, 5), 'INVALID_ARGUMENT');
      c.send([{ t: 'call', id: 6, m: 'put', a: { key: 'raw', value: 'v' }, d: 1000 }]);
      assert.equal((await c.answer(6))?.t, 'ok');
    } finally {
      c.close();
    }
  });

  test('a broken byte stream gets a goaway naming the problem, then the connection closes', async () => {
    // A frame header announcing more than the limit.
    const big = await RawConn.ready(cluster.endpoint(1));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024, 0);
    big.socket.write(header);
    const goaway = (await big.next()) as { t: string; e: { code: string } }[] | undefined;
    assert.equal(goaway?.[0]?.e.code, 'REQUEST_TOO_LARGE');
    await big.closed;
    // Not a batch.
    const notBatch = await RawConn.ready(cluster.endpoint(1));
    notBatch.send({ t: 'call', id: 1 });
    assert.equal(
      ((await notBatch.next()) as { e: { code: string } }[] | undefined)?.[0]?.e.code,
      'PROTOCOL_ERROR',
    );
    await notBatch.closed;
    // A message without an id.
    const noId = await RawConn.ready(cluster.endpoint(1));
    noId.send([{ t: 'call', m: 'put' }]);
    await noId.closed;
    // Bytes that are not msgpack.
    const junk = await RawConn.ready(cluster.endpoint(1));
    junk.socket.write(Buffer.from([0, 0, 0, 1, 0xc1]));
    await junk.closed;
    // The server is fine.
    const client = await cluster.client();
    assert.ok((await client.put('still', 'up')).header.revision > 0);
  });

  test('handshake: wrong version or cluster is refused with a reason; silence times out', async () => {
    const v = await RawConn.open(cluster.endpoint(1));
    v.send({ t: 'hello', v: 99, maxFrameBytes: 1 << 20 });
    assert.deepEqual(((await v.next()) as { e: { code: string } }).e.code, 'VERSION_MISMATCH');
    await v.closed;
    const garbage = await RawConn.open(cluster.endpoint(1));
    garbage.send([1, 2, 3]);
    assert.deepEqual(((await garbage.next()) as { e: { code: string } }).e.code, 'PROTOCOL_ERROR');
    await garbage.closed;
    const other = await Cluster.start({ size: 1, server: { clusterId: 'prod', handshakeTimeoutMs: 200 } });
    try {
      await assert.rejects(
        KvClient.connect({ endpoints: other.endpoints, clusterId: 'staging' }),
        (e: unknown) => isFlotillaError(e, 'UNAVAILABLE') && /CLUSTER_MISMATCH/.test(e.message),
      );
      const ok = await KvClient.connect({ endpoints: other.endpoints, clusterId: 'prod' });
      await ok.close();
      const silent = await RawConn.open(other.endpoint(1));
      await silent.closed; // closed by the server after handshakeTimeoutMs
    } finally {
      await other.close();
    }
  });
});
