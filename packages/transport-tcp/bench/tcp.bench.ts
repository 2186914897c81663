// Throughput of @flotilla/transport-tcp: codec (records vs maps), then two transports in one
// process and in two processes over 127.0.0.1. Prints figures; never fails on a timing.
// Figures are noisy on a shared 2-core machine.
//
//   node scripts/bench.mjs packages/transport-tcp
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Entry, NetworkMessage } from '@flotilla/raft';
import { silentLogger } from '@flotilla/replica';
import { createTcpTransport, type TcpTransport } from '@flotilla/transport-tcp';
import { Codec } from '@flotilla/transport-tcp/wire';
import { Packr, Unpackr } from 'msgpackr';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

function entries(n: number, bytes: number, from: number): Entry[] {
  return Array.from({ length: n }, (_, i) => ({
    term: 2,
    index: from + i,
    type: 'normal' as const,
    data: new Uint8Array(bytes).fill(i & 0xff),
  }));
}

function app(index: number, n: number, bytes: number): NetworkMessage {
  return {
    type: 'app',
    from: 1,
    to: 2,
    term: 2,
    index,
    logTerm: 2,
    entries: entries(n, bytes, index + 1),
    commit: index,
  };
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

function codecBench(): void {
  console.log('\n-- codec: one encode + one decode per 64-message frame --');
  const shapes: Array<[string, NetworkMessage]> = [
    ['app, 1 × 128 B entry', app(1, 1, 128)],
    ['app, 16 × 128 B entries', app(1, 16, 128)],
    [
      'appResp',
      { type: 'appResp', from: 2, to: 1, term: 2, index: 9, reject: false, rejectHint: 0, logTerm: 0 },
    ],
  ];
  for (const [name, m] of shapes) {
    const batch = Array.from({ length: 64 }, () => m);
    for (const [variant, packr, unpackr] of [
      ['records', new Packr(), new Unpackr()],
      ['maps   ', new Packr({ useRecords: false }), new Unpackr({ useRecords: false })],
    ] as const) {
      let frames = 0;
      let bytes = 0;
      const end = performance.now() + SECONDS * 500;
      while (performance.now() < end) {
        for (let k = 0; k < 100; k++) {
          const f = packr.pack(batch);
          bytes += f.length;
          unpackr.unpack(f);
          frames++;
        }
      }
      const secs = SECONDS / 2;
      console.log(
        `${variant} ${name.padEnd(24)} ${fmt((frames * 64) / secs).padStart(11)} msgs/s  ${(bytes / frames / 64).toFixed(0).padStart(5)} B/msg`,
      );
    }
  }
}

/**
 * A leader's frames of one Ready to two followers (one `app` each, the same new entries): the
 * transport's codec, which encodes the entries of large appends once for both, against encoding
 * each follower's frame whole (what it did before protocol version 2). Fresh entry objects every
 * round, as Raft's log would have.
 */
function sharedEntriesBench(): void {
  console.log('\n-- codec: a Ready to two followers (one app each, same entries) --');
  const codec = new Codec();
  const plain = new Packr();
  for (const [n, size] of [
    [1, 140],
    [16, 140],
    [128, 140],
  ] as const) {
    const template = entries(n, size, 1);
    for (const variant of ['codec        ', 'each frame   '] as const) {
      let rounds = 0;
      let busy = 0;
      const end = performance.now() + SECONDS * 500;
      while (performance.now() < end) {
        const ents = template.map((e) => ({ ...e }));
        const to2 = {
          type: 'app',
          from: 1,
          to: 2,
          term: 2,
          index: 0,
          logTerm: 2,
          commit: 0,
          entries: ents.slice(),
        } as const;
        const to3 = { ...to2, to: 3, entries: ents.slice() };
        const t0 = performance.now();
        if (variant === 'codec        ') {
          codec.frames([to2], 1 << 26);
          codec.frames([to3], 1 << 26);
        } else {
          plain.pack([to2]);
          plain.pack([to3]);
        }
        busy += performance.now() - t0;
        rounds++;
      }
      console.log(
        `${variant} ${`${n} × ${size} B entries`.padEnd(20)} ${((busy * 1000) / rounds).toFixed(1).padStart(8)} µs per Ready  ${fmt((rounds * n) / (busy / 1000)).padStart(11)} entries/s`,
      );
    }
  }
}

interface Far {
  /** Messages the far end acknowledged so far. */
  acked(): number;
  onAck(fn: () => void): void;
  close(): Promise<void>;
}

/** Sends `make(i)` as fast as a window of unacknowledged messages allows, for SECONDS. */
async function pump(
  label: string,
  sender: TcpTransport,
  far: Far,
  make: (i: number) => NetworkMessage,
  entriesPerMessage: number,
  perMessageBytes: number,
  window: number,
  burst: number,
): Promise<void> {
  let sent = 0;
  const start = far.acked();
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  await new Promise<void>((resolve) => {
    const fill = (): void => {
      if (performance.now() >= deadline) {
        resolve();
        return;
      }
      while (sent - (far.acked() - start) < window) {
        const batch: NetworkMessage[] = [];
        for (let k = 0; k < burst; k++) batch.push(make(sent++));
        sender.send(batch);
      }
    };
    far.onAck(fill);
    fill();
  });
  const secs = (performance.now() - t0) / 1000;
  const got = far.acked() - start;
  const entryRate =
    entriesPerMessage > 0
      ? `${fmt((got * entriesPerMessage) / secs).padStart(10)} entries/s`
      : ''.padStart(20);
  console.log(
    `${label.padEnd(26)} ${fmt(got / secs).padStart(10)} msgs/s ${entryRate}  ${((got * perMessageBytes) / secs / 1e6).toFixed(1).padStart(7)} MB/s payload`,
  );
}

async function scenarios(sender: TcpTransport, far: Far): Promise<void> {
  const hb: NetworkMessage = { type: 'heartbeat', from: 1, to: 2, term: 2, commit: 0, readSeq: 0 };
  await pump('heartbeat', sender, far, () => hb, 0, 0, 8192, 256);
  const one = app(1, 1, 128);
  await pump('app, 1 × 128 B entry', sender, far, () => one, 1, 128, 8192, 256);
  const batched = app(1, 64, 128);
  await pump('app, 64 × 128 B entries', sender, far, () => batched, 64, 64 * 128, 1024, 32);
  const big = app(1, 1, 1 << 20);
  await pump('app, 1 × 1 MiB entry', sender, far, () => big, 1, 1 << 20, 16, 1);
}

async function snapshotBench(a: TcpTransport): Promise<void> {
  const data = new Uint8Array(128 * 1024 * 1024).fill(7);
  const t0 = performance.now();
  await a.sendSnapshot(2, {
    type: 'snap',
    from: 1,
    to: 2,
    term: 2,
    snapshot: {
      metadata: {
        index: 1,
        term: 1,
        confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      },
      data,
    },
  });
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `${'snapshot, 128 MiB'.padEnd(26)} ${(data.byteLength / secs / 1e6).toFixed(1).padStart(10)} MB/s`,
  );
}

async function inProcess(): Promise<void> {
  console.log('\n-- two transports, one process --');
  const mk = (id: number): TcpTransport =>
    createTcpTransport({
      id,
      listen: { host: '127.0.0.1', port: 0 },
      peers: {},
      clusterId: 'bench',
      queueLimit: 1 << 20,
      logger: silentLogger,
    });
  const a = mk(1);
  const b = mk(2);
  let received = 0;
  let waiter: (() => void) | undefined;
  await a.start(() => {});
  await b.start((batch) => {
    received += batch.length;
    waiter?.();
  });
  a.addPeer(2, b.address);
  b.addPeer(1, a.address);
  const far: Far = { acked: () => received, onAck: (fn) => (waiter = fn), close: async () => {} };
  await scenarios(a, far);
  await snapshotBench(a);
  await Promise.all([a.close(), b.close()]);
}

async function twoProcesses(): Promise<void> {
  console.log('\n-- two processes over 127.0.0.1 (acknowledged by the far end) --');
  let acked = 0;
  let waiter: (() => void) | undefined;
  const a = createTcpTransport({
    id: 1,
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
    clusterId: 'bench',
    queueLimit: 1 << 20,
    logger: silentLogger,
  });
  await a.start((batch) => {
    for (const m of batch) if (m.type === 'heartbeatResp' && m.readSeq > acked) acked = m.readSeq;
    waiter?.();
  });
  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=@flotilla/source', '--import', 'tsx', join(here, 'tcp-peer.ts'), a.address],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  while (!/port (\d+)/.test(out)) {
    const [chunk] = (await once(child.stdout, 'data')) as [string];
    out += chunk;
  }
  a.addPeer(2, `127.0.0.1:${/port (\d+)/.exec(out)?.[1]}`);
  const far: Far = { acked: () => acked, onAck: (fn) => (waiter = fn), close: async () => {} };
  await scenarios(a, far);
  child.stdin.end();
  await once(child, 'exit');
  await a.close();
}

codecBench();
sharedEntriesBench();
await inProcess();
await twoProcesses();
