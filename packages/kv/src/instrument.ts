/**
 * Measuring points the lower layers do not offer, added by wrapping their injected interfaces
 * (so neither the WAL nor the transports need a metrics hook):
 *
 * - WAL fsync latency: the `FileSystem` handed to the WAL times every `FileHandle.sync()`.
 * - Peer round-trip time: the `Transport` handed to the replica notes when a heartbeat leaves
 *   for a peer and when that peer's heartbeat response arrives. Transports keep per-pair FIFO
 *   order, so the first response after a heartbeat answers it (or a later one, when one was
 *   lost: the sample is then at most a heartbeat interval long). A heartbeat unanswered for
 *   `staleMs` is forgotten.
 */
import type { NetworkMessage } from '@flotilla/raft';
import type { Clock, Transport } from '@flotilla/replica';
import type { FileHandle, FileSystem } from '@flotilla/wal';

/** `fs` with every file's `sync()` timed; `observe` receives seconds. */
export function timedFileSystem(
  fs: FileSystem,
  clock: Clock,
  observe: (seconds: number) => void,
): FileSystem {
  const wrap = (h: FileHandle): FileHandle => ({
    path: h.path,
    size: () => h.size(),
    write: (data, position) => h.write(data, position),
    allocate: (size) => h.allocate(size),
    truncate: (size) => h.truncate(size),
    close: () => h.close(),
    async sync() {
      const start = clock.now();
      await h.sync();
      observe((clock.now() - start) / 1000);
    },
  });
  return {
    mkdir: (p) => fs.mkdir(p),
    list: (d) => fs.list(d),
    create: async (p) => wrap(await fs.create(p)),
    openWrite: async (p) => wrap(await fs.openWrite(p)),
    readFile: (p) => fs.readFile(p),
    rename: (a, b) => fs.rename(a, b),
    remove: (p) => fs.remove(p),
    fsyncDir: (p) => fs.fsyncDir(p),
    lock: (d) => fs.lock(d),
  };
}

/** `transport` with heartbeat round trips measured; `observe` receives the peer and seconds. */
export function timedTransport(
  transport: Transport,
  clock: Clock,
  observe: (to: number, seconds: number) => void,
  staleMs = 5000,
): Transport {
  const sentAt = new Map<number, number>();
  const wrapped: Transport = {
    start: (handler, events) =>
      transport.start((batch: NetworkMessage[]) => {
        for (const m of batch) {
          if (m.type !== 'heartbeatResp') continue;
          const at = sentAt.get(m.from);
          if (at === undefined) continue;
          sentAt.delete(m.from);
          observe(m.from, (clock.now() - at) / 1000);
        }
        handler(batch);
      }, events),
    send(messages) {
      const now = clock.now();
      for (const m of messages) {
        if (m.type !== 'heartbeat') continue;
        const at = sentAt.get(m.to);
        if (at === undefined || now - at > staleMs) sentAt.set(m.to, now);
      }
      transport.send(messages);
    },
    addPeer: (id, address) => transport.addPeer(id, address),
    removePeer: (id) => {
      sentAt.delete(id);
      transport.removePeer(id);
    },
    close: () => transport.close(),
  };
  const sendSnapshot = transport.sendSnapshot;
  if (sendSnapshot !== undefined) {
    return {
      ...wrapped,
      sendSnapshot: (to, message, data) => sendSnapshot.call(transport, to, message, data),
    };
  }
  return wrapped;
}
