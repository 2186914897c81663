/**
 * One cluster member in its own process, for the multi-process test and benchmark: a Replica
 * over TCP on 127.0.0.1 (an ephemeral port) with the real WAL in `dataDir`, driven by its parent
 * through the IPC channel. Started as
 * `node --conditions=@flotilla/source --import tsx tcp-member.ts` with its configuration as JSON
 * in `FLOTILLA_MEMBER`.
 *
 * Protocol (parent → child, each answered by `{ reply: id, ... }`):
 * - `{ id, op: 'peers', addresses }`: where the other members listen now;
 * - `{ id, op: 'propose', value }`: propose a uint32; answers `{ index, result }` or `{ code, leaderId }`;
 * - `{ id, op: 'status' }`: `{ leaderId, isLeader, applied }`;
 * - `{ id, op: 'log' }`: after a read barrier, every applied (index, value);
 * - `{ id, op: 'bench', concurrency, durationMs, warmupMs, size }`: closed-loop proposers here;
 * - `{ id, op: 'stop' }`: stop the replica and exit.
 * The child sends `{ ready: address }` once its replica runs, and exits when its parent goes.
 */
import { isFlotillaError } from '@flotilla/errors';
import { Replica, silentLogger } from '@flotilla/replica';
import { createTcpTransport } from '@flotilla/transport-tcp';
import { add, Counter } from './counter.js';
import { CountingMachine, closedLoop } from './load.js';

interface MemberConfig {
  readonly id: number;
  readonly peers: number[];
  readonly dataDir: string;
  readonly clusterId: string;
  readonly tickMs: number;
  readonly machine: 'counter' | 'bench';
}

type Request =
  | { id: number; op: 'peers'; addresses: Record<string, string> }
  | { id: number; op: 'propose'; value: number }
  | { id: number; op: 'status' }
  | { id: number; op: 'log' }
  | { id: number; op: 'bench'; concurrency: number; durationMs: number; warmupMs: number; size: number }
  | { id: number; op: 'stop' };

const send = (m: unknown): void => {
  process.send?.(m);
};

const cfg = JSON.parse(process.env.FLOTILLA_MEMBER ?? '{}') as MemberConfig;
const counter = new Counter();
const machine = cfg.machine === 'bench' ? new CountingMachine() : counter;
const transport = createTcpTransport({
  id: cfg.id,
  listen: { host: '127.0.0.1', port: 0 },
  peers: {},
  clusterId: cfg.clusterId,
  logger: silentLogger,
});
const replica = await Replica.create<number>({
  id: cfg.id,
  peers: cfg.peers,
  dataDir: cfg.dataDir,
  stateMachine: machine,
  transport,
  tickMs: cfg.tickMs,
  logger: silentLogger,
});
replica.on('error', (err) => {
  console.error(`member ${cfg.id} failed: ${err.message}`);
  process.exit(2);
});
// The parent is gone (even killed): leave too, so no orphan keeps the ports or the directory.
process.on('disconnect', () => process.exit(0));

async function handle(req: Request): Promise<Record<string, unknown>> {
  switch (req.op) {
    case 'peers':
      for (const [id, address] of Object.entries(req.addresses)) {
        if (Number(id) !== cfg.id) transport.addPeer(Number(id), address);
      }
      return {};
    case 'propose':
      try {
        const r = await replica.propose(add(req.value), { timeoutMs: 3000 });
        return { index: r.index, result: r.result };
      } catch (err) {
        if (isFlotillaError(err)) return { code: err.code, leaderId: err.details.leaderId };
        throw err;
      }
    case 'status':
      return { leaderId: replica.leaderId, isLeader: replica.isLeader, applied: replica.appliedIndex };
    case 'log':
      await replica.readIndex({ timeoutMs: 5000 });
      return { log: counter.log, applied: replica.appliedIndex };
    case 'bench': {
      const payload = new Uint8Array(req.size).fill(7);
      return {
        result: await closedLoop(
          () => replica.propose(payload),
          req.concurrency,
          req.durationMs,
          req.warmupMs,
        ),
      };
    }
    case 'stop':
      await replica.stop();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (raw) => {
  const req = raw as Request;
  handle(req).then(
    (answer) => send({ reply: req.id, ...answer }),
    (err: unknown) => send({ reply: req.id, error: String(err) }),
  );
});
send({ ready: transport.address });
