// The far end of tcp.bench.ts's two-process runs (not a benchmark itself): a transport that
// acknowledges what it receives. Started with `<parent address>`; prints `port <n>` once
// listening; acknowledges every received batch with one `heartbeatResp` whose `readSeq` is the
// running count of messages received; exits when stdin closes.
import { silentLogger } from '@flotilla/replica';
import { createTcpTransport } from '@flotilla/transport-tcp';

const parent = process.argv[2];
if (parent === undefined) throw new Error('usage: tcp-peer.ts <parent host:port>');
const t = createTcpTransport({
  id: 2,
  listen: { host: '127.0.0.1', port: 0 },
  peers: { 1: parent },
  clusterId: 'bench',
  queueLimit: 1 << 20,
  logger: silentLogger,
});
let received = 0;
await t.start((batch) => {
  received += batch.length;
  t.send([{ type: 'heartbeatResp', from: 2, to: 1, term: 1, readSeq: received }]);
});
process.stdout.write(`port ${t.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void t.close().then(() => process.exit(0));
});
