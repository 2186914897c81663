/**
 * `@flotilla/verification/workloads`: the workloads (register, list-append, watch, lock, lease),
 * the client {@link Worker} that records their histories, and {@link judge}, which runs the
 * checkers a workload's run is judged by. Each workload drives any {@link ClientApi} (an
 * in-process `KvNode`, a network `KvClient`) through a {@link WorkloadHost} the mode provides.
 *
 * @packageDocumentation
 */
import type { LockFaults } from '@flotilla/lease/testing';
import { leaseWorkload } from './lease.js';
import { listAppendWorkload } from './list-append.js';
import { lockWorkload } from './lock.js';
import { registerWorkload } from './register.js';
import type { Workload, WorkloadName } from './types.js';
import { watchWorkload } from './watch.js';

/** Settings every workload may use. */
export interface WorkloadSettings {
  /** TTL of leases and lock sessions (s). */
  readonly leaseTtlS: number;
  /** Test-only lock faults (the lock workload arms them on its clients). */
  readonly lockFaults?: LockFaults;
  /** Client processes (default: the workload's own). */
  readonly clients?: number;
}

/** A fresh workload of `name`. */
export function makeWorkload(name: WorkloadName, settings: WorkloadSettings): Workload {
  const clients = settings.clients === undefined ? {} : { clients: settings.clients };
  switch (name) {
    case 'register':
      return registerWorkload(clients);
    case 'list-append':
      return listAppendWorkload(clients);
    case 'watch':
      return watchWorkload(settings.clients === undefined ? {} : { writers: settings.clients });
    case 'lock':
      return lockWorkload({
        ttlS: settings.leaseTtlS,
        ...clients,
        ...(settings.lockFaults ? { faults: settings.lockFaults } : {}),
      });
    case 'lease':
      return leaseWorkload({ ttlS: settings.leaseTtlS, ...clients });
  }
}

export { type JudgeOptions, judge, type RunRecord, type Verdict } from './judge.js';
export { type LeaseWorkloadOptions, leaseWorkload } from './lease.js';
export { type ListAppendOptions, listAppendWorkload, runTxn } from './list-append.js';
export { type LockWorkloadOptions, lockWorkload } from './lock.js';
export { finalReads, type RegisterOptions, registerWorkload } from './register.js';
export * from './types.js';
export { type WatchOptions, watchWorkload } from './watch.js';
export { type Completion, classify, NotSentError, sleep, Worker } from './worker.js';
