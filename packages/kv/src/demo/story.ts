/**
 * The scenes of the main demo (`pnpm start`), each against a real cluster of three member
 * processes (`LocalCluster`) through `KvClient`, each checking what it claims before saying it
 * (a scene that finds otherwise throws, and the demo exits 1).
 */
import { isFlotillaError } from '@flotilla/errors';
import { type LockHandle, lock, Session } from '@flotilla/lease';
import { prefixEnd } from '@flotilla/mvcc';
import { KvClient } from '../net/client.js';
import type { LocalCluster } from './local-cluster.js';
import { FencedStorage, FreezableKv } from './toys.js';

/** Prints the demo's lines with the time since it started. */
export class Narrator {
  readonly #start = performance.now();
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {
    this.#write = write;
  }

  /** Seconds since the start, for the summary. */
  get elapsed(): number {
    return (performance.now() - this.#start) / 1000;
  }

  /** A scene title. */
  scene(title: string): void {
    this.#write('');
    this.#write(title);
  }

  /** A timestamped line. */
  say(line: string): void {
    const t = this.elapsed.toFixed(1).padStart(5);
    this.#write(`[${t}s] ${line}`);
  }

  /** A plain line (no timestamp). */
  plain(line: string): void {
    this.#write(line);
  }
}

const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`demo check failed: ${what}`);
}

/** Names a member by id. */
function name(cluster: LocalCluster, id: number): string {
  return cluster.member(id).name;
}

/** Waits (bounded) until a new leader other than `old` is agreed on by the running members. */
async function newLeader(cluster: LocalCluster, old: number): Promise<{ id: number; term: number }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const l = await cluster.waitForLeader(30_000);
    if (l.id !== old) return l;
    if (Date.now() > deadline) throw new Error('no new leader in 30 s');
    await delay(50);
  }
}

/** Scene 1: a config store written through one member and read linearizably from another. */
export async function configStore(cluster: LocalCluster, n: Narrator, leader: number): Promise<number> {
  n.scene('1. A config store, written and read linearizably');
  const writer = await KvClient.connect({ endpoints: [cluster.member(leader).client] });
  const follower = cluster.members.find((m) => m.id !== leader)?.id ?? leader;
  const reader = await KvClient.connect({ endpoints: [cluster.member(follower).client] });
  try {
    const entries: [string, string][] = [
      ['config/db/url', 'postgres://db-1:5432/shop'],
      ['config/cache/ttl', '30s'],
      ['config/feature/dark-mode', 'off'],
      ['config/db/url', 'postgres://db-2:5432/shop'],
    ];
    let first = 0;
    let last = 0;
    for (const [k, v] of entries) {
      const r = await writer.put(k, v);
      if (first === 0) first = r.header.revision;
      last = r.header.revision;
      n.say(`put ${k} = ${v}   (revision ${r.header.revision}, via ${name(cluster, leader)}, the leader)`);
    }
    const got = await reader.get('config/', { rangeEnd: prefixEnd('config/') });
    check(got.header.revision >= last, 'a linearizable read sees every acknowledged write');
    n.say(
      `get config/ from ${name(cluster, follower)} (a follower; linearizable by ReadIndex): ${got.count} keys at revision ${got.header.revision}`,
    );
    for (const kv of got.kvs) n.plain(`          ${text(kv.key)} = ${text(kv.value)}`);
    check(
      got.kvs.some((kv) => text(kv.key) === 'config/db/url' && text(kv.value).includes('db-2')),
      'the follower read the latest value',
    );
    return first;
  } finally {
    await Promise.all([writer.close(), reader.close()]);
  }
}

/** Scene 2: a watch from an old revision replays history, then follows live changes. */
export async function watchHistory(cluster: LocalCluster, n: Narrator, from: number): Promise<void> {
  n.scene('2. A watch from an old revision replays history, then follows live changes');
  const client = await KvClient.connect({ endpoints: cluster.endpoints });
  try {
    const w = client.watch({ key: 'config/', rangeEnd: prefixEnd('config/'), startRevision: from });
    await w.ready;
    n.say(`watch config/ from revision ${from} (on ${client.endpoint}):`);
    let live = 0;
    let seen = 0;
    for await (const resp of w) {
      for (const e of resp.events) {
        seen++;
        const tag = live !== 0 && e.kv.modRevision >= live ? 'live  ' : 'replay';
        n.plain(
          `          ${tag} ${e.type.toUpperCase()} ${text(e.kv.key)} = ${text(e.kv.value)}   (revision ${e.kv.modRevision})`,
        );
      }
      if (seen >= 4 && live === 0) {
        live = (await client.put('config/feature/dark-mode', 'on')).header.revision;
      }
      if (live !== 0 && resp.revision >= live) break;
    }
    w.cancel();
    check(seen === 5, 'the watch replayed 4 changes and saw 1 live one');
  } finally {
    await client.close();
  }
}

/** Scene 3: the leader is SIGKILLed while a client writes; nothing acknowledged is lost. */
export async function killLeader(cluster: LocalCluster, n: Narrator, leader: number): Promise<number> {
  n.scene('3. The leader is killed with SIGKILL while a client keeps writing');
  // The writer starts on the leader, so the kill cuts its connection mid-request. A write
  // that a follower had forwarded to the dying leader is lost with it and can only end at its
  // deadline (as in etcd), as OUTCOME_UNKNOWN: a 2 s deadline keeps the scene short.
  const order = [leader, ...cluster.members.map((m) => m.id).filter((id) => id !== leader)];
  const client = await KvClient.connect({
    endpoints: order.map((id) => cluster.member(id).client),
    timeoutMs: 2000,
  });
  const acked: string[] = [];
  let unknown = 0;
  let failed = 0;
  let stop = false;
  let seq = 0;
  const writer = (async () => {
    while (!stop) {
      const key = `orders/${String(++seq).padStart(5, '0')}`;
      try {
        await client.put(key, `order ${seq}`);
        acked.push(key);
      } catch (err) {
        if (isFlotillaError(err, 'OUTCOME_UNKNOWN')) unknown++;
        else failed++;
      }
    }
  })();
  try {
    const waitFor = async (count: number, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (acked.length < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await delay(10);
      }
    };
    await waitFor(20, 'the first writes');
    const pid = cluster.member(leader).process?.pid;
    n.say(`writer: ${acked.length} orders acknowledged so far, through ${name(cluster, leader)}`);
    const killedAt = performance.now();
    await cluster.kill(leader, 'SIGKILL');
    n.say(`kill -9 ${name(cluster, leader)} (the leader, pid ${pid})`);
    const next = await newLeader(cluster, leader);
    n.say(
      `new leader: ${name(cluster, next.id)} (term ${next.term}), ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
    const before = acked.length;
    await waitFor(before + 20, 'writes on the new leader');
    stop = true;
    await writer;
    n.say(
      `writes continued on ${client.endpoint}: ${acked.length} acknowledged, ${unknown} with outcome unknown (OUTCOME_UNKNOWN), ${failed} failed`,
    );
    const got = await client.get('orders/', { rangeEnd: prefixEnd('orders/'), keysOnly: true });
    const present = new Set(got.kvs.map((kv) => text(kv.key)));
    const lost = acked.filter((k) => !present.has(k));
    check(lost.length === 0, `acknowledged writes lost: ${lost.join(', ')}`);
    check(failed === 0, 'no write failed outright');
    n.say(
      `linearizable read of orders/: ${got.count} present; every one of the ${acked.length} acknowledged writes is there, nothing lost` +
        (unknown > 0
          ? ` (the ${unknown} unknown one${unknown === 1 ? '' : 's'} may or may not be: that is what unknown means)`
          : ''),
    );
    return next.id;
  } finally {
    stop = true;
    await writer;
    await client.close();
  }
}

/** Scene 4: the killed member restarts from its disk and catches up. */
export async function restartMember(
  cluster: LocalCluster,
  n: Narrator,
  id: number,
  leader: number,
): Promise<void> {
  n.scene('4. The old leader restarts from its data dir and catches up');
  const leaderClient = await KvClient.connect({ endpoints: [cluster.member(leader).client] });
  try {
    const target = (await leaderClient.status()).raftIndex;
    const startedAt = performance.now();
    await cluster.restart(id);
    n.say(`${name(cluster, id)} restarted (pid ${cluster.member(id).process?.pid})`);
    const back = await KvClient.connect({ endpoints: [cluster.member(id).client] });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const s = await back.status().catch(() => undefined);
        if (s !== undefined && s.raftAppliedIndex >= target && s.leader !== 0) {
          const got = await back.get('orders/', {
            rangeEnd: prefixEnd('orders/'),
            serializable: true,
            countOnly: true,
          });
          const want = await leaderClient.get('orders/', { rangeEnd: prefixEnd('orders/'), countOnly: true });
          check(got.count === want.count, 'the restarted member has every order');
          n.say(
            `${name(cluster, id)} caught up in ${((performance.now() - startedAt) / 1000).toFixed(1)} s: applied index ${s.raftAppliedIndex}, follows ${name(cluster, s.leader)}; its own store (serializable read) has all ${got.count} orders`,
          );
          return;
        }
        if (Date.now() > deadline) throw new Error('the restarted member did not catch up in 30 s');
        await delay(50);
      }
    } finally {
      await back.close();
    }
  } finally {
    await leaderClient.close();
  }
}

/** Scenes 5 and 6: a lock with a fencing token, and a stale holder refused by the fence. */
export async function lockAndFence(cluster: LocalCluster, n: Narrator): Promise<void> {
  n.scene('5. A lock with a fencing token, checked by an external resource');
  const storage = new FencedStorage();
  const clientA = await KvClient.connect({ endpoints: cluster.endpoints });
  const clientB = await KvClient.connect({ endpoints: [...cluster.endpoints].reverse() });
  const a = new FreezableKv(clientA);
  let sessionB: Session | undefined;
  try {
    const sessionA = await Session.create(a, { ttl: 2 });
    // Everything A does goes through its freezable view of the cluster.
    const lockA = await lock(a, 'locks/nightly-report', { session: sessionA });
    n.say(
      `worker A (session lease ${sessionA.leaseId}, TTL ${sessionA.ttl} s) holds locks/nightly-report: fencing token ${lockA.fencingToken}`,
    );
    const w1 = storage.write(lockA.fencingToken, 'report v1 by A');
    check(w1.ok, "storage accepts A's first write");
    n.say(`storage accepts A's write with token ${lockA.fencingToken}`);

    a.freeze();
    const frozenAt = performance.now();
    n.say('worker A freezes (think: a 10-second GC pause): its keep-alives stop reaching the cluster');
    sessionB = await clientB.session({ ttl: 2 });
    const lockB: LockHandle = await clientB.lock('locks/nightly-report', { session: sessionB });
    n.say(
      `A's lease expired on the cluster; worker B got the lock ${((performance.now() - frozenAt) / 1000).toFixed(1)} s later: fencing token ${lockB.fencingToken}`,
    );
    check(lockB.fencingToken > lockA.fencingToken, 'a later holder has a larger token');
    const w2 = storage.write(lockB.fencingToken, 'report v2 by B');
    check(w2.ok, "storage accepts B's write");
    n.say(`storage accepts B's write with token ${lockB.fencingToken}`);

    n.scene('6. The stale holder wakes up and is refused by its fence');
    a.thaw();
    n.say(
      `worker A wakes up, still believing it holds the lock, and writes with token ${lockA.fencingToken}`,
    );
    const w3 = storage.write(lockA.fencingToken, 'report v1.1 by A (stale)');
    check(!w3.ok, "storage refuses A's stale write");
    n.say(
      `storage REFUSES it: token ${lockA.fencingToken} < ${w3.highest}, the largest it has seen. The lock alone could not stop A; the token did.`,
    );
    const guarded = await lockA.guard({
      success: [{ put: { key: 'reports/nightly', value: 'by A (stale)' } }],
    });
    check(!guarded.succeeded, "A's guarded transaction fails");
    n.say(
      "inside the store, A's guarded transaction (compare: the lock key still has A's token) fails as well",
    );
    await lockB.unlock();
  } finally {
    a.thaw();
    await sessionB?.close().catch(() => {});
    await Promise.all([clientA.close(), clientB.close()]);
  }
}
