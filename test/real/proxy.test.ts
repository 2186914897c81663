/**
 * The real mode's fault-injecting peer proxy, against a fake dialer and acceptor speaking the
 * TCP transport's framing (4-byte length + msgpack; a `hello` first). Delays run on a
 * `SimClock`, so nothing here depends on how fast the machine is; "not delivered" is shown by a
 * later frame on the same stream arriving first.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, test } from 'node:test';
import { SimClock } from '@flotilla/replica/testing';
import { Packr, Unpackr } from 'msgpackr';
import { PeerProxy } from '../src/real/proxy.js';

const packr = new Packr();
const unpackr = new Unpackr();

function frame(value: unknown): Buffer {
  const body = packr.pack(value) as Buffer;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into decoded frames. */
function deframer(onValue: (v: unknown) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const n = buf.readUInt32BE(0);
      onValue(unpackr.unpack(buf.subarray(4, 4 + n)));
      buf = buf.subarray(4 + n);
    }
  };
}

/** Resolves once `pred` holds (checked on every turn of the event loop), or rejects after 5 s. */
async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** A fake acceptor (member 2): answers a hello with a welcome, records every frame per dialer. */
class Acceptor {
  readonly server: Server;
  readonly received: { from: number; value: unknown }[] = [];
  accepted = 0;
  readonly sockets = new Set<Socket>();
  address = '';

  constructor() {
    this.server = createServer((s) => {
      this.accepted++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
      let from = 0;
      s.on(
        'data',
        deframer((v) => {
          const o = v as { t?: string; from?: number };
          if (o.t === 'hello') {
            from = o.from ?? 0;
            s.write(frame({ t: 'welcome', v: 1, cluster: 'c', id: 2 }));
          } else this.received.push({ from, value: v });
        }),
      );
    });
  }

  start(): Promise<void> {
    return new Promise((resolve) =>
      this.server.listen({ host: '127.0.0.1', port: 0 }, () => {
        const a = this.server.address();
        this.address = `127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
        resolve();
      }),
    );
  }

  values(from: number): unknown[] {
    return this.received.filter((r) => r.from === from).map((r) => r.value);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A fake dialer: connects to the proxy as member `from`, says hello, sends frames. */
class Dialer {
  readonly socket: Socket;
  welcomed = false;
  closed = false;

  constructor(address: string, from: number, kind: 'raft' | 'snap' = 'raft') {
    const [host, port] = address.split(':');
    this.socket = tcpConnect({ host, port: Number(port) });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on(
      'data',
      deframer((v) => {
        if ((v as { t?: string }).t === 'welcome') this.welcomed = true;
      }),
    );
    this.socket.write(frame({ t: 'hello', v: 1, cluster: 'c', from, to: 2, kind }));
  }

  send(value: unknown): void {
    this.socket.write(frame(value));
  }

  close(): void {
    this.socket.destroy();
  }
}

let acceptor: Acceptor;
before(async () => {
  acceptor = new Acceptor();
  await acceptor.start();
});
after(() => acceptor.close());

async function withProxy(
  body: (proxy: PeerProxy, address: string, clock: SimClock) => Promise<void>,
  random: () => number = () => 0.5,
): Promise<void> {
  const clock = new SimClock();
  const proxy = new PeerProxy({ clock, random });
  const address = await proxy.listen(2, acceptor.address);
  try {
    await body(proxy, address, clock);
  } finally {
    await proxy.close();
  }
}

test('forwards the hello, the frames in order and the answers back', async () => {
  await withProxy(async (proxy, address) => {
    const d = new Dialer(address, 11);
    await until(() => d.welcomed, 'the welcome');
    for (let i = 0; i < 5; i++) d.send({ n: i });
    await until(() => acceptor.values(11).length === 5, 'five frames');
    assert.deepEqual(
      acceptor.values(11),
      [0, 1, 2, 3, 4].map((n) => ({ n })),
    );
    assert.equal(proxy.stats.connections, 1);
    assert.equal(proxy.stats.framesForwarded, 5);
    d.close();
  });
});

test('a cut link refuses and closes its connections, one direction only, until healed', async () => {
  await withProxy(async (proxy, address) => {
    const a = new Dialer(address, 21);
    const b = new Dialer(address, 23);
    await until(() => a.welcomed && b.welcomed, 'both welcomes');
    proxy.cut(21, 2);
    await until(() => a.closed, 'the cut connection to close');
    assert.equal(b.closed, false, 'the other link is untouched');
    assert.ok(proxy.isCut(21, 2) && !proxy.isCut(2, 21), 'one direction only');
    const acceptedBefore = acceptor.accepted;
    const again = new Dialer(address, 21);
    await until(() => again.closed, 'a new connection on the cut link to be closed');
    assert.equal(again.welcomed, false);
    assert.equal(acceptor.accepted, acceptedBefore, 'it never reached the member');
    b.send({ still: 'flowing' });
    await until(() => acceptor.values(23).length === 1, 'the other link to deliver');
    proxy.heal();
    const healed = new Dialer(address, 21);
    await until(() => healed.welcomed, 'a welcome after healing');
    healed.send({ after: 'heal' });
    await until(
      () => acceptor.values(21).some((v) => (v as { after?: string }).after === 'heal'),
      'delivery',
    );
    assert.ok(proxy.stats.cutConnections >= 2);
    b.close();
    healed.close();
  });
});

test('partition and isolate cut every link between the groups, both ways', async () => {
  const proxy = new PeerProxy();
  try {
    proxy.partition([
      [1, 2],
      [3, 4, 5],
    ]);
    assert.ok(proxy.isCut(1, 3) && proxy.isCut(3, 1) && proxy.isCut(5, 2));
    assert.ok(!proxy.isCut(1, 2) && !proxy.isCut(3, 4));
    proxy.heal();
    proxy.isolate(4, [1, 2, 3, 4, 5]);
    assert.ok(proxy.isCut(4, 1) && proxy.isCut(1, 4) && proxy.isCut(5, 4));
    assert.ok(!proxy.isCut(1, 2));
  } finally {
    await proxy.close();
  }
});

test('loss drops frames and duplication sends them twice', async () => {
  await withProxy(async (proxy, address) => {
    const d = new Dialer(address, 31);
    await until(() => d.welcomed, 'the welcome');
    proxy.setLoss(1);
    d.send({ lost: 1 });
    d.send({ lost: 2 });
    await until(() => proxy.stats.framesDropped === 2, 'two drops');
    proxy.setLoss(0);
    proxy.setDuplicate(1);
    d.send({ twice: true });
    await until(() => acceptor.values(31).length === 2, 'the duplicate');
    proxy.setDuplicate(0);
    d.send({ once: true });
    await until(() => acceptor.values(31).length === 3, 'the last frame');
    assert.deepEqual(acceptor.values(31), [{ twice: true }, { twice: true }, { once: true }]);
    d.close();
  });
});

test('delay holds frames on the injected clock; unequal delays reorder them', async () => {
  const draws = [1, 0];
  let i = 0;
  await withProxy(
    async (proxy, address, clock) => {
      const d = new Dialer(address, 41);
      await until(() => d.welcomed, 'the welcome');
      proxy.setDelay(10, 50);
      d.send({ slow: true }); // drawn 1 → 50 ms
      d.send({ fast: true }); // drawn 0 → 10 ms
      await until(() => proxy.heldFrames === 2, 'both frames to be read and held');
      assert.equal(acceptor.values(41).length, 0, 'nothing delivered before the clock moves');
      clock.advance(10);
      await until(() => acceptor.values(41).length === 1, 'the fast frame');
      assert.deepEqual(acceptor.values(41), [{ fast: true }]);
      clock.advance(40);
      await until(() => acceptor.values(41).length === 2, 'the slow frame');
      assert.deepEqual(acceptor.values(41), [{ fast: true }, { slow: true }]);
      d.close();
    },
    () => draws[i++ % 2] as number,
  );
});

test('resetConnections closes every connection; snapshot connections pass through', async () => {
  await withProxy(async (proxy, address) => {
    const snap = new Dialer(address, 51, 'snap');
    await until(() => snap.welcomed, 'the welcome');
    proxy.setLoss(1);
    snap.send({ chunk: 1 });
    await until(() => acceptor.values(51).length === 1, 'the chunk, not dropped');
    proxy.setLoss(0);
    proxy.resetConnections();
    await until(() => snap.closed, 'the reset');
  });
});
