import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { Message, NetworkMessage, NodeId, SnapMessage } from '@flotilla/raft';
import type { SnapshotChunks, Transport } from '../transport.js';
import { everyMessageType, heartbeat, patternBytes, plain, sha256, snapMessage } from './fixtures.js';
import { eventually, Inbox } from './inbox.js';
import { activeResources, resourcesSettled } from './resources.js';

/**
 * Makes the transports one compliance test runs on. Each test calls `setup` once with the ids
 * it needs (1, 2, 3), starts every transport with its own handler, calls `connect`, and closes
 * every transport and calls `teardown` at the end, pass or fail.
 */
export interface TransportFactory {
  /**
   * One transport per id, in the same order, not started. Once started (and `connect`ed) they
   * must reach each other: either they already know each other as peers, or `connect` tells
   * them.
   */
  setup(ids: readonly NodeId[]): readonly Transport[] | Promise<readonly Transport[]>;
  /** Called after all are started: wire peers whose address is only known now (port 0). */
  connect?(transports: readonly Transport[], ids: readonly NodeId[]): void | Promise<void>;
  /** The address `addPeer(id, address)` takes for `id`, after start. Default `''`. */
  address?(id: NodeId): string;
  /** Releases whatever `setup` made besides the transports (a network, temp dirs). */
  teardown?(): void | Promise<void>;
}

/** Tuning of {@link runTransportCompliance}. */
export interface ComplianceOptions {
  /** Name of the `describe` block. Default `'Transport compliance'`. */
  readonly name?: string;
  /** How long one wait may take before the test fails (ms). Default 20,000. */
  readonly timeoutMs?: number;
  /** Size of each of the three entries of the large-message test. Default 3 MiB. */
  readonly largeEntryBytes?: number;
  /** Size of the streamed snapshot. Default 24 MiB. */
  readonly snapshotBytes?: number;
  /** Check that closing releases sockets and timers (`process.getActiveResourcesInfo`). Default true. */
  readonly checkResources?: boolean;
}

interface Cluster {
  readonly t: readonly Transport[];
  readonly inbox: readonly Inbox[];
}

/**
 * The behaviour every {@link Transport} must show, as a `node:test` suite: delivery of every
 * message type intact, per-pair FIFO order, batches, multi-megabyte messages, snapshot
 * streaming (bytes and chunk streams) beside ordinary traffic, peer removal and re-adding,
 * unreachable reports, unknown peers, bad input, and a clean close. Call it at the top level of
 * a test file:
 *
 * @example
 * ```ts
 * import { MemoryNetwork, runTransportCompliance } from '@flotilla/replica/testing';
 *
 * let net: MemoryNetwork | undefined;
 * runTransportCompliance({
 *   setup: (ids) => {
 *     net = new MemoryNetwork({ seed: 1 });
 *     return ids.map((id) => (net as MemoryNetwork).transport(id));
 *   },
 * });
 * ```
 */
export function runTransportCompliance(factory: TransportFactory, options: ComplianceOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const largeEntryBytes = options.largeEntryBytes ?? 3 * 1024 * 1024;
  const snapshotBytes = options.snapshotBytes ?? 24 * 1024 * 1024;
  const checkResources = options.checkResources ?? true;
  const retry = { retryMs: 100, timeoutMs };
  const address = (id: NodeId): string => factory.address?.(id) ?? '';
  const testOptions = { timeout: timeoutMs * 6 };

  async function withCluster(
    n: number,
    body: (c: Cluster) => Promise<void>,
    opts: { start?: boolean } = {},
  ): Promise<void> {
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    const t = await factory.setup(ids);
    assert.equal(t.length, n, 'setup must return one transport per id');
    const inbox = ids.map(() => new Inbox());
    try {
      if (opts.start !== false) await startAll({ t, inbox }, ids);
      await body({ t, inbox });
    } finally {
      await Promise.all(t.map((x) => x.close()));
      await factory.teardown?.();
    }
  }

  async function startAll(c: Cluster, ids: readonly NodeId[]): Promise<void> {
    await Promise.all(c.t.map((x, i) => x.start(at(c.inbox, i).handler, at(c.inbox, i).events)));
    await factory.connect?.(c.t, ids);
  }

  const seqsFrom = (box: Inbox, from: NodeId): number[] =>
    box.from(from).flatMap((m) => (m.type === 'heartbeat' ? [m.readSeq] : []));

  describe(options.name ?? 'Transport compliance', () => {
    test('delivers every message type with its fields intact', testOptions, async () => {
      await withCluster(2, async ({ t, inbox }) => {
        const sent = everyMessageType(1, 2);
        at(t, 0).send(sent);
        const box = at(inbox, 1);
        await box.until(() => box.messages.length >= sent.length, 'all message types', timeoutMs);
        // The snap message may travel beside the others (its own stream), so compare as sets.
        const key = (m: NetworkMessage): string => JSON.stringify(plain(m));
        assert.deepEqual(box.messages.map(key).sort(), sent.map(key).sort());
        const others = box.messages.filter((m) => m.type !== 'snap');
        assert.deepEqual(others.map(plain), sent.filter((m) => m.type !== 'snap').map(plain));
      });
    });

    test('keeps per-pair FIFO order across many sends from several senders', testOptions, async () => {
      await withCluster(3, async ({ t, inbox }) => {
        const perSender = 400;
        const senders = [
          { from: 1, next: 0 },
          { from: 3, next: 0 },
        ];
        // Senders 1 and 3 interleave sends of 1 to 3 messages each.
        for (let round = 0; senders.some((s) => s.next < perSender); round++) {
          for (const s of senders) {
            const batch: Message[] = [];
            for (let j = 0; j < 1 + (round % 3) && s.next < perSender; j++)
              batch.push(heartbeat(s.from, 2, s.next++));
            if (batch.length > 0) at(t, s.from - 1).send(batch);
          }
        }
        const box = at(inbox, 1);
        await box.until(() => box.messages.length >= 2 * perSender, `${2 * perSender} heartbeats`, timeoutMs);
        const expected = Array.from({ length: perSender }, (_, i) => i);
        assert.deepEqual(seqsFrom(box, 1), expected);
        assert.deepEqual(seqsFrom(box, 3), expected);
      });
    });

    test('delivers a batch sent together, in order', testOptions, async () => {
      await withCluster(2, async ({ t, inbox }) => {
        const batch = Array.from({ length: 250 }, (_, i) => heartbeat(1, 2, i));
        at(t, 0).send(batch);
        const box = at(inbox, 1);
        await box.until(() => box.messages.length >= 250, '250 heartbeats', timeoutMs);
        assert.deepEqual(
          seqsFrom(box, 1),
          batch.map((m) => m.readSeq),
        );
      });
    });

    test('carries multi-megabyte messages', testOptions, async () => {
      await withCluster(2, async ({ t, inbox }) => {
        const entries = [0, 1, 2].map((i) => ({
          term: 2,
          index: 11 + i,
          type: 'normal' as const,
          data: patternBytes(largeEntryBytes + i, 100 + i),
        }));
        at(t, 0).send([
          { type: 'app', from: 1, to: 2, term: 2, index: 10, logTerm: 2, entries, commit: 10 },
          heartbeat(1, 2, 1),
        ]);
        const box = at(inbox, 1);
        await box.until(() => box.messages.length >= 2, 'the large app message', timeoutMs);
        const got = box.messages[0];
        assert.ok(got !== undefined && got.type === 'app', 'the app message arrives first');
        assert.deepEqual(
          got.entries.map((e) => [e.index, e.data.byteLength, sha256(e.data)]),
          entries.map((e) => [e.index, e.data.byteLength, sha256(e.data)]),
        );
      });
    });

    test('streams a large snapshot without holding back other traffic', testOptions, async () => {
      await withCluster(2, async ({ t, inbox }) => {
        const data = patternBytes(snapshotBytes, 7);
        const message = snapMessage(1, 2, new Uint8Array(0));
        const sender = at(t, 0);
        const sending = sendSnap(sender, 2, message, data);
        const box = at(inbox, 1);
        // Heartbeats sent while the snapshot streams must still arrive.
        for (let i = 0; i < 20; i++) sender.send([heartbeat(1, 2, i)]);
        await box.until(() => seqsFrom(box, 1).length >= 20, 'heartbeats beside the snapshot', timeoutMs);
        await sending;
        await box.until(() => box.messages.some((m) => m.type === 'snap'), 'the snapshot', timeoutMs);
        const snap = box.messages.find((m): m is SnapMessage => m.type === 'snap');
        assert.ok(snap !== undefined);
        assert.deepEqual(plain(snap.snapshot.metadata), plain(message.snapshot.metadata));
        assert.equal(snap.snapshot.data.byteLength, data.byteLength);
        assert.equal(sha256(snap.snapshot.data), sha256(data));
      });
    });

    test('streams a snapshot given as chunks of uneven size', testOptions, async () => {
      await withCluster(2, async ({ t, inbox }) => {
        const data = patternBytes(5 * 1024 * 1024 + 17, 9);
        const source: SnapshotChunks = {
          byteLength: data.byteLength,
          chunks: (async function* () {
            for (let at = 0, k = 1; at < data.byteLength; k++) {
              const n = Math.min((k % 7) * 100_003 + 1, data.byteLength - at);
              yield data.subarray(at, at + n);
              at += n;
            }
          })(),
        };
        const sender = at(t, 0);
        if (sender.sendSnapshot === undefined) return; // only stream-capable transports take chunks
        await sender.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), source);
        const box = at(inbox, 1);
        await box.until(() => box.messages.some((m) => m.type === 'snap'), 'the chunked snapshot', timeoutMs);
        const snap = box.messages.find((m): m is SnapMessage => m.type === 'snap');
        assert.equal(snap?.snapshot.data.byteLength, data.byteLength);
        assert.equal(sha256(snap?.snapshot.data ?? new Uint8Array(0)), sha256(data));
      });
    });

    test('fails snapshots to unknown or unreachable peers, and on close', testOptions, async () => {
      await withCluster(3, async ({ t, inbox }) => {
        const sender = at(t, 0);
        if (sender.sendSnapshot === undefined) return;
        const data = patternBytes(1024, 1);
        await assert.rejects(sender.sendSnapshot(9, snapMessage(1, 9, data)), code('PEER_UNKNOWN'));
        await at(t, 2).close();
        await assert.rejects(sender.sendSnapshot(3, snapMessage(1, 3, data)), code('PEER_UNREACHABLE'));
        const pending = sender.sendSnapshot(2, snapMessage(1, 2, patternBytes(4 * 1024 * 1024, 2)));
        await sender.close();
        await assert.rejects(pending, code('TRANSPORT_CLOSED'));
        await assert.rejects(sender.sendSnapshot(2, snapMessage(1, 2, data)), code('TRANSPORT_CLOSED'));
        assert.equal(at(inbox, 2).messages.length, 0);
      });
    });

    test('removing a peer stops traffic both ways; adding it back restores it', testOptions, async () => {
      await withCluster(3, async ({ t, inbox }) => {
        const [t1, t2] = [at(t, 0), at(t, 1)];
        const [box1, box2, box3] = [at(inbox, 0), at(inbox, 1), at(inbox, 2)];
        // Warm up both directions so connections exist before the removal.
        t1.send([heartbeat(1, 2, 0)]);
        t2.send([heartbeat(2, 1, 0)]);
        await box2.until(() => seqsFrom(box2, 1).includes(0), '1 → 2 before removal', timeoutMs);
        await box1.until(() => seqsFrom(box1, 2).includes(0), '2 → 1 before removal', timeoutMs);

        t1.removePeer(2);
        await eventually(
          () => t1.send([heartbeat(1, 2, 1000)]),
          () => box1.unreachable.includes(2),
          '1 reports removed peer 2 unreachable',
          retry,
        );
        await eventually(
          () => t2.send([heartbeat(2, 1, 2000)]),
          () => box2.unreachable.includes(1),
          '2 finds 1 unreachable once 1 removed it',
          retry,
        );
        // The third node is not affected.
        t1.send([heartbeat(1, 3, 5)]);
        await box3.until(() => seqsFrom(box3, 1).includes(5), '1 → 3 during the removal', timeoutMs);

        t1.addPeer(2, address(2));
        await eventually(
          () => t1.send([heartbeat(1, 2, 3000)]),
          () => seqsFrom(box2, 1).includes(3000),
          '1 → 2 after re-adding',
          retry,
        );
        await eventually(
          () => t2.send([heartbeat(2, 1, 4000)]),
          () => seqsFrom(box1, 2).includes(4000),
          '2 → 1 after re-adding',
          retry,
        );
        assert.ok(!seqsFrom(box2, 1).includes(1000), 'nothing reached 2 while it was removed');
        assert.ok(!seqsFrom(box1, 2).includes(2000), 'nothing from 2 was delivered while removed');
      });
    });

    test('reports a peer that went down as unreachable', testOptions, async () => {
      await withCluster(3, async ({ t, inbox }) => {
        await at(t, 2).close();
        await eventually(
          () => at(t, 0).send([heartbeat(1, 3, 1)]),
          () => at(inbox, 0).unreachable.includes(3),
          '1 reports 3 unreachable',
          retry,
        );
        assert.equal(at(inbox, 2).messages.length, 0, 'a closed transport delivers nothing');
      });
    });

    test('drops messages to unknown peers, reports them, and delivers the rest', testOptions, async () => {
      await withCluster(2, async ({ t, inbox }) => {
        at(t, 0).send([heartbeat(1, 99, 0), heartbeat(1, 2, 1)]);
        const [box1, box2] = [at(inbox, 0), at(inbox, 1)];
        await box1.until(() => box1.unreachable.includes(99), 'unknown peer 99 reported', timeoutMs);
        await box2.until(() => seqsFrom(box2, 1).includes(1), 'the message to the known peer', timeoutMs);
        assert.deepEqual(seqsFrom(box2, 1), [1]);
      });
    });

    test('rejects bad input and changes nothing', testOptions, async () => {
      await withCluster(
        2,
        async ({ t, inbox }) => {
          const t1 = at(t, 0);
          assert.throws(() => t1.send([heartbeat(1, 2, 0)]), code('NOT_STARTED'));
          if (t1.sendSnapshot !== undefined) {
            await assert.rejects(
              t1.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(1))),
              code('NOT_STARTED'),
            );
          }
          await startAll({ t, inbox }, [1, 2]);
          await assert.rejects(
            t1.start(() => {}),
            code('ALREADY_STARTED'),
          );
          const hup: Message = { type: 'hup', from: 1, to: 1, term: 0, transfer: false };
          assert.throws(() => t1.send([heartbeat(1, 2, 1), hup]), code('INVALID_MESSAGE'));
          assert.throws(() => t1.send([heartbeat(2, 1, 2)]), code('INVALID_MESSAGE'));
          t1.send([]);
          t1.send([heartbeat(1, 2, 3)]);
          const box = at(inbox, 1);
          await box.until(() => box.messages.length >= 1, 'the valid message', timeoutMs);
          assert.deepEqual(seqsFrom(box, 1), [3]);
        },
        { start: false },
      );
    });

    test('close stops deliveries and events and releases every resource', testOptions, async () => {
      const before = activeResources();
      await withCluster(3, async ({ t, inbox }) => {
        const [t1, t2, t3] = [at(t, 0), at(t, 1), at(t, 2)];
        t1.send([heartbeat(1, 2, 0), heartbeat(1, 3, 0)]);
        t2.send([heartbeat(2, 1, 0)]);
        await at(inbox, 1).until(() => at(inbox, 1).messages.length >= 1, 'warm-up', timeoutMs);
        await at(inbox, 0).until(() => at(inbox, 0).messages.length >= 1, 'warm-up', timeoutMs);
        const delivered = at(inbox, 1).messages.length;
        await t2.close();
        await t2.close(); // idempotent
        t2.send([heartbeat(2, 1, 1)]); // a late send after close is dropped, not thrown
        await eventually(
          () => t1.send([heartbeat(1, 2, 9)]),
          () => at(inbox, 0).unreachable.includes(2),
          '1 reports closed 2 unreachable',
          retry,
        );
        // A message to a live peer sent after those proves the traffic to 2 had its chance.
        t1.send([heartbeat(1, 3, 10)]);
        await at(inbox, 2).until(() => seqsFrom(at(inbox, 2), 1).includes(10), 'marker to 3', timeoutMs);
        assert.equal(at(inbox, 1).messages.length, delivered, 'nothing delivered after close');
        assert.equal(at(inbox, 1).unreachable.length, 0, 'no events after close');
        await t3.close();
      });
      if (checkResources) await resourcesSettled(before, timeoutMs);
    });
  });
}

function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i}`);
  return x;
}

/** An `assert.throws`/`rejects` validator for a Flotilla error code. */
function code(expected: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isFlotillaError(err, expected), `expected code ${expected}, got ${String(err)}`);
    return true;
  };
}

/** Sends through `sendSnapshot` when the transport has it, inline through `send` otherwise. */
async function sendSnap(t: Transport, to: NodeId, message: SnapMessage, data: Uint8Array): Promise<void> {
  if (t.sendSnapshot !== undefined) return t.sendSnapshot(to, message, data);
  t.send([{ ...message, snapshot: { ...message.snapshot, data } }]);
}
