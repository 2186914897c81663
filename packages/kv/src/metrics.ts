/**
 * The node's Prometheus metrics (prom-client), named after etcd's (`etcd_server_has_leader` →
 * `flotilla_server_has_leader`, ...). Gauges that mirror state are computed when scraped; the
 * rest are updated as things happen. One registry per node: the names carry no member label,
 * as in etcd where each member is its own process.
 *
 * | name | type | meaning (etcd's) |
 * |---|---|---|
 * | `flotilla_server_has_leader` | gauge | 1 when a leader is known |
 * | `flotilla_server_is_leader` | gauge | 1 when this member leads |
 * | `flotilla_server_leader_changes_seen_total` | counter | leader changes seen by this member |
 * | `flotilla_server_current_term` | gauge | this member's Raft term |
 * | `flotilla_server_proposals_committed_total` | gauge | the commit index |
 * | `flotilla_server_proposals_applied_total` | gauge | the applied index |
 * | `flotilla_server_proposals_pending` | gauge | proposals waiting to be applied here |
 * | `flotilla_server_proposals_failed_total` | counter | proposals that did not take effect or whose outcome is unknown |
 * | `flotilla_server_apply_duration_seconds` | histogram (`op`, `success`) | time to apply one command |
 * | `flotilla_disk_wal_fsync_duration_seconds` | histogram | WAL fsync latency |
 * | `flotilla_network_peer_round_trip_time_seconds` | histogram (`to`) | heartbeat round trips from the leader |
 * | `flotilla_mvcc_watchers` | gauge | open watches on this member |
 * | `flotilla_mvcc_keys_total` | gauge | live keys |
 * | `flotilla_mvcc_db_revision` | gauge | the store's current revision |
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Where the scraped gauges read from. */
export interface MetricSources {
  hasLeader(): boolean;
  isLeader(): boolean;
  term(): number;
  commitIndex(): number;
  appliedIndex(): number;
  pendingProposals(): number;
  watchers(): number;
  keys(): number;
  revision(): number;
}

// etcd's buckets: apply and fsync from 0.1 ms / 1 ms doubling; peer RTT from 0.1 ms doubling.
const APPLY_BUCKETS = [
  0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048, 0.4096,
  0.8192, 1.6384, 3.2768,
];
const FSYNC_BUCKETS = [
  0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
];
const RTT_BUCKETS = [
  0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048, 0.4096,
  0.8192, 1.6384, 3.2768,
];

/** The metrics of one node. */
export class KvMetrics {
  readonly registry: Registry;
  readonly #leaderChanges: Counter;
  readonly #failed: Counter;
  readonly #apply: Histogram<'op' | 'success'>;
  readonly #fsync: Histogram;
  readonly #rtt: Histogram<'to'>;

  constructor(registry: Registry | undefined, src: MetricSources) {
    const r = registry ?? new Registry();
    this.registry = r;
    const registers = [r];
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('flotilla_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () =>
      src.hasLeader() ? 1 : 0,
    );
    gauge('flotilla_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () =>
      src.isLeader() ? 1 : 0,
    );
    gauge('flotilla_server_current_term', 'The Raft term of this member.', () => src.term());
    gauge(
      'flotilla_server_proposals_committed_total',
      'The total number of consensus proposals committed.',
      () => src.commitIndex(),
    );
    gauge('flotilla_server_proposals_applied_total', 'The total number of consensus proposals applied.', () =>
      src.appliedIndex(),
    );
    gauge('flotilla_server_proposals_pending', 'The current number of pending proposals to commit.', () =>
      src.pendingProposals(),
    );
    gauge('flotilla_mvcc_watchers', 'Number of open watches on this member.', () => src.watchers());
    gauge('flotilla_mvcc_keys_total', 'Total number of live keys.', () => src.keys());
    gauge('flotilla_mvcc_db_revision', 'The current revision of the store.', () => src.revision());
    this.#leaderChanges = new Counter({
      name: 'flotilla_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      registers,
    });
    this.#failed = new Counter({
      name: 'flotilla_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      registers,
    });
    this.#apply = new Histogram({
      name: 'flotilla_server_apply_duration_seconds',
      help: 'The latency distributions of applying one command to the state machine.',
      labelNames: ['op', 'success'],
      buckets: APPLY_BUCKETS,
      registers,
    });
    this.#fsync = new Histogram({
      name: 'flotilla_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by the WAL.',
      buckets: FSYNC_BUCKETS,
      registers,
    });
    this.#rtt = new Histogram({
      name: 'flotilla_network_peer_round_trip_time_seconds',
      help: 'Round-trip-time histogram between peers (leader heartbeats).',
      labelNames: ['to'],
      buckets: RTT_BUCKETS,
      registers,
    });
  }

  leaderChanged(): void {
    this.#leaderChanges.inc();
  }

  proposalFailed(): void {
    this.#failed.inc();
  }

  applied(op: string, ok: boolean, seconds: number): void {
    this.#apply.observe({ op, success: ok ? 'true' : 'false' }, seconds);
  }

  fsync(seconds: number): void {
    this.#fsync.observe(seconds);
  }

  roundTrip(to: number, seconds: number): void {
    this.#rtt.observe({ to: String(to) }, seconds);
  }
}
