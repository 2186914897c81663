/**
 * `@flotilla/replica/testing`: what tests, simulations and teaching tools need to run a
 * cluster in one process: {@link SimCluster} (replicas on simulated time, network and disks,
 * replayable from a seed), the {@link MemoryNetwork} with fault injection, the simulated clocks,
 * and {@link runTransportCompliance}, the `node:test` suite every `Transport` must pass.
 *
 * Kept apart from the main entry point because the compliance suite imports `node:test`.
 *
 * @packageDocumentation
 */
export {
  type DropReason,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransportOptions,
  type NetworkEvent,
  type NetworkStats,
} from './memory-network.js';
export { type RunUntilIdleOptions, SimClock, type SimTimer } from './sim-clock.js';
export { type ClockSkew, SkewedClock } from './skewed-clock.js';
export {
  type ComplianceOptions,
  runTransportCompliance,
  type TransportFactory,
} from './testing/compliance.js';
export { everyMessageType, heartbeat, patternBytes, plain, sha256, snapMessage } from './testing/fixtures.js';
export { eventually, Inbox } from './testing/inbox.js';
export { activeResources, leakedResources, resourcesSettled } from './testing/resources.js';
export {
  type RunUntilOptions,
  SimCluster,
  type SimClusterOptions,
  type SimReplicaOptions,
} from './testing/sim-cluster.js';
export { SlowDisk } from './testing/slow-disk.js';
export { MemoryTransport } from './transport/memory-transport.js';
