import { MemoryNetwork, runTransportCompliance } from '@flotilla/replica/testing';

// The in-memory transport on real time, explicit peers (wired by the suite's `connect`), and
// with every message cloned as a real wire would.
runTransportCompliance(
  {
    setup(ids) {
      const network = new MemoryNetwork({ seed: 1, cloneMessages: true });
      return ids.map((id) => network.transport(id, { peers: [] }));
    },
    connect(transports, ids) {
      for (const t of transports) for (const id of ids) t.addPeer(id, `mem:${id}`);
    },
    address: (id) => `mem:${id}`,
  },
  { name: 'MemoryNetwork transport compliance' },
);

// The same suite with open membership (no peer list) and shared (uncloned) messages.
runTransportCompliance(
  {
    setup(ids) {
      const network = new MemoryNetwork({ seed: 2 });
      return ids.map((id) => network.transport(id));
    },
  },
  { name: 'MemoryNetwork transport compliance (open membership)' },
);
