/**
 * Bugs this suite found in Flotilla with no fault switch armed, each kept as a regression test
 * that replays the seed which found it. Each prints its replay command when it fails.
 *
 * 1. A member died when Raft passed on a peer's forwarded request. A follower that received a
 *    `prop` or `readIndex` forwarded by another member (sent while it was the leader) forwarded it
 *    on to its own leader keeping the original sender, as etcd-raft does. The transport contract
 *    refuses any message not from its own member (`packages/replica/src/transport/checks.ts`,
 *    `INVALID_MESSAGE`), and the host treated the throw as fatal: the member stopped with
 *    `RAFT_FAILED` ("message from 2 sent through the transport of 1"). Any leader change with
 *    forwarded requests in flight could trigger it (register seeds 1 and 33, list-append 33,
 *    watch 33 and 45). Fixed in `packages/raft/src/step-follower.ts`: a proposal goes on as the
 *    forwarder's own (the leader never answers a proposal); a forwarded read is dropped like a
 *    lost message (the reader retries), since the answer could never reach the reader.
 * 2. Lease-based reads (`readOnlyOption: 'leaseBased'`) returned stale data with exact clocks. A
 *    leader answered them while it believed it led, and CheckQuorum checks its quorum only every
 *    election timeout, so a leader cut off from its quorum stepped down up to two election
 *    timeouts later, while the other members could elect a new leader (and commit writes) after
 *    one. The same weakness is discussed for etcd-raft (etcd-io/raft#166). Fixed in
 *    `packages/raft/src/lease-read.ts`: the lease counts from the send time of a heartbeat a
 *    quorum acknowledged and ends `leaseMarginTicks` before an election timeout; without a
 *    lease a read waits for a quorum round; in lease mode members refuse votes for an election
 *    timeout after leader contact or a restart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planRun } from '../src/sim/plan.js';
import { describeFailure } from '../src/sim/report.js';
import { runSimulation } from '../src/sim/run.js';

test('a member survives a forwarded request arriving after leadership moved (register seed 1)', async () => {
  const r = await runSimulation(planRun('register', 1));
  assert.equal(r.valid, true, describeFailure(r));
});

test('lease-based reads are linearizable under partitions with exact clocks (register seed 9)', async () => {
  const r = await runSimulation(planRun('register', 9, { profile: 'lease-reads' }));
  assert.equal(r.valid, true, describeFailure(r));
});

test('lease-based reads stay linearizable when the leader is paused (register seed 1)', async () => {
  const r = await runSimulation(planRun('register', 1, { profile: 'lease-reads-pauses' }));
  assert.equal(r.valid, true, describeFailure(r));
});
