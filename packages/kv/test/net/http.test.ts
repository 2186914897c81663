/**
 * The operator endpoint: `/metrics` is prom-client's exposition of the node's registry with
 * etcd-style names; `/health` is 200 only while a leader is known and the applied index keeps
 * up, 503 otherwise (here: after the member loses its quorum).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsServer } from '@flotilla/kv/client';
import { Cluster, until } from './helpers.js';

async function fetchText(url: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

describe('metrics and health over HTTP', () => {
  test('/metrics, /health (200 with a leader, 503 without), 404 elsewhere', async () => {
    const cluster = await Cluster.start({ node: { metrics: true } });
    const http = new MetricsServer(cluster.node(1), { port: 0 });
    try {
      await http.start();
      const base = `http://${http.address}`;
      await cluster.leader();
      const client = await cluster.client();
      await client.put('m', 'v');
      const m = await fetchText(`${base}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.type ?? '', /text\/plain/);
      for (const name of [
        'flotilla_server_has_leader 1',
        'flotilla_server_proposals_committed_total',
        'flotilla_server_apply_duration_seconds_bucket',
        'flotilla_disk_wal_fsync_duration_seconds_bucket',
        'flotilla_mvcc_db_revision',
      ]) {
        assert.ok(m.body.includes(name), `missing ${name}`);
      }
      const h = await fetchText(`${base}/health`);
      assert.equal(h.status, 200);
      assert.equal((JSON.parse(h.body) as { health: string }).health, 'true');
      assert.equal((await fetchText(`${base}/health?linearizable=true`)).status, 200);
      assert.equal((await fetchText(`${base}/nope`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
      // Member 1 alone: no quorum, so no leader after an election timeout (CheckQuorum).
      await cluster.kill(2);
      await cluster.kill(3);
      await until(async () => (await fetchText(`${base}/health`)).status === 503, '/health to turn 503');
      const bad = JSON.parse((await fetchText(`${base}/health`)).body) as { health: string; reason: string };
      assert.deepEqual([bad.health, bad.reason], ['false', 'NO_LEADER']);
    } finally {
      await http.close();
      await cluster.close();
    }
  });

  test('a node without metrics answers 404 on /metrics but still serves /health', async () => {
    const cluster = await Cluster.start({ size: 1 });
    const http = new MetricsServer(cluster.node(1), { port: 0 });
    try {
      await http.start();
      await cluster.leader();
      assert.equal((await fetchText(`http://${http.address}/metrics`)).status, 404);
      assert.equal((await fetchText(`http://${http.address}/health`)).status, 200);
    } finally {
      await http.close();
      await cluster.close();
    }
  });
});
