/**
 * `@flotilla/replica`: the host side of a Flotilla member. This entry point holds the
 * side-effect interfaces a replica is built on: time ({@link Clock}, {@link systemClock},
 * {@link SimClock}, {@link SkewedClock}) and the network ({@link Transport}), plus the
 * {@link Logger} shape and the package's errors. The in-memory network with fault injection and
 * the transport compliance suite live in `@flotilla/replica/testing`.
 *
 * @example
 * ```ts
 * import { SimClock } from '@flotilla/replica';
 * import { MemoryNetwork } from '@flotilla/replica/testing';
 *
 * const clock = new SimClock();
 * const net = new MemoryNetwork({ seed: 1, clock });
 * const a = net.transport(1);
 * const b = net.transport(2);
 * await a.start(() => {});
 * await b.start((batch) => console.log('2 got', batch.map((m) => m.type)));
 * a.send([{ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 0, readSeq: 0 }]);
 * clock.advance(0); // 2 got [ 'heartbeat' ]
 * ```
 *
 * @packageDocumentation
 */
export { type Clock, systemClock } from './clock.js';
export { ReplicaError, type ReplicaErrorCode } from './errors.js';
export { type RunUntilIdleOptions, SimClock, type SimTimer } from './sim-clock.js';
export { type ClockSkew, SkewedClock } from './skewed-clock.js';
export { consoleLogger, type LogFields, type Logger, silentLogger } from './transport/logger.js';
export type {
  MessageHandler,
  SnapshotChunks,
  SnapshotData,
  Transport,
  TransportEvents,
} from './transport.js';
