import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { KvSim, seedFor } from './helpers/kv-sim.js';

/** The value of `name` (with `labels` matching, if given) in a Prometheus text exposition. */
function value(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}${labels === '' ? ' ' : '{'}`)) continue;
    if (labels !== '' && !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics and health', () => {
  test('a registry with etcd-like names, updated as the member works', async () => {
    const shared = new Registry();
    const sim = await KvSim.create({ seed: seedFor(91), node: { metrics: true } });
    const leader = await sim.waitForLeader();
    await sim.settle(leader.put('a', '1'));
    await sim.settle(leader.put('b', '2'));
    const w = leader.watch({ key: 'a' });
    const text = await (leader.metrics as Registry).metrics();
    assert.equal(value(text, 'flotilla_server_has_leader'), 1);
    assert.equal(value(text, 'flotilla_server_is_leader'), 1);
    assert.ok((value(text, 'flotilla_server_leader_changes_seen_total') ?? 0) >= 1);
    assert.ok((value(text, 'flotilla_server_current_term') ?? 0) >= 1);
    assert.ok((value(text, 'flotilla_server_proposals_committed_total') ?? 0) >= 2);
    assert.ok((value(text, 'flotilla_server_proposals_applied_total') ?? 0) >= 2);
    assert.equal(value(text, 'flotilla_server_proposals_pending'), 0);
    assert.equal(value(text, 'flotilla_server_proposals_failed_total'), 0);
    assert.equal(value(text, 'flotilla_mvcc_keys_total'), 2);
    assert.equal(value(text, 'flotilla_mvcc_db_revision'), 3);
    assert.equal(value(text, 'flotilla_mvcc_watchers'), 1);
    assert.ok((value(text, 'flotilla_server_apply_duration_seconds_count', 'op="put"') ?? 0) >= 2);
    assert.ok((value(text, 'flotilla_disk_wal_fsync_duration_seconds_count') ?? 0) >= 1);
    assert.ok((value(text, 'flotilla_network_peer_round_trip_time_seconds_count', 'to=') ?? 0) >= 1);
    w.cancel();
    // A registry can be passed in.
    const own = await sim.start(9, { join: true, node: { metrics: shared } });
    assert.equal(own.metrics, shared);
    assert.ok((await shared.metrics()).includes('flotilla_server_has_leader 0'));
    await sim.close();
  });

  test('health: a leader, apply keeping up; unhealthy without a leader or when stopped', async () => {
    const sim = await KvSim.create({ seed: seedFor(92) });
    const leader = await sim.waitForLeader();
    const f = sim.follower();
    const ok = await sim.settle(f.health({ linearizable: true }));
    assert.equal(ok.healthy, true);
    assert.equal(ok.leader, leader.id);
    assert.ok(ok.appliedIndex <= ok.commitIndex);
    sim.net.isolate(f.id);
    const read = await sim.settle(f.health({ linearizable: true, timeoutMs: 300 }));
    assert.deepEqual([read.healthy, read.reason], [false, 'READ_FAILED']);
    await sim.runUntil(() => f.leaderId === undefined, { what: 'the follower to lose its leader' });
    const none = await sim.settle(f.health());
    assert.deepEqual([none.healthy, none.reason], [false, 'NO_LEADER']);
    const st = await sim.settle(f.status());
    assert.deepEqual(st.errors, ['NO_LEADER: no leader is known']);
    sim.net.heal();
    await sim.settle(f.stop());
    assert.equal((await sim.settle(f.health())).reason, 'STOPPED');
    await sim.close();
  });

  test('status reports the member, its leader, Raft indexes, keys and compaction', async () => {
    const sim = await KvSim.create({ seed: seedFor(93) });
    const leader = await sim.waitForLeader();
    const f = sim.follower();
    await sim.settle(f.put('a', '1'));
    const r = await sim.settle(f.put('a', '2'));
    await sim.settle(f.compact(r.revision));
    await sim.runUntil(() => f.stateMachine.store.compactRevision === r.revision);
    const st = await sim.settle(f.status());
    assert.equal(st.header.memberId, f.id);
    assert.equal(st.leader, leader.id);
    assert.equal(st.keys, 1);
    assert.equal(st.compactRevision, r.revision);
    assert.equal(st.isLearner, false);
    assert.ok(st.raftAppliedIndex <= st.raftIndex && st.raftTerm >= 1);
    assert.match(st.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(st.errors, []);
    await sim.close();
  });
});
