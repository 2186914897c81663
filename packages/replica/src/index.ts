/**
 * `@flotilla/replica`: a Flotilla member. {@link Replica} drives a Raft `RawNode` over a WAL, a
 * {@link Transport} and your {@link StateMachine}: proposals resolve once committed and applied,
 * `readIndex` gives linearizable reads, snapshots and membership changes are built in. This entry
 * point also holds the side-effect interfaces a replica is built on: time ({@link Clock},
 * {@link systemClock}, {@link SimClock}, {@link SkewedClock}) and the network
 * ({@link Transport}), plus the {@link Logger} shape and the package's errors. `SimCluster`, the
 * in-memory network and the transport compliance suite live in `@flotilla/replica/testing`.
 *
 * @example
 * ```ts
 * import { Replica, type StateMachine } from '@flotilla/replica';
 * import { createTcpTransport } from '@flotilla/transport-tcp';
 *
 * class Counter implements StateMachine<number> {
 *   value = 0;
 *   apply(command: Uint8Array): number {
 *     return (this.value += command[0] ?? 0);
 *   }
 *   snapshot(): Uint8Array {
 *     return new TextEncoder().encode(String(this.value));
 *   }
 *   restore(data: Uint8Array): void {
 *     this.value = Number(new TextDecoder().decode(data));
 *   }
 * }
 *
 * const peers = { 1: '10.0.0.1:7001', 2: '10.0.0.2:7001', 3: '10.0.0.3:7001' };
 * const replica = await Replica.create({
 *   id: 1,
 *   peers: [1, 2, 3],
 *   dataDir: '/var/lib/counter',
 *   stateMachine: new Counter(),
 *   transport: createTcpTransport({ id: 1, listen: { host: '0.0.0.0', port: 7001 }, peers, clusterId: 'counter' }),
 * });
 * if (replica.isLeader) console.log(await replica.propose(new Uint8Array([1]))); // { index, result }
 * ```
 *
 * @packageDocumentation
 */
export { type Clock, systemClock } from './clock.js';
export { ReplicaError, type ReplicaErrorCode } from './errors.js';
export type { ReplicaEvents } from './events.js';
export type { HostState as ReplicaState } from './host.js';
export type { MembershipChange, MembershipResult } from './membership.js';
export type { ReplicaOptions, ReplicaRaftConfig } from './options.js';
export type { ProposeResult } from './proposals.js';
export { Replica, type ReplicaStatus, type RequestOptions } from './replica.js';
export { type RunUntilIdleOptions, SimClock, type SimTimer } from './sim-clock.js';
export { type ClockSkew, SkewedClock } from './skewed-clock.js';
export type { StateMachine } from './state-machine.js';
export { consoleLogger, type LogFields, type Logger, silentLogger } from './transport/logger.js';
export type {
  MessageHandler,
  SnapshotChunks,
  SnapshotData,
  Transport,
  TransportEvents,
} from './transport.js';
