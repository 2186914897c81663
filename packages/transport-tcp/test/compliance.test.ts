import { silentLogger } from '@flotilla/replica';
import { runTransportCompliance } from '@flotilla/replica/testing';
import { createTcpTransport, type TcpTransport } from '@flotilla/transport-tcp';

// Plain TCP on ephemeral ports: every transport listens on port 0, and `connect` tells each
// the others' real addresses once they listen.
let transports: TcpTransport[] = [];
runTransportCompliance(
  {
    setup(ids) {
      transports = ids.map((id) =>
        createTcpTransport({
          id,
          listen: { host: '127.0.0.1', port: 0 },
          peers: {},
          clusterId: 'compliance',
          backoff: { initialMs: 10, maxMs: 100 },
          logger: silentLogger,
        }),
      );
      return transports;
    },
    connect(ts, ids) {
      ids.forEach((id, i) => {
        for (const t of ts) t.addPeer(id, (transports[i] as TcpTransport).address);
      });
    },
    address(id) {
      const t = transports.find((x) => x.id === id);
      if (t === undefined) throw new Error(`no transport ${id}`);
      return t.address;
    },
    teardown() {
      transports = [];
    },
  },
  { name: 'TCP transport compliance' },
);
